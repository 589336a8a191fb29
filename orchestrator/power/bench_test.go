package power

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

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
