package e2e

import (
	"fmt"
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
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// TestStagedRollingReboot is the issue's scenario: 1,000 nodes (200 with -short) about
// 70% busy with jobs of 1-4 s. A session stages the next image ("stage": true: nothing
// reboots), then `scontrol reboot ASAP nextstate=resume reason="Rolling Reboot" ALL`;
// Slurm drains every node and issues each one's reboot once its jobs have ended, its
// RebootProgram (the in-process slurm-reboot) applies the staged state in BOS, and BOS
// reboots it. Five nodes never come back (three kernel panics, two BMCs stuck powering
// off): Slurm marks exactly them DOWN "reboot timed out" after ResumeTimeout, BOS fails
// them, and the rest finish: no node rebooted under a job (by Slurm's history and by the
// BMCs' power events), every other node on the new image, rebooted once, back in
// service; the staged session completes.
func TestStagedRollingReboot(t *testing.T) { bubble(t, testStagedRollingReboot) }

func testStagedRollingReboot(t *testing.T) {
	n := size(1000)
	c := startRollingCluster(t, n)
	c.startWorkload(0.7)

	staged := c.stage()
	for id, count := range c.bootCounts(c.computes) {
		require.Equal(t, 1, count, "%s: staging rebooted nothing", id)
	}
	dead := map[string]simulator.Fault{ // by Slurm name
		c.names[c.computes[n/10]]: simulator.FaultKernelPanic, c.names[c.computes[n/2]]: simulator.FaultKernelPanic,
		c.names[c.computes[n-1]]: simulator.FaultKernelPanic,
		c.names[c.computes[n/4]]: simulator.FaultPowerStuck, c.names[c.computes[n*3/4]]: simulator.FaultPowerStuck,
	}
	for name, f := range dead {
		require.NoError(t, c.st.Sim.SetFault(c.xname[name], f))
	}
	t.Cleanup(func() { // let held power transitions finish before the stack closes
		for name, f := range dead {
			_ = c.st.Sim.ClearFault(c.xname[name], f)
		}
	})
	before := c.slurm.Stats()
	busyAtStart := busyNodes(c.slurm.Nodes())

	start := c.rebootAll()
	status := c.waitComplete(staged, 90*time.Second)
	sessionTook := time.Since(start)
	c.waitSlurm(2*rollingResumeTimeout, "healthy nodes back in service, dead ones DOWN", func(nodes []slurmapi.Node) bool {
		for _, node := range nodes {
			st := node.State
			if _, isDead := dead[node.Name]; isDead {
				if st.Base != slurmapi.StateDown || st.Has(slurmapi.FlagRebootIssued) {
					return false
				}
			} else if st.Base == slurmapi.StateDown || st.Flags&(slurmapi.FlagDrain|slurmapi.FlagRebootRequested|slurmapi.FlagRebootIssued) != 0 {
				return false
			}
		}
		return true
	})

	// Slurm: dead nodes DOWN for the timeout, everyone else back and running jobs again.
	var healthy, deadX []string
	for _, node := range c.slurm.Nodes() {
		if _, isDead := dead[node.Name]; isDead {
			deadX = append(deadX, node.Xname)
			assert.Equal(t, "Rolling Reboot : reboot issued : reboot timed out", node.Reason, node.Name)
			assert.False(t, node.State.Has(slurmapi.FlagDrain), "%s: a timed-out reboot clears DRAIN", node.Name)
			continue
		}
		healthy = append(healthy, node.Xname)
		assert.Empty(t, node.Reason, "%s: nextstate=resume clears the reason", node.Name)
	}
	sort.Strings(healthy)
	sort.Strings(deadX)
	stats := c.slurm.Stats()
	assert.Equal(t, len(healthy), stats.RebootsCompleted-before.RebootsCompleted)
	assert.Equal(t, len(dead), stats.RebootsTimedOut-before.RebootsTimedOut)
	assert.Zero(t, stats.RebootProgramFailures, "every node's stage applied, dead ones included")
	assert.Greater(t, stats.RebootProgramCalls-before.RebootProgramCalls, 1, "nodes were rebooted in several batches as their jobs ended")
	assert.Equal(t, before.JobsNodeFail, stats.JobsNodeFail, "no job failed with its node")
	assert.Equal(t, before.JobsKilledByReboot, stats.JobsKilledByReboot, "no job was killed by a reboot")
	assert.Zero(t, stats.UnexpectedReboots, "Slurm asked for every reboot")
	assert.Greater(t, stats.JobsStarted, before.JobsStarted+n/2, "the workload kept running")

	// No node rebooted with a job on it: by Slurm's history, and by the BMCs' power-offs.
	hists := c.histories()
	for name, h := range hists {
		require.NoError(t, slurmsim.CheckNoRebootWhileRunning(name, h))
	}
	offs, bad := c.poweredOffUnderJob(hists)
	assert.GreaterOrEqual(t, offs, n, "every node was powered off at least once")
	assert.Empty(t, bad, "power-offs under a running job")

	// BOS: the healthy nodes booted the next image once more and are configured; the dead
	// ones failed. The session completed with those shares.
	c.requireBooted(healthy, stack.DefaultConfigurationName)
	next := ims.ImageID(ims.ImageComputeNext)
	comps, counts := c.components(), c.bootCounts(c.computes)
	var wrong []string
	for _, id := range healthy {
		if !strings.Contains(comps[id].ActualState.BootArtifacts.Kernel, next) || !strings.Contains(c.node(id).Kernel, next) || counts[id] != 2 {
			wrong = append(wrong, fmt.Sprintf("%s: BOS kernel %s, node kernel %s, %d boots", id, comps[id].ActualState.BootArtifacts.Kernel, c.node(id).Kernel, counts[id]))
		}
	}
	require.Empty(t, wrong, "healthy nodes not on the next image, booted twice")
	var failed []string
	for _, id := range c.computes {
		if comps[id].Status.Status == bos.StatusFailed {
			failed = append(failed, id)
		}
	}
	assert.Equal(t, deadX, failed, "exactly the dead nodes failed in BOS")
	assert.Equal(t, round2(100*float64(len(dead))/float64(n)), status.PercentFailed)
	assert.Equal(t, round2(100*float64(len(healthy))/float64(n)), status.PercentSuccessful)

	var healthyNames []string
	for _, id := range healthy {
		healthyNames = append(healthyNames, c.names[id])
	}
	r, err := measureRolling(hists, healthyNames, start)
	require.NoError(t, err)
	t.Logf("%d nodes, %d busy at the request: rolling reboot %s (ideal %s, ratio %.2f; median reboot %s; longest wait from jobs' end to reboot %s; %d RebootProgram calls); staged session complete after %s",
		n, busyAtStart, r.Actual.Round(time.Millisecond), r.Ideal.Round(time.Millisecond), r.Ratio(), r.Reboot.Round(time.Millisecond),
		r.MaxIssueDelay.Round(time.Millisecond), stats.RebootProgramCalls-before.RebootProgramCalls, sessionTook.Round(time.Millisecond))
	assert.GreaterOrEqual(t, busyAtStart, n/2, "the cluster was busy when the reboot was asked for")
}

// TestRollingSchedule checks the schedule arithmetic on made-up histories: a node idle at
// the request, one whose job ends later, one that never came back.
func TestRollingSchedule(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tr := func(s float64, jobs int, cause string) slurmapi.Transition {
		return slurmapi.Transition{At: at(s), Jobs: jobs, Cause: cause}
	}
	hists := map[string][]slurmapi.Transition{
		"idle": {tr(-5, 0, "slurmd registered"), tr(0, 0, "reboot requested"), tr(0.1, 0, "reboot issued"), tr(2.1, 0, "reboot complete"),
			tr(3, 1, "job started")},
		"busy": {tr(-5, 0, "slurmd registered"), tr(-1, 1, "job started"), tr(0, 1, "reboot requested"), tr(4, 0, "job ended"),
			tr(4.3, 0, "reboot issued"), tr(6.8, 0, "reboot complete")},
		"dead": {tr(-5, 0, "slurmd registered"), tr(0, 0, "reboot requested"), tr(0.1, 0, "reboot issued"), tr(12.5, 0, "reboot timed out")},
	}
	assert.Equal(t, 1, jobsAt(hists["busy"], at(3.9)))
	assert.Equal(t, 0, jobsAt(hists["busy"], at(4)))
	assert.Equal(t, t0, jobsEndedAt(hists["idle"], t0), "idle at the request: free at once")
	assert.Equal(t, at(4), jobsEndedAt(hists["busy"], t0))
	assert.Equal(t, 6*time.Second, idealRollingTime(t0, []time.Time{t0, at(4)}, 2*time.Second), "latest job end + one reboot")

	r, err := measureRolling(hists, []string{"idle", "busy"}, t0)
	require.NoError(t, err)
	assert.Equal(t, 6800*time.Millisecond, r.Actual, "the last node back")
	assert.Equal(t, 2500*time.Millisecond, r.Reboot, "median of 2.0 s and 2.5 s: the upper one")
	assert.Equal(t, 6500*time.Millisecond, r.Ideal)
	assert.Equal(t, 300*time.Millisecond, r.MaxIssueDelay)
	assert.InDelta(t, 6.8/6.5, r.Ratio(), 1e-9)

	assert.Equal(t, 6*time.Second, idealLimitedTime(t0, []time.Time{t0, at(4)}, 2*time.Second, 2), "a slot each: as unlimited")
	assert.Equal(t, 6*time.Second, idealLimitedTime(t0, []time.Time{t0, at(4)}, 2*time.Second, 1), "the idle node is done before the busy one is free")
	assert.Equal(t, 4*time.Second, idealLimitedTime(t0, []time.Time{t0, t0, t0, at(1)}, 2*time.Second, 2), "two waves of two")
	assert.Equal(t, 8*time.Second, idealLimitedTime(t0, []time.Time{t0, t0, t0, at(1)}, 2*time.Second, 1), "one at a time")

	_, err = measureRolling(hists, []string{"idle", "dead"}, t0)
	assert.ErrorContains(t, err, "node dead")
}
