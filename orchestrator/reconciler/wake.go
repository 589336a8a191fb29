package reconciler

import (
	"sync"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
)

// Memo is what the reconciler remembers of a node's last look: which power events can
// change its decision (so only those wake it) and whether its next look can complete it
// (so it goes ahead of the queue). A node without a memo (never looked at by this
// process) is woken by every event and queued in order.
type Memo struct {
	Seen power.Power // the power the last decision was made on
	// WakeOn and WakeOff: an event reporting the node on (off) can change the decision.
	WakeOn, WakeOff bool
	// Finishing: the node waits only for its report or for CFS, so its next look can
	// complete it.
	Finishing bool
	// Stored is the StoredHash of the record as the last decision left it stored; 0 when
	// unknown (its power read failed): the resync looks at the node again.
	Stored uint64
}

// MemoOf is the memo of a node stored as c after a decision made on power seen by the
// process self. It is the wake rule: a power event wakes the node only if Decide, given
// it, could decide otherwise than it did (timeouts have their own RequeueAfter):
//   - a disabled node: no event (only a write enables it, and writes wake it);
//   - a power-on sent and not yet reported (power_on_called): not On, Decide waits for
//     the report (or max_boot_wait_time) either way; Off only after On was seen (it
//     crashed while booting, which max_power_on_wait_time may turn into a retry). Once
//     the report came first (the desired boot recorded, the power still seen off), On
//     is what it waits for. An event that comes while the report's look runs is judged
//     by the memo that look leaves (Reconciler.WakePower), not by this one;
//   - a power-off sent (power_off_*_called) or a node configuring: Off only;
//   - a call recorded by another process (it may be lost), or any other state: any event.
//
// An event reporting the power the decision was made on never wakes the node.
func MemoOf(c bos.Component, seen power.Power, self string) Memo {
	m := Memo{Seen: seen}
	if !c.Enabled {
		return m
	}
	if c.LastAction.InFlight != "" && c.LastAction.InFlight != self {
		m.WakeOn, m.WakeOff = true, true
		return m
	}
	switch bos.ComputeStatus(&c) {
	case bos.StatusPowerOnCalled:
		m.WakeOn = bootedDesired(&c)
		m.WakeOff = seen != power.PowerOff
		m.Finishing = true
	case bos.StatusPowerOffGracefullyCalled, bos.StatusPowerOffForcefullyCalled:
		m.WakeOff = true
	case bos.StatusConfiguring:
		m.WakeOff = true
		m.Finishing = true
	default:
		m.WakeOn, m.WakeOff = true, true
	}
	return m
}

// Wakes reports whether an event reporting power p can change the decision (MemoOf).
func (m Memo) Wakes(p power.Power) bool {
	switch {
	case p == m.Seen:
		return false
	case p == power.PowerOn:
		return m.WakeOn
	case p == power.PowerOff:
		return m.WakeOff
	}
	return true
}

// ResyncLooks is the resync's rule: whether a node must be looked at again although
// nothing woke it. m is its memo (known: it has one), stored its record's StoredHash now
// (0: none), p its power as known without asking its BMC (powerKnown: there is a
// reading). A node is left alone only when its last look decided on this very record
// and on a power that cannot change that decision (Memo.Wakes): looking again would
// decide the same. Time is not a reason: every decision that waits for a deadline asked
// for its own look then (Decision.RequeueAfter, PollCFS).
func ResyncLooks(m Memo, known bool, stored uint64, p power.Power, powerKnown bool) bool {
	switch {
	case !known, m.Stored == 0, stored != m.Stored:
		return true // never looked at here, written since, or deleted
	case !powerKnown:
		return true // only the BMC can tell
	}
	return m.Wakes(p)
}

// FirstInQueue is the priority rule: a node whose next look can complete it (Finishing)
// goes ahead of the others, so reports are taken while a large power-on is still queued.
// A node without a memo keeps its place.
func FirstInQueue(m Memo, known bool) bool { return known && m.Finishing }

// memos holds the Memo of each node this process has looked at.
type memos struct {
	mu sync.RWMutex
	m  map[string]Memo
}

func (s *memos) get(id string) (Memo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.m[id]
	return m, ok
}

// record keeps the memo of each decided node.
func (s *memos) record(ms map[string]Memo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]Memo, len(ms))
	}
	for id, m := range ms {
		s.m[id] = m
	}
}

// restamp sets the Stored digest of the memos of nodes whose record this process wrote
// after deciding on it (the BSS token of a power-on): the node's last look still stands.
func (s *memos) restamp(stored map[string]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, h := range stored {
		if m, ok := s.m[id]; ok && m.Stored != 0 {
			m.Stored = h
			s.m[id] = m
		}
	}
}
