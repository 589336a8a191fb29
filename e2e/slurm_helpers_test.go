package e2e

import (
	"fmt"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/slurmsim"
)

// slurmCluster is what the rolling-reboot and CRUS tests share: a cluster whose stack runs
// the Slurm simulator, and the waits on Slurm's view of the nodes.
type slurmCluster struct {
	*cluster
	slurm *slurmsim.Server
	names map[string]string // xname → Slurm name
	// jobMin and jobMax bound the workload's job durations.
	jobMin, jobMax time.Duration
}

func newSlurmCluster(c *cluster, topo *topology.Topology, jobMin, jobMax time.Duration) *slurmCluster {
	sc := &slurmCluster{cluster: c, slurm: c.st.Slurm, names: map[string]string{}, jobMin: jobMin, jobMax: jobMax}
	for _, node := range topo.Nodes {
		sc.names[node.Xname] = node.Name
	}
	return sc
}

// waitSlurm polls Slurm's nodes until cond holds.
func (c *slurmCluster) waitSlurm(timeout time.Duration, what string, cond func([]slurmapi.Node) bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for nodes := c.slurm.Nodes(); !cond(nodes); nodes = c.slurm.Nodes() {
		if time.Now().After(deadline) {
			states := map[string]int{} // what is pending: the nodes by state
			for _, n := range nodes {
				states[n.State.String()]++
			}
			c.t.Fatalf("Slurm: %s: not after %s; nodes by state: %v", what, timeout, states)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// waitAllIdle waits until Slurm shows every node IDLE (after the first boot).
func (c *slurmCluster) waitAllIdle() {
	c.t.Helper()
	// A first boot takes longer the more nodes boot at once (in real time, in benchmarks).
	c.waitSlurm(30*time.Second+time.Duration(len(c.computes))*30*time.Millisecond, "every node idle in Slurm", func(nodes []slurmapi.Node) bool {
		for _, n := range nodes {
			if n.State != (slurmapi.NodeState{Base: slurmapi.StateIdle}) {
				return false
			}
		}
		return true
	})
}

// startWorkload keeps about busy of the nodes running jobs of 1-4 nodes lasting
// jobMin-jobMax, and waits until the cluster is that busy.
func (c *slurmCluster) startWorkload(busy float64) {
	c.t.Helper()
	require.NoError(c.t, c.slurm.StartWorkload(slurmapi.WorkloadConfig{BusyShare: busy, MinNodes: 1, MaxNodes: 4,
		MinDuration: c.jobMin, MaxDuration: c.jobMax, Seed: 5}))
	c.t.Cleanup(c.slurm.StopWorkload)
	want := int(busy * 0.9 * float64(len(c.computes)))
	c.waitSlurm(30*time.Second, fmt.Sprintf("%d nodes busy", want), func(nodes []slurmapi.Node) bool {
		return busyNodes(nodes) >= want
	})
}

// busyNodes counts the nodes running jobs.
func busyNodes(nodes []slurmapi.Node) int {
	n := 0
	for _, node := range nodes {
		if node.State.Base == slurmapi.StateAllocated || node.State.Base == slurmapi.StateMixed {
			n++
		}
	}
	return n
}
