package e2e

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/simulator"
)

// benchScale shrinks real time for BenchmarkV1VsV2: the simulated hardware delays and
// both orchestrators' timeouts and poll intervals are their real defaults times this
// factor, so the comparison keeps real proportions (a reboot takes ~3.7 s instead of ~3
// minutes; a 300 s power-off timeout takes 6 s).
const benchScale = 0.02

// BenchmarkV1VsV2 reboots 500 running nodes with heterogeneous hardware (10% of the
// computes 5× slower through every delay) and 2% of them unable to power off, once with
// a v1 session (lockstep: every node waits for the slowest at each phase, and for the
// failing nodes' power-off timeouts) and once with a v2 session (each node at its own
// pace), on identical fresh clusters. It reports, per API, the time from session creation
// until 50%, 90% and 100% of the healthy nodes (the 98% that can reboot) run the new
// boot, the session's completion time, and the v1/v2 ratios.
//
// A node counts as ready when its OS is up on the boot BOS gave it (the simulator's
// OnBooted); CFS then configures it in both cases, per node, as it boots. Note that the
// 440 normal nodes are 89.8% of the 490 healthy ones, so the 90% mark is the first slow
// node to come up; the median shows what happens to the bulk.
func BenchmarkV1VsV2(b *testing.B) {
	const nodes = 500
	for i := 0; i < b.N; i++ {
		v1 := runRebootBench(b, nodes, "v1")
		v2 := runRebootBench(b, nodes, "v2")
		b.ReportMetric(v1.t50.Seconds(), "v1-t50-s")
		b.ReportMetric(v1.t90.Seconds(), "v1-t90-s")
		b.ReportMetric(v1.t100.Seconds(), "v1-t100-s")
		b.ReportMetric(v1.done.Seconds(), "v1-complete-s")
		b.ReportMetric(v2.t50.Seconds(), "v2-t50-s")
		b.ReportMetric(v2.t90.Seconds(), "v2-t90-s")
		b.ReportMetric(v2.t100.Seconds(), "v2-t100-s")
		b.ReportMetric(v2.done.Seconds(), "v2-complete-s")
		b.ReportMetric(v1.t50.Seconds()/v2.t50.Seconds(), "ratio-t50")
		b.ReportMetric(v1.t90.Seconds()/v2.t90.Seconds(), "ratio-t90")
		b.ReportMetric(v1.t100.Seconds()/v2.t100.Seconds(), "ratio-t100")
		b.Logf("healthy nodes %d of %d (slow %d, failing %d)", v1.healthy, nodes, v1.slow, v1.failing)
		for _, f := range []struct {
			name   string
			v1, v2 time.Duration
		}{{"t50", v1.t50, v2.t50}, {"t90", v1.t90, v2.t90}, {"t100", v1.t100, v2.t100}, {"complete", v1.done, v2.done}} {
			b.Logf("%-8s v1 %5.1fs  v2 %5.1fs  v1/v2 %.2f×", f.name, f.v1.Seconds(), f.v2.Seconds(), f.v1.Seconds()/f.v2.Seconds())
		}
	}
}

type rebootFigures struct {
	t50, t90, t100, done   time.Duration
	healthy, slow, failing int
}

// runRebootBench starts a fresh cluster of n running nodes and reboots every compute
// through api ("v1" or "v2"), timing the healthy nodes' boots.
func runRebootBench(b testing.TB, n int, apiVersion string) rebootFigures {
	scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) * benchScale) }
	secs := func(s int) int { return max(1, int(float64(s)*benchScale+0.5)) }

	var mu sync.Mutex
	bootedAt := map[string]time.Time{}
	var slow, failing []string
	c := startCluster(b, "miniredis", clusterOptions{nodes: n,
		// BOS v2's defaults, scaled.
		options: map[string]any{"max_power_off_wait_time": secs(300), "max_power_on_wait_time": secs(120),
			"max_boot_wait_time": secs(1200), "polling_frequency": secs(15)},
		tweak: func(o *stack.Options) {
			computes := o.Topology.ByRole("Compute")
			rng := rand.New(rand.NewPCG(3, 3)) // the same nodes for both runs
			perm := rng.Perm(len(computes))
			nSlow, nFail := len(computes)/10, len(computes)/50
			o.Sim.SlowNodes = map[string]float64{}
			o.Sim.Faults = simulator.Faults{Set: map[string][]simulator.Fault{}}
			for i, p := range perm[:nSlow+nFail] {
				if i < nSlow {
					o.Sim.SlowNodes[computes[p]] = 5
					slow = append(slow, computes[p])
				} else {
					o.Sim.Faults.Set[computes[p]] = []simulator.Fault{simulator.FaultPowerStuck}
					failing = append(failing, computes[p])
				}
			}
			timing := simulator.DefaultTiming()
			timing.Scale = benchScale
			timing.BootScriptRetry = scaled(30 * time.Second)
			timing.ReportBackoff, timing.ReportBackoffCap = scaled(time.Second), scaled(30*time.Second)
			timing.HTTPTimeout = 5 * time.Second
			o.Sim.Timing = &timing
			o.Sim.InitialPower = "On"
			o.Sim.OnBooted = func(xname string, at time.Time) {
				mu.Lock()
				if _, seen := bootedAt[xname]; !seen {
					bootedAt[xname] = at
				}
				mu.Unlock()
			}
			// BOA's defaults (and a 5 s poll, within its 5-10 s), scaled.
			o.V1 = lockstep.Timing{Poll: scaled(5 * time.Second), GracefulShutdown: scaled(300 * time.Second),
				ForcefulShutdown: scaled(180 * time.Second), Boot: scaled(30 * time.Minute), Configure: scaled(30 * time.Minute),
				Sessions: scaled(5 * time.Second), Save: 100 * time.Millisecond}
		}})
	bad := map[string]bool{}
	for _, id := range failing {
		bad[id] = true
	}
	var healthy []string
	for _, id := range c.computes {
		if !bad[id] {
			healthy = append(healthy, id)
		}
	}

	start := time.Now()
	var session string
	if apiVersion == "v1" {
		session = c.v1Session("reboot", stack.DefaultTemplateName, "")
	} else {
		session = c.session(bos.OpReboot, "", "", false)
	}
	// Wait until every healthy node has booted, then for the session to end.
	deadline, lastCheck := start.Add(3*time.Minute), start
	for {
		mu.Lock()
		done := 0
		for _, id := range healthy {
			if _, ok := bootedAt[id]; ok {
				done++
			}
		}
		mu.Unlock()
		if done == len(healthy) {
			break
		}
		require.False(b, time.Now().After(deadline), "%s: %d of %d healthy nodes booted after 3 minutes", apiVersion, done, len(healthy))
		if time.Since(lastCheck) > time.Second { // a session that ended early will not boot the rest
			lastCheck = time.Now()
			if apiVersion == "v1" {
				d, err := c.st.BOSClient.V1GetSession(c.ctx(), session)
				require.NoError(b, err)
				require.False(b, d.Complete, "v1 session ended with %d of %d healthy nodes booted: %+v", done, len(healthy), d)
			} else {
				s, err := c.st.BOSClient.GetSession(c.ctx(), session)
				require.NoError(b, err)
				require.NotEqual(b, bos.SessionComplete, s.Status.Status, "v2 session ended with %d of %d healthy nodes booted", done, len(healthy))
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	if apiVersion == "v1" {
		st, sets := c.v1Wait(session, 3*time.Minute)
		sort.Strings(failing)
		require.Equal(b, failing, st.FailedNodes, "v1: exactly the failing nodes failed")
		for _, p := range sets["compute"].Phases {
			b.Logf("v1 phase %-9s %5.1fs → %5.1fs", p.Name, p.Metadata.StartTime.Sub(start).Seconds(), p.Metadata.StopTime.Sub(start).Seconds())
		}
	} else {
		ext := c.waitComplete(session, 3*time.Minute)
		failed := int(math.Round(ext.PercentFailed * float64(ext.ManagedComponentsCount) / 100))
		require.Equal(b, len(failing), failed, "v2: exactly the failing nodes failed")
	}
	done := time.Since(start)
	c.requireBooted(healthy, stack.DefaultConfigurationName)

	times := make([]time.Duration, 0, len(healthy))
	mu.Lock()
	for _, id := range healthy {
		times = append(times, bootedAt[id].Sub(start))
	}
	mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return rebootFigures{
		t50: times[(len(times)+1)/2-1], t90: times[(len(times)*9+9)/10-1], t100: times[len(times)-1], done: done,
		healthy: len(healthy), slow: len(slow), failing: len(failing),
	}
}
