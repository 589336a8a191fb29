package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/internal/xname"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/simulator"
)

// TestHungBMCDelaysOnlyItsNodes boots a cluster twice, once healthy and once with one BMC
// that never answers, with a Redfish timeout far longer than a healthy boot. The healthy
// nodes must be booted about as soon as in the healthy run while the hung BMC's nodes are
// still pending: a batch does not wait for a BMC that does not answer.
func TestHungBMCDelaysOnlyItsNodes(t *testing.T) {
	const redfishTimeout = 20 * time.Second
	slowRedfish := func(o *stack.Options) { o.RedfishTimeout = redfishTimeout }
	var healthy time.Duration
	bubble(t, func(t *testing.T) {
		c := startCluster(t, storetest.Mini, clusterOptions{nodes: 64, tweak: slowRedfish})
		start := time.Now()
		c.session(bos.OpBoot, "", "", false)
		c.waitBooted(c.computes, time.Minute)
		healthy = time.Since(start)
	})
	t.Logf("healthy boot: %s of fake time", healthy)
	require.Less(t, healthy, redfishTimeout/4, "the healthy boot must be much shorter than the Redfish timeout for this test to mean anything")

	bubble(t, func(t *testing.T) {
		topo, err := topology.Generate(topology.DefaultOptions(64))
		require.NoError(t, err)
		hungBMC, err := xname.BMCOf(topo.ByRole(topology.RoleCompute)[0])
		require.NoError(t, err)
		c := startCluster(t, storetest.Mini, clusterOptions{nodes: 64, tweak: slowRedfish,
			faults: simulator.Faults{Set: map[string][]simulator.Fault{hungBMC: {simulator.FaultHang}}}})
		var hung, rest []string
		for _, id := range c.computes {
			if b, _ := xname.BMCOf(id); b == hungBMC {
				hung = append(hung, id)
			} else {
				rest = append(rest, id)
			}
		}
		require.NotEmpty(t, hung)

		start := time.Now()
		c.session(bos.OpBoot, "", "", false)
		c.waitBooted(rest, time.Minute)
		took := time.Since(start)
		t.Logf("healthy nodes of the cluster with a hung BMC booted in %s of fake time", took)
		assert.Less(t, took, healthy+redfishTimeout/10, "the healthy nodes waited for the hung BMC")
		comps := c.components()
		for _, id := range hung {
			assert.True(t, comps[id].Enabled, "%s of the hung BMC is still being worked on", id)
			assert.NotEqual(t, bos.StatusStable, comps[id].Status.Status, id)
		}
	})
}

// waitBooted waits until every node of ids has booted its desired image (set by a
// session) and is stable.
func (c *cluster) waitBooted(ids []string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		bad := c.notBooted(ids, "")
		comps := c.components()
		for _, id := range ids {
			if comps[id].DesiredState.BootArtifacts.Kernel == "" {
				bad = append(bad, id+": no session took it yet")
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d of %d nodes not booted after %s, e.g. %s", len(bad), len(ids), timeout, bad[0])
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}
