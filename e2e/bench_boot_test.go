package e2e

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// BenchmarkBoot boots whole clusters with zero simulated hardware delay, so what is
// measured is orchestration: session create → complete wall time, its cost per node, and
// the process's peak resident memory during the boot (BOS, store and every simulator
// share the process).
func BenchmarkBoot(b *testing.B) {
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
					before, cpu0 := c.counts(), cpuTime()
					b.StartTimer()
					start := time.Now()
					st := c.waitComplete(c.session(bos.OpBoot, "", "", false), 5*time.Minute)
					wall := time.Since(start)
					b.StopTimer()
					cpu, after := cpuTime()-cpu0, c.counts()
					require.Equal(b, 100.0, st.PercentSuccessful)
					b.ReportMetric(wall.Seconds(), "s/boot")
					b.ReportMetric(float64(wall.Microseconds())/float64(n), "µs/node")
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

// benchFigures are the per-node counts BenchmarkBoot reports: the simulators' and BOS's
// own counters, read before and after the boot.
var benchFigures = []struct{ metric, unit string }{
	{`bos_sim_requests_total{route="GET /redfish/v1/Systems/{id}"}`, "gets/node"},
	{"bos_sim_event_posts_total", "event-posts/node"},
	{"bos_sim_events_delivered_total", "events/node"},
	{"bos_reconcile_node_looks_total", "looks/node"},
}

// counts sums the stack's counters (simulators' and BOS's) by name and by name plus
// each label, for benchFigures.
func (c *cluster) counts() map[string]float64 {
	out := map[string]float64{}
	for _, g := range []prometheus.Gatherer{c.st.SimMetrics.Registry(), c.st.BOS.Metrics().Registry()} {
		families, err := g.Gather()
		require.NoError(c.t, err)
		for _, f := range families {
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue()
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
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMiB reads VmHWM, the peak resident memory since the last reset.
func peakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
