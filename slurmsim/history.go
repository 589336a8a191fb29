package slurmsim

import (
	"fmt"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
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

// history is a bounded ring of transitions.
type history struct {
	buf   []slurmapi.Transition
	start int
	n     int
}

func newHistory(size int) history { return history{buf: make([]slurmapi.Transition, 0, min(size, 8))} }

func (h *history) last() (slurmapi.Transition, bool) {
	if h.n == 0 {
		return slurmapi.Transition{}, false
	}
	return h.buf[(h.start+h.n-1)%len(h.buf)], true
}

// add appends t, overwriting the oldest entry once capacity entries are kept. The buffer
// grows lazily (most nodes see few transitions); it only wraps once full, so until then
// start is 0 and n == len(buf).
func (h *history) add(t slurmapi.Transition, capacity int) {
	if len(h.buf) < capacity {
		h.buf = append(h.buf, t)
		h.n++
		return
	}
	h.buf[h.start] = t
	h.start = (h.start + 1) % len(h.buf)
}

func (h *history) list() []slurmapi.Transition {
	out := make([]slurmapi.Transition, h.n)
	for i := range out {
		out[i] = h.buf[(h.start+i)%len(h.buf)]
	}
	return out
}

// record appends a transition for n when its state, reason or job count changed (or
// the cause is a boot, which is always worth keeping).
func (s *Server) record(n *node, now time.Time, cause string) {
	t := slurmapi.Transition{At: now, State: n.state(), Reason: n.reason, Jobs: len(n.jobs), Cause: cause}
	if last, ok := n.hist.last(); ok && cause != causeBootedUnexpectedly && cause != causeRebootComplete &&
		last.State == t.State && last.Reason == t.Reason && last.Jobs == t.Jobs {
		return
	}
	n.hist.add(t, s.cfg.HistoryPerNode)
}

// History returns the recorded transitions of a node, oldest first (at most
// Config.HistoryPerNode of them).
func (s *Server) History(name string) ([]slurmapi.Transition, error) {
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
func CheckNoRebootWhileRunning(node string, hist []slurmapi.Transition) error {
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
