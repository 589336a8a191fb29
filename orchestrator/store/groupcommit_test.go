package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// gateHook holds the store's first pipeline until released, so that the writes made
// meanwhile queue behind it; then (fail set) it fails every later pipeline as a broken
// connection would, before sending anything.
type gateHook struct {
	held    chan struct{} // closed when the first pipeline is held
	release chan struct{}
	n       atomic.Int64
	fail    error
	panics  atomic.Int64 // pipelines still to panic, after the first
	// When set before the first pipeline is released, the second is held too.
	held2, release2 chan struct{}
}

func newGate() *gateHook { return &gateHook{held: make(chan struct{}), release: make(chan struct{})} }

func (h *gateHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		k := h.n.Add(1)
		switch k {
		case 1:
			close(h.held)
			<-h.release
		case 2:
			if h.release2 != nil {
				close(h.held2)
				<-h.release2
			}
		}
		if k > 1 && h.panics.Add(-1) >= 0 {
			panic("hook: pipeline lost")
		}
		if k > 1 && h.fail != nil {
			return h.fail
		}
		return next(ctx, cmds)
	}
}

// batchedWrites sets up a store whose first write (of comps[0]) is held in flight while
// writes of the others queue: it starts the first, waits until it is held, starts
// write(i) for each other i, and waits until n-1 writes are queued. It returns the store,
// a second store on the same Redis (another process), the round-trip counter and the
// gate; wait waits for the writes and returns their errors.
func batchedWrites(t *testing.T, n int, write func(s *store.Store, i int, id string) error) (s, other *store.Store, h *redisCounter, gate *gateHook, comps []bos.Component, wait func() []error) {
	t.Helper()
	ctx := context.Background()
	stores := storetest.OpenShared(t, storetest.Redis, 2, store.Config{})
	s, other = stores[0], stores[1]
	comps = someComponents(n)
	_, err := s.PutComponents(ctx, comps) // the records are in s's record cache
	require.NoError(t, err)
	h, gate = &redisCounter{}, newGate()
	s.AddHook(h)
	s.AddHook(gate)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = write(s, i, comps[i].ID) }()
	}
	start(0)
	<-gate.held
	for i := 1; i < n; i++ {
		start(i)
	}
	require.Eventually(t, func() bool { return s.QueuedWrites() == n-1 }, 10*time.Second, time.Millisecond, "writes queued behind the one in flight")
	return s, other, h, gate, comps, func() []error { wg.Wait(); return errs }
}

func touchReport(c *bos.Component) error {
	c.ActualState.BootArtifacts.Kernel = "reported"
	return nil
}

// TestGroupCommitSharesRoundTrips: node reports made while another write is in flight
// share round trips, at most 32 transactions to one, each committed on its own.
func TestGroupCommitSharesRoundTrips(t *testing.T) {
	ctx := context.Background()
	const n = 64
	s, other, h, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, _ int, id string) error {
		_, err := s.UpdateComponent(ctx, id, touchReport)
		return err
	})
	close(gate.release)
	for i, err := range wait() {
		require.NoError(t, err, comps[i].ID)
	}
	require.Equal(t, int64(3), h.trips.Load(), "the first write, then the 63 queued in batches of 32 and 31")
	got, err := other.GetComponents(ctx, ids(comps))
	require.NoError(t, err)
	for _, c := range got {
		require.Equal(t, "reported", c.ActualState.BootArtifacts.Kernel, c.ID)
	}
	requireCountsExact(t, s, "after the batched writes")
}

// TestGroupCommitConflict: one write of a batch whose record another process changed
// fails alone; the others commit, and it decides again on the record as it is now.
func TestGroupCommitConflict(t *testing.T) {
	ctx := context.Background()
	const n, raced = 8, 3
	var calls [n]atomic.Int32
	results := make([]bos.Component, n)
	s, other, h, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, i int, id string) error {
		c, err := s.UpdateComponent(ctx, id, func(c *bos.Component) error {
			calls[i].Add(1)
			c.EventStats.PowerOnAttempts++
			return nil
		})
		results[i] = c
		return err
	})
	_, err := other.UpdateComponent(ctx, comps[raced].ID, func(c *bos.Component) error { c.EventStats.PowerOnAttempts += 10; return nil })
	require.NoError(t, err)
	close(gate.release)
	for i, err := range wait() {
		require.NoError(t, err, comps[i].ID)
	}
	for i := range n {
		want, runs := 1, int32(1)
		if i == raced {
			want, runs = 11, 2
		}
		require.Equal(t, want, results[i].EventStats.PowerOnAttempts, "result of %s", comps[i].ID)
		require.Equal(t, runs, calls[i].Load(), "mutate runs for %s", comps[i].ID)
		stored, err := other.GetComponent(ctx, comps[i].ID)
		require.NoError(t, err)
		require.Equal(t, want, stored.EventStats.PowerOnAttempts, "stored %s", comps[i].ID)
	}
	require.Equal(t, int64(3), h.trips.Load(), "the first write, the batch of 7, the raced write again")
	requireCountsExact(t, s, "after the conflict")
}

// TestGroupCommitCancel: a write whose context ends while it is queued leaves the queue
// and writes nothing; the others of its batch commit.
func TestGroupCommitCancel(t *testing.T) {
	const n, gone = 5, 2
	wctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	s, other, h, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, i int, id string) error {
		ctx := context.Background()
		if i == gone {
			ctx = wctx
		}
		_, err := s.UpdateComponent(ctx, id, touchReport)
		if i == gone {
			returned <- err
		}
		return err
	})
	cancel()
	require.ErrorIs(t, <-returned, context.Canceled, "the queued write returns at once")
	close(gate.release)
	for i, err := range wait() {
		if i != gone {
			require.NoError(t, err, comps[i].ID)
		}
	}
	require.Equal(t, int64(2), h.trips.Load(), "the first write, then the 3 left")
	for i := range n {
		c, err := other.GetComponent(context.Background(), comps[i].ID)
		require.NoError(t, err)
		want := "reported"
		if i == gone {
			want = ""
		}
		require.Equal(t, want, c.ActualState.BootArtifacts.Kernel, comps[i].ID)
	}
	requireCountsExact(t, s, "after the cancelled write")
}

// TestGroupCommitCancelSent: a write whose context ends once its batch is sent returns
// at once with the context's error (its outcome unknown to it, as after a timeout); the
// batch goes on for the others.
func TestGroupCommitCancelSent(t *testing.T) {
	const n, gone = 3, 2
	wctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	_, other, _, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, i int, id string) error {
		ctx := context.Background()
		if i == gone {
			ctx = wctx
		}
		_, err := s.UpdateComponent(ctx, id, touchReport)
		if i == gone {
			returned <- err
		}
		return err
	})
	gate.held2, gate.release2 = make(chan struct{}), make(chan struct{})
	close(gate.release)
	<-gate.held2 // the batch of writes 1 and 2 is in flight
	cancel()
	require.ErrorIs(t, <-returned, context.Canceled, "the cancelled write does not wait for its batch")
	close(gate.release2)
	for i, err := range wait() {
		if i != gone {
			require.NoError(t, err, comps[i].ID)
		}
	}
	for i := range n {
		c, err := other.GetComponent(context.Background(), comps[i].ID)
		require.NoError(t, err)
		require.Equal(t, "reported", c.ActualState.BootArtifacts.Kernel, "%s: written, the cancelled one included (it was sent)", comps[i].ID)
	}
}

// TestGroupCommitConnectionError: when a batch cannot be sent every write in it fails
// EUNAVAILABLE, and none is written.
func TestGroupCommitConnectionError(t *testing.T) {
	ctx := context.Background()
	const n = 6
	_, other, _, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, _ int, id string) error {
		_, err := s.UpdateComponent(ctx, id, touchReport)
		return err
	})
	gate.fail = errors.New("connection reset by peer")
	close(gate.release)
	for i, err := range wait() {
		c, gerr := other.GetComponent(ctx, comps[i].ID)
		require.NoError(t, gerr)
		if i == 0 {
			require.NoError(t, err, "the write sent before the failure")
			require.Equal(t, "reported", c.ActualState.BootArtifacts.Kernel)
			continue
		}
		require.Equal(t, bos.EUNAVAILABLE, bos.ErrorCode(err), "%s: %v", comps[i].ID, err)
		require.Empty(t, c.ActualState.BootArtifacts.Kernel, comps[i].ID)
	}
	requireCountsExact(t, other, "after the failed batch")
}

// TestGroupCommitSameRecord: of two writes of one record in a batch the second sees the
// first's result: its check finds the record changed and it decides again on it.
func TestGroupCommitSameRecord(t *testing.T) {
	ctx := context.Background()
	const n = 4
	twice := someComponents(n)[1].ID
	_, other, h, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, i int, id string) error {
		if i == n-1 {
			id = twice // a second write of comps[1]
		}
		_, err := s.UpdateComponent(ctx, id, func(c *bos.Component) error { c.EventStats.PowerOnAttempts++; return nil })
		return err
	})
	close(gate.release)
	for i, err := range wait() {
		require.NoError(t, err, comps[i].ID)
	}
	require.Equal(t, int64(3), h.trips.Load(), "the first write, the batch of 3, the second write of the same record again")
	c, err := other.GetComponent(ctx, comps[1].ID)
	require.NoError(t, err)
	require.Equal(t, 2, c.EventStats.PowerOnAttempts, "both writes of %s counted", comps[1].ID)
}

// TestGroupCommitPanic: a panic while a batch is sent fails every write of that batch
// (none waits forever, the process goes on) and the next writes commit.
func TestGroupCommitPanic(t *testing.T) {
	ctx := context.Background()
	const n = 4
	s, other, _, gate, comps, wait := batchedWrites(t, n, func(s *store.Store, _ int, id string) error {
		_, err := s.UpdateComponent(ctx, id, touchReport)
		return err
	})
	gate.panics.Store(1)
	close(gate.release)
	for i, err := range wait() {
		if i == 0 {
			require.NoError(t, err, "the write sent before the panic")
			continue
		}
		require.Equal(t, bos.EINTERNAL, bos.ErrorCode(err), "%s: %v", comps[i].ID, err)
	}
	for _, c := range comps[1:] {
		_, err := s.UpdateComponent(ctx, c.ID, touchReport)
		require.NoError(t, err, "%s: written after the panic", c.ID)
	}
	got, err := other.GetComponents(ctx, ids(comps))
	require.NoError(t, err)
	for _, c := range got {
		require.Equal(t, "reported", c.ActualState.BootArtifacts.Kernel, c.ID)
	}
	requireCountsExact(t, s, "after the panic")
}
