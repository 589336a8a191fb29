package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
)

// TestLimit boots what a limit expression selects and nothing else.
func TestLimit(t *testing.T) {
	eachBackend(t, testLimit)
}

func testLimit(t *testing.T, backend string) {
	c := startCluster(t, backend, clusterOptions{nodes: 300})
	// all of cabinet x1001 (computes 257..300), minus one node, plus one node of x1000.
	limit := "cabinet-x1001,!x1001c0s0b0n0,x1000c0s0b0n1"
	st := c.waitComplete(c.session(bos.OpBoot, "", limit, false), time.Minute)
	var want []string
	for _, id := range c.computes {
		if (id[:5] == "x1001" && id != "x1001c0s0b0n0") || id == "x1000c0s0b0n1" {
			want = append(want, id)
		}
	}
	require.Len(t, want, 300-256-1+1)
	assert.Equal(t, len(want), st.ManagedComponentsCount)
	c.requireBooted(want, stack.DefaultConfigurationName)
	booted := 0
	for _, n := range c.st.Sim.Nodes() {
		if n.BootCount > 0 {
			booted++
		}
	}
	assert.Equal(t, len(want), booted, "only the selected nodes booted")
}

// TestLimitEmptyItemFailsSession: a trailing comma is a clear error, not a crash.
func TestLimitEmptyItemFailsSession(t *testing.T) { bubble(t, testLimitEmptyItemFailsSession) }

func testLimitEmptyItemFailsSession(t *testing.T) {
	c := startCluster(t, "miniredis", clusterOptions{nodes: 8})
	name := c.session(bos.OpBoot, "", "x1000c0s0b0n0,", false)
	c.waitComplete(name, 30*time.Second)
	s, err := c.st.BOSClient.GetSession(c.ctx(), name)
	require.NoError(t, err)
	require.NotNil(t, s.Status.Error)
	assert.Contains(t, *s.Status.Error, "empty")
	for _, n := range c.st.Sim.Nodes() {
		assert.Zero(t, n.BootCount)
	}
}

// TestBootedNodesAreOnlyConfigured: a boot session over nodes already running the desired
// image leaves them powered on and only applies the new configuration.
func TestBootedNodesAreOnlyConfigured(t *testing.T) {
	eachBackend(t, testBootedNodesAreOnlyConfigured)
}

func testBootedNodesAreOnlyConfigured(t *testing.T, backend string) {
	c := startCluster(t, backend, clusterOptions{nodes: size(200)})
	c.waitComplete(c.session(bos.OpBoot, "", "", false), time.Minute)
	before := c.bootCounts(c.computes)

	c.templateWithConfiguration("compute-v2", "compute-config-v2", "v2")

	st := c.waitComplete(c.session(bos.OpBoot, "compute-v2", "", false), time.Minute)
	assert.Equal(t, 100.0, st.PercentSuccessful)
	c.requireBooted(c.computes, "compute-config-v2")
	assert.Equal(t, before, c.bootCounts(c.computes), "no node was rebooted")
}
