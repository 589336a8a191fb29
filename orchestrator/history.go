package orchestrator

import (
	"fmt"
	"strconv"
	"time"
)

// History entry kinds: what changed in a component's record, or what BOS did to the node.
// Deviation: BOS keeps no history (docs/bos-api-deviations.md).
const (
	HistoryCreated  = "created"  // the record was created
	HistoryEnabled  = "enabled"  // enabled changed (from/to "true"/"false")
	HistorySession  = "session"  // the session the node belongs to changed
	HistoryDesired  = "desired"  // desired boot artifacts or configuration changed
	HistoryStaged   = "staged"   // staged state changed
	HistoryBSS      = "bss"      // boot parameters written to BSS (detail: the referral token)
	HistoryActual   = "actual"   // the node reported a boot (new token or artifacts), or cleanup cleared it
	HistoryPhase    = "phase"    // status.phase changed
	HistoryStatus   = "status"   // the computed status changed
	HistoryOverride = "override" // status.status_override changed
	HistoryAction   = "action"   // last_action: to the action, detail its result
	HistoryAttempts = "attempts" // an event_stats counter rose (a retry; detail which and how many)
	HistoryError    = "error"    // error set, changed or cleared
	HistoryCFS      = "cfs"      // CFS was told the desired configuration (detail: the result)
)

// Results of an action entry (detail).
const (
	ActionInFlight = "called"   // recorded, the call not yet returned
	ActionSent     = "returned" // the power call went through: in_flight cleared once the node moved on
	ActionFailed   = "failed"   // the call failed (the error entry says why)
)

// HistoryEntry is one event in a component's history. Time is when BOS recorded it;
// Session is the node's session then (after the change; before it, when cleared).
type HistoryEntry struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Session string    `json:"session,omitempty"`
}

// ComponentChanges lists what changed from old to cur as history entries stamped now;
// old nil means cur was just created. A node report that repeats the boot already
// recorded (same token and artifacts, a new last_updated only) is no entry, so the
// reporter's periodic reports do not push the history out.
func ComponentChanges(old, cur *Component, now time.Time) []HistoryEntry {
	session := ChangesSession(old, cur)
	var out []HistoryEntry
	EachChange(old, cur, func(kind, from, to, detail string) {
		out = append(out, HistoryEntry{Time: now, Kind: kind, From: from, To: to, Detail: detail, Session: session})
	})
	return out
}

// ChangesSession is the session of the entries a write from old to cur adds: the
// node's session after the write, or before it when the write cleared it.
func ChangesSession(old, cur *Component) string {
	if cur.Session == "" && old != nil {
		return old.Session
	}
	return cur.Session
}

// EachChange calls add for each entry ComponentChanges lists, in its order, without
// building the list (the store encodes them as they come).
func EachChange(old, cur *Component, add func(kind, from, to, detail string)) {
	if old == nil {
		add(HistoryCreated, "", "", cur.LastAction.Action)
		// Everything else set is a change from an empty record; the created entry names
		// the action.
		old = &Component{LastAction: cur.LastAction}
		old.RefreshStatus()
	}
	if old.Enabled != cur.Enabled {
		add(HistoryEnabled, strconv.FormatBool(old.Enabled), strconv.FormatBool(cur.Enabled), "")
	}
	if old.Session != cur.Session {
		add(HistorySession, old.Session, cur.Session, "")
	}
	if o, n := old.DesiredState, cur.DesiredState; o.BootArtifacts != n.BootArtifacts || o.Configuration != n.Configuration {
		if from, to := describeBoot(o.BootArtifacts, o.Configuration), describeBoot(n.BootArtifacts, n.Configuration); from != to {
			add(HistoryDesired, from, to, "")
		}
	}
	if o, n := old.StagedState, cur.StagedState; o.BootArtifacts != n.BootArtifacts || o.Configuration != n.Configuration || o.Session != n.Session {
		add(HistoryStaged, describeBoot(o.BootArtifacts, o.Configuration), describeBoot(n.BootArtifacts, n.Configuration), n.Session)
	}
	if t := cur.DesiredState.BSSToken; t != "" && t != old.DesiredState.BSSToken {
		add(HistoryBSS, "", "", "token "+t)
	}
	if o, n := old.ActualState, cur.ActualState; o.BSSToken != n.BSSToken || o.BootArtifacts != n.BootArtifacts {
		detail := ""
		if n.BSSToken != "" {
			detail = "token " + n.BSSToken
		}
		add(HistoryActual, describeBoot(o.BootArtifacts, ""), describeBoot(n.BootArtifacts, ""), detail)
	}
	if old.Status.Phase != cur.Status.Phase {
		add(HistoryPhase, phaseName(old.Status.Phase), phaseName(cur.Status.Phase), "")
	}
	if old.Status.Status != cur.Status.Status {
		add(HistoryStatus, old.Status.Status, cur.Status.Status, "")
	}
	if old.Status.StatusOverride != cur.Status.StatusOverride {
		add(HistoryOverride, old.Status.StatusOverride, cur.Status.StatusOverride, "")
	}
	if r, ok := actionResult(old.LastAction, cur.LastAction); ok {
		add(HistoryAction, "", cur.LastAction.Action, r)
	}
	for _, a := range attemptChanges(old.EventStats, cur.EventStats) {
		add(HistoryAttempts, "", "", a)
	}
	if old.Error != cur.Error {
		add(HistoryError, old.Error, cur.Error, "")
	}
}

// actionResult tells whether last_action changed from o to n and the result to record.
func actionResult(o, n LastAction) (string, bool) {
	if n.Action == "" || o == n {
		return "", false
	}
	switch {
	case n.Failed:
		return ActionFailed, !o.Failed || o.Action != n.Action || !o.LastUpdated.Equal(n.LastUpdated)
	case n.InFlight != "":
		return ActionInFlight, true
	case o.InFlight != "" && o.Action == n.Action && o.LastUpdated.Equal(n.LastUpdated):
		return ActionSent, true
	}
	return "", o.Action != n.Action || !o.LastUpdated.Equal(n.LastUpdated)
}

// attemptChanges names the event_stats counters that rose from o to n ("power_on_attempts 2");
// a counter reset by a new event is no entry.
func attemptChanges(o, n EventStats) []string {
	var out []string
	for _, c := range []struct {
		name     string
		old, new int
	}{
		{"power_on_attempts", o.PowerOnAttempts, n.PowerOnAttempts},
		{"power_off_graceful_attempts", o.PowerOffGracefulAttempts, n.PowerOffGracefulAttempts},
		{"power_off_forceful_attempts", o.PowerOffForcefulAttempts, n.PowerOffForcefulAttempts},
	} {
		if c.new > c.old {
			out = append(out, fmt.Sprintf("%s %d", c.name, c.new))
		}
	}
	return out
}

// describeBoot is a short text for a boot target: its kernel and configuration, "" for
// neither.
func describeBoot(a BootArtifacts, configuration string) string {
	s := a.Kernel
	if s == "" && !a.IsEmpty() {
		s = "(no kernel)"
	}
	if configuration != "" {
		if s == "" {
			s = "(no artifacts)"
		}
		s += " configuration " + configuration
	}
	return s
}

func phaseName(p string) string {
	if p == PhaseNone {
		return "none"
	}
	return p
}
