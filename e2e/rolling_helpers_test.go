package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// The staged rolling reboot's template: the next compute image, same configuration.
const rollingTemplate = "compute-next"

// rollingTiming is a scaled-down real cluster: a BOS reboot (graceful shutdown 0.3 s,
// power on 0.05 s, POST 0.6 s, boot 1.2 s, ±20%) takes a couple of seconds, so reboots
// take measurable time next to jobs of 1-4 s.
func rollingTiming() simulator.Timing {
	timing := stacktest.FastFaultTiming()
	timing.Scale = 0.01
	return timing
}

// rollingResumeTimeout is Slurm's ResumeTimeout in these runs: well above a reboot under
// load (a few seconds), short enough that nodes that never come back time out in-test.
const rollingResumeTimeout = 12 * time.Second

// rollingCluster is a stack with Slurm: every compute node booted on the seeded image and
// idle in Slurm, a template for the next image, BOS's clear_stage on (so the staged
// session completes once every node is applied).
type rollingCluster struct {
	*slurmCluster
	sc    *slurmapi.Client
	xname map[string]string // Slurm name → xname

	mu        sync.Mutex
	powerOffs map[string][]time.Time // xname → when BOS's power-off began (PoweringOff or Off)
}

// startRollingCluster starts n compute nodes.
func startRollingCluster(tb testing.TB, n int) *rollingCluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	topo, err := topology.Generate(topology.DefaultOptions(n))
	require.NoError(tb, err)
	c := &rollingCluster{xname: map[string]string{}, powerOffs: map[string][]time.Time{}}
	timing := rollingTiming()
	st, err := stack.Start(ctx, stack.Options{
		Topology: topo,
		Sim: simulator.Config{Timing: &timing, Seed: 17, OnPowerChange: func(x, state string) {
			if state == "PoweringOff" || state == "Off" {
				c.mu.Lock()
				c.powerOffs[x] = append(c.powerOffs[x], time.Now())
				c.mu.Unlock()
			}
		}},
		CFS: cfs.Config{Timing: cfs.Timing{ConfigureDelay: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Scale: 1,
			BatchWindow: 20 * time.Millisecond, BatchSize: 500}, Seed: 17},
		Reconcile:      true,
		RedfishTimeout: 2 * time.Second,
		WithSlurm:      true,
		Net:            testNetwork(tb),
		// A pass every 100 ms is 5% of a reboot here, as 5 s is of a real one; a pass at
		// 1,000 nodes costs little next to the reboots it drives (docs/rollouts.md).
		RolloutPoll: 100 * time.Millisecond,
		// A 100 ms tick ends jobs and issues reboots promptly; the history holds every
		// transition of the run for the no-reboot-under-a-job check.
		Slurm: slurmsim.Config{TickInterval: 100 * time.Millisecond, PeriodicInterval: time.Second,
			ResumeTimeout: rollingResumeTimeout, HistoryPerNode: 4096},
	})
	require.NoError(tb, err)
	tb.Cleanup(st.Close)
	require.NoError(tb, st.Seed(ctx))
	// One attempt per node; the waits are bootAll's.
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{
		"polling_frequency": 1, "default_retry_policy": 1, "clear_stage": true,
	})
	require.NoError(tb, err)
	path, err := st.ImagePath(ims.ImageComputeNext)
	require.NoError(tb, err)
	_, err = st.BOSClient.PutTemplate(ctx, rollingTemplate, stack.DefaultTemplate(path, stack.DefaultConfigurationName))
	require.NoError(tb, err)

	c.slurmCluster = newSlurmCluster(&cluster{t: tb, st: st, computes: topo.ByRole(topology.RoleCompute)}, topo, time.Second, 4*time.Second)
	c.sc = slurmapi.NewClient(st.URLs.Slurm, st.HTTPClient())
	for _, node := range topo.Nodes {
		c.xname[node.Name] = node.Xname
	}
	c.bootAll()
	return c
}

// stage creates the staged reboot session on the next image and waits until every
// compute node has it staged (the session is set up); it returns the session's name.
func (c *rollingCluster) stage() string {
	c.t.Helper()
	name := c.session(bos.OpReboot, rollingTemplate, "", true)
	staged := 0
	waitProgress(c.cluster, "staged session "+name, stallBound, 50*time.Millisecond, func() (bool, string) {
		comps, err := c.st.BOSClient.ListComponents(c.ctx(), bosapi.ComponentQuery{StagedSession: name})
		require.NoError(c.t, err)
		staged = len(comps)
		return staged == len(c.computes), fmt.Sprintf("%d of %d nodes staged", staged, len(c.computes))
	}, func() string { return fmt.Sprintf("%d nodes not staged", len(c.computes)-staged) })
	return name
}

// waitRebootsDone waits until Slurm shows no reboot pending and no node down, failing
// only when that count stands still for stallBound.
func (c *rollingCluster) waitRebootsDone() {
	c.t.Helper()
	c.waitSlurmNodes("every node's reboot complete", stallBound, func(nodes []slurmapi.Node) int {
		n := 0
		for _, node := range nodes {
			if node.State.Flags&(slurmapi.FlagRebootRequested|slurmapi.FlagRebootIssued) != 0 || node.State.Base == slurmapi.StateDown {
				n++
			}
		}
		return n
	})
}

// rebootAll is the administrator's `scontrol reboot ASAP nextstate=resume reason="Rolling
// Reboot" ALL`, through the scontrol front end and the HTTP API. It returns when Slurm
// accepted it.
func (c *rollingCluster) rebootAll() time.Time {
	c.t.Helper()
	start := time.Now()
	require.NoError(c.t, slurmsim.Scontrol(c.ctx(), c.sc,
		[]string{"reboot", "ASAP", "nextstate=resume", "reason=Rolling Reboot", "ALL"}, discard{}))
	return start
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// histories returns every Slurm node's transitions, by name.
func (c *rollingCluster) histories() map[string][]slurmapi.Transition {
	c.t.Helper()
	out := make(map[string][]slurmapi.Transition, len(c.computes))
	for _, x := range c.computes {
		h, err := c.slurm.History(c.names[x])
		require.NoError(c.t, err)
		out[c.names[x]] = h
	}
	return out
}

// poweredOffUnderJob returns, for every power-off the BMCs saw, the ones that began while
// Slurm had a job on the node: an independent check (the BMC's view, not Slurm's reboot
// bookkeeping) that no node was rebooted under a job.
func (c *rollingCluster) poweredOffUnderJob(hists map[string][]slurmapi.Transition) (offs int, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for x, times := range c.powerOffs {
		h := hists[c.names[x]]
		for _, at := range times {
			offs++
			if jobs := jobsAt(h, at); jobs > 0 {
				bad = append(bad, fmt.Sprintf("%s (%s) powered off at %s with %d job(s)", x, c.names[x], at.Format("15:04:05.000"), jobs))
			}
		}
	}
	sort.Strings(bad)
	return offs, bad
}

// jobsAt is how many jobs the history shows running on the node at t.
func jobsAt(h []slurmapi.Transition, t time.Time) int {
	jobs := 0
	for _, tr := range h {
		if tr.At.After(t) {
			break
		}
		jobs = tr.Jobs
	}
	return jobs
}

// Rolling-reboot schedule, measured from Slurm's transition histories. These helpers
// work for any rolling reboot driven through Slurm (staged BOS sessions here, CRUS too):
// they only read when each node's jobs ended and when it was back.

// jobsEndedAt is when a node became free of the jobs it ran at start: start itself if it
// ran none, else the first later transition with no job running (zero if none is
// recorded).
func jobsEndedAt(h []slurmapi.Transition, start time.Time) time.Time {
	if jobsAt(h, start) == 0 {
		return start
	}
	for _, tr := range h {
		if tr.At.After(start) && tr.Jobs == 0 {
			return tr.At
		}
	}
	return time.Time{}
}

// idealRollingTime is the ideal schedule's total time: every node rebooted the moment
// its last job (running at start) ends, each reboot taking reboot. So it is the latest
// such end, less start, plus one reboot.
func idealRollingTime(start time.Time, free []time.Time, reboot time.Duration) time.Duration {
	latest := start
	for _, f := range free {
		if f.After(latest) {
			latest = f
		}
	}
	return latest.Sub(start) + reboot
}

// rollingReport is what one staged rolling reboot did.
type rollingReport struct {
	Start time.Time
	// Actual: start → the last node back in service (reboot complete in Slurm).
	Actual time.Duration
	// Reboot is the median reboot (Slurm issued it → the node registered again).
	Reboot time.Duration
	// Ideal is idealRollingTime with that median reboot.
	Ideal time.Duration
	// MaxIssueDelay is the longest wait from a node's jobs ending to its reboot's issue.
	MaxIssueDelay time.Duration
	Nodes         int
	// Free is when each node's jobs running at start ended (start if it ran none).
	Free []time.Time
}

func (r rollingReport) Ratio() float64 { return r.Actual.Seconds() / r.Ideal.Seconds() }

// measureRolling reads the staged rolling reboot of nodes (Slurm names) from their
// histories: the first reboot issued and completed after start.
func measureRolling(hists map[string][]slurmapi.Transition, nodes []string, start time.Time) (rollingReport, error) {
	r := rollingReport{Start: start, Nodes: len(nodes)}
	var free []time.Time
	var reboots []time.Duration
	var last time.Time
	for _, name := range nodes {
		h := hists[name]
		var issued, back time.Time
		for _, tr := range h {
			switch {
			case !tr.At.Before(start) && issued.IsZero() && tr.Cause == "reboot issued":
				issued = tr.At
			case !issued.IsZero() && back.IsZero() && tr.Cause == "reboot complete":
				back = tr.At
			}
		}
		ended := jobsEndedAt(h, start)
		if issued.IsZero() || back.IsZero() || ended.IsZero() {
			return r, fmt.Errorf("node %s: jobs ended %v, reboot issued %v, back %v: not a complete reboot", name, ended, issued, back)
		}
		free = append(free, ended)
		reboots = append(reboots, back.Sub(issued))
		r.MaxIssueDelay = max(r.MaxIssueDelay, issued.Sub(ended))
		if back.After(last) {
			last = back
		}
	}
	if len(nodes) == 0 {
		return r, fmt.Errorf("no nodes")
	}
	slices.Sort(reboots)
	r.Reboot = reboots[len(reboots)/2]
	r.Actual = last.Sub(start)
	r.Ideal = idealRollingTime(start, free, r.Reboot)
	r.Free = free
	return r, nil
}

// idealLimitedTime is the ideal schedule under a limit of m nodes out of service at once:
// every node rebooted as soon as its jobs running at start have ended and one of m slots
// is free, each reboot taking reboot. With equal reboot times, taking the nodes in the
// order they become free, each on the slot free first, is optimal for the total time.
func idealLimitedTime(start time.Time, free []time.Time, reboot time.Duration, m int) time.Duration {
	order := slices.Clone(free)
	slices.SortFunc(order, func(a, b time.Time) int { return a.Compare(b) })
	slots := make([]time.Time, m) // when each slot is next free
	for i := range slots {
		slots[i] = start
	}
	end := start
	for _, f := range order {
		i := 0
		for j := range slots {
			if slots[j].Before(slots[i]) {
				i = j
			}
		}
		done := latestOf(f, slots[i]).Add(reboot)
		slots[i] = done
		end = latestOf(end, done)
	}
	return end.Sub(start)
}

// idealCanaryLimitedTime is idealLimitedTime when the nodes at the canary indexes go
// first and alone (a rollout's canaries): each rebooted when free, the others only once
// every canary is back.
func idealCanaryLimitedTime(start time.Time, free []time.Time, canary []int, reboot time.Duration, m int) time.Duration {
	back := start
	isCanary := map[int]bool{}
	for _, i := range canary {
		isCanary[i] = true
		back = latestOf(back, free[i].Add(reboot))
	}
	var rest []time.Time
	for i, f := range free {
		if !isCanary[i] {
			rest = append(rest, f)
		}
	}
	return back.Sub(start) + idealLimitedTime(back, rest, reboot, m)
}

func latestOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
