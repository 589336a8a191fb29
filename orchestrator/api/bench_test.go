package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// benchNodes is the system size of the benchmarks.
const benchNodes = 10000

// benchEnv is a server over a store holding benchNodes components, all in session
// "bench", each with a full desired state and a staged boot for session "staged".
type benchEnv struct {
	srv *httptest.Server
	st  *store.Store
	ids []string
}

func newBenchEnv(b *testing.B, backend string) *benchEnv {
	b.Helper()
	st := storetest.Open(b, backend, store.Config{PoolSize: 128})
	ctx := context.Background()
	now := time.Now()
	art := orchestrator.BootArtifacts{Kernel: "s3://boot-images/abc/kernel", Initrd: "s3://boot-images/abc/initrd",
		KernelParameters: "console=ttyS0,115200 ip=dhcp quiet root=sbps-s3:s3://boot-images/abc/rootfs:etag bos_update_frequency=4h"}
	comps := make([]orchestrator.Component, benchNodes)
	ids := make([]string, benchNodes)
	for i := range comps {
		id := fmt.Sprintf("x%dc%ds%db0n%d", 1000+i/256, i/64%4, i/2%32, i%2)
		c := orchestrator.NewComponent(id, now)
		c.Session, c.Enabled = "bench", true
		c.DesiredState = orchestrator.DesiredState{BootArtifacts: art, Configuration: "compute-config", BSSToken: "tok", LastUpdated: now}
		c.ActualState = orchestrator.ActualState{BootArtifacts: art, BSSToken: "tok", LastUpdated: now}
		c.StagedState = orchestrator.StagedState{BootArtifacts: art, Configuration: "compute-config-2", Session: "staged", LastUpdated: now}
		comps[i], ids[i] = c, id
	}
	if _, err := st.PutComponents(ctx, comps); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateSession(ctx, orchestrator.Session{Name: "staged", Operation: orchestrator.OpBoot, TemplateName: "t", Stage: true,
		Status: orchestrator.SessionStatus{Status: orchestrator.SessionRunning, StartTime: now}}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Store: st}))
	b.Cleanup(srv.Close)
	sort.Strings(ids)
	return &benchEnv{srv: srv, st: st, ids: ids}
}

func (e *benchEnv) call(b *testing.B, hc *http.Client, method, path string, body []byte) []byte {
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%s %s: %d %s %v", method, path, resp.StatusCode, out[:min(len(out), 300)], err)
	}
	return out
}

func eachBackend(b *testing.B, fn func(b *testing.B, e *benchEnv)) {
	for _, backend := range storetest.Backends {
		b.Run(backend, func(b *testing.B) { fn(b, newBenchEnv(b, backend)) })
	}
}

// BenchmarkListComponents: GET /v2/components of 10,000 components, all and by session.
func BenchmarkListComponents(b *testing.B) {
	eachBackend(b, func(b *testing.B, e *benchEnv) {
		for _, q := range []struct{ name, query string }{{"all", ""}, {"session", "?session=bench"}, {"session-enabled-status", "?session=bench&enabled=true&status=stable"}} {
			b.Run(q.name, func(b *testing.B) {
				hc := e.srv.Client()
				var list []json.RawMessage
				if err := unmarshalWire(e.call(b, hc, "GET", "/v2/components"+q.query, nil), &list); err != nil || len(list) != benchNodes {
					b.Fatalf("listed %d components, want %d: %v", len(list), benchNodes, err)
				}
				// Timed: the whole HTTP exchange, body read; the client's JSON decoding is not
				// the server's cost and is left out.
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					body := e.call(b, hc, "GET", "/v2/components"+q.query, nil)
					if n := bytes.Count(body, []byte(`{"id":`)); n != benchNodes {
						b.Fatalf("listed %d components, want %d", n, benchNodes)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/list")
			})
		}
	})
}

// BenchmarkBulkPatch: one PATCH /v2/components (list form) of 10,000 components.
func BenchmarkBulkPatch(b *testing.B) {
	eachBackend(b, func(b *testing.B, e *benchEnv) {
		hc := e.srv.Client()
		bodies := make([][]byte, 2)
		for v := range bodies {
			list := make([]orchestrator.ComponentPatch, len(e.ids))
			for i, id := range e.ids {
				list[i] = orchestrator.ComponentPatch{ID: id, Error: ptr(fmt.Sprintf("error %d", v)),
					LastAction: &orchestrator.LastActionPatch{Action: ptr(orchestrator.ActionPoweringOn)}}
			}
			bodies[v], _ = json.Marshal(list)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out := e.call(b, hc, "PATCH", "/v2/components", bodies[i%2])
			if n := bytes.Count(out, []byte(`{"id":`)); n != benchNodes {
				b.Fatalf("patched %d components, want %d", n, benchNodes)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/patch")
	})
}

// BenchmarkApplyStaged: POST /v2/applystaged with 10,000 xnames.
func BenchmarkApplyStaged(b *testing.B) {
	eachBackend(b, func(b *testing.B, e *benchEnv) {
		hc := e.srv.Client()
		body, _ := json.Marshal(bosapi.ApplyStagedRequest{Xnames: e.ids})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var resp bosapi.ApplyStagedResponse
			if err := json.Unmarshal(e.call(b, hc, "POST", "/v2/applystaged", body), &resp); err != nil || len(resp.Succeeded) != benchNodes {
				b.Fatalf("applied %d: %v", len(resp.Succeeded), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/apply")
	})
}

// BenchmarkPatchUnderLoad: single-component PATCH latency with 64 concurrent clients.
// One op is a round in which each of the 64 clients sends patchesPerClient PATCHes to
// random components.
func BenchmarkPatchUnderLoad(b *testing.B) {
	const clients, patchesPerClient = 64, 20
	eachBackend(b, func(b *testing.B, e *benchEnv) {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
		var lat []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var mu sync.Mutex
			var wg sync.WaitGroup
			for w := 0; w < clients; w++ {
				wg.Add(1)
				go func(seed int64) {
					defer wg.Done()
					rng := rand.New(rand.NewSource(seed))
					mine := make([]time.Duration, 0, patchesPerClient)
					for j := 0; j < patchesPerClient; j++ {
						id := e.ids[rng.Intn(len(e.ids))]
						body := []byte(fmt.Sprintf(`{"error":"load %d"}`, rng.Int()))
						start := time.Now()
						e.call(b, hc, "PATCH", "/v2/components/"+id, body)
						mine = append(mine, time.Since(start))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}(int64(i*clients + w))
			}
			wg.Wait()
		}
		b.StopTimer()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.5), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "patches/s")
	})
}

// BenchmarkReportPatch: the PATCH /v2/components/{id} a booted node's bos-reporter sends
// (its BSS token), served in process without the network, one component after another:
// the API's cost per report around the store's.
func BenchmarkReportPatch(b *testing.B) {
	eachBackend(b, func(b *testing.B, e *benchEnv) {
		h := e.srv.Config.Handler
		bodies := make([][]byte, len(e.ids))
		for i, id := range e.ids {
			bodies[i], _ = json.Marshal(map[string]any{"id": id, "actual_state": map[string]string{"bss_token": "tok"}})
		}
		b.ReportAllocs()
		i := 0
		cpu := cpuTime()
		for b.Loop() {
			id := e.ids[i%len(e.ids)]
			req := httptest.NewRequest(http.MethodPatch, "/v2/components/"+id, bytes.NewReader(bodies[i%len(e.ids)]))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("PATCH %s: %d %s", id, w.Code, w.Body.String())
			}
			i++
		}
		// The process's CPU: with miniredis, the store's server's too.
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	})
}
