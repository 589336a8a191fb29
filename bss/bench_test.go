package bss

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cray-bos/bos/internal/topology"
)

// BenchmarkBootScriptByName measures GET /bootscript?name= at 10,000 nodes, every node with
// its own entry (as after a BOS boot of the whole system), fetched in parallel.
func BenchmarkBootScriptByName(b *testing.B) {
	const nodes = 10_000
	topo, err := topology.Generate(topology.Options{Compute: nodes})
	if err != nil {
		b.Fatal(err)
	}
	s := mustServer(b, Config{Inventory: FromTopology(topo), S3URL: "http://127.0.0.1:9000"})
	h := s.Handler()
	hosts := make([]string, len(topo.Nodes))
	for i, n := range topo.Nodes {
		hosts[i] = `"` + n.Xname + `"`
	}
	mustPut(b, h, `{"hosts":[`+strings.Join(hosts, ",")+`],"kernel":"s3://boot-images/abc/kernel",`+
		`"initrd":"s3://boot-images/abc/initrd","params":"console=ttyS0,115200 bad_page=panic crashkernel=360M `+
		`root=sbps-s3:s3://boot-images/abc/rootfs:etag:dvs:api-gw-service-nmn.local:300:nmn0 bos_update_frequency=4h"}`)
	targets := make([]string, len(topo.Nodes))
	for i, n := range topo.Nodes {
		targets[i] = "/boot/v1/bootscript?name=" + n.Xname
	}

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := httptest.NewRequest(http.MethodGet, targets[i%nodes], nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			i += 7919 // a prime stride spreads requests over the nodes
		}
	})
	b.ReportMetric(nodes, "nodes")
}
