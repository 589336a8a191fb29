package crus

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/api/slurmapi"
)

// Timing bounds every wait of the algorithm. Zero fields take the defaults given; a
// negative timeout waits forever (CRUS's behaviour for quiescing and booting).
type Timing struct {
	// Poll is how long the controller waits before it looks again at a stage that is
	// waiting (Slurm drain, BOS session, Slurm return). Default 10s (CRUS's PAUSE_TIME).
	Poll time.Duration
	// QuiesceTimeout bounds QUIESCING: nodes still running jobs after this long are
	// returned to service untouched and marked failed, and the step goes on without them.
	// Default 24h.
	QuiesceTimeout time.Duration
	// BootTimeout bounds BOOTING: after this long the step's nodes are verified as they
	// are, and those BOS has not finished fail. Default 1h.
	BootTimeout time.Duration
	// WLMTimeout bounds WLM_WAITING: step nodes Slurm has not seen reboot and return
	// after this long fail. Default 10m (CRUS's fixed WLM_WAIT_TIMEOUT).
	WLMTimeout time.Duration
	// MaxBackoff caps the wait after consecutive errors (it doubles from Poll). Default 5m.
	MaxBackoff time.Duration
	// Rescan is how often the controller lists the store for sessions it was not told
	// about (created through another API process). Default 30s.
	Rescan time.Duration
}

// Default timing.
const (
	DefaultPoll           = 10 * time.Second
	DefaultQuiesceTimeout = 24 * time.Hour
	DefaultBootTimeout    = time.Hour
	DefaultWLMTimeout     = 10 * time.Minute
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultRescan         = 30 * time.Second
)

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.Poll, DefaultPoll)
	def(&t.QuiesceTimeout, DefaultQuiesceTimeout)
	def(&t.BootTimeout, DefaultBootTimeout)
	def(&t.WLMTimeout, DefaultWLMTimeout)
	def(&t.MaxBackoff, DefaultMaxBackoff)
	def(&t.Rescan, DefaultRescan)
	return t
}

// expired reports whether a stage that began at start has run past timeout (never for a
// negative timeout).
func expired(start, now time.Time, timeout time.Duration) bool {
	return timeout > 0 && now.Sub(start) >= timeout
}

// ActionKind names what an Action does.
type ActionKind string

// Actions. Each is idempotent: the controller may perform one more than once (after a
// crash, or when a later action of the same list failed).
const (
	// ActSetGroup makes HSM group Label hold exactly Nodes.
	ActSetGroup ActionKind = "set_group"
	// ActAddToGroup adds Nodes to HSM group Label.
	ActAddToGroup ActionKind = "add_to_group"
	// ActDrain drains Nodes in Slurm with Reason.
	ActDrain ActionKind = "drain"
	// ActResume resumes Nodes in Slurm (clears DRAIN, FAIL and DOWN).
	ActResume ActionKind = "resume"
	// ActRedrain gives Nodes back the drain they had before CRUS: Slurm DRAIN with
	// Reason, after a RESUME when ClearDown (a node that came back DOWN).
	ActRedrain ActionKind = "redrain"
	// ActFail sets Nodes to Slurm FAIL with Reason.
	ActFail ActionKind = "fail"
	// ActCreateBOSSession creates BOS v2 session Session: a reboot of template
	// Template limited to HSM group Label.
	ActCreateBOSSession ActionKind = "create_bos_session"
)

// Action is one effect DecideUpgrade asks for. Nodes are xnames.
type Action struct {
	Kind      ActionKind `json:"kind"`
	Nodes     []string   `json:"nodes,omitempty"`
	Label     string     `json:"label,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Session   string     `json:"session,omitempty"`
	Template  string     `json:"template,omitempty"`
	ClearDown bool       `json:"clear_down,omitempty"`
}

// WLMNode is what the controller reads of a Slurm node.
type WLMNode struct {
	State    slurmapi.NodeState
	Reason   string
	BootTime time.Time
}

// BOSSessionView is what the controller reads of the step's BOS session.
type BOSSessionView struct {
	Complete bool
	Error    string // status.error: setup failed
}

// Observation is the part of the world the current stage looks at (see Needs).
type Observation struct {
	// FailedMembers are the failed group's members (step 0, before it is cleared).
	FailedMembers []string
	// Starting is the starting group's member list, in HSM's order; NIDs gives each
	// member's HSM NID (0 or missing: none). Read once, for the snapshot.
	Starting []string
	NIDs     map[string]int
	// WLM holds the Slurm view of nodes, by xname; a missing node is unknown to Slurm.
	WLM map[string]WLMNode
	// BOSSession is the step's BOS session, nil if it does not exist.
	BOSSession *BOSSessionView
	// Components are BOS components by xname; a missing node is not a BOS component.
	Components map[string]bos.Component
}

// Needs says what DecideUpgrade will look at for rec: the controller reads exactly that.
type Needs struct {
	FailedGroup bool
	Starting    bool
	WLM         []string // xnames
	BOSSession  string
	Components  []string
}

// NeedsOf returns what the next DecideUpgrade of rec looks at.
func NeedsOf(rec *Record) Needs {
	p := &rec.Progress
	if rec.State == StateDeleting || rec.Completed {
		return Needs{}
	}
	switch p.Stage {
	case StageStarting:
		switch {
		case p.Step == 0 && !p.FailedCleared:
			return Needs{FailedGroup: true}
		case !p.Snapshotted:
			return Needs{Starting: true}
		}
		return Needs{WLM: StepNodes(p.Nodes, p.Step, rec.UpgradeStepSize)}
	case StageQuiescing:
		return Needs{WLM: p.Active}
	case StageBooting:
		return Needs{BOSSession: p.BOSSession, Components: p.Active}
	case StageBooted:
		return Needs{BOSSession: p.BOSSession, Components: p.Active}
	case StageWLMWaiting:
		return Needs{WLM: p.Active}
	}
	return Needs{}
}

// UpgradeDecision is the outcome of one DecideUpgrade: the record to store (its Progress.Pending are
// the actions to perform once it is stored) and when to look again.
type UpgradeDecision struct {
	Record Record
	// After is the wait before the next look (0: at once). Ignored when Idle.
	After time.Duration
	// Idle: nothing more to do once Pending is done (completed, or removed).
	Idle bool
}

// Actions returns the actions the decision asks for.
func (d UpgradeDecision) Actions() []Action { return d.Record.Progress.Pending }

// DecideUpgrade is the controller's whole policy: given a stored record (with no pending
// actions), what the current stage needs to see (obs, as NeedsOf asked) and the time,
// it returns the next record, its actions and the next look. It has no side effects and
// does not modify rec.
func DecideUpgrade(rec Record, obs Observation, now time.Time, t Timing) UpgradeDecision {
	d := &decider{rec: rec.clone(), obs: obs, now: now, t: t.withDefaults()}
	d.rec.Progress.Pending = nil
	switch {
	case d.rec.State == StateDeleting:
		d.deleting()
	case d.rec.Completed:
		d.idle = true
	default:
		switch d.rec.Progress.Stage {
		case StageStarting, "":
			d.starting()
		case StageQuiescing:
			d.quiescing()
		case StageQuiesced:
			d.quiesced()
		case StageBooting:
			d.booting()
		case StageBooted:
			d.booted()
		case StageWLMWaiting:
			d.wlmWaiting()
		case StageCleanup:
			d.cleanup()
		default:
			d.msg(fmt.Sprintf("Unknown stage %q: moving to CLEANUP", d.rec.Progress.Stage))
			d.rec.Progress.Stage = StageCleanup
		}
	}
	return UpgradeDecision{Record: d.rec, After: d.after, Idle: d.idle}
}

type decider struct {
	rec   Record
	obs   Observation
	now   time.Time
	t     Timing
	after time.Duration
	idle  bool
}

func (d *decider) p() *Progress { return &d.rec.Progress }

func (d *decider) msg(m string) { d.rec.Messages = appendMessage(d.rec.Messages, m) }

func (d *decider) act(a Action) { d.rec.Progress.Pending = append(d.rec.Progress.Pending, a) }

func (d *decider) setGroup(label string, nodes []string) {
	d.act(Action{Kind: ActSetGroup, Label: label, Nodes: slices.Clone(nodes)})
}

func (d *decider) wait() { d.after = d.t.Poll }

// fail records nodes as failed with reason: Slurm FAIL (when inWLM) and the failed group.
func (d *decider) fail(nodes []string, reason string, inWLM bool) {
	if len(nodes) == 0 {
		return
	}
	p := d.p()
	if p.Failed == nil {
		p.Failed = map[string]string{}
	}
	for _, n := range nodes {
		p.Failed[n] = reason
	}
	if inWLM {
		d.act(Action{Kind: ActFail, Nodes: slices.Clone(nodes), Reason: reason})
	}
	d.act(Action{Kind: ActAddToGroup, Label: d.rec.FailedLabel, Nodes: slices.Clone(nodes)})
}

// failMap fails nodes with per-node reasons, one action pair per reason.
func (d *decider) failMap(failed map[string]string, inWLM bool) {
	byReason := map[string][]string{}
	for n, r := range failed {
		byReason[r] = append(byReason[r], n)
	}
	for _, r := range slices.Sorted(maps.Keys(byReason)) {
		nodes := byReason[r]
		sort.Strings(nodes)
		d.fail(nodes, r, inWLM)
	}
}

// restore hands nodes back to Slurm as they were before CRUS drained them: resumed, or
// drained again with their earlier reason. down names nodes that are DOWN now.
func (d *decider) restore(nodes []string, down func(string) bool) {
	var resume []string
	redrain := map[string][]string{}
	for _, n := range nodes {
		if r, ok := d.p().Prior[n]; ok {
			redrain[r] = append(redrain[r], n)
			continue
		}
		resume = append(resume, n)
	}
	if len(resume) > 0 {
		d.act(Action{Kind: ActResume, Nodes: resume})
	}
	for _, r := range slices.Sorted(maps.Keys(redrain)) {
		clear := false
		for _, n := range redrain[r] {
			clear = clear || down(n)
		}
		d.act(Action{Kind: ActRedrain, Nodes: redrain[r], Reason: r, ClearDown: clear})
	}
}

// nextStep ends the step: the upgrading group is emptied and step+1 starts.
func (d *decider) nextStep(m string) {
	p := d.p()
	d.setGroup(d.rec.UpgradingLabel, nil)
	d.msg(m)
	p.Step++
	p.Stage, p.StageStart = StageStarting, d.now
	p.Active, p.Prior, p.Resumed, p.Done = nil, nil, nil, nil
	p.BOSSession, p.BootStart = "", time.Time{}
}

func (d *decider) starting() {
	p := d.p()
	p.Stage = StageStarting
	if p.Step == 0 && !p.FailedCleared {
		if len(d.obs.FailedMembers) > 0 {
			d.setGroup(d.rec.FailedLabel, nil)
			d.msg(msgClearedGroup(d.rec.FailedLabel))
		}
		p.FailedCleared = true
		return
	}
	if !p.Snapshotted {
		p.Snapshotted = true
		p.WLMNames = map[string]string{}
		var unknown []string
		for _, n := range d.obs.Starting {
			if nid := d.obs.NIDs[n]; nid > 0 {
				p.Nodes = append(p.Nodes, n)
				p.WLMNames[n] = WLMName(nid)
			} else {
				unknown = append(unknown, n)
			}
		}
		d.msg(msgSnapshot(d.rec.StartingLabel, len(p.Nodes), d.rec.UpgradeStepSize))
		if len(unknown) > 0 {
			d.fail(unknown, ReasonNoWLMName, false)
			d.msg(msgUnknownNodes(ReasonNoWLMName, unknown))
		}
		return
	}
	nodes := StepNodes(p.Nodes, p.Step, d.rec.UpgradeStepSize)
	if len(nodes) == 0 {
		d.msg(msgNoNodes(p.Step))
		p.Stage, p.StageStart = StageCleanup, d.now
		return
	}
	var active, drain, unknown []string
	prior := map[string]string{}
	for _, n := range nodes {
		w, ok := d.obs.WLM[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		active = append(active, n)
		if (w.State.Has(slurmapi.FlagDrain) || w.State.Has(slurmapi.FlagFail)) && w.Reason != DrainReason {
			prior[n] = w.Reason // drained by someone else: keep their reason, restore it later
			continue
		}
		drain = append(drain, n)
	}
	if len(unknown) > 0 {
		d.fail(unknown, ReasonNoWLMName, false)
		d.msg(msgUnknownNodes(ReasonNoWLMName, unknown))
	}
	p.Active, p.Prior, p.Resumed, p.Done = active, nil, nil, nil
	if len(prior) > 0 {
		p.Prior = prior
	}
	p.BOSSession, p.BootStart = "", time.Time{}
	p.Stage, p.StageStart = StageQuiescing, d.now
	d.setGroup(d.rec.UpgradingLabel, active)
	if len(drain) > 0 {
		d.act(Action{Kind: ActDrain, Nodes: drain, Reason: DrainReason})
	}
	d.msg(msgQuiesceRequested(p.Step))
}

func (d *decider) quiescing() {
	p := d.p()
	var busy, undrained, gone []string
	for _, n := range p.Active {
		w, ok := d.obs.WLM[n]
		if !ok {
			gone = append(gone, n)
			continue
		}
		if !w.State.Has(slurmapi.FlagDrain) && !w.State.Has(slurmapi.FlagFail) {
			undrained = append(undrained, n)
		}
		if !Quiet(w.State) {
			busy = append(busy, n)
		}
	}
	if len(gone) > 0 {
		d.fail(gone, ReasonNoWLMName, false)
		d.msg(msgUnknownNodes(ReasonNoWLMName, gone))
		p.Active = without(p.Active, gone)
	}
	switch {
	case len(busy) == 0:
		d.msg(msgAllQuiesced(p.Step))
		p.Stage, p.StageStart = StageQuiesced, d.now
	case expired(p.StageStart, d.now, d.t.QuiesceTimeout):
		d.restore(busy, func(string) bool { return false })
		d.fail(busy, ReasonQuiesceTimeout, false)
		p.Active = without(p.Active, busy)
		d.setGroup(d.rec.UpgradingLabel, p.Active)
		d.msg(msgQuiesceTimedOut(p.Step, d.t.QuiesceTimeout, busy))
		p.Stage, p.StageStart = StageQuiesced, d.now
	default:
		if len(undrained) > 0 { // resumed behind our back: drain again
			d.act(Action{Kind: ActDrain, Nodes: undrained, Reason: DrainReason})
		}
		d.wait()
	}
}

func (d *decider) quiesced() {
	p := d.p()
	if len(p.Active) == 0 {
		d.nextStep(msgNothingToBoot(p.Step))
		return
	}
	p.BOSSession = BOSSessionName(d.rec.UpgradeID, p.Step)
	p.BootStart = d.now
	p.Stage, p.StageStart = StageBooting, d.now
	d.setGroup(d.rec.UpgradingLabel, p.Active)
	d.act(Action{Kind: ActCreateBOSSession, Session: p.BOSSession, Template: d.rec.UpgradeTemplateID, Label: d.rec.UpgradingLabel})
	d.msg(msgBootBegan(p.Step))
	d.wait()
}

func (d *decider) booting() {
	p := d.p()
	switch s := d.obs.BOSSession; {
	case s == nil:
		// Deleted behind our back (the create itself is retried until it succeeds): what
		// BOS did to each node is still on its component.
		d.msg(fmt.Sprintf("The boot session for step %d no longer exists: moving to BOOTED", p.Step))
	case s.Complete, d.bosDone():
		// BOS completes a session within a pass of its last node; the step's own nodes
		// being done is the same answer, sooner.
		d.msg(msgBootCompleted(p.Step))
	case expired(p.StageStart, d.now, d.t.BootTimeout):
		d.msg(msgBootTimedOut(p.Step, d.t.BootTimeout))
	default:
		d.wait()
		return
	}
	p.Stage, p.StageStart = StageBooted, d.now
}

// bosDone reports whether BOS has finished every active node of the step: each was
// taken into the step's session and is no longer enabled (booted and configured, or
// given up on).
func (d *decider) bosDone() bool {
	p := d.p()
	for _, n := range p.Active {
		c, ok := d.obs.Components[n]
		if !ok || c.Session != p.BOSSession || c.Enabled {
			return false
		}
	}
	return len(p.Active) > 0
}

func (d *decider) booted() {
	p := d.p()
	sess := d.obs.BOSSession
	setupFailed := sess != nil && sess.Error != ""
	var ok []string
	failed := map[string]string{}
	for _, n := range p.Active {
		c, found := d.obs.Components[n]
		reason := VerifyBoot(c, found, p.BOSSession)
		if reason == ReasonNotInSession && setupFailed {
			reason = ReasonBootSessionFailed
		}
		if reason == "" {
			ok = append(ok, n)
			continue
		}
		failed[n] = reason
	}
	d.failMap(failed, true)
	if len(ok) == 0 {
		d.nextStep(msgBootFailed(p.Step))
		return
	}
	if len(failed) == 0 {
		d.msg(msgBootSucceeded(p.Step))
	} else {
		d.msg(msgBootPartial(p.Step, len(ok), len(p.Active), failed))
		d.setGroup(d.rec.UpgradingLabel, ok)
	}
	p.Active = ok
	p.Stage, p.StageStart = StageWLMWaiting, d.now
}

func (d *decider) wlmWaiting() {
	p := d.p()
	var resume, ready []string
	for _, n := range p.Active {
		if slices.Contains(p.Done, n) {
			continue
		}
		w, ok := d.obs.WLM[n]
		if !ok {
			continue // times out
		}
		if !slices.Contains(p.Resumed, n) {
			if RebootedSince(w.BootTime, p.BootStart) {
				resume = append(resume, n)
			}
			continue
		}
		if InService(w) {
			ready = append(ready, n)
		}
	}
	if len(resume) > 0 {
		d.restore(resume, func(n string) bool { return d.obs.WLM[n].State.Base == slurmapi.StateDown })
		p.Resumed = append(p.Resumed, resume...)
	}
	if len(ready) > 0 {
		p.Done = append(p.Done, ready...)
		p.Upgraded += len(ready)
		d.msg(msgExamined(ready))
	}
	remaining := without(p.Active, p.Done)
	switch {
	case len(remaining) == 0:
		d.nextStep(msgAllReady(p.Step))
	case expired(p.StageStart, d.now, d.t.WLMTimeout):
		d.fail(remaining, ReasonWLMTimeout, true)
		d.nextStep(msgWLMTimedOut(p.Step))
	case len(resume) > 0:
		// Look again at once: a resumed node is usually back in service by the next look.
		d.after = min(d.t.Poll, time.Second)
	default:
		d.wait()
	}
}

func (d *decider) cleanup() {
	d.setGroup(d.rec.UpgradingLabel, nil)
	d.rec.Completed = true
	if d.rec.State == StateUpdating || d.rec.State == StateCreated {
		d.rec.State = StateReady
	}
	d.msg(msgCompleted)
	d.idle = true
}

// deleting handles DELETE (reference 1.6), touching only the current step's nodes: the
// steps not started are left alone (CRUS fails every remaining node of the starting
// group).
func (d *decider) deleting() {
	p := d.p()
	d.idle = true
	p.Remove = true
	if d.rec.Completed {
		d.msg(msgDeleteCompleted)
		return
	}
	if p.Step == 0 && (p.Stage == StageStarting || p.Stage == StageQuiescing || p.Stage == StageQuiesced || p.Stage == "") {
		d.msg(msgDeleteEarly)
	} else {
		d.msg(msgDeleteMidway)
	}
	switch p.Stage {
	case StageQuiescing, StageQuiesced:
		d.restore(p.Active, func(string) bool { return false }) // drained only: give them back
	case StageBooting, StageBooted:
		d.fail(p.Active, ReasonDeleted, true) // mid-boot: their state is unknown
	case StageWLMWaiting:
		d.fail(without(p.Active, p.Resumed), ReasonDeleted, true) // resumed ones are Slurm's again
	}
	d.setGroup(d.rec.UpgradingLabel, nil)
}

// Quiet reports whether a drained node has finished its jobs (CRUS: State holds IDLE or
// DOWN, and DRAIN). FAIL counts as a drain, UNKNOWN (never registered) as idle, and a
// node still running its epilog (COMPLETING) is not quiet yet.
func Quiet(st slurmapi.NodeState) bool {
	if !st.Has(slurmapi.FlagDrain) && !st.Has(slurmapi.FlagFail) {
		return false
	}
	if st.Has(slurmapi.FlagCompleting) {
		return false
	}
	switch st.Base {
	case slurmapi.StateIdle, slurmapi.StateDown, slurmapi.StateUnknown:
		return true
	}
	return false
}

// InService reports whether Slurm runs a node again after CRUS handed it back: it
// responds, is not DOWN, has no reboot under way and is no longer under CRUS's drain. A
// drain someone else set (or restored) does not count against it.
func InService(w WLMNode) bool {
	st := w.State
	switch {
	case st.Base == slurmapi.StateDown || st.Base == slurmapi.StateUnknown:
		return false
	case st.Has(slurmapi.FlagNotResponding), st.Has(slurmapi.FlagRebootIssued):
		return false
	case (st.Has(slurmapi.FlagDrain) || st.Has(slurmapi.FlagFail)) && w.Reason == DrainReason:
		return false
	}
	return true
}

// RebootedSince reports whether Slurm's boot time of a node is no earlier than start.
// Slurm keeps boot times in whole seconds, so the comparison is in whole seconds.
func RebootedSince(bootTime, start time.Time) bool {
	return !bootTime.IsZero() && bootTime.Unix() >= start.Unix()
}

// VerifyBoot decides from BOS's record whether a node booted what the step's session
// asked for: the component belongs to session (setup wrote the template's target into
// its desired state), BOS did not give up on it, and its actual boot artifacts (reported
// by the node after booting) are that target (BootArtifacts.SameBoot, the reconciler's
// test). It returns "" on success, else the
// failure reason. Slurm's boot time is checked separately (RebootedSince).
func VerifyBoot(c bos.Component, found bool, session string) string {
	switch {
	case !found || c.Session != session:
		return ReasonNotInSession
	case c.Status.Status == bos.StatusFailed || c.Status.StatusOverride == bos.StatusFailed:
		return ReasonBootFailed
	case !c.DesiredState.BootArtifacts.IsEmpty() && c.ActualState.BootArtifacts.SameBoot(c.DesiredState.BootArtifacts):
		return ""
	case c.Enabled:
		return ReasonBootTimeout // BOS is still working on it
	}
	return ReasonWrongImage
}

// WLMName is the Slurm node name of a NID (HPE's nid%06d convention).
func WLMName(nid int) string { return fmt.Sprintf("nid%06d", nid) }

// BOSSessionName is the name of the BOS session of a step: fixed in advance, so a
// create that is repeated after a crash finds the session it made.
func BOSSessionName(upgradeID string, step int) string {
	return fmt.Sprintf("crus-%s-step-%d", upgradeID, step)
}

// clone deep-copies the record's mutable parts, so DecideUpgrade never changes its input.
func (r Record) clone() Record {
	r.Messages = slices.Clone(r.Messages)
	p := &r.Progress
	p.Nodes = slices.Clone(p.Nodes)
	p.WLMNames = maps.Clone(p.WLMNames)
	p.Active = slices.Clone(p.Active)
	p.Prior = maps.Clone(p.Prior)
	p.Resumed = slices.Clone(p.Resumed)
	p.Done = slices.Clone(p.Done)
	p.Failed = maps.Clone(p.Failed)
	p.Pending = slices.Clone(p.Pending)
	return r
}

// without returns list minus the members of drop, in list's order.
func without(list, drop []string) []string {
	if len(drop) == 0 {
		return slices.Clone(list)
	}
	skip := make(map[string]bool, len(drop))
	for _, n := range drop {
		skip[n] = true
	}
	var out []string
	for _, n := range list {
		if !skip[n] {
			out = append(out, n)
		}
	}
	return out
}
