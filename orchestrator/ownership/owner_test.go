package ownership_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testclock"
	"github.com/cray-bos/bos/orchestrator/ownership"
	"github.com/cray-bos/bos/orchestrator/store"
)

const (
	shards = 8
	ttl    = 3 * time.Second
)

// world is replicas on one miniredis, their clocks and Redis's moved together.
type world struct {
	t     *testing.T
	m     *miniredis.Miniredis
	clock *testclock.Clock
}

func newWorld(t *testing.T) *world {
	return &world{t: t, m: miniredis.RunT(t), clock: testclock.New(time.Unix(1_000_000, 0))}
}

func (w *world) replica(id string) (*ownership.Owner, *store.Store) {
	s, err := store.Open(context.Background(), store.Config{URL: "redis://" + w.m.Addr(), KeyPrefix: "own:"})
	require.NoError(w.t, err)
	w.t.Cleanup(func() { _ = s.Close() })
	return ownership.New(ownership.Config{Store: s, ID: id, Shards: shards, TTL: ttl, Now: w.clock.Now}), s
}

func (w *world) advance(d time.Duration) {
	w.clock.Advance(d)
	w.m.FastForward(d)
}

func (w *world) step(owners ...*ownership.Owner) {
	for _, o := range owners {
		require.NoError(w.t, o.Step(context.Background()))
	}
}

// owners counts, per node of a sample, how many replicas own it now.
func owners(os ...*ownership.Owner) (none, many int) {
	for i := range 200 {
		id := fmt.Sprintf("x%dc0s0b0n%d", i/4, i%4)
		n := 0
		for _, o := range os {
			if o.Owns(id) {
				n++
			}
		}
		switch {
		case n == 0:
			none++
		case n > 1:
			many++
		}
	}
	return none, many
}

func TestDeadReplicasShardsMoveWithinTTL(t *testing.T) {
	w := newWorld(t)
	a, _ := w.replica("a")
	b, _ := w.replica("b")
	c, _ := w.replica("c")
	w.step(a, b, c)
	for range 3 { // released shards expire, then are taken
		w.advance(ttl / 3)
		w.step(a, b, c)
	}
	w.advance(ttl)
	w.step(a, b, c)
	w.step(a, b, c)
	none, many := owners(a, b, c)
	require.Zero(t, none, "nodes nobody owns")
	require.Zero(t, many, "nodes owned twice")
	assert.Len(t, a.Held(), 3)
	assert.Len(t, b.Held(), 3)
	assert.Len(t, c.Held(), 2)
	leader := 0
	for _, o := range []*ownership.Owner{a, b, c} {
		if o.Leader() {
			leader++
		}
	}
	assert.Equal(t, 1, leader, "one leader")

	// c dies: it stops renewing. Its own clock stops it acting after TTL less the
	// margin, before Redis lets the others take its shards.
	cHeld := c.Held()
	var elapsed time.Duration
	for len(a.Held())+len(b.Held()) < shards {
		require.Less(t, elapsed, ttl+ttl/3+time.Millisecond, "c's shards not taken within TTL plus a renewal period")
		w.advance(ttl / 3)
		elapsed += ttl / 3
		for _, s := range cHeld {
			if elapsed >= ttl {
				assert.False(t, c.Owns(nodeOf(s)), "c acts on shard %d after its lease's time", s)
			}
		}
		w.step(a, b)
	}
	none, many = owners(a, b)
	assert.Zero(t, none)
	assert.Zero(t, many)
	assert.Equal(t, 4, len(a.Held()))
	t.Logf("c's shards taken %s after its last renewal (TTL %s)", elapsed, ttl)
}

// nodeOf finds a node id of shard s.
func nodeOf(s int) string {
	for i := 0; ; i++ {
		if id := fmt.Sprintf("n%d", i); ownership.Shard(id, shards) == s {
			return id
		}
	}
}

func TestNewcomerGetsItsShareWithoutOverlap(t *testing.T) {
	w := newWorld(t)
	a, _ := w.replica("a")
	w.step(a)
	require.Len(t, a.Held(), shards)
	b, _ := w.replica("b")
	w.step(b, a) // b announces itself; a gives up half and stops acting on it at once
	assert.Len(t, a.Held(), shards/2)
	assert.Empty(t, b.Held(), "a's given-up leases have not expired")
	_, many := owners(a, b)
	assert.Zero(t, many)
	for range 4 {
		w.advance(ttl / 3)
		w.step(a, b)
		_, many := owners(a, b)
		assert.Zero(t, many)
	}
	assert.Len(t, a.Held(), shards/2)
	assert.Len(t, b.Held(), shards/2)
	none, _ := owners(a, b)
	assert.Zero(t, none)
}

func TestCleanLeaveHandsShardsOverAtOnce(t *testing.T) {
	w := newWorld(t)
	a, _ := w.replica("a")
	b, _ := w.replica("b")
	w.step(a, b)
	for range 4 {
		w.advance(ttl / 3)
		w.step(a, b)
	}
	require.Len(t, b.Held(), shards/2)
	require.NoError(t, b.Leave(context.Background()))
	assert.Empty(t, b.Held())
	w.advance(time.Millisecond)
	w.step(a)
	assert.Len(t, a.Held(), shards, "b's leases were released and its heartbeat dropped")
}

// A replica whose renewals fail (Redis unreachable) stops acting when its time runs out.
func TestUnrenewedLeaseStopsActing(t *testing.T) {
	w := newWorld(t)
	a, s := w.replica("a")
	w.step(a)
	require.True(t, a.Owns("n1"))
	require.NotZero(t, a.Until("n1"))
	require.NoError(t, s.Close())
	w.advance(ttl / 3)
	assert.Error(t, a.Step(context.Background()))
	assert.True(t, a.Owns("n1"), "still within its lease")
	w.advance(ttl - ttl/3 - ttl/10)
	assert.False(t, a.Owns("n1"), "TTL less the margin since its last renewal")
	assert.Zero(t, a.Until("n1"))
	assert.False(t, a.Leader())
}
