package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	bos "github.com/cray-bos/bos/orchestrator"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

const stage = "rollout-r1"

// Slurm node states of the tests.
var (
	idle          = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateIdle}, BootTime: t0.Add(-time.Hour)}
	down          = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateDown}, Reason: "Not responding", BootTime: t0.Add(-time.Hour)}
	requested     = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateAllocated, Flags: slurmapi.FlagDrain | slurmapi.FlagRebootRequested}, BootTime: t0.Add(-time.Hour)}
	issued        = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateDown, Flags: slurmapi.FlagDrain | slurmapi.FlagRebootIssued}, BootTime: t0.Add(-time.Hour)}
	drainedFailed = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateIdle, Flags: slurmapi.FlagDrain}, Reason: "BOS rollout r1: why", BootTime: t0.Add(-time.Hour)}
	back          = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateIdle}, BootTime: t0.Add(30 * time.Second)}
	timedOut      = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateDown}, Reason: "reboot timed out", BootTime: t0.Add(-time.Hour)}
	drained       = SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateDown, Flags: slurmapi.FlagDrain}, BootTime: t0.Add(-time.Hour)}
)

func busyUntil(end time.Duration) SlurmNode {
	return SlurmNode{State: slurmapi.NodeState{Base: slurmapi.StateAllocated}, BootTime: t0.Add(-time.Hour), JobsEnd: t0.Add(end)}
}

// stable is BOS's record of a node that booted the staged image and is done.
func stable(x string) bos.Component {
	c := bos.Component{ID: x, Session: stage}
	c.Status.Status = bos.StatusStable
	c.ActualState.BootArtifacts.Kernel = "s3://boot-images/next/kernel"
	c.DesiredState.BootArtifacts.Kernel = "s3://boot-images/next/kernel"
	return c
}

func failedComp(x string) bos.Component {
	c := bos.Component{ID: x, Session: stage, Error: "power on timed out"}
	c.Status.Status = bos.StatusFailed
	return c
}

// nd is a node x<i> (Slurm nid<i>) in a phase.
func nd(i int, phase string) bos.RolloutNode {
	n := bos.RolloutNode{Xname: fmt.Sprintf("x%d", i), Name: fmt.Sprintf("nid%d", i), Phase: phase}
	if phase == bos.NodeHanded || phase == bos.NodeOut {
		n.HandedAt, n.Wave = t0, 1
	}
	if phase == bos.NodeOut {
		n.OutAt = t0.Add(time.Second)
	}
	return n
}

func canary(n bos.RolloutNode) bos.RolloutNode { n.Canary = true; return n }

func running(m, budget int, nodes ...bos.RolloutNode) bos.Rollout {
	r := bos.Rollout{Name: "r1", State: bos.RolloutRunning, StageSession: stage, MaxUnavailable: m, FailureBudget: budget, Nodes: nodes}
	for _, n := range nodes {
		r.Waves = max(r.Waves, n.Wave)
	}
	r.Count()
	return r
}

// slurm maps nid<i> to states, in order.
func slurm(states ...SlurmNode) map[string]SlurmNode {
	out := map[string]SlurmNode{}
	for i, s := range states {
		out[fmt.Sprintf("nid%d", i)] = s
	}
	return out
}

func phases(r bos.Rollout) []string {
	out := make([]string, len(r.Nodes))
	for i, n := range r.Nodes {
		out[i] = n.Phase
	}
	return out
}

const (
	W = bos.NodeWaiting
	H = bos.NodeHanded
	O = bos.NodeOut
	K = bos.NodeHealthy
	F = bos.NodeFailed
	C = bos.NodeCancelled
)

func TestDecide(t *testing.T) {
	later := t0.Add(time.Minute)
	tests := []struct {
		name    string
		rollout bos.Rollout
		obs     Observation
		now     time.Time
		// want
		state   string
		reason  string // substring
		phases  []string
		actions Actions
	}{{
		name:    "idle nodes first, then the soonest job end, then no end, up to max unavailable",
		rollout: running(3, 1, nd(0, W), nd(1, W), nd(2, W), nd(3, W), nd(4, W)),
		obs:     Observation{Slurm: slurm(busyUntil(time.Hour), busyUntil(0).withNoEnd(), idle, busyUntil(time.Minute), idle)},
		state:   bos.RolloutRunning, phases: []string{W, W, H, H, H},
		actions: Actions{Reboot: []string{"nid2", "nid4", "nid3"}},
	}, {
		name:    "nodes out of service count against the limit, and go first",
		rollout: running(3, 1, nd(0, H), nd(1, W), nd(2, W), nd(3, W)),
		obs:     Observation{Slurm: slurm(requested, idle, down, idle)},
		state:   bos.RolloutRunning, phases: []string{H, W, H, W},
		actions: Actions{Reboot: []string{"nid2"}},
	}, {
		name:    "a node back in Slurm's service, waiting for BOS, no longer counts against the limit",
		rollout: running(2, 1, nd(0, O), nd(1, O), nd(2, W)),
		obs:     Observation{Slurm: slurm(back, issued, idle)},
		state:   bos.RolloutRunning, phases: []string{O, O, H},
		actions: Actions{Reboot: []string{"nid2"}},
	}, {
		name:    "a failure below the budget keeps its slot: the failed node stays drained, out of service",
		rollout: running(3, 2, nd(0, O), nd(1, O), nd(2, W), nd(3, W)),
		obs:     Observation{Slurm: slurm(issued, issued, idle, idle), Components: map[string]bos.Component{"x0": failedComp("x0")}},
		state:   bos.RolloutRunning, phases: []string{F, O, H, W},
		actions: Actions{Drain: []Drain{{"nid0", "BOS rollout r1: BOS failed the node: power on timed out"}}, Reboot: []string{"nid2"}},
	}, {
		name:    "failed nodes holding every slot of the limit pause the rollout, saying why",
		rollout: running(2, 5, nd(0, F), nd(1, F), nd(2, W)),
		obs:     Observation{Slurm: slurm(drainedFailed, drainedFailed, idle)},
		state:   bos.RolloutPaused, reason: "2 failed nodes, kept drained, take all 2", phases: []string{F, F, W},
	}, {
		name:    "nothing moves at the limit",
		rollout: running(2, 1, nd(0, H), nd(1, O), nd(2, W)),
		obs:     Observation{Slurm: slurm(requested, issued, idle)},
		state:   bos.RolloutRunning, phases: []string{H, O, W},
	}, {
		name: "canaries go first and alone, though the limit allows more",
		rollout: func() bos.Rollout {
			r := running(10, 1, nd(0, W), nd(1, W), nd(2, W), nd(3, W))
			r.Policy.Canary = 2
			return r
		}(),
		obs:   Observation{Slurm: slurm(busyUntil(time.Minute), idle, idle, busyUntil(time.Second))},
		state: bos.RolloutRunning, phases: []string{W, H, H, W},
		actions: Actions{Reboot: []string{"nid1", "nid2"}},
	}, {
		name:    "named canaries not yet healthy hold the others back",
		rollout: running(10, 1, nd(0, W), canary(nd(1, O)), nd(2, W)),
		obs:     Observation{Slurm: slurm(idle, issued, idle)},
		state:   bos.RolloutRunning, phases: []string{W, O, W},
	}, {
		name:    "healthy canaries release the rest",
		rollout: running(10, 1, nd(0, W), canary(nd(1, O)), nd(2, W)),
		obs:     Observation{Slurm: slurm(idle, back, idle), Components: map[string]bos.Component{"x1": stable("x1")}},
		state:   bos.RolloutRunning, phases: []string{H, K, H},
		actions: Actions{Reboot: []string{"nid0", "nid2"}},
	}, {
		name:    "a handed node leaves service when its reboot is issued",
		rollout: running(1, 1, nd(0, H), nd(1, W)),
		obs:     Observation{Slurm: slurm(issued, idle)},
		state:   bos.RolloutRunning, phases: []string{O, W},
	}, {
		name:    "BOS stable is not enough while Slurm still reboots it",
		rollout: running(1, 1, nd(0, O), nd(1, W)),
		obs:     Observation{Slurm: slurm(issued, idle), Components: map[string]bos.Component{"x0": stable("x0")}},
		state:   bos.RolloutRunning, phases: []string{O, W},
	}, {
		name:    "Slurm back is not healthy while BOS has not applied the stage (but frees its slot)",
		rollout: running(1, 1, nd(0, O), nd(1, W)),
		obs: Observation{Slurm: slurm(back, idle), Components: map[string]bos.Component{"x0": func() bos.Component {
			c := stable("x0")
			c.Session = "older"
			return c
		}()}},
		state: bos.RolloutRunning, phases: []string{O, H}, actions: Actions{Reboot: []string{"nid1"}},
	}, {
		name:    "back in both: healthy, and the next node goes",
		rollout: running(1, 1, nd(0, O), nd(1, W)),
		obs:     Observation{Slurm: slurm(back, idle), Components: map[string]bos.Component{"x0": stable("x0")}},
		state:   bos.RolloutRunning, phases: []string{K, H},
		actions: Actions{Reboot: []string{"nid1"}},
	}, {
		name:    "BOS failed it: drained with the reason, budget reached: paused",
		rollout: running(2, 1, nd(0, O), nd(1, W)),
		obs:     Observation{Slurm: slurm(issued, idle), Components: map[string]bos.Component{"x0": failedComp("x0")}},
		state:   bos.RolloutPaused, reason: "failure budget of 1 reached: 1 failed since the start or last resume; failed: x0",
		phases:  []string{F, W},
		actions: Actions{Drain: []Drain{{"nid0", "BOS rollout r1: BOS failed the node: power on timed out"}}},
	}, {
		name:    "under the budget the rollout goes on",
		rollout: running(2, 2, nd(0, O), nd(1, W)),
		obs:     Observation{Slurm: slurm(timedOut, idle)},
		state:   bos.RolloutRunning, phases: []string{F, H},
		actions: Actions{Drain: []Drain{{"nid0", "BOS rollout r1: Slurm has it DOWN: reboot timed out"}}, Reboot: []string{"nid1"}},
	}, {
		name:    "a failed canary pauses at once",
		rollout: running(2, 5, canary(nd(0, O)), nd(1, W)),
		obs:     Observation{Slurm: slurm(timedOut, idle)},
		state:   bos.RolloutPaused, reason: "a canary node failed: x0", phases: []string{F, W},
		actions: Actions{Drain: []Drain{{"nid0", "BOS rollout r1: Slurm has it DOWN: reboot timed out"}}},
	}, {
		name: "the budget counts from the last resume",
		rollout: func() bos.Rollout {
			r := running(2, 1, nd(0, F), nd(1, W))
			r.BudgetBase = 1
			return r
		}(),
		obs:   Observation{Slurm: slurm(drained, idle)},
		state: bos.RolloutRunning, phases: []string{F, H},
		actions: Actions{Reboot: []string{"nid1"}},
	}, {
		name:    "a failed node Slurm undrained is drained again",
		rollout: func() bos.Rollout { r := running(1, 5, nd(0, F), nd(1, O)); r.Nodes[0].Reason = "why"; return r }(),
		obs:     Observation{Slurm: slurm(timedOut, issued)},
		state:   bos.RolloutRunning, phases: []string{F, O},
		actions: Actions{Drain: []Drain{{"nid0", "BOS rollout r1: why"}}},
	}, {
		name:    "out of service past the node timeout: failed",
		rollout: running(2, 5, nd(0, O), nd(1, W)),
		obs:     Observation{Slurm: slurm(issued, idle)},
		now:     t0.Add(31 * time.Minute),
		state:   bos.RolloutRunning, reason: "", phases: []string{F, H},
		actions: Actions{Drain: []Drain{{"nid0", "BOS rollout r1: not healthy 30m0s after leaving service"}}, Reboot: []string{"nid1"}},
	}, {
		name:    "paused: nodes in flight go on, none is handed",
		rollout: func() bos.Rollout { r := running(2, 1, nd(0, O), nd(1, W)); r.State = bos.RolloutPaused; return r }(),
		obs:     Observation{Slurm: slurm(back, idle), Components: map[string]bos.Component{"x0": stable("x0")}},
		state:   bos.RolloutPaused, phases: []string{K, W},
	}, {
		name:    "every node settled: complete, failures said",
		rollout: running(2, 5, nd(0, K), nd(1, O)),
		obs:     Observation{Slurm: slurm(back, timedOut)},
		state:   bos.RolloutComplete, reason: "1 of 2 nodes failed", phases: []string{K, F},
		actions: Actions{Drain: []Drain{{"nid1", "BOS rollout r1: Slurm has it DOWN: reboot timed out"}}},
	}, {
		name: "abort: pending reboots cancelled, waiting nodes' stage cleared, issued ones left",
		rollout: func() bos.Rollout {
			r := running(3, 1, nd(0, H), nd(1, O), nd(2, W), nd(3, K))
			r.State = bos.RolloutAborting
			return r
		}(),
		obs:   Observation{Slurm: slurm(requested, issued, idle, back)},
		state: bos.RolloutAborting, phases: []string{H, O, C, K},
		actions: Actions{CancelReboot: []string{"nid0"}, ClearStage: []string{"x2"}},
	}, {
		name: "abort: a cancelled node's stage is cleared, then aborted",
		rollout: func() bos.Rollout {
			r := running(3, 1, nd(0, H), nd(1, O), nd(2, C))
			r.State = bos.RolloutAborting
			return r
		}(),
		obs:   Observation{Slurm: slurm(busyUntil(time.Hour), issued, idle)},
		state: bos.RolloutAborted, phases: []string{C, O, C},
		actions: Actions{ClearStage: []string{"x0"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = later
			}
			before := fmt.Sprint(tc.rollout.Nodes)
			d := Decide(tc.rollout, tc.obs, now)
			assert.Equal(t, tc.state, d.Rollout.State)
			assert.Contains(t, d.Rollout.Reason, tc.reason)
			if tc.reason == "" && tc.state != bos.RolloutPaused {
				assert.Empty(t, d.Rollout.Reason)
			}
			assert.Equal(t, tc.phases, phases(d.Rollout))
			assert.Equal(t, tc.actions, d.Actions)
			assert.Equal(t, before, fmt.Sprint(tc.rollout.Nodes), "the input is not mutated")
		})
	}
}

func (s SlurmNode) withNoEnd() SlurmNode { s.JobsEnd = time.Time{}; return s }

func TestDecideStaging(t *testing.T) {
	r := bos.Rollout{Name: "r1", State: bos.RolloutStaging, StageSession: stage,
		Policy: bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: 50, Percent: true}, FailureBudget: bos.Amount{N: 10, Percent: true},
			CanaryNodes: []string{"x2"}}}

	d := Decide(r, Observation{}, t0)
	assert.Equal(t, Actions{CreateStage: true}, d.Actions, "no session: create it")
	assert.Equal(t, bos.RolloutStaging, d.Rollout.State)

	pending := &bos.Session{Name: stage, Status: bos.SessionStatus{Status: bos.SessionPending}}
	d = Decide(r, Observation{Session: pending}, t0)
	assert.True(t, d.Actions.Empty(), "set up not finished: wait")
	assert.Equal(t, bos.RolloutStaging, d.Rollout.State)

	runningSess := &bos.Session{Name: stage, Status: bos.SessionStatus{Status: bos.SessionRunning}}
	staged := map[string]bos.Component{"x3": {ID: "x3"}, "x1": {ID: "x1"}, "x2": {ID: "x2"}, "x9": {ID: "x9"}, "x4": {ID: "x4"}}
	names := map[string]string{"x1": "nid1", "x2": "nid2", "x3": "nid3", "x4": "nid4"} // x9 has no NID
	d = Decide(r, Observation{Session: runningSess, Staged: staged, Names: names, Slurm: slurm(idle, idle, idle, idle)}, t0)
	assert.Equal(t, bos.RolloutRunning, d.Rollout.State)
	assert.Equal(t, []string{W, W, W, C, C}, phases(d.Rollout), "x1, x2, x3, x4 (nid4 unknown to Slurm), x9 (no NID)")
	assert.Equal(t, "unknown to Slurm", d.Rollout.Nodes[3].Reason)
	assert.True(t, d.Rollout.Nodes[1].Canary)
	assert.Equal(t, Actions{ClearStage: []string{"x4", "x9"}}, d.Actions)
	assert.Equal(t, 1, d.Rollout.MaxUnavailable, "50% of 3, rounded down")
	assert.Equal(t, 1, d.Rollout.FailureBudget, "10% of 3 is 0: at least 1")

	aborting := r
	aborting.State = bos.RolloutAborting
	d = Decide(aborting, Observation{Session: pending}, t0)
	assert.Equal(t, bos.RolloutAborting, d.Rollout.State, "aborted while the staged session is set up: wait for it")
	d = Decide(aborting, Observation{Session: runningSess, Staged: staged}, t0)
	assert.Equal(t, bos.RolloutAborted, d.Rollout.State)
	assert.Equal(t, Actions{ClearStage: []string{"x1", "x2", "x3", "x4", "x9"}}, d.Actions, "what it staged is cleared")
	d = Decide(aborting, Observation{}, t0)
	assert.Equal(t, bos.RolloutAborted, d.Rollout.State, "no staged session: nothing to clear")
	assert.True(t, d.Actions.Empty())

	msg := "no node matched"
	done := &bos.Session{Name: stage, Status: bos.SessionStatus{Status: bos.SessionComplete, Error: &msg}}
	d = Decide(r, Observation{Session: done}, t0)
	assert.Equal(t, bos.RolloutFailed, d.Rollout.State)
	assert.Equal(t, "staged session rollout-r1 staged no node: no node matched", d.Rollout.Reason)
}

func TestDecideHealthCheck(t *testing.T) {
	r := running(1, 1, nd(0, O))
	r.Policy.HealthCheck = &bos.HealthCheck{URL: "http://x/{xname}"}
	obs := Observation{Slurm: slurm(back), Components: map[string]bos.Component{"x0": stable("x0")}}

	assert.Equal(t, []string{"x0"}, xnames(AwaitingHealth(&r, obs)))
	d := Decide(r, obs, t0.Add(time.Minute))
	assert.Equal(t, []string{O}, phases(d.Rollout), "not checked yet")
	assert.Equal(t, "health check pending", d.Rollout.Nodes[0].Reason)

	obs.Health = map[string]error{"x0": errors.New("HTTP 503")}
	d = Decide(r, obs, t0.Add(time.Minute))
	assert.Equal(t, []string{O}, phases(d.Rollout), "a failing check is retried until the node timeout")
	assert.Equal(t, "health check: HTTP 503", d.Rollout.Nodes[0].Reason)

	d = Decide(d.Rollout, obs, t0.Add(40*time.Minute))
	assert.Equal(t, []string{F}, phases(d.Rollout))
	assert.Equal(t, "not healthy 30m0s after leaving service (health check: HTTP 503)", d.Rollout.Nodes[0].Reason)

	obs.Health = map[string]error{"x0": nil}
	d = Decide(r, obs, t0.Add(time.Minute))
	assert.Equal(t, []string{K}, phases(d.Rollout))
	assert.Equal(t, bos.RolloutComplete, d.Rollout.State)

	obs.Slurm = slurm(issued)
	assert.Empty(t, AwaitingHealth(&r, obs), "not back in Slurm: nothing to check")
}

func xnames(nodes []bos.RolloutNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Xname)
	}
	return out
}

// TestReplayable: a replayed reboot goes only to nodes still handed over that Slurm
// neither holds a reboot for nor has rebooted since the hand-over.
func TestReplayable(t *testing.T) {
	tests := []struct {
		name  string
		node  bos.RolloutNode
		slurm SlurmNode
		want  bool
	}{
		{"handed, idle, not rebooted: replayed", nd(0, bos.NodeHanded), idle, true},
		{"handed, busy: replayed", nd(0, bos.NodeHanded), busyUntil(time.Minute), true},
		{"already back after its reboot: skipped", nd(0, bos.NodeHanded), back, false},
		{"booted in the hand-over's second: skipped", nd(0, bos.NodeHanded), SlurmNode{State: idle.State, BootTime: t0}, false},
		{"reboot requested: skipped", nd(0, bos.NodeHanded), requested, false},
		{"reboot issued: skipped", nd(0, bos.NodeHanded), issued, false},
		{"out of service already: skipped", nd(0, bos.NodeOut), issued, false},
		{"cancelled meanwhile: skipped", nd(0, bos.NodeCancelled), idle, false},
		{"unknown to Slurm: skipped", nd(0, bos.NodeHanded), SlurmNode{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := running(1, 1, tt.node)
			wlm := slurm(tt.slurm)
			if tt.slurm == (SlurmNode{}) {
				wlm = nil
			}
			var want []string
			if tt.want {
				want = []string{"nid0"}
			}
			assert.Equal(t, want, Replayable(&r, []string{"nid0"}, wlm))
		})
	}
}

// TestDecideSteerJobs: with steer_jobs, staging raises the Slurm weight of every node to
// roll (keeping the one it had), the hand-over puts it back, abort puts back the
// waiting nodes'; nodes unknown to Slurm are left alone. The limit is untouched.
func TestDecideSteerJobs(t *testing.T) {
	r := bos.Rollout{Name: "r1", State: bos.RolloutStaging, StageSession: stage,
		Policy: bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: 1}, SteerJobs: new(true)}}
	sess := &bos.Session{Name: stage, Status: bos.SessionStatus{Status: bos.SessionRunning}}
	staged := map[string]bos.Component{"x0": {ID: "x0"}, "x1": {ID: "x1"}, "x2": {ID: "x2"}, "x9": {ID: "x9"}}
	names := map[string]string{"x0": "nid0", "x1": "nid1", "x2": "nid2"}
	weighted := idle
	weighted.Weight = 10
	unreported := busyUntil(time.Minute)
	left := busyUntil(time.Hour) // raised by a rollout that never put it back
	left.Weight = 1 + bos.SteerWeight
	d := Decide(r, Observation{Session: sess, Staged: staged, Names: names, Slurm: slurm(left, weighted, unreported)}, t0)
	assert.Equal(t, bos.RolloutRunning, d.Rollout.State)
	assert.Equal(t, []string{W, W, W, C}, phases(d.Rollout))
	assert.Equal(t, Actions{ClearStage: []string{"x9"}, Weight: []Weight{{"nid0", 1 + bos.SteerWeight},
		{"nid1", 10 + bos.SteerWeight}, {"nid2", 1 + bos.SteerWeight}}}, d.Actions, "weight 0 (not reported) is Slurm's default 1; one left raised is not raised twice")
	assert.Equal(t, []int{1, 10, 1, 0}, []int{d.Rollout.Nodes[0].Weight, d.Rollout.Nodes[1].Weight, d.Rollout.Nodes[2].Weight, d.Rollout.Nodes[3].Weight})

	raised := func(s SlurmNode) SlurmNode { s.Weight += bos.SteerWeight; return s }
	obs := Observation{Slurm: slurm(raised(busyUntil(time.Hour)), raised(weighted), raised(unreported))}
	next := Decide(d.Rollout, obs, t0.Add(time.Second))
	assert.Equal(t, []string{W, H, W, C}, phases(next.Rollout), "one slot: the idle node")
	assert.Equal(t, Actions{Reboot: []string{"nid1"}, Weight: []Weight{{"nid1", 10}}}, next.Actions, "its weight put back with the hand-over")
	assert.Zero(t, next.Rollout.Nodes[1].Weight)

	again := Decide(next.Rollout, Observation{Slurm: slurm(raised(busyUntil(time.Hour)), requested, raised(unreported))}, t0.Add(2*time.Second))
	assert.True(t, again.Actions.Empty(), "at the limit: nothing moves, weights stay")

	aborting := next.Rollout
	aborting.State = bos.RolloutAborting
	ab := Decide(aborting, Observation{Slurm: slurm(raised(busyUntil(time.Hour)), requested, raised(unreported))}, t0.Add(3*time.Second))
	assert.Equal(t, Actions{CancelReboot: []string{"nid1"}, ClearStage: []string{"x0", "x2"},
		Weight: []Weight{{"nid0", 1}, {"nid2", 1}}}, ab.Actions, "the waiting nodes' weights put back")
}

// TestDecideSteerJobsStored: steer_jobs as stored. A create without it steers (the
// default, resolved when it is stored); a record stored without the field (created when
// the default was off) and one with false raise no weight.
func TestDecideSteerJobsStored(t *testing.T) {
	assert.True(t, bos.RolloutPolicy{}.WithDefaults().Steering(), "absent from a create: on")
	assert.False(t, bos.RolloutPolicy{SteerJobs: new(false)}.WithDefaults().Steering(), "false kept")
	sess := &bos.Session{Name: stage, Status: bos.SessionStatus{Status: bos.SessionRunning}}
	staged := map[string]bos.Component{"x0": {ID: "x0"}}
	for name, raw := range map[string]string{
		"stored without the field": `{"max_unavailable": 1, "failure_budget": 1}`,
		"stored false":             `{"max_unavailable": 1, "failure_budget": 1, "steer_jobs": false}`,
		"stored true":              `{"max_unavailable": 1, "failure_budget": 1, "steer_jobs": true}`,
	} {
		t.Run(name, func(t *testing.T) {
			var p bos.RolloutPolicy
			require.NoError(t, json.Unmarshal([]byte(raw), &p))
			r := bos.Rollout{Name: "r1", State: bos.RolloutStaging, StageSession: stage, Policy: p}
			d := Decide(r, Observation{Session: sess, Staged: staged, Names: map[string]string{"x0": "nid0"}, Slurm: slurm(idle)}, t0)
			require.Equal(t, bos.RolloutRunning, d.Rollout.State)
			if name == "stored true" {
				assert.Equal(t, []Weight{{"nid0", 1 + bos.SteerWeight}}, d.Actions.Weight)
			} else {
				assert.Empty(t, d.Actions.Weight)
			}
		})
	}
}
