package slurmsim

import (
	"fmt"
	"strings"
	"time"
)

// Causes recorded with transitions. Administrative updates record "update State=<S>".
const (
	causeConfigured         = "configured"
	causeJobStarted         = "job started"
	causeJobEnded           = "job ended"
	causeEpilogDone         = "epilog done"
	causeRebootRequested    = "reboot requested"
	causeRebootCancelled    = "reboot cancelled"
	causeRebootIssued       = "reboot issued"
	causeRebootComplete     = "reboot complete"
	causeRebootTimedOut     = "reboot timed out"
	causeRegistered         = "slurmd registered"
	causeBootedUnexpectedly = "booted unexpectedly"
	causeNotResponding      = "not responding"
	causeResponding         = "responding"
	causeReturnToService    = "returned to service"
)

// Transition is one recorded change of a node's state, reason or running-job count.
type Transition struct {
	At     time.Time `json:"at"`
	State  NodeState `json:"state"`
	Reason string    `json:"reason,omitempty"`
	// Jobs is how many jobs were running on the node after the change; for a "booted
	// unexpectedly" entry it is how many the reboot killed.
	Jobs  int    `json:"jobs"`
	Cause string `json:"cause"`
}

// history is a bounded ring of transitions.
type history struct {
	buf   []Transition
	start int
	n     int
}

func newHistory(size int) history { return history{buf: make([]Transition, 0, min(size, 8))} }

func (h *history) last() (Transition, bool) {
	if h.n == 0 {
		return Transition{}, false
	}
	return h.buf[(h.start+h.n-1)%len(h.buf)], true
}

// add appends t, overwriting the oldest entry once capacity entries are kept. The buffer
// grows lazily (most nodes see few transitions); it only wraps once full, so until then
// start is 0 and n == len(buf).
func (h *history) add(t Transition, capacity int) {
	if len(h.buf) < capacity {
		h.buf = append(h.buf, t)
		h.n++
		return
	}
	h.buf[h.start] = t
	h.start = (h.start + 1) % len(h.buf)
}

func (h *history) list() []Transition {
	out := make([]Transition, h.n)
	for i := range out {
		out[i] = h.buf[(h.start+i)%len(h.buf)]
	}
	return out
}

// record appends a transition for n when its state, reason or job count changed (or
// the cause is a boot, which is always worth keeping).
func (s *Server) record(n *node, now time.Time, cause string) {
	t := Transition{At: now, State: n.state(), Reason: n.reason, Jobs: len(n.jobs), Cause: cause}
	if last, ok := n.hist.last(); ok && cause != causeBootedUnexpectedly && cause != causeRebootComplete &&
		last.State == t.State && last.Reason == t.Reason && last.Jobs == t.Jobs {
		return
	}
	n.hist.add(t, s.cfg.HistoryPerNode)
}

// History returns the recorded transitions of a node, oldest first (at most
// Config.HistoryPerNode of them).
func (s *Server) History(name string) ([]Transition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byName[name]
	if !ok {
		return nil, errInvalidNode()
	}
	return n.hist.list(), nil
}

// CheckNoRebootWhileRunning returns an error naming the first transition that shows a
// node rebooted (reboot issued, or booted when the controller did not ask) while jobs
// were running on it.
func CheckNoRebootWhileRunning(node string, hist []Transition) error {
	for i, t := range hist {
		switch {
		case t.Cause == causeBootedUnexpectedly && t.Jobs > 0:
			return fmt.Errorf("node %s rebooted at %s with %d job(s) running", node, t.At.Format(time.RFC3339), t.Jobs)
		case t.Cause == causeRebootIssued && i > 0 && hist[i-1].Jobs > 0:
			return fmt.Errorf("node %s had its reboot issued at %s with %d job(s) running", node, t.At.Format(time.RFC3339), hist[i-1].Jobs)
		}
	}
	return nil
}

// MarshalText writes the scontrol form (IDLE+DRAIN).
func (s NodeState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the scontrol form.
func (s *NodeState) UnmarshalText(b []byte) error {
	st, err := ParseNodeState(strings.Split(string(b), "+"))
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// ParseNodeState reads a slurmrestd state list (base state first, then flags). Unknown
// flags are an error.
func ParseNodeState(list []string) (NodeState, error) {
	var st NodeState
	if len(list) == 0 {
		return st, fmt.Errorf("empty node state")
	}
	found := false
	for i, name := range baseNames {
		if strings.EqualFold(list[0], name) {
			st.Base, found = BaseState(i), true
		}
	}
	if !found {
		return st, fmt.Errorf("unknown node state %q", list[0])
	}
next:
	for _, f := range list[1:] {
		for i, name := range flagNames {
			if strings.EqualFold(f, name) {
				st.Flags |= 1 << i
				continue next
			}
		}
		return st, fmt.Errorf("unknown node state flag %q", f)
	}
	return st, nil
}
