package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
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

// bootAll boots every node through BOS and waits until Slurm has them all idle. A node
// that failed its boot fails the setup at once, with BOS's errors: it would never come
// idle. BOS waits up to firstBootWait per node for it (every node powers on at once),
// then rollWait.
func (c *slurmCluster) bootAll() {
	c.t.Helper()
	c.setNodeWaits(firstBootWait)
	st := c.waitSessionProgress(c.session(bos.OpBoot, "", "", false), stallBound)
	if st.PercentFailed > 0 {
		c.t.Fatalf("first boot: %.2f%% of the nodes failed: %+v", st.PercentFailed, st.ErrorSummary)
	}
	c.waitAllIdle()
	c.setNodeWaits(rollWait(c.t))
}

// firstBootWait is BOS's wait per node (power on, boot) for the first boot of every node
// at once: in real time at load 20, 1,000 nodes' first boot failed 2-56% of them with 3 s.
const firstBootWait = time.Minute

// rollWait is BOS's wait per node (power on, boot, power off) while nodes roll. In
// tests (fake time) 3 s: a node that never comes back fails after one attempt of 3 s,
// not three of minutes. In benchmarks (real time, on a shared machine) 20 s: no node is
// broken there, and a reboot of about 2 s idle takes several times that at load 20.
func rollWait(tb testing.TB) time.Duration {
	if _, bench := tb.(*testing.B); bench {
		return 20 * time.Second
	}
	return 3 * time.Second
}

// setNodeWaits sets BOS's max_power_on_wait_time, max_boot_wait_time and
// max_power_off_wait_time to d.
func (c *slurmCluster) setNodeWaits(d time.Duration) {
	c.t.Helper()
	s := int(d.Seconds())
	_, err := c.st.BOSClient.PatchOptions(c.ctx(), map[string]any{
		"max_power_on_wait_time": s, "max_boot_wait_time": s, "max_power_off_wait_time": s,
	})
	require.NoError(c.t, err)
}

// waitAllIdle waits until Slurm shows every node IDLE (after the first boot), failing
// only when no node came idle for stallBound: a first boot takes longer the more nodes
// boot at once and the busier the machine (in real time, in benchmarks).
func (c *slurmCluster) waitAllIdle() {
	c.t.Helper()
	c.waitSlurmNodes("every node idle", stallBound, func(nodes []slurmapi.Node) int {
		return len(nodes) - idleNodes(nodes)
	})
}

// idleNodes counts the nodes IDLE with no flag.
func idleNodes(nodes []slurmapi.Node) int {
	n := 0
	for _, node := range nodes {
		if node.State == (slurmapi.NodeState{Base: slurmapi.StateIdle}) {
			n++
		}
	}
	return n
}

// startWorkload keeps about busy of the nodes running jobs of 1-4 nodes lasting
// jobMin-jobMax, and waits until the cluster is that busy.
func (c *slurmCluster) startWorkload(busy float64) {
	c.t.Helper()
	require.NoError(c.t, c.slurm.StartWorkload(slurmapi.WorkloadConfig{BusyShare: busy, MinNodes: 1, MaxNodes: 4,
		MinDuration: c.jobMin, MaxDuration: c.jobMax, Seed: 5}))
	c.t.Cleanup(c.slurm.StopWorkload)
	want := int(busy * 0.9 * float64(len(c.computes)))
	c.waitSlurmNodes(fmt.Sprintf("%d nodes busy", want), stallBound, func(nodes []slurmapi.Node) int {
		return max(0, want-busyNodes(nodes))
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
