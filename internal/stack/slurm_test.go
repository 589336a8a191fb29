package stack

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

func TestResumeTimeout(t *testing.T) {
	assert.Equal(t, slurmsim.DefaultResumeTimeout, resumeTimeout(&simulator.Timing{Scale: 0}), "instant reboots: Slurm's default")
	def := simulator.DefaultTiming() // 217 s of delays, +20% jitter: 260.4 s
	assert.InDelta(t, (2*260.4 + 60), resumeTimeout(&def).Seconds(), 0.01)
	assert.Equal(t, resumeTimeout(&def), resumeTimeout(nil), "nil is the default timing")
}

func TestSlurmNotStartedByDefault(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(2))
	require.NoError(t, err)
	st, err := Start(context.Background(), Options{Topology: topo, Services: []string{HSM}})
	require.NoError(t, err)
	defer st.Close()
	assert.Nil(t, st.Slurm)
	assert.Empty(t, st.URLs.Slurm)
	o := Options{}
	assert.False(t, o.runs(Slurm), "empty Services: every simulator but Slurm")
	o.Services = []string{Slurm}
	assert.True(t, o.runs(Slurm))
}

// TestSlurmStagedReboot wires Slurm into a small stack: nodes join Slurm as they boot,
// and `scontrol reboot` of two of them runs the in-process slurm-reboot, which applies
// their staged state in BOS; they come back on the staged image and resume, the others
// are untouched.
func TestSlurmStagedReboot(t *testing.T) {
	ctx := testwait.Context(t)
	topo, err := topology.Generate(topology.DefaultOptions(8))
	require.NoError(t, err)
	timing := stacktest.FastTiming()
	var mu sync.Mutex
	var powerOffs []string // by the caller's own hook, chained before Slurm's
	st, err := Start(ctx, Options{
		Topology: topo, Reconcile: true, WithSlurm: true, RedfishTimeout: time.Second,
		Sim: simulator.Config{Timing: &timing, Seed: 3, OnPowerChange: func(x, state string) {
			if state == "Off" {
				mu.Lock()
				powerOffs = append(powerOffs, x)
				mu.Unlock()
			}
		}},
		CFS:   cfs.Config{Timing: cfs.Timing{BatchWindow: 20 * time.Millisecond, Scale: 1}},
		Slurm: slurmsim.Config{TickInterval: 50 * time.Millisecond, PeriodicInterval: time.Second},
	})
	require.NoError(t, err)
	defer st.Close()
	require.NotNil(t, st.Slurm)
	require.NotEmpty(t, st.URLs.Slurm)
	require.NoError(t, st.Seed(ctx))
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{"polling_frequency": 2, "max_power_off_wait_time": 3, "clear_stage": true})
	require.NoError(t, err)

	sc := slurmapi.NewClient(st.URLs.Slurm, nil)
	nodes, err := sc.Nodes(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 8, "one Slurm node per compute node")
	assert.Equal(t, "UNKNOWN+NOT_RESPONDING", nodes[0].State.String(), "powered-off nodes wait for their first boot")

	_, err = st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: DefaultTemplateName})
	require.NoError(t, err)
	waitIdle(t, st.Slurm)

	next, err := st.ImagePath(ims.ImageComputeNext)
	require.NoError(t, err)
	_, err = st.BOSClient.PutTemplate(ctx, "compute-next", DefaultTemplate(next, DefaultConfigurationName))
	require.NoError(t, err)
	staged, err := st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpReboot, TemplateName: "compute-next", Stage: true})
	require.NoError(t, err)
	var comps []bos.Component
	testwait.Until(t, "every compute staged", func() bool {
		var err error
		comps, err = st.BOSClient.ListComponents(ctx, bosapi.ComponentQuery{StagedSession: staged.Name})
		return err == nil && len(comps) == 8
	}, func() string { return fmt.Sprintf("%d of 8 staged", len(comps)) })

	require.NoError(t, slurmsim.Scontrol(ctx, sc, []string{"reboot", "ASAP", "nextstate=RESUME", "reason=Rolling Reboot", "nid00000[2-3]"}, io.Discard))
	testwait.Until(t, "2 reboots completed", func() bool { return st.Slurm.Stats().RebootsCompleted == 2 },
		func() string { return fmt.Sprintf("Slurm %+v; %s", st.Slurm.Stats(), slurmStates(st.Slurm)) })
	newImage := ims.ImageID(ims.ImageComputeNext)
	for _, x := range topo.ByRole(topology.RoleCompute) {
		n, _ := st.Sim.Node(x)
		tn, _ := topo.Node(x)
		name := tn.Name
		wantNext := name == "nid000002" || name == "nid000003"
		assert.Equal(t, wantNext, n.BootCount == 2, "%s (%s) booted twice: %d", name, x, n.BootCount)
		assert.Equal(t, wantNext, strings.Contains(n.Kernel, newImage), "%s runs %s", name, n.Kernel)
		sn, err := st.Slurm.Node(name)
		require.NoError(t, err)
		assert.Equal(t, "IDLE", sn.State.String(), name)
		hist, err := st.Slurm.History(name)
		require.NoError(t, err)
		assert.NoError(t, slurmsim.CheckNoRebootWhileRunning(name, hist))
	}
	stats := st.Slurm.Stats()
	assert.Equal(t, 2, stats.RebootsCompleted)
	assert.Equal(t, 1, stats.RebootProgramCalls, "both idle: one batch")
	assert.Zero(t, stats.RebootProgramFailures)
	assert.Zero(t, stats.UnexpectedReboots)
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, powerOffs, 2, "the caller's power hook still runs: %v", powerOffs)
}

// waitIdle waits until every Slurm node is IDLE (booted, registered, no flags).
func waitIdle(t *testing.T, s *slurmsim.Server) {
	t.Helper()
	testwait.Until(t, "every Slurm node IDLE", func() bool {
		for _, n := range s.Nodes() {
			if n.State.String() != "IDLE" {
				return false
			}
		}
		return true
	}, func() string { return slurmStates(s) })
}

// slurmStates lists the Slurm nodes that are not IDLE, with their state.
func slurmStates(s *slurmsim.Server) string {
	var out []string
	for _, n := range s.Nodes() {
		if n.State.String() != "IDLE" {
			out = append(out, n.Name+" "+n.State.String())
		}
	}
	return "not IDLE: " + strings.Join(out, ", ")
}
