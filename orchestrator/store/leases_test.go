package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// openMini opens two stores (two replicas) on one miniredis the test can fast-forward.
func openMini(t *testing.T) (*miniredis.Miniredis, *store.Store, *store.Store) {
	m := miniredis.RunT(t)
	open := func() *store.Store {
		s, err := store.Open(context.Background(), store.Config{URL: "redis://" + m.Addr(), KeyPrefix: "p:"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	return m, open(), open()
}

func TestLeaseTakenOnlyOnceExpired(t *testing.T) {
	ctx := context.Background()
	m, a, b := openMini(t)
	const ttl = 3 * time.Second
	ok, err := a.AcquireLease(ctx, "shard:0", "a", ttl)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.AcquireLease(ctx, "shard:0", "b", ttl)
	require.NoError(t, err)
	assert.False(t, ok, "b takes a lease a holds")

	m.FastForward(2 * time.Second)
	kept, err := a.RenewLeases(ctx, []string{"shard:0", "shard:1"}, "a", ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, kept, "a renews what it holds, nothing else")
	m.FastForward(2 * time.Second) // 4 s after the first take, 2 s after the renewal
	ok, err = b.AcquireLease(ctx, "shard:0", "b", ttl)
	require.NoError(t, err)
	assert.False(t, ok, "the renewal extended a's lease")

	m.FastForward(ttl) // a stopped renewing: it died
	ok, err = b.AcquireLease(ctx, "shard:0", "b", ttl)
	require.NoError(t, err)
	assert.True(t, ok, "b takes the expired lease")
	kept, err = a.RenewLeases(ctx, []string{"shard:0"}, "a", ttl)
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, kept, "a cannot renew b's lease")
	held, err := a.ReleaseLeases(ctx, []string{"shard:0"}, "a")
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, held, "a cannot release b's lease")
	holders, err := a.LeaseHolders(ctx, []string{"shard:0", "shard:1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"b", ""}, holders)

	held, err = b.ReleaseLeases(ctx, []string{"shard:0"}, "b")
	require.NoError(t, err)
	assert.Equal(t, []bool{true}, held)
	ok, err = a.AcquireLease(ctx, "shard:0", "a", ttl)
	require.NoError(t, err)
	assert.True(t, ok, "a released lease is free at once")
}

func TestHeartbeatForgetsSilentReplicas(t *testing.T) {
	ctx := context.Background()
	_, a, b := openMini(t)
	t0 := time.Unix(1_000_000, 0)
	_, err := a.Heartbeat(ctx, "a", t0, t0.Add(5*time.Second))
	require.NoError(t, err)
	live, err := b.Heartbeat(ctx, "b", t0.Add(time.Second), t0.Add(4*time.Second))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, live, "by id, not by time left")
	live, err = b.Heartbeat(ctx, "b", t0.Add(5*time.Second+time.Millisecond), t0.Add(8*time.Second))
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, live, "a's time ran out")
	require.NoError(t, b.Leave(ctx, "b"))
	live, err = a.Heartbeat(ctx, "a", t0.Add(6*time.Second), t0.Add(9*time.Second))
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, live)
}

// A fenced write changes only the components whose lease the writer holds when it
// commits: a replica whose lease expired and was taken writes nothing there.
func TestFencedWriteSkipsLeasesNotHeld(t *testing.T) {
	ctx := context.Background()
	m, a, b := openMini(t)
	_, err := a.PutComponents(ctx, []orchestrator.Component{{ID: "x0"}, {ID: "x1"}})
	require.NoError(t, err)
	lease := func(id string) string { return "shard:" + id[1:] }
	ok, err := a.AcquireLease(ctx, "shard:0", "a", time.Second)
	require.NoError(t, err)
	require.True(t, ok)

	fence := store.FencedBy(store.Fence{Holder: "a", Lease: lease})
	calls := 0
	setError := func(c *orchestrator.Component) error { calls++; c.Error = "by a"; return nil }
	written, err := a.UpdateComponents(ctx, []string{"x0", "x1"}, setError, fence)
	require.NoError(t, err)
	assert.Equal(t, []string{"x0"}, ids(written), "x1's lease is nobody's")
	assert.Equal(t, 1, calls, "mutate is not called on a component the writer does not own")

	m.FastForward(2 * time.Second)
	ok, err = b.AcquireLease(ctx, "shard:0", "b", time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	written, err = a.UpdateComponents(ctx, []string{"x0"}, func(c *orchestrator.Component) error { c.Error = "late"; return nil }, fence)
	require.NoError(t, err)
	assert.Empty(t, written, "a's lease expired and b holds it")
	c, err := b.GetComponent(ctx, "x0")
	require.NoError(t, err)
	assert.Equal(t, "by a", c.Error)

	// A lease taken between the fence's read and the commit fails the transaction, and
	// the retry sees the new holder.
	_, err = b.ReleaseLeases(ctx, []string{"shard:0"}, "b")
	require.NoError(t, err)
	_, err = a.AcquireLease(ctx, "shard:0", "a", time.Second)
	require.NoError(t, err)
	first := true
	written, err = a.UpdateComponents(ctx, []string{"x0"}, func(c *orchestrator.Component) error {
		if first {
			first = false
			m.FastForward(2 * time.Second)
			ok, err := b.AcquireLease(ctx, "shard:0", "b", time.Second)
			require.NoError(t, err)
			require.True(t, ok)
		}
		c.Error = "raced"
		return nil
	}, fence)
	require.NoError(t, err)
	assert.Empty(t, written, "the lease changed hands before the commit")
	c, err = b.GetComponent(ctx, "x0")
	require.NoError(t, err)
	assert.Equal(t, "by a", c.Error)
}
