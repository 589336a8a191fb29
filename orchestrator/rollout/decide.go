package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	bos "github.com/cray-bos/bos/orchestrator"
)

// SlurmNode is what the decision reads of one Slurm node.
type SlurmNode struct {
	State    slurmapi.NodeState
	Reason   string
	BootTime time.Time
	Weight   int // scheduling weight (0: not reported)
	// JobsEnd is the latest expected end of the jobs running on it (zero: none, or a job
	// without a time limit when Busy).
	JobsEnd time.Time
}

// Busy reports whether jobs run on the node.
func (s SlurmNode) Busy() bool {
	return s.State.Base == slurmapi.StateAllocated || s.State.Base == slurmapi.StateMixed
}

// OutOfService reports whether Slurm cannot run jobs on the node now: down, failed, not
// responding, rebooting, or drained with no job left. A node still running jobs is in
// service, drained or not.
func (s SlurmNode) OutOfService() bool {
	st := s.State
	switch {
	case st.Base == slurmapi.StateDown, st.Has(slurmapi.FlagFail), st.Has(slurmapi.FlagNotResponding),
		st.Has(slurmapi.FlagRebootIssued):
		return true
	}
	return st.Has(slurmapi.FlagDrain) && !s.Busy()
}

// InService reports whether Slurm runs jobs on the node with nothing pending on it: no
// drain, no reboot asked or issued, not down.
func (s SlurmNode) InService() bool {
	const pending = slurmapi.FlagDrain | slurmapi.FlagFail | slurmapi.FlagNotResponding |
		slurmapi.FlagRebootIssued | slurmapi.FlagRebootRequested
	return s.State.Base != slurmapi.StateDown && s.State.Base != slurmapi.StateUnknown && s.State.Flags&pending == 0
}

// Observation is the world as one pass read it.
type Observation struct {
	// Session is the staged session (staging only); nil when it does not exist.
	Session *bos.Session
	// Staged are the components the staged session staged, by xname (staging only).
	Staged map[string]bos.Component
	// Names maps xnames to Slurm node names (staging only).
	Names map[string]string
	// Components are BOS's records of the nodes handed to Slurm, by xname.
	Components map[string]bos.Component
	// Slurm holds every Slurm node, by name.
	Slurm map[string]SlurmNode
	// Health holds the health checks run this pass, by xname: nil passed.
	Health map[string]error
}

// Drain is one failed node to leave drained in Slurm.
type Drain struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Actions are what a decision asks of the world. Each is idempotent.
type Actions struct {
	// CreateStage: create the staged session (BOS: operation reboot, stage true).
	CreateStage bool `json:"create_stage,omitempty"`
	// Reboot: `scontrol reboot ASAP nextstate=resume reason=RebootReason` (Slurm names).
	Reboot []string `json:"reboot,omitempty"`
	// CancelReboot: `scontrol cancel_reboot` (Slurm names).
	CancelReboot []string `json:"cancel_reboot,omitempty"`
	// Drain: `scontrol update state=DRAIN reason=...`.
	Drain []Drain `json:"drain,omitempty"`
	// ClearStage: empty these components' staged_state in BOS (xnames).
	ClearStage []string `json:"clear_stage,omitempty"`
	// Weight: `scontrol update weight=W` (steering: raised on nodes to roll, put back
	// at the hand-over or abort).
	Weight []Weight `json:"weight,omitempty"`
}

// Weight is one node's new Slurm scheduling weight.
type Weight struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Empty reports whether there is nothing to do.
func (a *Actions) Empty() bool {
	return !a.CreateStage && len(a.Reboot) == 0 && len(a.CancelReboot) == 0 && len(a.Drain) == 0 && len(a.ClearStage) == 0 &&
		len(a.Weight) == 0
}

// restoreWeight puts back the Slurm weight a steering rollout raised on n.
func restoreWeight(n *bos.RolloutNode, act *Actions) {
	if n.Weight > 0 {
		act.Weight = append(act.Weight, Weight{n.Name, n.Weight})
		n.Weight = 0
	}
}

// RebootReason is the Slurm reason of a rollout's reboots.
func RebootReason(rollout string) string { return "BOS rollout " + rollout }

// FailReason is the Slurm drain reason of a node that failed in a rollout.
func FailReason(rollout, why string) string { return RebootReason(rollout) + ": " + why }

// Decision is the rollout's next record and the actions to take.
type Decision struct {
	Rollout bos.Rollout
	Actions Actions
}

// Decide is the whole policy of one rollout, a pure function of its record, the world
// and the clock (docs/rollouts.md):
//   - staging: create the staged session, then snapshot the nodes it staged;
//   - every node handed to Slurm is tracked: out of service, healthy (BOS stable on the
//     new image from the staged session, Slurm in service after a boot no earlier than the
//     hand-over, the health check passed) or failed (BOS failed it, Slurm has it DOWN, or
//     it stayed out of service past the node timeout); failed nodes are drained;
//   - running: a failed canary, or the failure budget spent, pauses the rollout; else
//     waiting nodes are handed to Slurm while fewer than max unavailable are out of
//     service, canaries first and alone, then idle nodes, then those whose jobs end soonest;
//   - aborting: reboots not yet issued are cancelled, nodes not rebooted get their stage
//     cleared, the rest are left as they are;
//   - every node settled: complete.
func Decide(r bos.Rollout, obs Observation, now time.Time) Decision {
	d := Decision{Rollout: r}
	d.Rollout.Nodes = slices.Clone(r.Nodes)
	rec := &d.Rollout
	switch rec.State {
	case bos.RolloutStaging:
		decideStaging(rec, obs, &d.Actions)
	case bos.RolloutRunning, bos.RolloutPaused:
		canaryFailed := track(rec, obs, now, &d.Actions)
		rec.Count()
		if rec.State == bos.RolloutRunning {
			pauseOnFailures(rec, canaryFailed)
		}
		if rec.State == bos.RolloutRunning {
			choose(rec, obs, now, &d.Actions)
			rec.Count()
		}
		if settled(rec) {
			rec.State, rec.Reason = bos.RolloutComplete, ""
			if rec.Counts.Failed > 0 {
				rec.Reason = fmt.Sprintf("%d of %d nodes failed", rec.Counts.Failed, rec.Counts.Total)
			}
		}
	case bos.RolloutAborting:
		if len(rec.Nodes) == 0 {
			abortStaging(rec, obs, &d.Actions)
			break
		}
		track(rec, obs, now, &d.Actions)
		abort(rec, obs, &d.Actions)
	}
	rec.Count()
	if !slices.Equal(rec.Nodes, r.Nodes) || rec.State != r.State || rec.Reason != r.Reason {
		rec.Updated = now
	}
	return d
}

// decideStaging creates the staged session, waits for its setup, and takes its nodes.
func decideStaging(rec *bos.Rollout, obs Observation, act *Actions) {
	s := obs.Session
	switch {
	case s == nil:
		act.CreateStage = true
		return
	case s.Status.Status == bos.SessionPending:
		return
	}
	if len(obs.Staged) == 0 {
		why := fmt.Sprintf("staged session %s staged no node", s.Name)
		if s.Status.Error != nil && *s.Status.Error != "" {
			why += ": " + *s.Status.Error
		}
		rec.State, rec.Reason = bos.RolloutFailed, why
		return
	}
	canary := map[string]bool{}
	for _, x := range rec.Policy.CanaryNodes {
		canary[x] = true
	}
	rec.Nodes = rec.Nodes[:0]
	for _, x := range sortedKeys(obs.Staged) {
		n := bos.RolloutNode{Xname: x, Name: obs.Names[x], Phase: bos.NodeWaiting, Canary: canary[x]}
		s, inSlurm := obs.Slurm[n.Name]
		switch {
		case n.Name == "" || !inSlurm:
			n.Phase, n.Reason = bos.NodeCancelled, "unknown to Slurm"
			act.ClearStage = append(act.ClearStage, x)
		case rec.Policy.Steering():
			// New jobs go elsewhere first: the node empties as its jobs end. A weight a
			// rollout already raised (one stopped for good) is taken as what it was.
			n.Weight = max(s.Weight, 1)
			if n.Weight > bos.SteerWeight {
				n.Weight -= bos.SteerWeight
			}
			act.Weight = append(act.Weight, Weight{n.Name, n.Weight + bos.SteerWeight})
		}
		rec.Nodes = append(rec.Nodes, n)
	}
	rec.Count()
	total := rec.Counts.Total - rec.Counts.Cancelled
	rec.MaxUnavailable = rec.Policy.MaxUnavailable.Of(total, 1)
	rec.FailureBudget = rec.Policy.FailureBudget.Of(total, 1)
	rec.State, rec.Reason = bos.RolloutRunning, ""
}

// track moves every node handed to Slurm on, and keeps failed nodes drained. It reports
// whether a canary failed in this pass.
func track(rec *bos.Rollout, obs Observation, now time.Time, act *Actions) (canaryFailed bool) {
	for i := range rec.Nodes {
		n := &rec.Nodes[i]
		s, known := obs.Slurm[n.Name]
		if n.Phase == bos.NodeFailed {
			if known && !s.State.Has(slurmapi.FlagDrain) {
				act.Drain = append(act.Drain, Drain{n.Name, FailReason(rec.Name, n.Reason)})
			}
			continue
		}
		if (n.Phase != bos.NodeHanded && n.Phase != bos.NodeOut) || !known {
			continue
		}
		if why := failure(rec, n, s, obs, now); why != "" {
			n.Phase, n.Reason, n.DoneAt = bos.NodeFailed, why, now
			act.Drain = append(act.Drain, Drain{n.Name, FailReason(rec.Name, why)})
			if s.State.Has(slurmapi.FlagRebootRequested) && !s.State.Has(slurmapi.FlagRebootIssued) {
				act.CancelReboot = append(act.CancelReboot, n.Name)
			}
			canaryFailed = canaryFailed || n.Canary
			continue
		}
		rebooted := rebooted(s, n)
		if n.Phase == bos.NodeHanded && (s.OutOfService() || rebooted) {
			n.Phase, n.OutAt = bos.NodeOut, now
		}
		if n.Phase != bos.NodeOut {
			continue
		}
		switch {
		case !bosDone(obs.Components[n.Xname], rec.StageSession):
			n.Reason = "waiting for BOS"
		case !s.InService() || !rebooted:
			n.Reason = "waiting for Slurm"
		case rec.Policy.HealthCheck != nil && !hasKey(obs.Health, n.Xname):
			n.Reason = "health check pending"
		case rec.Policy.HealthCheck != nil && obs.Health[n.Xname] != nil:
			n.Reason = "health check: " + obs.Health[n.Xname].Error()
		default:
			n.Phase, n.Reason, n.DoneAt = bos.NodeHealthy, "", now
		}
	}
	return canaryFailed
}

// failure says why a handed node failed, or "".
func failure(rec *bos.Rollout, n *bos.RolloutNode, s SlurmNode, obs Observation, now time.Time) string {
	if c, ok := obs.Components[n.Xname]; ok && c.Session == rec.StageSession && c.Status.Status == bos.StatusFailed {
		return "BOS failed the node: " + cmp.Or(c.Error, "no error given")
	}
	if n.Phase == bos.NodeOut && s.State.Base == slurmapi.StateDown &&
		!s.State.Has(slurmapi.FlagRebootIssued) && !s.State.Has(slurmapi.FlagRebootRequested) {
		return "Slurm has it DOWN: " + cmp.Or(s.Reason, "no reason given")
	}
	if n.Phase == bos.NodeOut && now.Sub(n.OutAt) > rec.Policy.NodeTimeout() {
		why := fmt.Sprintf("not healthy %s after leaving service", rec.Policy.NodeTimeout())
		if n.Reason != "" {
			why += " (" + n.Reason + ")"
		}
		return why
	}
	return ""
}

// Replayable is the part of a stored reboot action still to do when it is replayed
// (BOS stopped between storing and clearing it, so Slurm may have done it already): the
// nodes still handed over whose reboot Slurm neither holds (requested or issued) nor has
// done since the hand-over. Re-issuing the others would reboot a node already back.
func Replayable(rec *bos.Rollout, reboot []string, slurm map[string]SlurmNode) []string {
	handed := map[string]*bos.RolloutNode{}
	for i := range rec.Nodes {
		if n := &rec.Nodes[i]; n.Phase == bos.NodeHanded {
			handed[n.Name] = n
		}
	}
	var out []string
	for _, name := range reboot {
		n, ok := handed[name]
		s, known := slurm[name]
		if !ok || !known || rebooted(s, n) || s.State.Flags&(slurmapi.FlagRebootRequested|slurmapi.FlagRebootIssued) != 0 {
			continue
		}
		out = append(out, name)
	}
	return out
}

// rebooted: Slurm saw the node boot no earlier than its hand-over (Slurm's boot times are
// whole seconds).
func rebooted(s SlurmNode, n *bos.RolloutNode) bool {
	return !s.BootTime.Before(n.HandedAt.Truncate(time.Second))
}

// bosDone: BOS applied the stage (the component's session is the staged one), booted the
// new image and is done with the node.
func bosDone(c bos.Component, stage string) bool {
	return c.ID != "" && c.Session == stage && c.Status.Status == bos.StatusStable && !c.Enabled &&
		c.ActualState.BootArtifacts.Kernel != "" && c.ActualState.BootArtifacts.Kernel == c.DesiredState.BootArtifacts.Kernel
}

// AwaitingHealth lists the nodes whose health check the next pass needs: out of service
// until now, and through BOS's and Slurm's gates.
func AwaitingHealth(r *bos.Rollout, obs Observation) []bos.RolloutNode {
	if r.Policy.HealthCheck == nil {
		return nil
	}
	var out []bos.RolloutNode
	for _, n := range r.Nodes {
		s, known := obs.Slurm[n.Name]
		if (n.Phase == bos.NodeOut || n.Phase == bos.NodeHanded) && known && s.InService() &&
			rebooted(s, &n) && bosDone(obs.Components[n.Xname], r.StageSession) {
			out = append(out, n)
		}
	}
	return out
}

// pauseOnFailures pauses a running rollout whose canary failed, or whose failures since
// the last resume reached the budget.
func pauseOnFailures(rec *bos.Rollout, canaryFailed bool) {
	var failed []string
	for _, n := range rec.Nodes {
		if n.Phase == bos.NodeFailed {
			failed = append(failed, n.Xname)
		}
	}
	switch {
	case canaryFailed:
		rec.State, rec.Reason = bos.RolloutPaused, "a canary node failed: "+summary(failed)
	case len(failed)-rec.BudgetBase >= rec.FailureBudget:
		rec.State = bos.RolloutPaused
		rec.Reason = fmt.Sprintf("failure budget of %d reached: %d failed since the start or last resume; failed: %s",
			rec.FailureBudget, len(failed)-rec.BudgetBase, summary(failed))
	}
}

func summary(xnames []string) string {
	if len(xnames) > 10 {
		return strings.Join(xnames[:10], ", ") + fmt.Sprintf(" and %d more", len(xnames)-10)
	}
	return strings.Join(xnames, ", ")
}

// choose hands waiting nodes to Slurm while the limit allows.
func choose(rec *bos.Rollout, obs Observation, now time.Time, act *Actions) {
	unavailable, failed := 0, 0
	var waiting []int
	for i, n := range rec.Nodes {
		s, known := obs.Slurm[n.Name]
		switch {
		case n.Phase == bos.NodeFailed:
			// kept drained by the rollout: out of service until it ends
			unavailable++
			failed++
		case n.Phase == bos.NodeOut && s.InService() && rebooted(s, &n):
			// back in Slurm's service, waiting for BOS or the health check: it runs jobs
		case n.Phase == bos.NodeHanded || n.Phase == bos.NodeOut:
			unavailable++
		case n.Phase == bos.NodeWaiting && known:
			if s.OutOfService() {
				unavailable++
			}
			waiting = append(waiting, i)
		}
	}
	slots := rec.MaxUnavailable - unavailable
	if slots <= 0 && failed >= rec.MaxUnavailable && len(waiting) > 0 {
		// no node can ever move again: say so rather than wait
		rec.State = bos.RolloutPaused
		rec.Reason = fmt.Sprintf("%d failed nodes, kept drained, take all %d nodes max unavailable allows out of service; abort to release them", failed, rec.MaxUnavailable)
		return
	}
	if slots <= 0 || len(waiting) == 0 {
		return
	}
	// Out of service already first (rebooting them costs no service), then idle, then
	// by the soonest end of their jobs (no end known: last), then in xname order.
	slices.SortStableFunc(waiting, func(a, b int) int {
		sa, sb := obs.Slurm[rec.Nodes[a].Name], obs.Slurm[rec.Nodes[b].Name]
		if c := cmpBool(sb.OutOfService(), sa.OutOfService()); c != 0 {
			return c
		}
		if c := cmpBool(sa.Busy(), sb.Busy()); c != 0 {
			return c
		}
		if c := cmpBool(sa.JobsEnd.IsZero(), sb.JobsEnd.IsZero()); c != 0 {
			return c
		}
		return sa.JobsEnd.Compare(sb.JobsEnd)
	})
	if rec.Policy.Canary > 0 && len(rec.Policy.CanaryNodes) == 0 && rec.Waves == 0 {
		for _, i := range waiting[:min(rec.Policy.Canary, len(waiting))] {
			rec.Nodes[i].Canary = true
		}
	}
	// Canaries first, and alone until every canary is settled.
	canariesPending := false
	for _, n := range rec.Nodes {
		if n.Canary && n.Phase != bos.NodeHealthy && n.Phase != bos.NodeFailed && n.Phase != bos.NodeCancelled {
			canariesPending = true
		}
	}
	if canariesPending {
		waiting = slices.DeleteFunc(waiting, func(i int) bool { return !rec.Nodes[i].Canary })
	}
	waiting = waiting[:min(slots, len(waiting))]
	if len(waiting) == 0 {
		return
	}
	rec.Waves++
	for _, i := range waiting {
		n := &rec.Nodes[i]
		n.Phase, n.HandedAt, n.Wave, n.Reason = bos.NodeHanded, now, rec.Waves, "waiting for its jobs to end"
		act.Reboot = append(act.Reboot, n.Name)
		restoreWeight(n, act) // drained now: the weight matters again once it is back
	}
}

// abort cancels reboots not yet issued and clears the stage of nodes that were not
// rebooted; once no cancellation is pending the rollout is aborted.
func abort(rec *bos.Rollout, obs Observation, act *Actions) {
	pending := false
	for i := range rec.Nodes {
		n := &rec.Nodes[i]
		s, known := obs.Slurm[n.Name]
		switch {
		case n.Phase == bos.NodeWaiting:
			n.Phase, n.Reason = bos.NodeCancelled, "rollout aborted"
			act.ClearStage = append(act.ClearStage, n.Xname)
			restoreWeight(n, act)
		case n.Phase != bos.NodeHanded || !known:
		case s.State.Has(slurmapi.FlagRebootIssued):
			// issued: the node reboots into the new image; left as it is
		case s.State.Has(slurmapi.FlagRebootRequested):
			act.CancelReboot = append(act.CancelReboot, n.Name)
			pending = true
		case !s.OutOfService() && !rebooted(s, n):
			n.Phase, n.Reason = bos.NodeCancelled, "rollout aborted"
			act.ClearStage = append(act.ClearStage, n.Xname)
		}
	}
	if !pending {
		rec.State = bos.RolloutAborted
	}
}

// abortStaging aborts a rollout that has not taken its nodes: once the staged session's
// setup is done, whatever it staged is cleared.
func abortStaging(rec *bos.Rollout, obs Observation, act *Actions) {
	if obs.Session != nil && obs.Session.Status.Status == bos.SessionPending {
		return
	}
	act.ClearStage = sortedKeys(obs.Staged)
	rec.State = bos.RolloutAborted
}

// settled reports whether every node is healthy, failed or cancelled.
func settled(rec *bos.Rollout) bool {
	c := rec.Counts
	return c.Total > 0 && c.Healthy+c.Failed+c.Cancelled == c.Total
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
