package crus

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/api/slurmapi"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var testTiming = Timing{Poll: 5 * time.Second, QuiesceTimeout: time.Hour, BootTimeout: 30 * time.Minute, WLMTimeout: 10 * time.Minute}

const (
	n1 = "x1000c0s0b0n0"
	n2 = "x1000c0s0b0n1"
	n3 = "x1000c0s1b0n0"
	n4 = "x1000c0s1b0n1"
	n5 = "x1000c0s2b0n0"
)

// record returns a session of nodes n1..n5 (snapshot taken, step size 2) at stage.
func record(stage Stage, mutate ...func(*Record)) Record {
	r := Record{
		Session: Session{UpgradeID: "u1", Kind: Kind, StartingLabel: "start", UpgradingLabel: "up", FailedLabel: "failed",
			UpgradeStepSize: 2, UpgradeTemplateID: "tmpl", WorkloadManagerType: "slurm", State: StateUpdating},
		Progress: Progress{Stage: stage, FailedCleared: true, Snapshotted: true,
			Nodes:      []string{n1, n2, n3, n4, n5},
			WLMNames:   map[string]string{n1: "nid000001", n2: "nid000002", n3: "nid000003", n4: "nid000004", n5: "nid000005"},
			StageStart: t0},
	}
	for _, m := range mutate {
		m(&r)
	}
	return r
}

func active(nodes ...string) func(*Record) {
	return func(r *Record) { r.Progress.Active = nodes }
}

func state(s string) slurmapi.NodeState {
	var st slurmapi.NodeState
	if err := st.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return st
}

func node(s, reason string, boot time.Time) WLMNode {
	return WLMNode{State: state(s), Reason: reason, BootTime: boot}
}

func lastMessage(r Record) string {
	if len(r.Messages) == 0 {
		return ""
	}
	return r.Messages[len(r.Messages)-1]
}

func TestStepNodes(t *testing.T) {
	nodes := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		step, size int
		want       []string
	}{
		{0, 2, []string{"a", "b"}},
		{1, 2, []string{"c", "d"}},
		{2, 2, []string{"e"}},
		{3, 2, nil},
		{0, 50, nodes},
		{1, 50, nil},
		{0, 0, nil},
		{-1, 2, nil},
	} {
		assert.Equal(t, tc.want, StepNodes(nodes, tc.step, tc.size), "step %d size %d", tc.step, tc.size)
	}
}

func TestQuiet(t *testing.T) {
	for s, want := range map[string]bool{
		"IDLE+DRAIN":                     true,
		"DOWN+DRAIN":                     true,
		"IDLE+FAIL":                      true,
		"IDLE+DRAIN+NOT_RESPONDING":      true,
		"UNKNOWN+DRAIN+NOT_RESPONDING":   true,
		"DOWN+DRAIN+REBOOT_ISSUED":       true,
		"ALLOCATED+DRAIN":                false,
		"MIXED+DRAIN":                    false,
		"IDLE+COMPLETING+DRAIN":          false,
		"IDLE":                           false,
		"DOWN":                           false,
		"ALLOCATED":                      false,
		"ALLOCATED+DRAIN+NOT_RESPONDING": false,
	} {
		assert.Equal(t, want, Quiet(state(s)), s)
	}
}

func TestInService(t *testing.T) {
	for _, tc := range []struct {
		state, reason string
		want          bool
	}{
		{"IDLE", "", true},
		{"ALLOCATED", "", true},
		{"MIXED", "", true},
		{"IDLE+DRAIN", "admin: bad dimm", true}, // someone else's drain (restored)
		{"IDLE+DRAIN", DrainReason, false},      // still under CRUS's drain
		{"IDLE+NOT_RESPONDING", "", false},      // resumed, slurmd not heard yet
		{"DOWN", "Node unexpectedly rebooted", false},
		{"DOWN+DRAIN", DrainReason, false},
		{"UNKNOWN+NOT_RESPONDING", "", false},
		{"DOWN+REBOOT_ISSUED", "", false},
	} {
		assert.Equal(t, tc.want, InService(node(tc.state, tc.reason, time.Time{})), "%s %q", tc.state, tc.reason)
	}
}

func TestRebootedSince(t *testing.T) {
	start := t0.Add(500 * time.Millisecond)
	assert.False(t, RebootedSince(time.Time{}, start), "no boot time")
	assert.False(t, RebootedSince(t0.Add(-time.Second), start), "booted the second before")
	assert.True(t, RebootedSince(t0, start), "Slurm's whole seconds: the same second counts")
	assert.True(t, RebootedSince(t0.Add(time.Minute), start))
}

func TestVerifyBoot(t *testing.T) {
	target := bos.BootArtifacts{Kernel: "s3://boot-images/new/kernel", Initrd: "s3://boot-images/new/initrd", KernelParameters: "console=ttyS0"}
	old := bos.BootArtifacts{Kernel: "s3://boot-images/old/kernel", Initrd: "s3://boot-images/old/initrd", KernelParameters: "console=ttyS0"}
	comp := func(mut func(*bos.Component)) bos.Component {
		c := bos.Component{ID: n1, Session: "s1"}
		c.DesiredState.BootArtifacts = target
		c.ActualState.BootArtifacts = target
		c.Status.Status = bos.StatusStable
		if mut != nil {
			mut(&c)
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		c     bos.Component
		found bool
		want  string
	}{
		{"booted the target", comp(nil), true, ""},
		{"still configuring after the boot", comp(func(c *bos.Component) { c.Enabled = true; c.Status.Status = bos.StatusConfiguring }), true, ""},
		{"not a BOS component", bos.Component{}, false, ReasonNotInSession},
		{"another session took it", comp(func(c *bos.Component) { c.Session = "s2" }), true, ReasonNotInSession},
		{"BOS gave up", comp(func(c *bos.Component) {
			c.Status.Status = bos.StatusFailed
			c.ActualState.BootArtifacts = bos.BootArtifacts{}
		}), true, ReasonBootFailed},
		{"failed by override", comp(func(c *bos.Component) { c.Status.StatusOverride = bos.StatusFailed }), true, ReasonBootFailed},
		{"BOS still rebooting it", comp(func(c *bos.Component) { c.Enabled = true; c.ActualState.BootArtifacts = bos.BootArtifacts{} }), true, ReasonBootTimeout},
		{"booted the target under another actual-state TTL (BOS agrees it is done)", comp(func(c *bos.Component) {
			c.ActualState.BootArtifacts.KernelParameters += " bos_update_frequency=2d"
			c.DesiredState.BootArtifacts.KernelParameters += " bos_update_frequency=4h"
		}), true, ""},
		{"booted the old image", comp(func(c *bos.Component) { c.ActualState.BootArtifacts = old }), true, ReasonWrongImage},
		{"no target at all", comp(func(c *bos.Component) {
			c.DesiredState.BootArtifacts = bos.BootArtifacts{}
			c.ActualState.BootArtifacts = bos.BootArtifacts{}
		}), true, ReasonWrongImage},
	} {
		assert.Equal(t, tc.want, VerifyBoot(tc.c, tc.found, "s1"), tc.name)
	}
}

func TestValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	valid := func() Create {
		return Create{StartingLabel: s("start"), UpgradingLabel: s("up"), FailedLabel: s("failed"),
			UpgradeStepSize: i(50), UpgradeTemplateID: s("tmpl"), WorkloadManagerType: s("slurm")}
	}
	for _, tc := range []struct {
		name string
		mut  func(*Create)
		want FieldErrors
	}{
		{"valid", func(*Create) {}, nil},
		{"all missing", func(c *Create) { *c = Create{} }, FieldErrors{
			"starting_label": {msgMissing}, "upgrading_label": {msgMissing}, "failed_label": {msgMissing},
			"upgrade_step_size": {msgMissing}, "upgrade_template_id": {msgMissing}, "workload_manager_type": {msgMissing}}},
		{"empty label", func(c *Create) { c.FailedLabel = s("") }, FieldErrors{"failed_label": {msgShort}}},
		{"step size 0", func(c *Create) { c.UpgradeStepSize = i(0) }, FieldErrors{"upgrade_step_size": {msgStepSize}}},
		{"step size negative", func(c *Create) { c.UpgradeStepSize = i(-3) }, FieldErrors{"upgrade_step_size": {msgStepSize}}},
		{"pbs", func(c *Create) { c.WorkloadManagerType = s("pbs") }, FieldErrors{"workload_manager_type": {msgWLMType}}},
		{"failed = starting", func(c *Create) { c.FailedLabel = s("start") }, FieldErrors{"failed_label": {"Must differ from starting_label (both are 'start')."}}},
		{"upgrading = starting", func(c *Create) { c.UpgradingLabel = s("start") }, FieldErrors{"upgrading_label": {"Must differ from starting_label (both are 'start')."}}},
	} {
		c := valid()
		tc.mut(&c)
		assert.Equal(t, tc.want, c.Validate(), tc.name)
	}
}

func TestDecideStarting(t *testing.T) {
	t.Run("step 0 clears a non-empty failed group once", func(t *testing.T) {
		r := record(StageStarting, func(r *Record) { r.Progress = Progress{Stage: StageStarting} })
		d := DecideUpgrade(r, Observation{FailedMembers: []string{n4}}, t0, testTiming)
		assert.Equal(t, []Action{{Kind: ActSetGroup, Label: "failed"}}, d.Actions())
		assert.True(t, d.Record.Progress.FailedCleared)
		assert.Equal(t, "Cleared node group 'failed'", lastMessage(d.Record))
		assert.Equal(t, Needs{Starting: true}, NeedsOf(&d.Record))

		d = DecideUpgrade(r, Observation{}, t0, testTiming)
		assert.Empty(t, d.Actions(), "an empty failed group needs no action")
		assert.Empty(t, d.Record.Messages)
		assert.True(t, d.Record.Progress.FailedCleared)
	})
	t.Run("snapshot keeps HSM's order; nodes without a NID fail", func(t *testing.T) {
		r := record(StageStarting, func(r *Record) { r.Progress = Progress{Stage: StageStarting, FailedCleared: true} })
		d := DecideUpgrade(r, Observation{Starting: []string{n3, n1, n2}, NIDs: map[string]int{n3: 3, n1: 1}}, t0, testTiming)
		p := d.Record.Progress
		assert.True(t, p.Snapshotted)
		assert.Equal(t, []string{n3, n1}, p.Nodes)
		assert.Equal(t, map[string]string{n3: "nid000003", n1: "nid000001"}, p.WLMNames)
		assert.Equal(t, map[string]string{n2: ReasonNoWLMName}, p.Failed)
		assert.Equal(t, []Action{{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n2}}}, d.Actions(),
			"never touched in Slurm: only the failed group")
		assert.Equal(t, []string{"Took the node list of group 'start': 2 nodes in 1 steps of at most 2",
			"Nodes without a workload manager name marked as failed (upgrading-unknown-to-wlm): " + n2}, d.Record.Messages)
		assert.Equal(t, Needs{WLM: []string{n3, n1}}, NeedsOf(&d.Record))
	})
	t.Run("drains the step, keeping earlier drains", func(t *testing.T) {
		r := record(StageStarting, func(r *Record) { r.Progress.Step = 1 })
		obs := Observation{WLM: map[string]WLMNode{
			n3: node("ALLOCATED", "", t0), n4: node("IDLE+DRAIN", "bad dimm", t0),
		}}
		d := DecideUpgrade(r, obs, t0.Add(time.Minute), testTiming)
		p := d.Record.Progress
		assert.Equal(t, StageQuiescing, p.Stage)
		assert.Equal(t, t0.Add(time.Minute), p.StageStart)
		assert.Equal(t, []string{n3, n4}, p.Active)
		assert.Equal(t, map[string]string{n4: "bad dimm"}, p.Prior)
		assert.Equal(t, []Action{
			{Kind: ActSetGroup, Label: "up", Nodes: []string{n3, n4}},
			{Kind: ActDrain, Nodes: []string{n3}, Reason: DrainReason},
		}, d.Actions())
		assert.Equal(t, "Quiesce requested in step 1: moving to QUIESCING", lastMessage(d.Record))
		assert.Zero(t, d.After)
	})
	t.Run("a node Slurm does not know fails", func(t *testing.T) {
		r := record(StageStarting)
		d := DecideUpgrade(r, Observation{WLM: map[string]WLMNode{n1: node("IDLE", "", t0)}}, t0, testTiming)
		assert.Equal(t, []string{n1}, d.Record.Progress.Active)
		assert.Equal(t, map[string]string{n2: ReasonNoWLMName}, d.Record.Progress.Failed)
	})
	t.Run("no nodes left: CLEANUP", func(t *testing.T) {
		r := record(StageStarting, func(r *Record) { r.Progress.Step = 3 })
		d := DecideUpgrade(r, Observation{}, t0, testTiming)
		assert.Equal(t, StageCleanup, d.Record.Progress.Stage)
		assert.Equal(t, "No nodes in step 3: moving to CLEANUP", lastMessage(d.Record))
		d = DecideUpgrade(d.Record, Observation{}, t0, testTiming)
		assert.True(t, d.Record.Completed)
		assert.True(t, d.Idle)
		assert.Equal(t, StateReady, d.Record.State)
		assert.Equal(t, []Action{{Kind: ActSetGroup, Label: "up"}}, d.Actions())
		assert.Equal(t, []string{"No nodes in step 3: moving to CLEANUP", "Upgrade Session Completed"}, d.Record.Messages,
			"completion keeps the history (CRUS clears it)")
	})
}

func TestDecideQuiescing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		at        time.Duration
		wlm       map[string]WLMNode
		stage     Stage
		active    []string
		actions   []Action
		failed    map[string]string
		message   string
		after     time.Duration
		mutateRec func(*Record)
		timeout   time.Duration // QuiesceTimeout when set
	}{
		{name: "all quiet", wlm: map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0), n2: node("DOWN+DRAIN", DrainReason, t0)},
			stage: StageQuiesced, active: []string{n1, n2}, message: "All nodes quiesced in step 0: moving to QUIESCED"},
		{name: "a job still runs", wlm: map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0), n2: node("ALLOCATED+DRAIN", DrainReason, t0)},
			stage: StageQuiescing, active: []string{n1, n2}, after: testTiming.Poll},
		{name: "resumed behind our back: drain again",
			wlm:   map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0), n2: node("ALLOCATED", "", t0)},
			stage: StageQuiescing, active: []string{n1, n2}, after: testTiming.Poll,
			actions: []Action{{Kind: ActDrain, Nodes: []string{n2}, Reason: DrainReason}}},
		{name: "timeout: busy nodes go back untouched and fail", at: time.Hour,
			wlm:   map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0), n2: node("ALLOCATED+DRAIN", DrainReason, t0)},
			stage: StageQuiesced, active: []string{n1},
			failed: map[string]string{n2: ReasonQuiesceTimeout},
			actions: []Action{
				{Kind: ActResume, Nodes: []string{n2}},
				{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n2}},
				{Kind: ActSetGroup, Label: "up", Nodes: []string{n1}},
			},
			message: "Quiescing timed out in step 0 after 1h0m0s: returned 1 busy nodes to service and marked them as failed (upgrading-time-out-quiescing): " + n2 + "; moving to QUIESCED"},
		{name: "timeout restores an earlier drain", at: time.Hour,
			mutateRec: func(r *Record) { r.Progress.Prior = map[string]string{n2: "bad dimm"} },
			wlm:       map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0), n2: node("ALLOCATED+DRAIN", "bad dimm", t0)},
			stage:     StageQuiesced, active: []string{n1},
			failed: map[string]string{n2: ReasonQuiesceTimeout},
			actions: []Action{
				{Kind: ActRedrain, Nodes: []string{n2}, Reason: "bad dimm"},
				{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n2}},
				{Kind: ActSetGroup, Label: "up", Nodes: []string{n1}},
			}},
		{name: "a negative timeout waits forever", at: 1000 * time.Hour, timeout: -1,
			wlm:   map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0), n2: node("ALLOCATED+DRAIN", DrainReason, t0)},
			stage: StageQuiescing, active: []string{n1, n2}, after: testTiming.Poll},
		{name: "Slurm forgot a node", wlm: map[string]WLMNode{n1: node("IDLE+DRAIN", DrainReason, t0)},
			stage: StageQuiesced, active: []string{n1}, failed: map[string]string{n2: ReasonNoWLMName},
			actions: []Action{{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := record(StageQuiescing, active(n1, n2))
			if tc.mutateRec != nil {
				tc.mutateRec(&r)
			}
			timing := testTiming
			if tc.timeout != 0 {
				timing.QuiesceTimeout = tc.timeout
			}
			d := DecideUpgrade(r, Observation{WLM: tc.wlm}, t0.Add(tc.at), timing)
			assert.Equal(t, tc.stage, d.Record.Progress.Stage)
			assert.Equal(t, tc.active, d.Record.Progress.Active)
			assert.Equal(t, tc.actions, d.Actions())
			assert.Equal(t, tc.failed, d.Record.Progress.Failed)
			assert.Equal(t, tc.after, d.After)
			if tc.message != "" {
				assert.Equal(t, tc.message, lastMessage(d.Record))
			}
		})
	}
}

func TestDecideQuiesced(t *testing.T) {
	d := DecideUpgrade(record(StageQuiesced, active(n1, n2)), Observation{}, t0, testTiming)
	p := d.Record.Progress
	assert.Equal(t, StageBooting, p.Stage)
	assert.Equal(t, "crus-u1-step-0", p.BOSSession)
	assert.Equal(t, t0, p.BootStart)
	assert.Equal(t, []Action{
		{Kind: ActSetGroup, Label: "up", Nodes: []string{n1, n2}},
		{Kind: ActCreateBOSSession, Session: "crus-u1-step-0", Template: "tmpl", Label: "up"},
	}, d.Actions(), "the group is exact before the session resolves it")
	assert.Equal(t, "Began the boot session for step 0: moving to BOOTING", lastMessage(d.Record))

	d = DecideUpgrade(record(StageQuiesced), Observation{}, t0, testTiming)
	assert.Equal(t, StageStarting, d.Record.Progress.Stage)
	assert.Equal(t, 1, d.Record.Progress.Step)
	assert.Equal(t, []Action{{Kind: ActSetGroup, Label: "up"}}, d.Actions())
	assert.Equal(t, "No nodes left to boot in step 0: advancing to step 1 and moving to STARTING", lastMessage(d.Record))
}

func TestDecideBooting(t *testing.T) {
	booting := record(StageBooting, active(n1, n2), func(r *Record) { r.Progress.BOSSession = "s1"; r.Progress.BootStart = t0 })
	for _, tc := range []struct {
		name    string
		sess    *BOSSessionView
		at      time.Duration
		stage   Stage
		message string
	}{
		{"running", &BOSSessionView{}, time.Minute, StageBooting, ""},
		{"complete", &BOSSessionView{Complete: true}, time.Minute, StageBooted, "The boot session for step 0 completed: moving to BOOTED"},
		{"timed out", &BOSSessionView{}, 30 * time.Minute, StageBooted, "The boot session for step 0 timed out after 30m0s: moving to BOOTED"},
		{"deleted", nil, time.Minute, StageBooted, "The boot session for step 0 no longer exists: moving to BOOTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DecideUpgrade(booting, Observation{BOSSession: tc.sess}, t0.Add(tc.at), testTiming)
			assert.Equal(t, tc.stage, d.Record.Progress.Stage)
			assert.Empty(t, d.Actions())
			assert.Equal(t, tc.message, lastMessage(d.Record))
			if tc.stage == StageBooting {
				assert.Equal(t, testTiming.Poll, d.After)
			}
		})
	}
	assert.Equal(t, Needs{BOSSession: "s1", Components: []string{n1, n2}}, NeedsOf(&booting))

	// The session is not complete yet, but BOS is done with the step's nodes.
	done := bos.Component{Session: "s1"}
	obs := Observation{BOSSession: &BOSSessionView{}, Components: map[string]bos.Component{n1: done, n2: done}}
	d := DecideUpgrade(booting, obs, t0.Add(time.Minute), testTiming)
	assert.Equal(t, StageBooted, d.Record.Progress.Stage)
	assert.Equal(t, "The boot session for step 0 completed: moving to BOOTED", lastMessage(d.Record))
	for name, c := range map[string]bos.Component{
		"still enabled":  {Session: "s1", Enabled: true},
		"not set up yet": {Session: "older"},
	} {
		obs.Components[n2] = c
		d = DecideUpgrade(booting, obs, t0.Add(time.Minute), testTiming)
		assert.Equal(t, StageBooting, d.Record.Progress.Stage, name)
	}
	delete(obs.Components, n2)
	d = DecideUpgrade(booting, obs, t0.Add(time.Minute), testTiming)
	assert.Equal(t, StageBooting, d.Record.Progress.Stage, "not a BOS component: the session's end decides")
}

func TestDecideBooted(t *testing.T) {
	target := bos.BootArtifacts{Kernel: "k", Initrd: "i", KernelParameters: "p"}
	good := func(id string) bos.Component {
		c := bos.Component{ID: id, Session: "s1"}
		c.DesiredState.BootArtifacts, c.ActualState.BootArtifacts = target, target
		return c
	}
	failed := good(n2)
	failed.Status.Status, failed.ActualState.BootArtifacts = bos.StatusFailed, bos.BootArtifacts{}
	booted := record(StageBooted, active(n1, n2), func(r *Record) { r.Progress.BOSSession = "s1"; r.Progress.BootStart = t0 })
	assert.Equal(t, Needs{BOSSession: "s1", Components: []string{n1, n2}}, NeedsOf(&booted))

	t.Run("all booted the target", func(t *testing.T) {
		d := DecideUpgrade(booted, Observation{BOSSession: &BOSSessionView{Complete: true}, Components: map[string]bos.Component{n1: good(n1), n2: good(n2)}}, t0, testTiming)
		assert.Equal(t, StageWLMWaiting, d.Record.Progress.Stage)
		assert.Equal(t, []string{n1, n2}, d.Record.Progress.Active)
		assert.Empty(t, d.Actions())
		assert.Equal(t, "Step 0 boot session succeeded: moving to WLM_WAITING", lastMessage(d.Record))
	})
	t.Run("one failed", func(t *testing.T) {
		d := DecideUpgrade(booted, Observation{BOSSession: &BOSSessionView{Complete: true}, Components: map[string]bos.Component{n1: good(n1), n2: failed}}, t0, testTiming)
		assert.Equal(t, StageWLMWaiting, d.Record.Progress.Stage)
		assert.Equal(t, []string{n1}, d.Record.Progress.Active)
		assert.Equal(t, map[string]string{n2: ReasonBootFailed}, d.Record.Progress.Failed)
		assert.Equal(t, []Action{
			{Kind: ActFail, Nodes: []string{n2}, Reason: ReasonBootFailed},
			{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n2}},
			{Kind: ActSetGroup, Label: "up", Nodes: []string{n1}},
		}, d.Actions())
		assert.Equal(t, "Step 0 boot session succeeded for 1 of 2 nodes: marking the others as failed (upgrading-boot-failed: 1), moving to WLM_WAITING", lastMessage(d.Record))
	})
	t.Run("setup failed: the whole step fails", func(t *testing.T) {
		d := DecideUpgrade(booted, Observation{BOSSession: &BOSSessionView{Complete: true, Error: "template not found"}}, t0, testTiming)
		assert.Equal(t, StageStarting, d.Record.Progress.Stage)
		assert.Equal(t, 1, d.Record.Progress.Step)
		assert.Empty(t, d.Record.Progress.Active)
		assert.Equal(t, map[string]string{n1: ReasonBootSessionFailed, n2: ReasonBootSessionFailed}, d.Record.Progress.Failed)
		assert.Equal(t, []Action{
			{Kind: ActFail, Nodes: []string{n1, n2}, Reason: ReasonBootSessionFailed},
			{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n1, n2}},
			{Kind: ActSetGroup, Label: "up"},
		}, d.Actions())
		assert.Equal(t, "The boot session for step 0 failed: marking the nodes as failed, advancing to step 1 and moving to STARTING", lastMessage(d.Record))
	})
}

func TestDecideWLMWaiting(t *testing.T) {
	bootStart := t0.Add(10 * time.Second)
	waiting := func(mut ...func(*Record)) Record {
		return record(StageWLMWaiting, append([]func(*Record){active(n1, n2), func(r *Record) {
			r.Progress.BOSSession, r.Progress.BootStart, r.Progress.StageStart = "s1", bootStart, bootStart
		}}, mut...)...)
	}
	old, fresh := t0, bootStart.Add(30*time.Second)
	t.Run("resume what rebooted, not what did not", func(t *testing.T) {
		d := DecideUpgrade(waiting(), Observation{WLM: map[string]WLMNode{
			n1: node("DOWN+DRAIN", "Node unexpectedly rebooted", fresh), n2: node("IDLE+DRAIN", DrainReason, old),
		}}, bootStart.Add(time.Minute), testTiming)
		assert.Equal(t, StageWLMWaiting, d.Record.Progress.Stage)
		assert.Equal(t, []string{n1}, d.Record.Progress.Resumed)
		assert.Equal(t, []Action{{Kind: ActResume, Nodes: []string{n1}}}, d.Actions())
		assert.Equal(t, time.Second, d.After, "a resumed node is looked at again soon")
	})
	t.Run("an earlier drain comes back, after clearing DOWN", func(t *testing.T) {
		d := DecideUpgrade(waiting(func(r *Record) { r.Progress.Prior = map[string]string{n2: "bad dimm"} }), Observation{WLM: map[string]WLMNode{
			n1: node("IDLE+DRAIN", DrainReason, fresh), n2: node("DOWN+DRAIN", "Node unexpectedly rebooted", fresh),
		}}, bootStart.Add(time.Minute), testTiming)
		assert.Equal(t, []Action{
			{Kind: ActResume, Nodes: []string{n1}},
			{Kind: ActRedrain, Nodes: []string{n2}, Reason: "bad dimm", ClearDown: true},
		}, d.Actions())
	})
	t.Run("resumed and running again: step done", func(t *testing.T) {
		r := waiting(func(r *Record) {
			r.Progress.Resumed = []string{n1, n2}
			r.Progress.Done = []string{n1}
			r.Progress.Upgraded = 7
		})
		d := DecideUpgrade(r, Observation{WLM: map[string]WLMNode{n1: node("ALLOCATED", "", fresh), n2: node("IDLE", "", fresh)}}, bootStart.Add(time.Minute), testTiming)
		assert.Equal(t, StageStarting, d.Record.Progress.Stage)
		assert.Equal(t, 1, d.Record.Progress.Step)
		assert.Equal(t, 8, d.Record.Progress.Upgraded)
		assert.Equal(t, []Action{{Kind: ActSetGroup, Label: "up"}}, d.Actions())
		assert.Equal(t, []string{"Examined nodes ['" + n2 + "'] for WLM completion",
			"All WLM returned to ready in step 0: advancing to step 1 and moving to STARTING"}, d.Record.Messages)
	})
	t.Run("still not responding: wait", func(t *testing.T) {
		r := waiting(func(r *Record) { r.Progress.Resumed = []string{n1, n2} })
		d := DecideUpgrade(r, Observation{WLM: map[string]WLMNode{n1: node("IDLE+NOT_RESPONDING", "", fresh), n2: node("IDLE", "", fresh)}}, bootStart.Add(time.Minute), testTiming)
		assert.Equal(t, StageWLMWaiting, d.Record.Progress.Stage)
		assert.Equal(t, []string{n2}, d.Record.Progress.Done)
		assert.Equal(t, testTiming.Poll, d.After)
	})
	t.Run("timeout fails what is not back", func(t *testing.T) {
		r := waiting(func(r *Record) { r.Progress.Resumed = []string{n1}; r.Progress.Done = []string{n1} })
		d := DecideUpgrade(r, Observation{WLM: map[string]WLMNode{n1: node("IDLE", "", fresh), n2: node("DOWN+DRAIN+NOT_RESPONDING", DrainReason, old)}},
			bootStart.Add(testTiming.WLMTimeout), testTiming)
		assert.Equal(t, StageStarting, d.Record.Progress.Stage)
		assert.Equal(t, map[string]string{n2: ReasonWLMTimeout}, d.Record.Progress.Failed)
		assert.Equal(t, []Action{
			{Kind: ActFail, Nodes: []string{n2}, Reason: ReasonWLMTimeout},
			{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n2}},
			{Kind: ActSetGroup, Label: "up"},
		}, d.Actions())
		assert.Equal(t, "Waiting for WLM nodes timed out in step 0: marking remaining nodes as failed, advancing to step 1 and moving to STARTING", lastMessage(d.Record))
	})
}

func TestDecideDeleting(t *testing.T) {
	del := func(stage Stage, step int, mut ...func(*Record)) Record {
		return record(stage, append([]func(*Record){active(n3, n4), func(r *Record) { r.State = StateDeleting; r.Progress.Step = step }}, mut...)...)
	}
	clearUp := Action{Kind: ActSetGroup, Label: "up"}
	for _, tc := range []struct {
		name    string
		rec     Record
		actions []Action
		message string
	}{
		{"completed", del(StageCleanup, 3, func(r *Record) { r.Completed = true }), nil, msgDeleteCompleted},
		{"before any update", del(StageQuiescing, 0), []Action{{Kind: ActResume, Nodes: []string{n3, n4}}, clearUp}, msgDeleteEarly},
		{"quiescing a later step: only this step goes back", del(StageQuiesced, 1, func(r *Record) { r.Progress.Prior = map[string]string{n4: "bad dimm"} }),
			[]Action{{Kind: ActResume, Nodes: []string{n3}}, {Kind: ActRedrain, Nodes: []string{n4}, Reason: "bad dimm"}, clearUp}, msgDeleteMidway},
		{"between steps", del(StageStarting, 1), []Action{clearUp}, msgDeleteMidway},
		{"booting: the step's nodes fail", del(StageBooting, 1), []Action{
			{Kind: ActFail, Nodes: []string{n3, n4}, Reason: ReasonDeleted},
			{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n3, n4}}, clearUp}, msgDeleteMidway},
		{"WLM waiting: resumed nodes stay with Slurm", del(StageWLMWaiting, 1, func(r *Record) { r.Progress.Resumed = []string{n3} }), []Action{
			{Kind: ActFail, Nodes: []string{n4}, Reason: ReasonDeleted},
			{Kind: ActAddToGroup, Label: "failed", Nodes: []string{n4}}, clearUp}, msgDeleteMidway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, Needs{}, NeedsOf(&tc.rec))
			d := DecideUpgrade(tc.rec, Observation{}, t0, testTiming)
			assert.True(t, d.Record.Progress.Remove)
			assert.True(t, d.Idle)
			assert.Equal(t, tc.actions, d.Actions())
			assert.Equal(t, tc.message, lastMessage(d.Record))
			for _, n := range []string{n1, n2, n5} {
				assert.NotContains(t, d.Record.Progress.Failed, n, "nodes of other steps are left alone")
			}
		})
	}
}

// DecideUpgrade never changes the record it is given (the caller's copy is the stored one).
func TestDecideLeavesItsInputAlone(t *testing.T) {
	r := record(StageWLMWaiting, active(n1, n2), func(r *Record) {
		r.Messages = []string{"m"}
		r.Progress.Resumed = []string{n1}
		r.Progress.Failed = map[string]string{n5: ReasonBootFailed}
		r.Progress.Prior = map[string]string{n2: "x"}
	})
	before := r.clone()
	DecideUpgrade(r, Observation{WLM: map[string]WLMNode{n1: node("IDLE", "", t0), n2: node("DOWN", "", t0)}}, t0.Add(time.Hour), testTiming)
	assert.Equal(t, before, r)
}

// walk drives DecideUpgrade through a whole session against a tiny scripted world: every node
// is idle, drains at once, and reboots when the step's session is created, except
// those in dead (never come back). It checks the invariants on every pass.
func TestDecideWalk(t *testing.T) {
	nodes := []string{n1, n2, n3, n4, n5}
	dead := map[string]bool{n4: true}
	nids := map[string]int{n1: 1, n2: 2, n3: 3, n4: 4, n5: 5}
	wlm := map[string]WLMNode{}
	for _, n := range nodes {
		wlm[n] = node("IDLE", "", t0.Add(-time.Hour))
	}
	comps := map[string]bos.Component{}
	groups := map[string][]string{"up": nil, "failed": {"x9"}}
	sessions := map[string]*BOSSessionView{}
	target := bos.BootArtifacts{Kernel: "new"}

	r := Record{Session: Session{UpgradeID: "w", StartingLabel: "start", UpgradingLabel: "up", FailedLabel: "failed",
		UpgradeStepSize: 2, UpgradeTemplateID: "tmpl", State: StateUpdating}, Progress: Progress{Stage: StageStarting}}
	now := t0
	for pass := 0; pass < 200 && !r.Completed; pass++ {
		need := NeedsOf(&r)
		obs := Observation{}
		if need.FailedGroup {
			obs.FailedMembers = groups["failed"]
		}
		if need.Starting {
			obs.Starting, obs.NIDs = nodes, nids
		}
		if len(need.WLM) > 0 {
			obs.WLM = wlm
		}
		if need.BOSSession != "" {
			obs.BOSSession = sessions[need.BOSSession]
		}
		if len(need.Components) > 0 {
			obs.Components = comps
		}
		d := DecideUpgrade(r, obs, now, testTiming)
		r = d.Record
		for _, a := range r.Progress.Pending {
			switch a.Kind {
			case ActSetGroup:
				groups[a.Label] = a.Nodes
				require.LessOrEqual(t, len(groups["up"]), 2, "never more than a step in the upgrading group")
			case ActAddToGroup:
				groups[a.Label] = append(groups[a.Label], a.Nodes...)
			case ActDrain:
				for _, n := range a.Nodes {
					wlm[n] = node("IDLE+DRAIN", a.Reason, wlm[n].BootTime)
				}
			case ActResume:
				for _, n := range a.Nodes {
					wlm[n] = node("IDLE", "", wlm[n].BootTime)
				}
			case ActFail:
				for _, n := range a.Nodes {
					wlm[n] = node(wlm[n].State.String()+"+FAIL", a.Reason, wlm[n].BootTime)
				}
			case ActCreateBOSSession:
				sessions[a.Session] = &BOSSessionView{Complete: true}
				for _, n := range groups[a.Label] {
					c := bos.Component{ID: n, Session: a.Session}
					c.DesiredState.BootArtifacts = target
					if !dead[n] {
						c.ActualState.BootArtifacts = target
						wlm[n] = node("DOWN+DRAIN", "Node unexpectedly rebooted", now.Add(time.Second))
					} else {
						c.Status.Status = bos.StatusFailed
						wlm[n] = node("DOWN+DRAIN+NOT_RESPONDING", DrainReason, wlm[n].BootTime)
					}
					comps[n] = c
				}
			default:
				t.Fatalf("unexpected action %+v", a)
			}
		}
		r.Progress.Pending = nil
		drained := 0
		for _, n := range nodes {
			if w := wlm[n]; !InService(w) && r.Progress.Failed[n] == "" {
				drained++
			}
		}
		require.LessOrEqual(t, drained, 2, "pass %d: at most a step out of service (failed nodes aside)", pass)
		now = now.Add(d.After + time.Second)
	}
	require.True(t, r.Completed, "messages: %s", strings.Join(r.Messages, "\n"))
	assert.Equal(t, StateReady, r.State)
	assert.Equal(t, 4, r.Progress.Upgraded)
	assert.Equal(t, map[string]string{n4: ReasonBootFailed}, r.Progress.Failed)
	assert.Equal(t, []string{n4}, groups["failed"], "the old member was cleared at the start")
	assert.Empty(t, groups["up"])
	for _, n := range []string{n1, n2, n3, n5} {
		assert.True(t, InService(wlm[n]), n)
	}
	assert.True(t, wlm[n4].State.Has(slurmapi.FlagFail), "the dead node is FAIL in Slurm")
	assert.Equal(t, msgCompleted, lastMessage(r))
	assert.Contains(t, r.Messages, "Took the node list of group 'start': 5 nodes in 3 steps of at most 2")
}
