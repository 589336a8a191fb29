package cfs

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkGetComponents10k measures one GET /v3/components returning all 10,000 components
// (limit=0), each with a desired configuration of two layers, applied state and a tag: what
// BOS's status operator reads every pass. Page-sized reads (limit=1000) are reported too.
func BenchmarkGetComponents10k(b *testing.B) {
	const nodes = 10_000
	ids := make([]string, nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("x%dc%ds%db%dn%d", 1000+i/256, i/32%8, i/4%8, i/2%2, i%2)
	}
	s := mustServer(b, Config{Components: ids, Timing: Timing{BatchSize: 1000}})
	h := s.Handler()
	putConfig(b, h, "cfg")
	w := call(b, h, http.MethodPatch, "/v3/components",
		`{"patch":{"desired_config":"cfg","enabled":true,"tags":{"bos_session":"s1"}},"filters":{}}`)
	if w.Code != 200 {
		b.Fatal(w.Body.String())
	}
	deadline := time.Now().Add(time.Minute)
	for {
		s.mu.RLock()
		idle := s.open == nil && len(s.running) == 0
		s.mu.RUnlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("batcher did not finish")
		}
		time.Sleep(time.Millisecond)
	}
	if s.stats.configured != nodes {
		b.Fatalf("configured %d of %d", s.stats.configured, nodes)
	}

	for _, q := range []string{"limit=0", "limit=1000", "limit=0&state_details=true"} {
		b.Run(strings.ReplaceAll(q, "&", ","), func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/v3/components?"+q, nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Body.String())
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/reply")
		})
	}
}

// BenchmarkPatchComponentReport is cfs-state-reporter's PATCH of one node after its
// boot, which CFS serves once a node a boot.
func BenchmarkPatchComponentReport(b *testing.B) {
	const nodes = 1000
	ids := make([]string, nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("x%dc0s%db0n0", 1000+i/64, i%64)
	}
	s := mustServer(b, Config{Components: ids})
	h := s.Handler()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if w := call(b, h, http.MethodPatch, "/v3/components/"+ids[i%nodes], `{"state": [], "enabled": true}`); w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
		i++
	}
}
