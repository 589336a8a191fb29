package e2e

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/benchfloor"
	"github.com/cray-bos/bos/internal/procstat"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// BenchmarkBoot boots whole clusters with zero simulated hardware delay, so what is
// measured is orchestration: session create → complete wall time, its cost per node (wall
// and CPU of the process: BOS, every simulator and an embedded Redis, not a real Redis
// server), BOS's Redis round trips per node, and the process's peak resident memory
// during the boot (BOS, store and every simulator share the process). x-floor is the wall
// time over the loopback HTTP floor measured first in this process (benchfloor:
// RequestsPerNode × nodes × one request).
func BenchmarkBoot(b *testing.B) {
	floor, err := benchfloor.Measured()
	require.NoError(b, err)
	b.Logf("floor: %s", floor)
	for _, backend := range storetest.Backends {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/nodes=%d", backend, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					// BOS's default timeouts and polling: the e2e tests' tight ones misfire under a
					// 10,000-node power-on storm on a busy 2-core machine.
					c := startCluster(b, backend, clusterOptions{nodes: n, options: map[string]any{
						"max_power_on_wait_time": 120, "max_boot_wait_time": 1200, "max_power_off_wait_time": 300, "polling_frequency": 15}})
					resetPeakRSS()
					before := c.counts()
					b.StartTimer()
					stopProfile := profileBoot(b, fmt.Sprintf("%s-%d", backend, n))
					start, cpu := time.Now(), cpuTime()
					st := c.waitComplete(c.session(bos.OpBoot, "", "", false), 5*time.Minute)
					wall, cpu := time.Since(start), cpuTime()-cpu
					stopProfile()
					b.StopTimer()
					after := c.counts()
					figures := fmt.Sprintf("%.2f s/boot, %.2f x-floor, %.3f cpu-ms/node", wall.Seconds(), floor.Ratio(wall, n), float64(cpu.Microseconds())/1000/float64(n))
					for _, f := range benchFigures {
						figures += fmt.Sprintf(", %.3f %s", (after[f.metric]-before[f.metric])/float64(n), f.unit)
					}
					// A boot that is not 100% successful fails the benchmark (on an overloaded
					// machine BMC calls time out): its figures are still said.
					require.Equal(b, 100.0, st.PercentSuccessful, "errors: %v; figures: %s", st.ErrorSummary, figures)
					b.ReportMetric(wall.Seconds(), "s/boot")
					b.ReportMetric(float64(wall.Microseconds())/float64(n), "µs/node")
					b.ReportMetric(floor.Ratio(wall, n), "x-floor")
					b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/node")
					for _, f := range benchFigures {
						b.ReportMetric((after[f.metric]-before[f.metric])/float64(n), f.unit)
					}
					if peak := peakRSSMiB(); peak > 0 {
						b.ReportMetric(peak, "peak-MiB")
					}
					b.StartTimer()
				}
			})
		}
	}
}

// profileBoot starts a CPU profile of the boot alone (not the cluster's start-up) when
// BENCH_BOOT_CPUPROFILE names a file prefix: <prefix>.<name>.cpu. It returns the stop.
func profileBoot(b *testing.B, name string) (stop func()) {
	prefix := os.Getenv("BENCH_BOOT_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(prefix + "." + name + ".cpu")
	require.NoError(b, err)
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		b.Fatalf("BENCH_BOOT_CPUPROFILE: %v (not with -cpuprofile)", err)
	}
	return func() {
		pprof.StopCPUProfile()
		require.NoError(b, f.Close())
	}
}

// benchFigures are the per-node counts BenchmarkBoot reports: the simulators' and BOS's
// own counters, read before and after the boot.
var benchFigures = []struct{ metric, unit string }{
	{`bos_sim_requests_total{route="GET /redfish/v1/Systems/{id}"}`, "gets/node"},
	{"bos_sim_event_posts_total", "event-posts/node"},
	{"bos_sim_events_delivered_total", "events/node"},
	{"bos_reconcile_node_looks_total", "looks/node"},
	{"bos_redis_command_duration_seconds", "redis-trips/node"}, // a histogram: its count
}

// counts sums the stack's counters (and histograms' counts) (simulators' and BOS's) by name and by name plus
// each label, for benchFigures.
func (c *cluster) counts() map[string]float64 {
	out := map[string]float64{}
	for _, g := range []prometheus.Gatherer{c.st.SimMetrics.Registry(), c.st.BOS.Metrics().Registry()} {
		families, err := g.Gather()
		require.NoError(c.t, err)
		for _, f := range families {
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue()
				if h := m.GetHistogram(); h != nil {
					v = float64(h.GetSampleCount())
				}
				out[f.GetName()] += v
				for _, l := range m.GetLabel() {
					out[fmt.Sprintf("%s{%s=%q}", f.GetName(), l.GetName(), l.GetValue())] += v
				}
			}
		}
	}
	return out
}

// resetPeakRSS returns freed memory to the OS (the previous cluster's) and resets the
// kernel's high-water mark of this process's resident memory (Linux; elsewhere the figure
// is just not reported).
func resetPeakRSS() {
	debug.FreeOSMemory()
	_ = procstat.ResetPeak(procstat.Self)
}

// peakRSSMiB reads the peak resident memory since the last reset (0: unknown).
func peakRSSMiB() float64 {
	peak, err := procstat.PeakRSS(procstat.Self)
	if err != nil {
		return 0
	}
	return float64(peak) / (1 << 20)
}
