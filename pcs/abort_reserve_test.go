package pcs

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/pcsapi"
)

func start(t *testing.T, h http.Handler, body string) string {
	t.Helper()
	var st pcsapi.TransitionStart
	rec := do(t, h, "POST", "/power-control/v1/transitions", body, &st)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "../transitions/"+st.TransitionID, rec.Header().Get("Location"))
	return st.TransitionID
}

func get(t *testing.T, h http.Handler, id string) pcsapi.Transition {
	t.Helper()
	var tr pcsapi.Transition
	require.Equal(t, http.StatusOK, do(t, h, "GET", "/power-control/v1/transitions/"+id, "", &tr).Code)
	return tr
}

// DELETE /transitions/{id} aborts a running transition as PCS does: 202, the unfinished
// tasks fail "Transition aborted" with their last status, the transition ends aborted and
// no further action is sent; a finished transition cannot be aborted (400).
func TestAbortTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a, b = "x1c0s0b0n0", "x1c0s0b0n1"
		f := newFake(map[string]string{a: "on", b: "on"})
		f.stuck[b] = true
		h := newServer(t, f)
		id := start(t, h, `{"operation":"Hard-Restart","taskDeadlineMinutes":5,"location":[{"xname":"`+a+`"},{"xname":"`+b+`"}]}`)
		time.Sleep(time.Minute) // a is off, b is still shutting down
		synctest.Wait()

		var ab pcsapi.TransitionAbort
		rec := do(t, h, "DELETE", "/apis/power-control/v1/transitions/"+id, "", &ab)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		require.Equal(t, "Accepted - abort initiated", ab.AbortStatus)
		synctest.Wait()

		tr := get(t, h, id)
		require.Equal(t, pcsapi.TransitionAborted, tr.TransitionStatus)
		require.Equal(t, 2, tr.TaskCounts.Failed)
		last := map[string]string{a: "Transition confirmed, gracefulshutdown. Waiting for next transition",
			b: "Confirming successful transition, gracefulshutdown"}
		for _, tk := range tr.Tasks {
			require.Equal(t, "Transition aborted", tk.Error)
			require.Equal(t, "Aborted. Last status - "+last[tk.Xname], tk.TaskStatusDescription, tk.Xname)
		}
		time.Sleep(10 * time.Minute)
		require.Equal(t, []string{"GracefulShutdown " + a, "GracefulShutdown " + b}, f.callLog(), "nothing sent after the abort")
		require.Equal(t, http.StatusAccepted, do(t, h, "DELETE", "/power-control/v1/transitions/"+id, "", nil).Code, "aborted again")

		var list pcsapi.TransitionList
		do(t, h, "GET", "/power-control/v1/transitions", "", &list)
		require.Equal(t, pcsapi.TransitionAborted, list.Transitions[0].TransitionStatus)

		done := transition(t, h, `{"operation":"On","location":[{"xname":"`+a+`"}]}`)
		rec = do(t, h, "DELETE", "/power-control/v1/transitions/"+done.TransitionID, "", nil)
		require.Equal(t, http.StatusBadRequest, rec.Code)
		require.Contains(t, rec.Body.String(), "Transition is already finished and cannot be aborted.")
	})
}

// fakeLocks is HSM's service reservations in memory: others holds the nodes reserved by
// someone else, deputies the live deputy keys.
type fakeLocks struct {
	mu       sync.Mutex
	others   map[string]bool
	deputies map[string]string
	held     map[string]string // ours: xname → reservation key
	renewals int
	log      []string
}

func (l *fakeLocks) Valid(_ context.Context, keys map[string]string) (map[string]bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for x, k := range keys {
		out[x] = l.deputies[x] == k
	}
	return out, nil
}

func (l *fakeLocks) Acquire(_ context.Context, xnames []string, minutes int) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for _, x := range xnames {
		if !l.others[x] && l.deputies[x] == "" && l.held[x] == "" {
			l.held[x] = "key-" + x
			out[x] = l.held[x]
			l.log = append(l.log, "reserve "+x)
		}
	}
	return out, nil
}

func (l *fakeLocks) Renew(_ context.Context, keys map[string]string, minutes int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewals++
	return nil
}

func (l *fakeLocks) Release(_ context.Context, keys map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for x, k := range keys {
		if l.held[x] == k {
			delete(l.held, x)
			l.log = append(l.log, "release "+x)
		}
	}
	return nil
}

// A transition reserves its nodes in HSM and releases them at the end; a node reserved by
// someone else fails untouched unless the caller gives the reservation's deputy key, which
// PCS then checks before each stage.
func TestTransitionReservations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const free, taken, deputized, wrongKey, expiring = "x1c0s0b0n0", "x1c0s0b0n1", "x1c0s1b0n0", "x1c0s1b0n1", "x1c0s2b0n0"
		f := newFake(map[string]string{free: "on", taken: "on", deputized: "on", wrongKey: "on", expiring: "on"})
		locks := &fakeLocks{others: map[string]bool{taken: true, wrongKey: true},
			deputies: map[string]string{deputized: "d1", wrongKey: "d2", expiring: "d3"}, held: map[string]string{}}
		s, err := New(Config{Driver: f, Reservations: locks, PollInterval: 2 * time.Second})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		h := s.Handler()
		id := start(t, h, `{"operation":"Hard-Restart","taskDeadlineMinutes":3,"location":[`+
			`{"xname":"`+free+`"},{"xname":"`+taken+`"},{"xname":"`+deputized+`","deputyKey":"d1"},`+
			`{"xname":"`+wrongKey+`","deputyKey":"bogus"},{"xname":"`+expiring+`","deputyKey":"d3"}]}`)
		time.Sleep(5 * time.Second) // all are off; the On stage checks the deputy keys first
		locks.mu.Lock()
		delete(locks.deputies, expiring)
		locks.mu.Unlock()
		tr := get(t, h, id)
		for tr.TransitionStatus != pcsapi.TransitionCompleted {
			time.Sleep(time.Second)
			tr = get(t, h, id)
		}
		got := map[string]string{}
		for _, tk := range tr.Tasks {
			got[tk.Xname] = tk.TaskStatus + " " + tk.Error
		}
		require.Equal(t, map[string]string{
			free: "succeeded ", deputized: "succeeded ",
			taken:    "failed Unable to reserve component",
			wrongKey: "failed Invalid deputy key and unable to reserve component",
			expiring: "failed Reservation expired",
		}, got)
		require.Equal(t, []string{"reserve " + free, "release " + free}, locks.log)
		require.Empty(t, locks.held)
		require.NotContains(t, f.callLog(), "GracefulShutdown "+taken)
		require.NotContains(t, f.callLog(), "On "+expiring)
	})
}

// Reservations last a minute: a transition that needs them longer (an Off that waits out
// its deadline before its ForceOff) renews them.
func TestReservationsRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const x = "x1c0s0b0n0"
		f := newFake(map[string]string{x: "on"})
		f.stuck[x] = true
		locks := &fakeLocks{others: map[string]bool{}, deputies: map[string]string{}, held: map[string]string{}}
		s, err := New(Config{Driver: f, Reservations: locks, PollInterval: 2 * time.Second})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		tr := transition(t, s.Handler(), `{"operation":"Off","taskDeadlineMinutes":3,"location":[{"xname":"`+x+`"}]}`)
		require.Equal(t, pcsapi.TaskSucceeded, tr.Tasks[0].TaskStatus)
		require.GreaterOrEqual(t, locks.renewals, 5, "every 30 s for 3 minutes")
		require.Empty(t, locks.held)
	})
}

// A node's reservation is given back once its last action is sent, not when the transition
// ends: BOS reads a node off and sends On before PCS's next poll confirms the Soft-Off, and
// that On must be able to reserve the node (PCS's own reservation would refuse it).
func TestReservationReleasedOnceActionSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const x = "x1c0s0b0n0"
		f := newFake(map[string]string{x: "on"})
		locks := &fakeLocks{others: map[string]bool{}, deputies: map[string]string{}, held: map[string]string{}}
		s, err := New(Config{Driver: f, Reservations: locks, PollInterval: 15 * time.Second})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		h := s.Handler()
		off := start(t, h, `{"operation":"Soft-Off","taskDeadlineMinutes":1,"location":[{"xname":"`+x+`"}]}`)
		time.Sleep(11 * time.Second) // off at 10 s; the Soft-Off polls at 15 s
		require.Equal(t, pcsapi.TransitionInProgress, get(t, h, off).TransitionStatus)
		on := transition(t, h, `{"operation":"On","taskDeadlineMinutes":1,"location":[{"xname":"`+x+`"}]}`)
		require.Equal(t, pcsapi.TaskSucceeded, on.Tasks[0].TaskStatus, on.Tasks[0].Error)
		require.Equal(t, []string{"reserve " + x, "release " + x, "reserve " + x, "release " + x}, locks.log)
	})
}
