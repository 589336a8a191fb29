package webui_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/webui"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// TestBrowserShowsARollingReboot: a stack with Slurm, its compute nodes booted and a
// staged reboot session over them; two nodes run a job each until the test cancels it.
// The view, switched to its rolling mode, shows every compute node staged; `scontrol
// reboot` without ASAP of the first busy node shows it waiting for its job; `scontrol
// reboot ASAP` of all shows the second busy node draining, and the idle ones reboot and
// come back in service; clicking the draining node shows its Slurm state, reason and
// job; once the jobs are cancelled every compute node is back in service, drawn in its
// colour. Real time (a browser and a stack): every wait is bounded by testwait.Backstop.
func TestBrowserShowsARollingReboot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack and a browser")
	}
	browser := chromium(t)
	topo, err := topology.Generate(topology.DefaultOptions(12))
	require.NoError(t, err)
	compute := topo.ByRole(topology.RoleCompute)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testwait.Backstop)
	defer cancel()
	timing := stacktest.FastTiming()
	st, err := stack.Start(ctx, stack.Options{
		Topology: topo, Reconcile: true, WithSlurm: true, RedfishTimeout: time.Second,
		Sim:   simulator.Config{Timing: &timing, Seed: 3},
		CFS:   stacktest.FastCFS(3),
		Slurm: slurmsim.Config{TickInterval: 50 * time.Millisecond, PeriodicInterval: time.Second},
	})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Seed(ctx))
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{"polling_frequency": 2, "max_power_off_wait_time": 3, "clear_stage": true})
	require.NoError(t, err)
	sc := slurmapi.NewClient(st.URLs.Slurm, nil)

	_, err = st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: stack.DefaultTemplateName})
	require.NoError(t, err)
	testwait.Until(t, "every Slurm node IDLE", func() bool {
		for _, n := range st.Slurm.Nodes() {
			if n.State.String() != "IDLE" {
				return false
			}
		}
		return true
	}, func() string { return slurmStates(st.Slurm) })
	next, err := st.ImagePath(ims.ImageComputeNext)
	require.NoError(t, err)
	_, err = st.BOSClient.PutTemplate(ctx, "compute-next", stack.DefaultTemplate(next, stack.DefaultConfigurationName))
	require.NoError(t, err)
	staged, err := st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpReboot, TemplateName: "compute-next", Stage: true})
	require.NoError(t, err)
	testwait.Until(t, "every compute node staged", func() bool {
		comps, err := st.BOSClient.ListComponents(ctx, bosapi.ComponentQuery{StagedSession: staged.Name})
		return err == nil && len(comps) == len(compute)
	}, nil)

	// Two jobs of one node each, running until cancelled.
	var jobs []int
	busy := map[string]string{} // xname → Slurm name
	for range 2 {
		id, err := sc.Submit(ctx, slurmapi.JobDesc{Name: "hold", Nodes: 1})
		require.NoError(t, err)
		jobs = append(jobs, id)
	}
	var waiting, draining string // xnames of the two busy nodes
	testwait.Until(t, "both jobs running", func() bool {
		clear(busy)
		for _, id := range jobs {
			j, err := sc.Job(ctx, id)
			if err != nil || j.State != slurmapi.JobRunning {
				return false
			}
			n, err := st.Slurm.Node(j.Nodes)
			if err != nil {
				return false
			}
			busy[n.Xname] = j.Nodes
		}
		return len(busy) == 2
	}, nil)
	for x := range busy {
		if waiting == "" {
			waiting = x
		} else {
			draining = x
		}
	}

	p := openPage(t, ctx, browser, st.URLs.BOS+webui.Path+"#rolling", func(p *page) string {
		return fmt.Sprintf("browser: %s\n%s", p.peek(countBy(compute, "rolling")), slurmStates(st.Slurm))
	})
	p.wait("the snapshot", `window.bosView && bosView.ready()`)
	assert.Equal(t, "rolling", p.eval(`bosView.mode()`), "#rolling opens the rolling view")
	p.wait("every compute node staged", jsIDs(compute)+`.every((id) => bosView.rolling(id) === "staged")`)
	assert.Equal(t, strconv.Itoa(len(compute)), p.eval(`document.querySelector('#legend [data-rolling="staged"] b').textContent`), "the legend counts them")

	scontrol := func(args ...string) {
		t.Helper()
		require.NoError(t, slurmsim.Scontrol(ctx, sc, args, io.Discard))
	}
	scontrol("reboot", "nextstate=RESUME", "reason=Rolling Reboot", busy[waiting])
	p.wait("the node whose reboot waits for its job", `bosView.rolling("`+waiting+`") === "waiting_for_jobs"`)
	scontrol("reboot", "ASAP", "nextstate=RESUME", "reason=Rolling Reboot", "ALL")
	p.wait("the busy node draining", `bosView.rolling("`+draining+`") === "draining"`)
	var idle []string
	for _, x := range compute {
		if busy[x] == "" {
			idle = append(idle, x)
		}
	}
	p.wait("the idle nodes back in service", jsIDs(idle)+`.every((id) => bosView.rolling(id) === "back_in_service")`)
	assert.Equal(t, "draining", p.eval(`bosView.rolling("`+draining+`")`), "its job still runs")

	p.click(draining)
	p.wait("the node's Slurm state in the detail panel", `(document.querySelector('#detail [data-role="slurm-state"]') || {}).textContent === "DRAINING@"`)
	assert.Equal(t, "draining", p.eval(`document.querySelector('#detail [data-role="rolling"]').textContent`))
	assert.Equal(t, "Rolling Reboot", p.eval(`document.querySelector('#detail [data-role="slurm-reason"]').textContent`))
	jobOn := jobs[0]
	if j, err := sc.Job(ctx, jobs[1]); err == nil && j.Nodes == busy[draining] {
		jobOn = jobs[1]
	}
	assert.Equal(t, strconv.Itoa(jobOn), p.eval(`document.querySelector('#detail [data-role="slurm-jobs"]').textContent`))
	assert.NotEmpty(t, p.eval(`document.querySelector('#detail [data-role="power"]').textContent`), "the BMC's power as BOS reads it")
	p.wait("the legend counts each rolling state", `Object.entries(JSON.parse(`+countBy(compute, "rolling")+`)).every(([st, n]) => document.querySelector('#legend [data-rolling="' + st + '"] b').textContent === String(n))`)
	p.screenshot("webui-rolling.png")

	for _, id := range jobs {
		require.NoError(t, sc.CancelJob(ctx, id))
	}
	p.wait("every compute node back in service", jsIDs(compute)+`.every((id) => bosView.rolling(id) === "back_in_service")`)
	assert.Equal(t, "[]", p.eval(`JSON.stringify(`+jsIDs(compute)+`.filter((id) => bosView.drawnColor(id) !== bosView.expectedColor(id)))`), "every node drawn in its rolling colour")
	assert.Equal(t, backInService, p.eval(`bosView.drawnColor("`+draining+`")`))
	p.wait("the detail panel follows the node", `document.querySelector('#detail [data-role="rolling"]').textContent === "back in service"`)
	p.noErrors()
}

// backInService is the rolling view's colour of a node back in service.
const backInService = "rgb(46,158,68)"

// slurmStates lists the Slurm nodes with their state.
func slurmStates(s *slurmsim.Server) string {
	var out []string
	for _, n := range s.Nodes() {
		out = append(out, n.Name+" "+n.State.String())
	}
	return "Slurm: " + strings.Join(out, ", ")
}
