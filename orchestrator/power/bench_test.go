package power

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cray-bos/bos/internal/benchfloor"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/simulator"
)

// BenchmarkRedfishConnections10k reads the power of 10,000 nodes behind 5,000 BMCs (each
// reading a GET, as without events) and reports the connections BOS's driver holds open
// afterwards and at most, the goroutines it added to the process (with the simulator's
// one per connection it serves) and the process's CPU per node read: "bounded" is the shared pool
// (MaxConns default), "per-bmc" the same driver with no bound, as each BMC's own
// kept-alive transport behaved before. Connections run on an in-memory network, so the
// simulator's side costs no file descriptors; each connection here is one of BOS's.
func BenchmarkRedfishConnections10k(b *testing.B) {
	mn := memnet.New()
	_, eps := startBMCsOn(b, mn, 10000, simulator.Faults{})
	ids := make([]string, len(eps))
	for i, ep := range eps {
		ids[i] = ep.Node
	}
	for _, c := range []struct {
		name     string
		maxConns int
	}{{"bounded", 0}, {"per-bmc", 1 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			counter := &connCounter{dial: mn.DialContext}
			goroutines, cpu := runtime.NumGoroutine(), cpuTime()
			rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: time.Minute, MaxConns: c.maxConns, Dial: counter.DialContext})
			defer rf.Close()
			ctx := context.Background()
			for b.Loop() {
				for id, r := range rf.PowerStates(ctx, ids) {
					if r.Err != nil {
						b.Fatal(id, r.Err)
					}
				}
			}
			open, most, dialled := counter.stats()
			b.ReportMetric(float64(open), "conns-open")
			b.ReportMetric(float64(most), "conns-max")
			b.ReportMetric(float64(dialled)/float64(b.N), "dials/op")
			b.ReportMetric(float64(runtime.NumGoroutine()-goroutines), "goroutines-added")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N*len(ids)), "cpu-µs/node")
		})
	}
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRedfishResets10k resets 10,000 nodes behind 5,000 BMCs as the reconciler does
// (each node in a call of its own, a batch of 1,000 at once, the nodes of a BMC apart in
// it) on an in-memory network, and reports the connections dialled per node, the
// process's CPU per node (simulator included) in units of the loopback floor's CPU per
// request (benchfloor, measured first in the same process).
func BenchmarkRedfishResets10k(b *testing.B) {
	floor, err := benchfloor.Measure(context.Background(), time.Second, 2000)
	if err != nil {
		b.Fatal(err)
	}
	mn := memnet.New()
	_, eps := startBMCsOn(b, mn, 10000, simulator.Faults{})
	slices.SortFunc(eps, func(a, b Endpoint) int { return cmp.Compare(a.Node, b.Node) })
	var batches [][]Endpoint
	for chunk := range slices.Chunk(eps, 1000) { // every n0 of the batch's BMCs, then every n1
		batch := slices.Clone(chunk)
		slices.SortStableFunc(batch, func(a, b Endpoint) int { return cmp.Compare(a.Node[len(a.Node)-1], b.Node[len(b.Node)-1]) })
		batches = append(batches, batch)
	}
	counter := &connCounter{dial: mn.DialContext}
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: time.Minute, Dial: counter.DialContext})
	ctx := context.Background()
	cpu := cpuTime()
	for b.Loop() {
		for _, batch := range batches {
			var wg sync.WaitGroup
			for _, ep := range batch {
				wg.Go(func() {
					if err := rf.Reset(ctx, []string{ep.Node}, ResetOn)[ep.Node]; err != nil {
						b.Error(ep.Node, err)
					}
				})
			}
			wg.Wait()
		}
	}
	used := cpuTime() - cpu
	_, _, dialled := counter.stats()
	resets := b.N * len(eps)
	rf.Close()
	b.ReportMetric(float64(dialled)/float64(resets), "dials/node")
	b.ReportMetric(float64(used.Microseconds())/float64(resets), "cpu-µs/node")
	b.ReportMetric(float64(used)/float64(resets)/float64(floor.CPUPerRequest()), "cpu-floor-reqs/node")
}

// BenchmarkEventsHandler serves one power event POST as a BMC sends it (the simulator's
// body: one ResourcePowerStateChanged record) to the EventsHandler, without the network:
// the handler's own cost per event (a boot brings two a node).
func BenchmarkEventsHandler(b *testing.B) {
	eps := staticEndpoints{{Node: "x1000c0s0b0n0", BMC: "x1000c0s0b0", FQDN: "x1000c0s0b0", SystemPath: "/redfish/v1/Systems/Node0"}}
	woken := 0
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", EventSecret: "s3cret", OnPowerChange: func(string, Power) { woken++ }})
	if err := rf.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"@odata.type":"#Event.v1_7_0.Event","Id":"1","Name":"Power events","Context":"x1000c0s0b0` + rf.context + `",` +
		`"Events":[{"MemberId":"0","EventId":"1","EventType":"Alert","EventTimestamp":"2026-01-02T03:04:05Z","MessageSeverity":"OK",` +
		`"Message":"The power state of resource /redfish/v1/Systems/Node0 has changed to type On.","MessageId":"ResourceEvent.1.0.ResourcePowerStateChanged",` +
		`"MessageArgs":["/redfish/v1/Systems/Node0","On"],"OriginOfCondition":{"@odata.id":"/redfish/v1/Systems/Node0"}}]}`)
	h := rf.EventsHandler()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/operator/redfish-events", bytes.NewReader(body))
		req.Header.Set(EventTokenHeader, "s3cret")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
	if woken != b.N {
		b.Fatalf("%d power changes for %d events", woken, b.N)
	}
}
