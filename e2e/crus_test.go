package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// CRUS groups and templates of these tests.
const (
	crusStart    = "crus-starting"
	crusUp       = "crus-upgrading"
	crusFailed   = "crus-failed"
	crusNextTmpl = "compute-next"
)

// crusCluster is a stack with Slurm and CRUS, every compute node booted on the seeded
// image and idle in Slurm, the three CRUS groups (the starting one holding every compute
// node) and a template for the next image.
type crusCluster struct {
	*slurmCluster
	hsm  *hsmapi.Client
	crus *crus.Client
}

// startCRUSCluster starts n compute nodes. The upgrade template boots the next image
// without CFS: CFS is exercised elsewhere, and each step would otherwise wait a second
// more for BOS's configuration poll, which at 20 steps is most of a minute.
func startCRUSCluster(tb testing.TB, n int) *crusCluster {
	return startCRUSClusterTimed(tb, n, stacktest.FastFaultTiming(), 200*time.Millisecond, time.Second)
}

// startCRUSClusterTimed is startCRUSCluster with the nodes' timing and the workload's
// job durations given (BenchmarkRollingSideBySide runs CRUS on the rolling tests' ones).
func startCRUSClusterTimed(tb testing.TB, n int, timing simulator.Timing, jobMin, jobMax time.Duration) *crusCluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	topo, err := topology.Generate(topology.DefaultOptions(n))
	require.NoError(tb, err)
	st, err := stack.Start(ctx, stack.Options{
		Topology:  topo,
		Sim:       simulator.Config{Timing: &timing, Seed: 11},
		CFS:       stacktest.FastCFS(11),
		Reconcile: true,
		// As the rolling cluster's: in real time (benchmarks) on a loaded machine, 500 ms
		// can fail a BMC request of the first boot, and a node that failed it never comes
		// idle in Slurm.
		RedfishTimeout: 2 * time.Second,
		WithSlurm:      true,
		Net:            testNetwork(tb),
		// A tick of 100 ms lets short jobs end (and drained nodes go quiet) promptly; the
		// history must hold every transition of the run for the no-reboot-under-a-job check.
		Slurm: slurmsim.Config{TickInterval: 100 * time.Millisecond, HistoryPerNode: 4096},
		CRUS: crus.Timing{Poll: 100 * time.Millisecond, QuiesceTimeout: 30 * time.Second, BootTimeout: 30 * time.Second,
			WLMTimeout: 20 * time.Second, MaxBackoff: time.Second},
	})
	require.NoError(tb, err)
	tb.Cleanup(st.Close)
	require.NoError(tb, st.Seed(ctx))
	// One attempt per node; the waits are bootAll's.
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{"polling_frequency": 1, "default_retry_policy": 1})
	require.NoError(tb, err)
	path, err := st.ImagePath(ims.ImageComputeNext)
	require.NoError(tb, err)
	_, err = st.BOSClient.PutTemplate(ctx, crusNextTmpl, stack.DefaultTemplate(path, ""))
	require.NoError(tb, err)

	c := &crusCluster{
		slurmCluster: newSlurmCluster(&cluster{t: tb, st: st, computes: topo.ByRole(topology.RoleCompute)}, topo, jobMin, jobMax),
		hsm:          hsmapi.NewClient(st.URLs.HSM, st.HTTPClient()), crus: crus.NewClient(st.URLs.BOS, st.HTTPClient()),
	}
	for _, label := range []string{crusStart, crusUp, crusFailed} {
		require.NoError(tb, c.hsm.CreateGroup(ctx, hsmapi.Group{Label: label}))
	}
	for _, id := range c.computes {
		require.NoError(tb, c.hsm.AddGroupMember(ctx, crusStart, id))
	}
	c.bootAll()
	return c
}

// outOfService counts the nodes Slurm cannot give jobs to (drained, failed, down, not
// responding, rebooting), leaving out the names in skip.
func outOfService(nodes []slurmapi.Node, skip map[string]bool) int {
	n := 0
	for _, node := range nodes {
		st := node.State
		if skip[node.Name] {
			continue
		}
		if st.Base == slurmapi.StateDown || st.Base == slurmapi.StateUnknown ||
			st.Has(slurmapi.FlagDrain) || st.Has(slurmapi.FlagFail) || st.Has(slurmapi.FlagNotResponding) ||
			st.Has(slurmapi.FlagRebootIssued) || st.Has(slurmapi.FlagRebootRequested) {
			n++
		}
	}
	return n
}

// sampler watches Slurm every 20 ms while an upgrade runs: the most nodes out of service
// at once (the injected dead nodes aside).
type sampler struct {
	mu      sync.Mutex
	maxOut  int
	samples int
	stop    chan struct{}
	done    chan struct{}
}

func (c *crusCluster) sample(skip map[string]bool) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			out := outOfService(c.slurm.Nodes(), skip)
			s.mu.Lock()
			s.maxOut, s.samples = max(s.maxOut, out), s.samples+1
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sampler) finish() (maxOut, samples int) {
	close(s.stop)
	<-s.done
	return s.maxOut, s.samples
}

// upgrade runs one CRUS session to completion and returns it and its duration. It fails
// when neither the session's messages nor Slurm's nodes rebooting changed for stallBound.
func (c *crusCluster) upgrade(step int, template string) (crus.Session, time.Duration) {
	c.t.Helper()
	start := time.Now()
	s, err := c.crus.Create(c.ctx(), crus.CreateRequest{StartingLabel: crusStart, UpgradingLabel: crusUp,
		FailedLabel: crusFailed, UpgradeStepSize: step, UpgradeTemplateID: template})
	require.NoError(c.t, err)
	var got crus.Session
	waitProgress(c.cluster, "CRUS session "+s.UpgradeID, stallBound, 100*time.Millisecond, func() (bool, string) {
		got, err = c.crus.Get(c.ctx(), s.UpgradeID)
		require.NoError(c.t, err)
		return got.Completed, fmt.Sprintf("%d messages, Slurm: %d rebooting, %d idle", len(got.Messages), rebootingNodes(c.slurm.Nodes()), idleNodes(c.slurm.Nodes()))
	}, func() string {
		return "last messages:\n" + strings.Join(got.Messages[max(0, len(got.Messages)-5):], "\n")
	})
	return got, time.Since(start)
}

func (c *crusCluster) members(label string) []string {
	c.t.Helper()
	g, err := c.hsm.Group(c.ctx(), label)
	require.NoError(c.t, err)
	ids := g.Members.IDs
	sort.Strings(ids)
	return ids
}

// The scenario: 1,000 nodes (200 with -short) about 70% busy, a CRUS upgrade in
// steps of 50 with three nodes that never come back. No node reboots under a job, no
// more than a step is ever out of service, the dead nodes (only they) land in the
// failed group, and every other node ends on the new image, rebooted once, back in
// service.
func TestCRUSRollingUpgradeUnderLoad(t *testing.T) { bubble(t, testCRUSRollingUpgradeUnderLoad) }

func testCRUSRollingUpgradeUnderLoad(t *testing.T) {
	n := size(1000)
	const step = 50
	c := startCRUSCluster(t, n)
	c.startWorkload(0.7)
	before := c.bootCounts(c.computes)

	// Dead nodes in two different steps.
	dead := []string{c.computes[n/8], c.computes[n/8+7], c.computes[n*5/8]}
	skip := map[string]bool{}
	for _, id := range dead {
		require.NoError(t, c.st.Sim.SetFault(id, simulator.FaultKernelPanic))
		skip[c.names[id]] = true
	}
	jobsBefore := c.slurm.Stats()

	smp := c.sample(skip)
	s, took := c.upgrade(step, crusNextTmpl)
	maxOut, samples := smp.finish()
	t.Logf("%d nodes, step %d: upgrade took %s; at most %d nodes out of service in %d samples; %d messages",
		n, step, took.Round(time.Millisecond), maxOut, samples, len(s.Messages))

	assert.Equal(t, crus.StateReady, s.State)
	assert.Equal(t, "Upgrade Session Completed", s.Messages[len(s.Messages)-1])
	assert.LessOrEqual(t, maxOut, step, "CRUS never has more than a step of nodes out of service")
	assert.Greater(t, samples, 10)

	sort.Strings(dead)
	assert.Equal(t, dead, c.members(crusFailed), "exactly the dead nodes failed")
	assert.Empty(t, c.members(crusUp))

	// Every other node: booted the new image (BOS saw it), once, and runs jobs again.
	next := ims.ImageID(ims.ImageComputeNext)
	comps, counts := c.components(), c.bootCounts(c.computes)
	slurmNodes := map[string]slurmapi.Node{}
	for _, node := range c.slurm.Nodes() {
		slurmNodes[node.Name] = node
	}
	var bad []string
	for _, id := range c.computes {
		comp, node := comps[id], slurmNodes[c.names[id]]
		if skip[c.names[id]] {
			if !node.State.Has(slurmapi.FlagFail) {
				bad = append(bad, fmt.Sprintf("%s (dead): Slurm %s, want FAIL", id, node.State))
			}
			continue
		}
		switch {
		case !strings.Contains(comp.ActualState.BootArtifacts.Kernel, next) || comp.ActualState.BootArtifacts != comp.DesiredState.BootArtifacts:
			bad = append(bad, fmt.Sprintf("%s: booted %s", id, comp.ActualState.BootArtifacts.Kernel))
		case counts[id] != before[id]+1:
			bad = append(bad, fmt.Sprintf("%s: booted %d times during the upgrade", id, counts[id]-before[id]))
		case !crus.InService(crus.WLMNode{State: node.State, Reason: node.Reason}) || node.State.Has(slurmapi.FlagDrain):
			bad = append(bad, fmt.Sprintf("%s: Slurm %s %q", id, node.State, node.Reason))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Fatalf("%d nodes not upgraded as wanted, e.g.:\n%s", len(bad), strings.Join(bad[:min(10, len(bad))], "\n"))
	}

	// No node rebooted with a job on it: every reboot came after the drain emptied it.
	for _, id := range c.computes {
		hist, err := c.slurm.History(c.names[id])
		require.NoError(t, err)
		require.NoError(t, slurmsim.CheckNoRebootWhileRunning(c.names[id], hist))
	}
	stats := c.slurm.Stats()
	assert.Equal(t, jobsBefore.JobsKilledByReboot, stats.JobsKilledByReboot, "no job was killed by a reboot")
	assert.Equal(t, jobsBefore.JobsNodeFail, stats.JobsNodeFail, "no job failed with its node")
	assert.Greater(t, stats.JobsCompleted, jobsBefore.JobsCompleted+n, "the workload kept running")
}
