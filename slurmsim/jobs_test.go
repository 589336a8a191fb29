package slurmsim

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFIFOScheduling(t *testing.T) {
	e := newEnv(t, 4)
	j1 := e.submit(3, 10*time.Second)
	j2 := e.submit(2, 10*time.Second)
	j3 := e.submit(1, 10*time.Second)
	assert.Equal(t, slurmapi.JobRunning, e.job(j1).State)
	assert.Equal(t, "nid[000001-000003]", e.job(j1).Nodes)
	assert.Equal(t, "Resources", e.job(j2).Reason)
	assert.Equal(t, slurmapi.JobPending, e.job(j3).State, "no backfill: one free node stays free")
	assert.Equal(t, "Priority", e.job(j3).Reason)
	assert.Equal(t, "IDLE", e.state("nid000004"))

	e.ticks(10)
	assert.Equal(t, slurmapi.JobCompleted, e.job(j1).State)
	assert.Equal(t, t0.Add(10*time.Second), e.job(j1).EndTime)
	assert.Equal(t, "nid[000001-000002]", e.job(j2).Nodes)
	assert.Equal(t, "nid000003", e.job(j3).Nodes)
	assert.Equal(t, 3, e.s.Stats().JobsStarted)
}

func TestJobLifecycle(t *testing.T) {
	t.Run("time limit kills the job", func(t *testing.T) {
		e := newEnv(t, 1)
		id, err := e.s.Submit(slurmapi.JobDesc{Nodes: 1, TimeLimit: time.Minute, Duration: time.Hour})
		require.NoError(t, err)
		e.ticks(59)
		assert.Equal(t, slurmapi.JobRunning, e.job(id).State)
		e.tick(time.Second)
		assert.Equal(t, slurmapi.JobTimeout, e.job(id).State)
		assert.Equal(t, 1, e.s.Stats().JobsTimedOut)
	})
	t.Run("no duration runs to the limit; none at all runs until cancelled", func(t *testing.T) {
		e := newEnv(t, 2)
		a, err := e.s.Submit(slurmapi.JobDesc{Nodes: 1, TimeLimit: 5 * time.Second})
		require.NoError(t, err)
		b := e.submit(1, 0)
		e.ticks(5)
		assert.Equal(t, slurmapi.JobTimeout, e.job(a).State)
		assert.Equal(t, slurmapi.JobRunning, e.job(b).State)
		require.NoError(t, e.s.CancelJob(b))
		assert.Equal(t, slurmapi.JobCancelled, e.job(b).State)
		assert.Equal(t, slurmapi.CodeConflict, slurmapi.CodeOf(e.s.CancelJob(b)))
	})
	t.Run("epilog: COMPLETING, then IDLE", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.Epilog = 2 * time.Second })
		id := e.submit(1, 3*time.Second)
		e.ticks(3)
		assert.Equal(t, "IDLE+COMPLETING", e.state("nid000001"))
		j := e.job(id)
		assert.Equal(t, []string{"COMPLETED", "COMPLETING"}, j.StateList())
		next := e.submit(1, time.Second)
		assert.Equal(t, slurmapi.JobPending, e.job(next).State, "a COMPLETING node takes no job")
		e.ticks(2)
		assert.Equal(t, slurmapi.JobRunning, e.job(next).State)
		assert.False(t, e.job(id).Completing)
	})
	t.Run("cancel a pending job", func(t *testing.T) {
		e := newEnv(t, 1)
		e.submit(1, time.Hour)
		id := e.submit(1, time.Hour)
		require.NoError(t, e.s.CancelJob(id))
		assert.Equal(t, slurmapi.JobCancelled, e.job(id).State)
		assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(e.s.CancelJob(99)))
	})
	t.Run("finished jobs are forgotten after MinJobAge", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.MinJobAge = 10 * time.Second })
		id := e.submit(1, time.Second)
		e.ticks(10)
		_, err := e.s.Job(id)
		require.NoError(t, err)
		e.tick(time.Second)
		_, err = e.s.Job(id)
		assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(err))
	})
	t.Run("partial nodes make MIXED", func(t *testing.T) {
		e := newEnv(t, 1)
		_, err := e.s.Submit(slurmapi.JobDesc{Nodes: 1, CPUsPerNode: 64, Duration: time.Hour})
		require.NoError(t, err)
		n := e.node("nid000001")
		assert.Equal(t, "MIXED", n.State.String())
		assert.Equal(t, "MIX", n.State.Compact())
		second, err := e.s.Submit(slurmapi.JobDesc{Nodes: 1, CPUsPerNode: 64, Duration: time.Hour})
		require.NoError(t, err)
		assert.Equal(t, slurmapi.JobRunning, e.job(second).State)
		assert.Equal(t, "ALLOCATED", e.state("nid000001"))
		assert.Equal(t, []int{1, 2}, e.node("nid000001").Jobs)
	})
}

func TestSubmitErrors(t *testing.T) {
	e := newEnv(t, 2, func(c *Config) {
		c.Partitions = []PartitionSpec{{Name: "workq", Default: true}, {Name: "short", Nodes: "nid000002", MaxTime: time.Hour}}
	})
	tests := []struct {
		name string
		d    slurmapi.JobDesc
		msg  string
	}{
		{"no nodes", slurmapi.JobDesc{}, "Node count specification invalid"},
		{"more nodes than the partition", slurmapi.JobDesc{Nodes: 2, Partition: "short"}, "Node count specification invalid"},
		{"unknown partition", slurmapi.JobDesc{Nodes: 1, Partition: "long"}, "Invalid partition name specified"},
		{"over MaxTime", slurmapi.JobDesc{Nodes: 1, Partition: "short", TimeLimit: 2 * time.Hour}, "Requested time limit is invalid"},
		{"negative", slurmapi.JobDesc{Nodes: 1, Duration: -time.Second}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.Submit(tt.d)
			require.Error(t, err)
			assert.Equal(t, slurmapi.CodeInvalid, slurmapi.CodeOf(err))
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	id, err := e.s.Submit(slurmapi.JobDesc{Nodes: 1, Partition: "short"})
	require.NoError(t, err)
	j := e.job(id)
	assert.Equal(t, "nid000002", j.Nodes)
	assert.Equal(t, time.Hour, j.TimeLimit, "the partition's MaxTime is the default limit")
	assert.Equal(t, 1, e.s.Stats().JobsSubmitted, "refused jobs are not counted")
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no nodes":          {},
		"duplicate":         {Nodes: []NodeSpec{{Name: "a"}, {Name: "a"}}},
		"bad name":          {Nodes: []NodeSpec{{Name: "a[1]"}}},
		"bad RTS":           {Nodes: []NodeSpec{{Name: "a"}}, ReturnToService: 3},
		"bad initial":       {Nodes: []NodeSpec{{Name: "a"}}, InitialState: "DOWN"},
		"unknown part node": {Nodes: []NodeSpec{{Name: "a"}}, Partitions: []PartitionSpec{{Name: "p", Nodes: "b"}}},
		"negative":          {Nodes: []NodeSpec{{Name: "a"}}, Epilog: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(cfg)
			assert.Error(t, err)
		})
	}
}

// averageBusy runs e for d in steps, returning the mean share of allocated nodes.
func averageBusy(e *env, total int, d, step time.Duration) float64 {
	before := e.s.Stats().AllocatedNodeSeconds
	for elapsed := time.Duration(0); elapsed < d; elapsed += step {
		e.tick(step)
	}
	return (e.s.Stats().AllocatedNodeSeconds - before) / (d.Seconds() * float64(total))
}

func TestWorkloadBusyShare(t *testing.T) {
	const nodes = 200
	for _, share := range []float64{0.5, 0.9} {
		e := newEnv(t, nodes)
		require.NoError(t, e.s.StartWorkload(slurmapi.WorkloadConfig{BusyShare: share, MinNodes: 1, MaxNodes: 8,
			MinDuration: time.Minute, MaxDuration: 10 * time.Minute, Seed: 7}))
		e.tick(time.Second) // the first fill
		got := averageBusy(e, nodes, 4*time.Hour, 5*time.Second)
		t.Logf("busy share %.2f: measured %.3f", share, got)
		assert.InDelta(t, share, got, 0.05, "share %.2f", share)
		st := e.s.Stats()
		assert.Greater(t, st.JobsCompleted, 100)
		assert.Zero(t, st.JobsTimedOut, "limits are 1.5x durations")

		e.s.StopWorkload()
		submitted := st.JobsSubmitted
		e.ticks(30)
		assert.Equal(t, submitted, e.s.Stats().JobsSubmitted, "stopped")
		_, running := e.s.Workload()
		assert.False(t, running)
	}
}

func TestWorkloadDeterministic(t *testing.T) {
	run := func() slurmapi.Stats {
		e := newEnv(t, 50)
		require.NoError(t, e.s.StartWorkload(slurmapi.WorkloadConfig{BusyShare: 0.8, MaxNodes: 4, Seed: 42}))
		for i := 0; i < 600; i++ {
			e.tick(5 * time.Second)
		}
		return e.s.Stats()
	}
	assert.Equal(t, run(), run())
}

func TestWorkloadErrors(t *testing.T) {
	e := newEnv(t, 4)
	for _, cfg := range []slurmapi.WorkloadConfig{
		{BusyShare: 0},
		{BusyShare: 1.5},
		{BusyShare: 0.5, MinNodes: 3, MaxNodes: 2},
		{BusyShare: 0.5, MaxNodes: 5},
		{BusyShare: 0.5, MinDuration: time.Hour, MaxDuration: time.Minute},
		{BusyShare: 0.5, Partition: "nope"},
	} {
		assert.Equal(t, slurmapi.CodeInvalid, slurmapi.CodeOf(e.s.StartWorkload(cfg)), "%+v", cfg)
	}
}

// TestRollingRebootUnderLoad is the scenario the simulator exists for: a busy cluster,
// an ASAP reboot of every node, a RebootProgram that boots the nodes some seconds later.
// Every node must reboot exactly once, never under a running job.
func TestRollingRebootUnderLoad(t *testing.T) {
	const nodes = 64
	var e *env
	booting := map[string]time.Time{} // node -> when it finishes booting
	prog := ProgramFunc(func(_ context.Context, names []string) error {
		for _, n := range names {
			booting[n] = e.clk.Now().Add(20 * time.Second)
		}
		return nil
	})
	e = newEnv(t, nodes, func(c *Config) {
		c.RebootProgram = prog
		c.Epilog = 2 * time.Second
		c.ResumeTimeout = 5 * time.Minute
	})
	require.NoError(t, e.s.StartWorkload(slurmapi.WorkloadConfig{BusyShare: 0.8, MaxNodes: 6, MinDuration: 30 * time.Second,
		MaxDuration: 5 * time.Minute, Seed: 3}))
	e.ticks(600) // warm up: the cluster is busy
	require.Greater(t, e.s.Stats().AllocatedNodeSeconds, 0.0)
	e.reboot(slurmapi.RebootRequest{Nodes: "ALL", ASAP: true, Reason: "rolling"})
	for i := 0; i < 3600 && e.s.Stats().RebootsCompleted < nodes; i++ {
		e.tick(time.Second) // the program runs synchronously before WaitPrograms returns
		now := e.clk.Now()
		for name, at := range booting {
			if !now.Before(at) {
				delete(booting, name)
				e.register(name, at)
			}
		}
	}
	st := e.s.Stats()
	t.Logf("after %s: %+v", e.clk.Now().Sub(t0), st)
	assert.Equal(t, nodes, st.RebootsCompleted)
	assert.Zero(t, st.RebootsTimedOut)
	assert.Zero(t, st.UnexpectedReboots)
	assert.Zero(t, st.JobsNodeFail)
	assert.Greater(t, st.RebootProgramCalls, 1, "nodes became idle at different times")
	for _, n := range e.s.Nodes() {
		assert.False(t, n.State.Has(slurmapi.FlagDrain|slurmapi.FlagRebootRequested), n.Name)
		hist, err := e.s.History(n.Name)
		require.NoError(t, err)
		assert.NoError(t, CheckNoRebootWhileRunning(n.Name, hist))
	}
}

func TestHistoryBounded(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.HistoryPerNode = 4 })
	for i := 0; i < 10; i++ {
		e.submit(1, time.Second)
		e.tick(time.Second)
	}
	hist, err := e.s.History("nid000001")
	require.NoError(t, err)
	require.Len(t, hist, 4)
	for i := 1; i < len(hist); i++ {
		assert.True(t, hist[i].At.After(hist[i-1].At) || hist[i].At.Equal(hist[i-1].At), "oldest first")
	}
	assert.Equal(t, "job ended", hist[3].Cause)
	_, err = e.s.History("nid9")
	assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(err))
}

func TestNodesFromTopology(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(3))
	require.NoError(t, err)
	specs := NodesFromTopology(topo)
	require.Len(t, specs, 3, "compute nodes only")
	assert.Equal(t, NodeSpec{Name: "nid000001", Xname: "x1000c0s0b0n0"}, specs[0])
	s, err := New(Config{Nodes: specs, RebootProgram: ProgramFunc(func(context.Context, []string) error { return nil })})
	require.NoError(t, err)
	s.OnPowerChange("x1000c0s0b0n1", "PoweringOff")
	s.Tick(time.Now())
	n, err := s.Node("nid000002")
	require.NoError(t, err)
	assert.Equal(t, "IDLE+NOT_RESPONDING", n.State.String())
	assert.Equal(t, "x1000c0s0b0n1", n.Xname)
}

// TestWeightOrdersScheduling: jobs take the lowest-weight allocatable nodes first, then
// the lowest-numbered (`scontrol update nodename=... weight=N`); the weight is shown and
// a weight-only update records no transition.
func TestWeightOrdersScheduling(t *testing.T) {
	e := newEnv(t, 4)
	assert.Equal(t, 1, e.node("nid000001").Weight, "Slurm's default")
	hist, err := e.s.History("nid000001")
	require.NoError(t, err)
	require.NoError(t, e.s.UpdateNode(slurmapi.NodeUpdate{Nodes: "nid[000001-000002]", Weight: 100}))
	after, err := e.s.History("nid000001")
	require.NoError(t, err)
	assert.Len(t, after, len(hist), "a weight change is no state transition")
	assert.Equal(t, 100, e.node("nid000002").Weight)

	j1 := e.submit(1, 10*time.Second)
	j2 := e.submit(2, 10*time.Second)
	j3 := e.submit(1, 10*time.Second)
	assert.Equal(t, "nid000003", e.job(j1).Nodes)
	assert.Equal(t, "nid[000001,000004]", e.job(j2).Nodes, "weight 1 first, then the lowest-numbered of weight 100")
	assert.Equal(t, "nid000002", e.job(j3).Nodes)

	assert.Error(t, e.s.UpdateNode(slurmapi.NodeUpdate{Nodes: "nid000001", Weight: -1}))
	u, err := parseUpdate([]string{"nodename=nid000001", "weight=7"})
	require.NoError(t, err)
	assert.Equal(t, slurmapi.NodeUpdate{Nodes: "nid000001", Weight: 7}, u)
	_, err = parseUpdate([]string{"nodename=nid000001", "weight=x"})
	assert.Error(t, err)

	srv := httptest.NewServer(e.s.Handler()) // through slurmrestd's shape
	t.Cleanup(srv.Close)
	c := slurmapi.NewClient(srv.URL, srv.Client())
	require.NoError(t, c.UpdateNode(context.Background(), slurmapi.NodeUpdate{Nodes: "nid000003", Weight: 42}))
	n, err := c.Node(context.Background(), "nid000003")
	require.NoError(t, err)
	require.Len(t, n, 1)
	assert.Equal(t, 42, n[0].Weight)
}
