package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/rollout"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// TestRollout is a rollout on 1,000 nodes (200 with -short) about 70% busy with jobs of
// 1-4 s: three canaries, at most 10% out of service. It completes with every node on the
// new image, back in service and healthy; by Slurm's histories no more than the limit were
// ever out of service at once and every BMC power-off fell inside its node's time out of
// service; no node rebooted under a job; no other node was handed to Slurm before the
// canaries were back.
func TestRollout(t *testing.T) { bubble(t, testRollout) }

func testRollout(t *testing.T) {
	n := size(1000)
	if testing.Short() { // CI's race stage: 3 canaries, then 10% at a time, as at 1,000
		n = 100
	}
	c := startRollingCluster(t, n)
	c.startWorkload(0.7)
	before := c.slurm.Stats()

	start := time.Now()
	r := c.createRollout("upgrade", bos.RolloutPolicy{Canary: 3, MaxUnavailable: bos.Amount{N: 10, Percent: true},
		FailureBudget: bos.Amount{N: 5}, NodeTimeoutSeconds: 60})
	r = c.waitRollout(r.Name, func(r bos.Rollout) bool { return r.Final() })
	took := time.Since(start)
	require.Equal(t, bos.RolloutComplete, r.State, r.Reason)
	assert.Equal(t, bos.RolloutCounts{Total: n, Healthy: n}, r.Counts)
	limit := n / 10
	assert.Equal(t, limit, r.MaxUnavailable)

	stats := c.slurm.Stats()
	assert.Equal(t, n, stats.RebootsCompleted-before.RebootsCompleted, "every node rebooted once")
	assert.Equal(t, before.JobsKilledByReboot, stats.JobsKilledByReboot, "no job was killed by a reboot")
	assert.Equal(t, before.JobsNodeFail, stats.JobsNodeFail, "no job failed with its node")
	assert.Zero(t, stats.UnexpectedReboots)

	hists := c.histories()
	for name, h := range hists {
		require.NoError(t, slurmsim.CheckNoRebootWhileRunning(name, h))
	}
	_, bad := c.poweredOffUnderJob(hists)
	assert.Empty(t, bad, "power-offs under a running job")

	peak, at := maxOutOfService(hists, start)
	assert.LessOrEqual(t, peak, limit, "out of service at %s", at.Format("15:04:05.000"))
	assert.Empty(t, c.powerOffsOutsideOutOfService(hists, start), "a BMC powered off a node Slurm counted in service")

	// Canaries first: every other node was asked to reboot after the last canary was back.
	var canariesBack time.Time
	var canaries []string
	for _, node := range r.Nodes {
		if node.Canary {
			canaries = append(canaries, node.Name)
			canariesBack = latest(canariesBack, firstCause(hists[node.Name], start, "reboot complete"))
		}
	}
	require.Len(t, canaries, 3)
	for _, node := range r.Nodes {
		if !node.Canary {
			asked := firstCause(hists[node.Name], start, "reboot requested")
			require.False(t, asked.Before(canariesBack), "%s asked to reboot at %s, before the canaries were back at %s", node.Name, asked, canariesBack)
		}
	}

	// BOS: every node booted the next image once more and is configured.
	c.requireBooted(c.computes, stack.DefaultConfigurationName)
	next := ims.ImageID(ims.ImageComputeNext)
	comps, counts := c.components(), c.bootCounts(c.computes)
	for _, id := range c.computes {
		require.True(t, strings.Contains(comps[id].ActualState.BootArtifacts.Kernel, next) && counts[id] == 2,
			"%s: kernel %s, %d boots", id, comps[id].ActualState.BootArtifacts.Kernel, counts[id])
	}
	// Steering: every node's Slurm weight is back to the default.
	for _, node := range c.slurm.Nodes() {
		require.Equal(t, 1, node.Weight, "%s: weight put back", node.Name)
	}

	var names []string
	var canaryAt []int
	for i, node := range r.Nodes {
		names = append(names, node.Name)
		if node.Canary {
			canaryAt = append(canaryAt, i)
		}
	}
	m, err := measureRolling(hists, names, start)
	require.NoError(t, err)
	ideal := idealLimitedTime(start, m.Free, m.Reboot, limit)
	idealCanary := idealCanaryLimitedTime(start, m.Free, canaryAt, m.Reboot, limit)
	var waited time.Duration // from the hand-over to Slurm issuing the reboot: the jobs' end
	for _, name := range names {
		waited += firstCause(hists[name], start, "reboot issued").Sub(firstCause(hists[name], start, "reboot requested"))
	}
	t.Logf("%d nodes, canary 3, max unavailable %d: rollout complete after %s, last node back in Slurm after %s, in %d waves; "+
		"ideal under the same limit %s (ratio %.2f of the last node back, %.2f of complete), with the canaries first %s (ratio %.2f of the last node back); "+
		"unlimited ideal %s; median reboot %s; mean wait for jobs after the hand-over %s; peak out of service %d",
		n, limit, took.Round(time.Millisecond), m.Actual.Round(time.Millisecond), r.Waves, ideal.Round(time.Millisecond),
		m.Actual.Seconds()/ideal.Seconds(), took.Seconds()/ideal.Seconds(), idealCanary.Round(time.Millisecond), m.Actual.Seconds()/idealCanary.Seconds(), m.Ideal.Round(time.Millisecond), m.Reboot.Round(time.Millisecond),
		(waited / time.Duration(len(names))).Round(time.Millisecond), peak)
}

// TestRolloutBrokenImage: every node that reboots into the new image panics. Two
// canaries fail and pause the rollout; after a resume (no canaries left to wait for) the
// next wave fails and the failure budget pauses it again with exactly the failed nodes
// drained, the reason given; abort then cancels the reboots Slurm has not issued and
// clears the stage of every node not rebooted, which never reboot.
func TestRolloutBrokenImage(t *testing.T) { bubble(t, testRolloutBrokenImage) }

func testRolloutBrokenImage(t *testing.T) {
	n := size(100)
	c := startRollingCluster(t, n)
	c.startWorkload(0.7)
	for _, x := range c.computes {
		require.NoError(t, c.st.Sim.SetFault(x, simulator.FaultKernelPanic))
	}
	t.Cleanup(func() {
		for _, x := range c.computes {
			_ = c.st.Sim.ClearFault(x, simulator.FaultKernelPanic)
		}
	})

	const canaries, maxUnavailable, budget = 2, 6, 3
	r := c.createRollout("broken", bos.RolloutPolicy{Canary: canaries, MaxUnavailable: bos.Amount{N: maxUnavailable},
		FailureBudget: bos.Amount{N: budget}, NodeTimeoutSeconds: 60})
	r = c.waitRollout(r.Name, func(r bos.Rollout) bool { return r.State != bos.RolloutRunning && r.State != bos.RolloutStaging })
	require.Equal(t, bos.RolloutPaused, r.State)
	assert.Contains(t, r.Reason, "a canary node failed")
	r = c.waitRollout(r.Name, func(r bos.Rollout) bool { return r.Counts.Failed == 2 })
	assert.Equal(t, bos.RolloutCounts{Total: n, Waiting: n - 2, Failed: 2}, r.Counts, "only the canaries moved")
	c.requireDrainedFailed(r)

	r = c.command(r.Name, bos.RolloutResume)
	r = c.waitRollout(r.Name, func(r bos.Rollout) bool { return r.State == bos.RolloutPaused })
	assert.Contains(t, r.Reason, "failure budget of 3 reached")
	c.requireDrainedFailed(r)
	// Failed nodes stay drained and keep their slots: the canaries hold two of the six,
	// so at most maxUnavailable - canaries nodes move after the resume, maxUnavailable
	// in all.
	movedMost := maxUnavailable
	assert.GreaterOrEqual(t, r.Counts.Failed, canaries+budget)
	assert.LessOrEqual(t, r.Counts.Failed, movedMost, "at most max unavailable nodes moved, the failed canaries included")
	assert.LessOrEqual(t, n-r.Counts.Waiting, movedMost)

	r = c.command(r.Name, bos.RolloutAbort)
	r = c.waitRollout(r.Name, func(r bos.Rollout) bool { return r.Final() })
	require.Equal(t, bos.RolloutAborted, r.State)
	// Let the reboots issued before the abort play out, then look at every node.
	c.waitRollout(r.Name, func(bos.Rollout) bool {
		nodes := c.slurm.Nodes()
		return !slices.ContainsFunc(nodes, func(n slurmapi.Node) bool { return n.State.Has(slurmapi.FlagRebootIssued) })
	})
	comps, counts := c.components(), c.bootCounts(c.computes)
	slurmNodes := map[string]slurmapi.Node{}
	for _, node := range c.slurm.Nodes() {
		slurmNodes[node.Name] = node
	}
	cancelled := 0
	for _, node := range r.Nodes {
		s := slurmNodes[node.Name]
		assert.False(t, s.State.Has(slurmapi.FlagRebootRequested), "%s: no reboot left pending after the abort", node.Name)
		if node.Phase != bos.NodeCancelled {
			continue
		}
		cancelled++
		assert.Empty(t, comps[node.Xname].StagedState.Session, "%s: stage cleared", node.Xname)
		assert.Equal(t, 1, counts[node.Xname], "%s: never rebooted", node.Xname)
		assert.False(t, s.State.Has(slurmapi.FlagDrain), "%s: back in service", node.Name)
	}
	assert.Equal(t, n-r.Counts.Failed-r.Counts.Handed-r.Counts.Out, cancelled)
	// Every node that had not moved is cancelled (with -short, 20 nodes: at least 14).
	assert.GreaterOrEqual(t, cancelled, n-movedMost)
}

// createRollout creates a rollout of the next image on every compute node.
func (c *rollingCluster) createRollout(name string, p bos.RolloutPolicy) bos.Rollout {
	c.t.Helper()
	r, err := c.st.BOSClient.CreateRollout(c.ctx(), bos.RolloutCreate{Name: name, TemplateName: rollingTemplate, Policy: p})
	require.NoError(c.t, err)
	return r
}

func (c *rollingCluster) command(name, cmd string) bos.Rollout {
	c.t.Helper()
	r, err := c.st.BOSClient.RolloutCommand(c.ctx(), name, cmd)
	require.NoError(c.t, err)
	return r
}

// waitRollout polls the rollout until cond holds, failing when neither the rollout nor
// Slurm's nodes changed for stallBound, with the rollout's state and counts.
func (c *rollingCluster) waitRollout(name string, cond func(bos.Rollout) bool) bos.Rollout {
	c.t.Helper()
	var r bos.Rollout
	waitProgress(c.cluster, "rollout "+name, stallBound, 100*time.Millisecond, func() (bool, string) {
		var err error
		r, err = c.st.BOSClient.GetRollout(c.ctx(), name)
		require.NoError(c.t, err)
		return cond(r), fmt.Sprintf("%s (%s), %+v, Slurm: %d rebooting", r.State, r.Reason, r.Counts, rebootingNodes(c.slurm.Nodes()))
	}, func() string { return fmt.Sprintf("%d nodes idle in Slurm", idleNodes(c.slurm.Nodes())) })
	return r
}

// rebootingNodes counts the nodes with a reboot requested or issued.
func rebootingNodes(nodes []slurmapi.Node) int {
	n := 0
	for _, node := range nodes {
		if node.State.Has(slurmapi.FlagRebootRequested) || node.State.Has(slurmapi.FlagRebootIssued) {
			n++
		}
	}
	return n
}

// requireDrainedFailed checks that every failed node is drained in Slurm with the
// rollout's reason, and no other node is drained by it.
func (c *rollingCluster) requireDrainedFailed(r bos.Rollout) {
	c.t.Helper()
	failed := map[string]bool{}
	for _, n := range r.Nodes {
		if n.Phase == bos.NodeFailed {
			failed[n.Name] = true
		}
	}
	c.waitSlurm(30*time.Second, "failed nodes drained", func(nodes []slurmapi.Node) bool {
		for _, n := range nodes {
			ours := strings.HasPrefix(n.Reason, rollout.RebootReason(r.Name)+": ")
			if failed[n.Name] != (ours && n.State.Has(slurmapi.FlagDrain)) {
				return false
			}
		}
		return true
	})
}

// maxOutOfService is the most nodes Slurm's histories show out of service at once after
// start (rollout.SlurmNode's rule: down, rebooting, or drained with no job), and when.
func maxOutOfService(hists map[string][]slurmapi.Transition, start time.Time) (int, time.Time) {
	type change struct {
		at    time.Time
		delta int
	}
	var changes []change
	for _, h := range hists {
		out := false // as of the last transition read
		for _, tr := range h {
			now := rollout.SlurmNode{State: tr.State}.OutOfService()
			if now != out {
				changes = append(changes, change{latest(start, tr.At), map[bool]int{true: 1, false: -1}[now]})
			}
			out = now
		}
	}
	// At equal times, nodes coming back count before nodes leaving.
	sort.SliceStable(changes, func(i, j int) bool {
		if !changes[i].at.Equal(changes[j].at) {
			return changes[i].at.Before(changes[j].at)
		}
		return changes[i].delta < changes[j].delta
	})
	cur, peak, at := 0, 0, time.Time{}
	for _, ch := range changes {
		cur += ch.delta
		if cur > peak {
			peak, at = cur, ch.at
		}
	}
	return peak, at
}

// powerOffsOutsideOutOfService lists BMC power-offs after start at times Slurm's history
// shows the node in service: the BMCs' view of the same limit.
func (c *rollingCluster) powerOffsOutsideOutOfService(hists map[string][]slurmapi.Transition, start time.Time) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bad []string
	for x, times := range c.powerOffs {
		h := hists[c.names[x]]
		for _, at := range times {
			if at.Before(start) {
				continue
			}
			var st slurmapi.NodeState
			for _, tr := range h {
				if tr.At.After(at) {
					break
				}
				st = tr.State
			}
			if !(rollout.SlurmNode{State: st}).OutOfService() {
				bad = append(bad, fmt.Sprintf("%s at %s: Slurm %s", x, at.Format("15:04:05.000"), st))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// firstCause is when the history first shows cause after start (zero if never).
func firstCause(h []slurmapi.Transition, start time.Time, cause string) time.Time {
	for _, tr := range h {
		if !tr.At.Before(start) && tr.Cause == cause {
			return tr.At
		}
	}
	return time.Time{}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
