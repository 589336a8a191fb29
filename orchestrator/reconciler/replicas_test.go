package reconciler

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
)

// leaseOwner is a replica's Ownership over one real lease ("shard") in the store, its
// validity by the world's clock as ownership.Owner keeps it.
type leaseOwner struct {
	st    *store.Store
	id    string
	clock func() time.Time

	mu    sync.Mutex
	until time.Time
}

func (o *leaseOwner) take(t *testing.T, until time.Time) {
	ok, err := o.st.AcquireLease(context.Background(), "shard", o.id, time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "%s takes the lease", o.id)
	o.mu.Lock()
	o.until = until
	o.mu.Unlock()
}

func (o *leaseOwner) Until(string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.clock().Before(o.until) {
		return o.until
	}
	return time.Time{}
}
func (o *leaseOwner) Owns(id string) bool    { return !o.Until(id).IsZero() }
func (o *leaseOwner) LeaderUntil() time.Time { return time.Now().Add(time.Hour) } // the test's clock is not time.Now's
func (o *leaseOwner) Fence() *store.Fence {
	return &store.Fence{Holder: o.id, Lease: func(string) string { return "shard" }}
}

// replica returns a reconciler of replica id on w's store, and its ownership.
func (w *raceWorld) replica(id string) (*Reconciler, *leaseOwner) {
	o := &leaseOwner{st: w.st, id: id, clock: w.clock}
	return New(Config{Store: w.st, BSS: w, CFS: w, Power: w, Now: w.clock, Instance: id, Ownership: o}), o
}

// Replica a's lease ends in the middle of its power-on of a node: b takes the node over
// and boots it, and a powers nothing. Either a's lease is taken in Redis between its
// decision and the power call (its fenced token write commits nothing), or a's own clock
// says its lease has run out although Redis still shows it (the call is not made: a
// slow replica that missed its renewals).
func TestLeaseLostMidPowerOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(w *raceWorld, a, b *leaseOwner)
	}{
		{"taken in redis", func(w *raceWorld, a, b *leaseOwner) {
			_, err := w.st.ReleaseLeases(context.Background(), []string{"shard"}, a.id) // as if it expired
			require.NoError(t, err)
			b.take(t, w.now.Add(time.Hour))
		}},
		{"expired by its clock", func(w *raceWorld, a, _ *leaseOwner) {
			a.mu.Lock()
			a.until = w.now // the world's clock is at it: the lease's time is up
			a.mu.Unlock()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newRaceWorld(t)
			ra, a := w.replica("a")
			rb, b := w.replica("b")
			a.take(t, t0.Add(time.Hour))
			w.setup("S", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg"})
			w.onPut = func() { tc.lose(w, a, b) }
			w.r = ra
			w.step()
			assert.Zero(t, w.boots, "a powered the node on after losing its lease")
			assert.Equal(t, "a", w.component().LastAction.InFlight, "a's recorded call, neither sent nor failed")

			if !b.Owns(raceNode) { // the lease expires in Redis; b takes it
				_, err := w.st.ReleaseLeases(context.Background(), []string{"shard"}, "a")
				require.NoError(t, err)
				b.take(t, w.now.Add(time.Hour))
			}
			w.r = ra
			w.step()
			assert.Zero(t, w.boots, "a looks at a node it no longer owns")
			w.r = rb
			for i := 0; i < 30 && w.component().Enabled; i++ {
				w.step()
			}
			c := w.component()
			assert.False(t, c.Enabled, "done")
			assert.Equal(t, bos.StatusStable, c.Status.Status)
			assert.Equal(t, 1, w.boots, "booted once")
			assert.Equal(t, 1, w.transitions, "powered on once")
			assert.Equal(t, c.DesiredState.BSSToken, w.booted, "the token b gave BSS")
		})
	}
}

// A replica looks only at the nodes it owns: the others stay as they are.
func TestReplicaLeavesOthersNodesAlone(t *testing.T) {
	w := newRaceWorld(t)
	ra, a := w.replica("a")
	_, b := w.replica("b")
	b.take(t, t0.Add(time.Hour))
	_ = a
	w.setup("S", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg"})
	before := w.component()
	w.r = ra
	for range 3 {
		w.step()
	}
	assert.Equal(t, before, w.component(), "a decided for b's node")
	assert.Zero(t, w.puts)
	assert.Zero(t, w.boots)
}

// hangingPower answers a reset only when its context ends.
type hangingPower struct{ power.PowerControl }

func (*hangingPower) Reset(ctx context.Context, ids []string, _ power.ResetKind) map[string]error {
	<-ctx.Done()
	out := map[string]error{}
	for _, id := range ids {
		out[id] = ctx.Err()
	}
	return out
}

// A power call still under way when the replica's lease runs out is cut there, and is
// not the node's failure: whether the BMC got it is unknown, as after a crash.
func TestCallCutByLeaseIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		o := &leaseOwner{id: "a", clock: time.Now, until: start.Add(3 * time.Second)}
		p := patientResets{PowerControl: &hangingPower{}, owner: o}
		errs := p.Reset(context.Background(), []string{raceNode}, power.ResetOn)
		assert.ErrorIs(t, errs[raceNode], errNotOwned)
		assert.Equal(t, 3*time.Second, time.Since(start), "cut at the lease's end")
		assert.Empty(t, ownedFailures(errs), "not recorded as the node's failure")

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		o.until = time.Now().Add(time.Hour)
		errs = p.Reset(ctx, []string{raceNode}, power.ResetOn)
		assert.ErrorIs(t, errs[raceNode], context.DeadlineExceeded, "the caller's own deadline is a failure")
		assert.Len(t, ownedFailures(errs), 1)
	})
}
