package hsm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/topology"
)

// discard is a ResponseWriter that only counts, so benchmarks measure the server.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) WriteHeader(s int)           { d.status = s }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func benchServer(b *testing.B, nodes int) (*Server, *topology.Topology) {
	b.Helper()
	topo, err := topology.Generate(topology.DefaultOptions(nodes))
	require.NoError(b, err)
	s, err := New(Config{Topology: topo})
	require.NoError(b, err)
	return s, topo
}

func serve(b *testing.B, h http.Handler, method, target, body string) *discard {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	w := &discard{status: http.StatusOK}
	h.ServeHTTP(w, req)
	if w.status/100 != 2 {
		b.Fatalf("%s %s: status %d", method, target, w.status)
	}
	return w
}

// BenchmarkGetComponents10k is GET /State/Components (and BOS's and BSS's filtered
// forms) on a 10,000-node cluster.
func BenchmarkGetComponents10k(b *testing.B) {
	s, _ := benchServer(b, 10000)
	h := s.Handler()
	for _, q := range []string{"", "?type=Node", "?partition=p1"} {
		b.Run("query="+q, func(b *testing.B) {
			var bytes int
			b.ReportAllocs()
			for b.Loop() {
				bytes = serve(b, h, "GET", "/hsm/v2/State/Components"+q, "").n
			}
			b.SetBytes(int64(bytes))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s.sorted)), "ns/component")
		})
	}
}

// BenchmarkClientGetNodes10k is the orchestrator's inventory read end to end: the
// Client over loopback HTTP, decoding 10,000+ nodes.
func BenchmarkClientGetNodes10k(b *testing.B) {
	s, _ := benchServer(b, 10000)
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	c := hsmapi.NewClient(ts.URL, ts.Client())
	b.ReportAllocs()
	for b.Loop() {
		nodes, err := c.GetComponents(b.Context(), hsmapi.ComponentFilter{Type: []string{"Node"}})
		if err != nil || len(nodes) != 10005 {
			b.Fatalf("GetComponents: %d nodes, %v", len(nodes), err)
		}
	}
}

// BenchmarkQuery1000 is POST /State/Components/Query with 1,000 IDs (BOS's
// enabled filter), on a 10,000-node cluster.
func BenchmarkQuery1000(b *testing.B) {
	s, topo := benchServer(b, 10000)
	h := s.Handler()
	idsIn := make([]string, 0, 1000)
	for i := 0; i < 1000; i++ {
		idsIn = append(idsIn, topo.Nodes[i*7].Xname)
	}
	raw, _ := json.Marshal(map[string]any{"ComponentIDs": idsIn, "enabled": []string{"True"}})
	body := string(raw)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "POST", "/hsm/v2/State/Components/Query", body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/id")
}

// BenchmarkComponentEndpointsNodes10k is BSS's GET /Inventory/ComponentEndpoints?type=Node.
func BenchmarkComponentEndpointsNodes10k(b *testing.B) {
	s, _ := benchServer(b, 10000)
	h := s.Handler()
	var bytes int
	b.ReportAllocs()
	for b.Loop() {
		bytes = serve(b, h, "GET", "/hsm/v2/Inventory/ComponentEndpoints?type=Node", "").n
	}
	b.SetBytes(int64(bytes))
}

// BenchmarkRedfishEvent is one power event (a 10,000-node boot sends ~20,000).
func BenchmarkRedfishEvent(b *testing.B) {
	s, topo := benchServer(b, 10000)
	h := s.Handler()
	bodies := make([]string, 0, 2*len(topo.BMCs))
	for _, bmc := range topo.BMCs {
		for ord, id := range bmc.Nodes {
			n, _ := topo.Node(id)
			path := topology.SystemPath(topology.SystemIDOf(n, ord))
			for _, st := range []string{"On", "Off"} {
				bodies = append(bodies, fmt.Sprintf(`{"Context":%q,"Events":[{"MessageId":"ResourceEvent.1.0.ResourcePowerStateChanged","MessageArgs":[%q,%q],"OriginOfCondition":{"@odata.id":%q}}]}`,
					bmc.Xname, path, st, path))
			}
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "POST", "/hsm/v2/RedfishEvents", bodies[i%len(bodies)])
		i++
	}
}

// BenchmarkNew10k builds and seeds a 10,000-node HSM with every BMC's address given.
func BenchmarkNew10k(b *testing.B) {
	topo, err := topology.Generate(topology.DefaultOptions(10000))
	require.NoError(b, err)
	eps := map[string]BMCEndpoint{}
	for i, bmc := range topo.BMCs {
		eps[bmc.Xname] = BMCEndpoint{FQDN: fmt.Sprintf("127.1.%d.%d:443", i>>8, i&0xff)}
	}
	for b.Loop() {
		if _, err := New(Config{Topology: topo, BMCs: eps}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentAccess hammers one server from many goroutines (run with -race) and
// checks the world afterwards.
func TestConcurrentAccess(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(64))
	require.NoError(t, err)
	s, err := New(Config{Topology: topo})
	require.NoError(t, err)
	h := s.Handler()
	do := func(method, target, body string) int {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusCreated, do("POST", "/hsm/v2/groups", `{"label":"churn"}`))
	const workers = 8
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 64; i += workers {
				n := topo.Nodes[i]
				bmc := topo.BMCs[i/2]
				path := topology.SystemPath(topology.SystemIDOf(n, i%2))
				ev := fmt.Sprintf(`{"Context":%q,"Events":[{"MessageId":"ResourcePowerStateChanged","MessageArgs":[%q,"On"]}]}`, bmc.Xname, path)
				assert.Equal(t, http.StatusOK, do("POST", "/hsm/v2/RedfishEvents", ev))
				assert.Equal(t, http.StatusOK, do("GET", "/hsm/v2/State/Components?type=Node", ""))
				assert.Equal(t, http.StatusOK, do("POST", "/hsm/v2/State/Components/Query", `{"ComponentIDs":["`+n.Xname+`"],"enabled":["True"]}`))
				assert.Equal(t, http.StatusCreated, do("POST", "/hsm/v2/groups/churn/members", `{"id":"`+n.Xname+`"}`))
				assert.Equal(t, http.StatusOK, do("GET", "/hsm/v2/groups", ""))
				assert.Equal(t, http.StatusOK, do("DELETE", "/hsm/v2/groups/churn/members/"+n.Xname, ""))
				assert.Equal(t, http.StatusOK, do("POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["`+n.Xname+`"]}`))
				assert.Equal(t, http.StatusOK, do("GET", "/hsm/v2/locks/status?type=Node&locked=True", ""))
				assert.Equal(t, http.StatusOK, do("POST", "/hsm/v2/locks/unlock", `{"ComponentIDs":["`+n.Xname+`"]}`))
				assert.Equal(t, http.StatusNoContent, do("PATCH", "/hsm/v2/State/Components/BulkSoftwareStatus",
					`{"ComponentIDs":["`+n.Xname+`"],"SoftwareStatus":"done"}`))
				assert.Equal(t, http.StatusOK, do("GET", "/hsm/v2/Inventory/ComponentEndpoints?type=Node", ""))
			}
		}()
	}
	wg.Wait()

	r := call(t, s, "GET", "/hsm/v2/State/Components?type=Node&role=Compute", "")
	comps := decode[hsmapi.ComponentArray](t, r).Components
	require.Len(t, comps, 64)
	for _, c := range comps {
		assert.Equal(t, "On", c.State, c.ID)
		assert.Equal(t, "done", c.SoftwareStatus, c.ID)
		assert.False(t, c.Locked, c.ID)
	}
	assert.Empty(t, decode[hsmapi.Members](t, call(t, s, "GET", "/hsm/v2/groups/churn/members", "")).IDs)
}

// BenchmarkBulkStateData10kSCN is one BulkStateData of 10,000 nodes (a boot step),
// without a subscription and with one subscriber taking every SCN (over memnet; its
// delivery runs beside the requests, bounded by the queue).
func BenchmarkBulkStateData10kSCN(b *testing.B) {
	for _, subscribed := range []bool{false, true} {
		b.Run(map[bool]string{false: "none", true: "subscribed"}[subscribed], func(b *testing.B) {
			topo, err := topology.Generate(topology.DefaultOptions(10000))
			require.NoError(b, err)
			mn := memnet.New()
			l, err := mn.Listen("tcp", "sub.test:80")
			require.NoError(b, err)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
			})}
			go func() { _ = srv.Serve(l) }()
			defer srv.Close()
			s, err := New(Config{Topology: topo, SCNClient: mn.HTTPClient(scnTimeout)})
			require.NoError(b, err)
			h := s.Handler()
			if subscribed {
				serve(b, h, "POST", "/hsm/v2/Subscriptions/SCN", `{"Subscriber":"b","States":["On","Off"],"Url":"http://sub.test/scn"}`)
			}
			nodeIDs := make([]string, len(topo.Nodes))
			for i, n := range topo.Nodes {
				nodeIDs[i] = n.Xname
			}
			ids, _ := json.Marshal(nodeIDs)
			bodies := []string{`{"ComponentIDs":` + string(ids) + `,"State":"On"}`, `{"ComponentIDs":` + string(ids) + `,"State":"Off"}`}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				serve(b, h, "PATCH", "/hsm/v2/State/Components/BulkStateData", bodies[i%2])
				i++
			}
		})
	}
}

// BenchmarkRedfishEventCollected posts collected events, as a BMC shard in another
// process sends them: 150 power changes a POST.
func BenchmarkRedfishEventCollected(b *testing.B) {
	s, topo := benchServer(b, 10000)
	h := s.Handler()
	var bodies []string
	for _, st := range []string{"On", "Off"} {
		var recs []string
		for _, bmc := range topo.BMCs {
			for ord, id := range bmc.Nodes {
				n, _ := topo.Node(id)
				path := topology.SystemPath(topology.SystemIDOf(n, ord))
				recs = append(recs, fmt.Sprintf(`{"Context":%q,"MessageId":"ResourceEvent.1.0.ResourcePowerStateChanged","MessageArgs":[%q,%q],"OriginOfCondition":{"@odata.id":%q}}`,
					bmc.Xname, path, st, path))
				if len(recs) == 150 {
					bodies = append(bodies, `{"Context":"collected","Events":[`+strings.Join(recs, ",")+`]}`)
					recs = nil
				}
			}
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "POST", "/hsm/v2/RedfishEvents", bodies[i%len(bodies)])
		i++
	}
}
