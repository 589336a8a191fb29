package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	bos "github.com/cray-bos/bos/orchestrator"
)

// stallBound is how long a progress-based wait lets the work stand still before it
// fails: no node moved for a minute is a hang, on an idle machine or at load 20 (a
// reboot here takes about 2 s idle). The wait's total is the work's own: a wait sized
// for an idle machine failed 1,000 nodes' first boot at load 9-20.
const stallBound = time.Minute

// setupTimeout bounds a Slurm cluster's start, seeding and setup requests (not its first
// boot, which waits on progress): only a hang takes that long, even at load 20.
const setupTimeout = 3 * time.Minute

// stallWatch tells a wait whether its work has stood still for too long: it remembers
// the last observed state (what is pending, in whatever form the wait reads it) and
// when it last changed.
type stallWatch struct {
	bound   time.Duration
	last    string
	changed time.Time
}

func newStallWatch(now time.Time, bound time.Duration) *stallWatch {
	return &stallWatch{bound: bound, changed: now}
}

// observe records the state seen at now and returns how long it has not changed, and
// whether that is longer than the bound.
func (w *stallWatch) observe(now time.Time, state string) (still time.Duration, stalled bool) {
	if state != w.last {
		w.last, w.changed = state, now
	}
	still = now.Sub(w.changed)
	return still, still > w.bound
}

// waitProgress polls check every poll until it is done, failing only when the state it
// returns (what is pending) has not changed for bound, saying what is pending (describe).
func waitProgress(c *cluster, what string, bound, poll time.Duration, check func() (done bool, state string), describe func() string) {
	c.t.Helper()
	w := newStallWatch(time.Now(), bound)
	for {
		done, state := check()
		if done {
			return
		}
		if still, stalled := w.observe(time.Now(), state); stalled {
			c.t.Fatalf("%s: no progress for %s: %s; pending: %s", what, still.Round(time.Second), state, describe())
		}
		time.Sleep(poll) // polling a condition; the bound is on standing still, not on the total
	}
}

// waitSessionProgress waits for the session to complete, failing only when no node
// moved (its phases' shares unchanged) for bound, with where the nodes are.
func (c *cluster) waitSessionProgress(name string, bound time.Duration) bos.SessionExtendedStatus {
	c.t.Helper()
	var st bos.SessionExtendedStatus
	waitProgress(c, "session "+name, bound, 100*time.Millisecond, func() (bool, string) {
		var err error
		st, err = c.st.BOSClient.SessionStatus(c.ctx(), name)
		require.NoError(c.t, err)
		if st.Status == bos.SessionComplete {
			return true, ""
		}
		return false, fmt.Sprintf("%s %+v", st.Status, st.Phases)
	}, func() string { return fmt.Sprintf("nodes by status: %v", c.countByStatus()) })
	return st
}

// waitSlurmNodes polls Slurm's nodes until pending returns none, failing only when the
// number pending has not changed for bound, with the nodes by state.
func (c *slurmCluster) waitSlurmNodes(what string, bound time.Duration, pending func([]slurmapi.Node) int) {
	c.t.Helper()
	waitProgress(c.cluster, "Slurm: "+what, bound, 50*time.Millisecond, func() (bool, string) {
		left := pending(c.slurm.Nodes())
		return left == 0, fmt.Sprintf("%d nodes to go", left)
	}, func() string {
		states := map[string]int{}
		for _, n := range c.slurm.Nodes() {
			states[n.State.String()]++
		}
		return fmt.Sprintf("nodes by state: %v", states)
	})
}

func TestStallWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type obs struct {
		after time.Duration // since t0
		state string
	}
	for _, tc := range []struct {
		name      string
		seen      []obs
		wantStill time.Duration
		stalled   bool
	}{
		{"first look", []obs{{0, "10 to go"}}, 0, false},
		{"unchanged within the bound", []obs{{0, "10"}, {50 * time.Second, "10"}}, 50 * time.Second, false},
		{"unchanged past the bound", []obs{{0, "10"}, {61 * time.Second, "10"}}, 61 * time.Second, true},
		{"exactly the bound is not past it", []obs{{0, "10"}, {time.Minute, "10"}}, time.Minute, false},
		{"a change restarts the count", []obs{{0, "10"}, {50 * time.Second, "9"}, {100 * time.Second, "9"}}, 50 * time.Second, false},
		{"long work that keeps moving", []obs{{0, "3"}, {55 * time.Second, "2"}, {110 * time.Second, "1"}, {165 * time.Second, "0"}}, 0, false},
		{"a change back counts as a change", []obs{{0, "5"}, {40 * time.Second, "6"}, {80 * time.Second, "5"}, {130 * time.Second, "5"}}, 50 * time.Second, false},
		{"stalled after moving", []obs{{0, "5"}, {10 * time.Second, "4"}, {80 * time.Second, "4"}}, 70 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newStallWatch(t0, time.Minute)
			var still time.Duration
			var stalled bool
			for _, o := range tc.seen {
				still, stalled = w.observe(t0.Add(o.after), o.state)
			}
			assert.Equal(t, tc.wantStill, still)
			assert.Equal(t, tc.stalled, stalled)
		})
	}
}
