package e2e

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/operator"
	"github.com/cray-bos/bos/simulator"
)

// TestBootWithFaults boots 1,000 nodes with 1% of resets failing, 1% of nodes never
// reporting, 1% of CFS runs failing and 0.5% of BMCs hanging: exactly the faulty nodes
// must end failed, each with the error that explains it and its attempt counts; every
// other node boots; the session completes with the right percentages.
func TestBootWithFaults(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		c := startClusterWithFaults(t, backend, size(1000))

		expect := map[string]string{} // faulty compute → what its error must say
		inSession := map[string]bool{}
		for _, id := range c.computes {
			inSession[id] = true
		}
		for _, id := range c.st.Sim.FaultyNodes(simulator.FaultReset503) {
			if inSession[id] {
				expect[id] = "power_on failed (attempt 3)"
			}
		}
		for _, id := range c.st.Sim.FaultyNodes(simulator.FaultNoReport) {
			if inSession[id] {
				expect[id] = "max_boot_wait_time"
			}
		}
		for bmc := range hungBMCs(c) {
			for _, id := range c.computes {
				if strings.HasPrefix(id, bmc+"n") {
					expect[id] = "BMC " + bmc
				}
			}
		}
		for _, id := range cfsFailing(c.computes) {
			if _, dup := expect[id]; !dup {
				expect[id] = operator.ErrCFSFailed
			}
		}
		byCause := map[string]int{}
		for _, cause := range expect {
			byCause[cause]++
		}
		t.Logf("%d faulty compute nodes of %d, by expected error: %v", len(expect), len(c.computes), byCause)
		require.GreaterOrEqual(t, len(byCause), 4, "every kind of fault is present")

		st := c.waitComplete(c.session(bos.OpBoot, "", "", false), 3*time.Minute)
		comps := c.components()
		var failed, healthy []string
		for _, id := range c.computes {
			if comps[id].Status.Status == bos.StatusFailed {
				failed = append(failed, id)
			} else {
				healthy = append(healthy, id)
			}
		}
		want := keys(expect)
		assert.Equal(t, want, failed, "exactly the faulty nodes failed")
		for id, cause := range expect {
			comp := comps[id]
			assert.False(t, comp.Enabled, id)
			assert.Contains(t, comp.Error, cause, "%s: error names its cause", id)
			stats := comp.EventStats
			switch cause {
			case operator.ErrCFSFailed:
				assert.Equal(t, 1, stats.PowerOnAttempts, "%s: booted once, then CFS failed", id)
			case "max_boot_wait_time":
				assert.Equal(t, 3, stats.PowerOnAttempts, "%s: three boots without a report", id)
			case "power_on failed (attempt 3)":
				assert.Equal(t, 3, stats.PowerOnAttempts, id)
			default: // hung BMC: power unreadable, so BOS tries to power the node off (as BOS does)
				assert.Equal(t, 3, stats.PowerOffForcefulAttempts, "%s: %+v %s", id, stats, comp.Error)
			}
		}
		c.requireBooted(healthy, stack.DefaultConfigurationName)

		m := float64(len(c.computes))
		assert.Equal(t, len(c.computes), st.ManagedComponentsCount)
		assert.Equal(t, round2(100*float64(len(failed))/m), st.PercentFailed)
		assert.Equal(t, round2(100*float64(len(healthy))/m), st.PercentSuccessful)
		errorCount := 0
		for _, e := range st.ErrorSummary {
			errorCount += e.Count
		}
		assert.Equal(t, len(failed), errorCount, "error summary counts every failed node: %v", st.ErrorSummary)
	})
}

// startClusterWithFaults starts n computes with the fault mix.
func startClusterWithFaults(t *testing.T, backend string, n int) *cluster {
	return startCluster(t, backend, clusterOptions{
		nodes: n,
		faults: simulator.Faults{Rates: map[simulator.Fault]float64{
			simulator.FaultReset503: 0.01, simulator.FaultNoReport: 0.01, simulator.FaultHang: 0.005,
		}},
		cfsFail: cfsFailingFor(n),
	})
}

// cfsFailingFor picks 1% of the compute nodes (every 100th, from the 50th) to fail CFS.
func cfsFailingFor(n int) []string {
	var ids []string
	for i := 50; i < n; i += 100 {
		ids = append(ids, computeXname(i))
	}
	return ids
}

func cfsFailing(computes []string) []string { return cfsFailingFor(len(computes)) }

// computeXname is the xname topology.Generate gives compute node i (0-based).
func computeXname(i int) string {
	return fmt.Sprintf("x%dc%ds%db%dn%d", 1000+i/256, i/32%8, i/4%8, i/2%2, i%2)
}

func hungBMCs(c *cluster) map[string]bool {
	out := map[string]bool{}
	for id, fs := range c.st.Sim.Faults() {
		for _, f := range fs {
			if f == simulator.FaultHang {
				out[id] = true
			}
		}
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
