package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/problem"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// world is BOS, HSM and Slurm in one fake, just enough for the controller: the staged
// session stages x0..x(n-1); a node handed to Slurm reboots at once into the staged
// image (Slurm idle with a new boot time, BOS stable on the staged session).
type world struct {
	mu       sync.Mutex
	now      time.Time
	n        int
	session  *bos.Session
	rebooted map[string]int // Slurm name → reboots
	failNext error          // the next Reboot call fails with it
	lostNext error          // the next Reboot call is done, but its caller gets this (BOS crashed)
	batches  []int          // nodes per Reboot call
	hold     bool           // reboots from now on stay in progress (Slurm DOWN, BOS not done) until released
	held     map[string]bool
}

func (w *world) xname(i int) string { return fmt.Sprintf("x%d", i) }

func (w *world) CreateSession(_ context.Context, sc bos.SessionCreate) (bos.Session, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.session = &bos.Session{Name: sc.Name, Stage: sc.Stage, Status: bos.SessionStatus{Status: bos.SessionRunning}}
	return *w.session, nil
}

func (w *world) GetSession(_ context.Context, name string) (bos.Session, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.session == nil || w.session.Name != name {
		return bos.Session{}, problem.New(http.StatusNotFound, "Session %s could not be found", name)
	}
	return *w.session, nil
}

func (w *world) ListComponents(_ context.Context, q bosapi.ComponentQuery) ([]bos.Component, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []bos.Component
	for i := range w.n {
		x := w.xname(i)
		if len(q.IDs) > 0 && !contains(q.IDs, x) {
			continue
		}
		c := bos.Component{ID: x}
		if q.StagedSession != "" {
			c.StagedState.Session = q.StagedSession
		}
		if w.rebooted[SlurmName(i+1)] > 0 && !w.held[SlurmName(i+1)] {
			c = stable(x)
			c.Session = w.session.Name
		}
		out = append(out, c)
	}
	return out, nil
}

func (w *world) PatchComponents(context.Context, []bos.ComponentPatch, bool) ([]bos.Component, error) {
	return nil, nil
}

func (w *world) QueryComponents(_ context.Context, ids []string, _ hsmapi.ComponentFilter) ([]hsmapi.Component, error) {
	var out []hsmapi.Component
	for _, id := range ids {
		var i int
		_, _ = fmt.Sscanf(id, "x%d", &i)
		out = append(out, hsmapi.Component{ID: id, NID: i + 1})
	}
	return out, nil
}

func (w *world) Nodes(context.Context) ([]slurmapi.Node, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []slurmapi.Node
	for i := range w.n {
		name := SlurmName(i + 1)
		boot := w.now.Add(-time.Hour)
		state := slurmapi.NodeState{Base: slurmapi.StateIdle}
		switch {
		case w.held[name]:
			state = slurmapi.NodeState{Base: slurmapi.StateDown, Flags: slurmapi.FlagDrain | slurmapi.FlagRebootIssued}
		case w.rebooted[name] > 0:
			boot = w.now.Add(time.Second)
		}
		out = append(out, slurmapi.Node{Name: name, State: state, BootTime: boot})
	}
	return out, nil
}

func (w *world) Jobs(context.Context) ([]slurmapi.Job, error) { return nil, nil }

func (w *world) Reboot(_ context.Context, req slurmapi.RebootRequest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.failNext; err != nil {
		w.failNext = nil
		return err
	}
	if !req.ASAP || req.NextState != "RESUME" || req.Reason != "BOS rollout r" {
		return fmt.Errorf("unexpected request %+v", req)
	}
	names := hostlist.MustExpand(req.Nodes)
	for _, name := range names {
		w.rebooted[name]++
		if w.hold {
			w.held[name] = true
		}
	}
	w.batches = append(w.batches, len(names))
	err := w.lostNext
	w.lostNext = nil
	return err
}

func (w *world) CancelReboot(context.Context, string) error            { return nil }
func (w *world) UpdateNode(context.Context, slurmapi.NodeUpdate) error { return nil }

// server is a controller on st driving w, on w's clock.
func (w *world) server(t *testing.T, st *store.Store) *Server {
	t.Helper()
	s, err := New(Config{Store: st, BOS: func(string) BOS { return w }, HSM: w, Slurm: w, Now: func() time.Time { return w.now }})
	require.NoError(t, err)
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestControllerSurvivesRestart: a controller stopped mid-rollout, with an action decided
// and stored but not performed (the Slurm call failed), is replaced by a new one on the
// same store: it performs the stored action first, then carries on to the end. Every
// node is rebooted exactly once and no batch exceeds the limit.
func TestControllerSurvivesRestart(t *testing.T) {
	st := storetest.Open(t, storetest.Mini, store.Config{})
	ctx := context.Background()
	w := &world{now: t0, n: 7, rebooted: map[string]int{}}
	newServer := func() *Server { return w.server(t, st) }
	a := newServer()
	_, err := a.Create(ctx, "", bos.RolloutCreate{Name: "r", TemplateName: "t",
		Policy: bos.RolloutPolicy{Canary: 1, MaxUnavailable: bos.Amount{N: 3}}})
	require.NoError(t, err)

	a.pass(ctx) // creates the staged session
	a.pass(ctx) // takes its nodes
	a.pass(ctx) // hands the canary over
	require.Equal(t, []int{1}, w.batches)
	w.failNext = errors.New("slurmrestd unreachable")
	a.pass(ctx) // the canary is healthy; the next three are decided and stored, not performed
	r, err := a.Get(ctx, "", "r")
	require.NoError(t, err)
	assert.Equal(t, bos.RolloutCounts{Total: 7, Healthy: 1, Handed: 3, Waiting: 3}, r.Counts)
	assert.Equal(t, []int{1}, w.batches, "the Slurm call failed")

	b := newServer() // a = gone; b starts from the store alone
	for range 10 {
		w.now = w.now.Add(5 * time.Second)
		b.pass(ctx)
	}
	r, err = b.Get(ctx, "", "r")
	require.NoError(t, err)
	assert.Equal(t, bos.RolloutComplete, r.State, r.Reason)
	assert.Equal(t, bos.RolloutCounts{Total: 7, Healthy: 7}, r.Counts)
	for i := range 7 {
		assert.Equal(t, 1, w.rebooted[SlurmName(i+1)], "node %d rebooted once", i)
	}
	assert.Equal(t, []int{1, 3, 3}, w.batches, "canary alone, then the stored batch, then the rest")
	assert.False(t, strings.Contains(fmt.Sprint(r.Nodes), "waiting"))
}

// TestReplayDoesNotRebootANodeBack: BOS stops after Slurm took a stored reboot but before
// clearing it from the outbox, and the nodes reboot meanwhile; the controller that takes
// over replays the outbox without rebooting them again (it failed before Replayable).
func TestReplayDoesNotRebootANodeBack(t *testing.T) {
	st := storetest.Open(t, storetest.Mini, store.Config{})
	ctx := context.Background()
	w := &world{now: t0, n: 4, rebooted: map[string]int{}}
	newServer := func() *Server { return w.server(t, st) }
	a := newServer()
	_, err := a.Create(ctx, "", bos.RolloutCreate{Name: "r", TemplateName: "t",
		Policy: bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: 2}}})
	require.NoError(t, err)
	a.pass(ctx) // creates the staged session
	a.pass(ctx) // takes its nodes
	w.lostNext = errors.New("BOS stopped")
	a.pass(ctx) // two nodes handed over: Slurm reboots them, the outbox stays
	raw, err := st.GetRollout(ctx, store.RolloutID("", "r"))
	require.NoError(t, err)
	rec, err := decode(raw)
	require.NoError(t, err)
	require.NotNil(t, rec.Pending, "the outbox was not cleared")
	require.Len(t, rec.Pending.Reboot, 2)

	b := newServer() // the nodes are back (boot time after the hand-over) when b looks
	for range 10 {
		w.now = w.now.Add(5 * time.Second)
		b.pass(ctx)
	}
	r, err := b.Get(ctx, "", "r")
	require.NoError(t, err)
	assert.Equal(t, bos.RolloutComplete, r.State, r.Reason)
	for i := range 4 {
		assert.Equal(t, 1, w.rebooted[SlurmName(i+1)], "node %d rebooted once", i)
	}
	assert.Equal(t, []int{2, 2}, w.batches, "the replay issued no reboot")
}

// TestNotifyWakesOnNodesInFlight: a waking BOS write to a node the rollout has seen out
// of service wakes the controller; one to a node waiting, handed (its reboot not yet
// seen) or healthy since does not, nor does any before the first pass.
func TestNotifyWakesOnNodesInFlight(t *testing.T) {
	st := storetest.Open(t, storetest.Mini, store.Config{})
	ctx := context.Background()
	w := &world{now: t0, n: 3, rebooted: map[string]int{}, hold: true, held: map[string]bool{}}
	s := w.server(t, st)
	woken := func() bool {
		select {
		case <-s.notified:
			return true
		default:
			return false
		}
	}
	_, err := s.Create(ctx, "", bos.RolloutCreate{Name: "r", TemplateName: "t",
		Policy: bos.RolloutPolicy{Canary: 1, MaxUnavailable: bos.Amount{N: 1}}})
	require.NoError(t, err)
	s.Notify([]string{"x0"})
	assert.False(t, woken(), "no pass yet: nothing in flight")

	s.pass(ctx) // creates the staged session
	s.pass(ctx) // takes its nodes
	s.Notify([]string{"x0", "x1"})
	assert.False(t, woken(), "waiting nodes are not in flight")
	s.pass(ctx) // hands the canary over; Slurm issues its reboot
	require.Equal(t, []int{1}, w.batches)
	s.Notify([]string{"x0"})
	assert.False(t, woken(), "handed: its reboot not yet seen")
	s.pass(ctx) // the canary is out of service
	s.Notify([]string{"x1", "x2"})
	assert.False(t, woken(), "not the canary")
	s.Notify([]string{"x2", "x0"})
	assert.True(t, woken(), "the canary out of service")

	w.mu.Lock()
	w.hold, w.held = false, map[string]bool{} // back in Slurm, BOS done
	w.mu.Unlock()
	s.pass(ctx) // the canary is healthy; x1 handed over, rebooted at once
	s.Notify([]string{"x0"})
	assert.False(t, woken(), "healthy: settled")
	r, err := s.Get(ctx, "", "r")
	require.NoError(t, err)
	assert.Equal(t, bos.RolloutCounts{Total: 3, Healthy: 1, Handed: 1, Waiting: 1}, r.Counts)
}

// TestRelayNotifiesSpacesPasses: a Notify wakes the controller half a Poll after the last
// pass began at the earliest, at once when that is past; several in between wake it
// once more; none when a pass began after the signal.
func TestRelayNotifiesSpacesPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Server{cfg: Config{Poll: 100 * time.Millisecond}, wake: make(chan struct{}, 1), notified: make(chan struct{}, 1)}
		s.inFlight.Store(&map[string]bool{"x0": true})
		go s.relayNotifies(t.Context())
		s.lastPass.Store(time.Now().UnixNano())
		start := time.Now()
		for range 3 {
			s.Notify([]string{"x0"})
			synctest.Wait()
		}
		<-s.wake
		assert.Equal(t, 50*time.Millisecond, time.Since(start), "half a poll after the pass")
		synctest.Wait()
		assert.Empty(t, s.wake, "the notifies made meanwhile wait for the next half poll")
		<-s.wake
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "one more pass for them")
		synctest.Wait()
		assert.Empty(t, s.wake, "and only one")
		time.Sleep(time.Second)
		start = time.Now()
		s.Notify([]string{"x0"})
		<-s.wake
		assert.Zero(t, time.Since(start), "at once: the last pass is long past")

		s.lastPass.Store(time.Now().UnixNano())
		s.Notify([]string{"x0"})
		synctest.Wait()
		s.passes.Add(1) // a poll's pass begins before the half poll is over
		time.Sleep(time.Second)
		assert.Empty(t, s.wake, "that pass read the write: no wake-up")
	})
}
