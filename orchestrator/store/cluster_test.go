package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestCluster runs the store's transactions on a real Redis Cluster of three masters
// (redis-server processes of its own; skipped without redis-server and redis-cli): bulk
// compare-and-set writes over several chunks, indexed reads, session creation with its
// admission, options, leases and fenced writes, all under the one hash tag, then
// DeleteAll over every master.
func TestCluster(t *testing.T) {
	url := storetest.StartCluster(t, 3)
	ctx := context.Background()
	open := func() *store.Store {
		s, err := store.Open(ctx, store.Config{URL: url, KeyPrefix: "bos:", Cluster: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()

	var comps []orchestrator.Component
	for i := range 1200 { // three write chunks
		comps = append(comps, orchestrator.Component{ID: fmt.Sprintf("x%dc0s0b0n0", i), Enabled: i%2 == 0, Session: "S"})
	}
	_, err := a.PutComponents(ctx, comps)
	require.NoError(t, err)
	enabled := true
	ids, err := b.ComponentIDs(ctx, store.Filter{Session: "S", Enabled: &enabled})
	require.NoError(t, err)
	assert.Len(t, ids, 600)
	_, err = b.UpdateComponents(ctx, ids, func(c *orchestrator.Component) error { c.Enabled = false; return nil })
	require.NoError(t, err)
	ids, err = a.ComponentIDs(ctx, store.Filter{Enabled: &enabled})
	require.NoError(t, err)
	assert.Empty(t, ids)

	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sess := orchestrator.Session{Name: "s1", Operation: "boot", TemplateName: "t",
		Status: orchestrator.SessionStatus{Status: orchestrator.SessionPending, StartTime: now}}
	_, err = a.CreateSessionAdmitted(ctx, sess, func(context.Context, *orchestrator.Session) error { return nil })
	require.NoError(t, err)
	_, err = b.CreateSessionAdmitted(ctx, sess, func(context.Context, *orchestrator.Session) error { return nil })
	assert.Error(t, err, "a taken name")
	got, err := b.GetSession(ctx, "", "s1")
	require.NoError(t, err)
	assert.Equal(t, "t", got.TemplateName)
	_, err = a.UpdateOptions(ctx, func(o *orchestrator.Options) error { o.PollingFrequency = 7; return nil })
	require.NoError(t, err)
	opts, err := b.GetOptions(ctx)
	require.NoError(t, err)
	assert.Equal(t, 7, opts.PollingFrequency)

	ok, err := a.AcquireLease(ctx, "shard:0", "a", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	fence := func(holder string) store.WriteOption {
		return store.FencedBy(store.Fence{Holder: holder, Lease: func(string) string { return "shard:0" }})
	}
	written, err := b.UpdateComponents(ctx, []string{comps[0].ID}, func(c *orchestrator.Component) error { c.Error = "b"; return nil }, fence("b"))
	require.NoError(t, err)
	assert.Empty(t, written, "b does not hold the lease")
	written, err = a.UpdateComponents(ctx, []string{comps[0].ID}, func(c *orchestrator.Component) error { c.Error = "a"; return nil }, fence("a"))
	require.NoError(t, err)
	assert.Len(t, written, 1)

	// Every key is in the one slot of the hash tag {bos:}.
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{strings.TrimPrefix(strings.Split(url, "?")[0], "redis://")}})
	defer raw.Close()
	want := raw.ClusterKeySlot(ctx, store.HashTag("bos:")).Val()
	var (
		mu   sync.Mutex
		keys []string
	)
	require.NoError(t, raw.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { // concurrently
		k, err := node.Keys(ctx, "*").Result()
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, k...)
		return err
	}))
	require.NotEmpty(t, keys)
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, "{bos:}"), k)
		require.Equal(t, want, raw.ClusterKeySlot(ctx, k).Val(), k)
	}

	require.NoError(t, a.DeleteAll(ctx))
	ids, err = b.ComponentIDs(ctx, store.Filter{})
	require.NoError(t, err)
	assert.Empty(t, ids)
}

// BenchmarkClusterWrites compares a compare-and-set write of 1,000 components (two chunks,
// each with its index sets) and a filtered read of them on one Redis (the shared one,
// a key prefix of its own: the floor) and on a Redis Cluster of three masters with every
// key under one hash tag, which routes every command to the one master of that slot.
func BenchmarkClusterWrites(b *testing.B) {
	ctx := context.Background()
	backends := map[string]func(b *testing.B) *store.Store{
		"redis": func(b *testing.B) *store.Store { return storetest.Open(b, storetest.Redis, store.Config{}) },
		"cluster": func(b *testing.B) *store.Store {
			s, err := store.Open(ctx, store.Config{URL: storetest.StartCluster(b, 3), KeyPrefix: "bench", Cluster: true})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
	for _, name := range []string{"redis", "cluster"} {
		b.Run(name, func(b *testing.B) {
			s := backends[name](b)
			var comps []orchestrator.Component
			for i := range 1000 {
				comps = append(comps, orchestrator.Component{ID: fmt.Sprintf("x%dc0s0b0n0", i), Session: "S"})
			}
			_, err := s.PutComponents(ctx, comps)
			require.NoError(b, err)
			ids := make([]string, len(comps))
			for i, c := range comps {
				ids[i] = c.ID
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				_, err := s.UpdateComponents(ctx, ids, func(c *orchestrator.Component) error { c.Enabled = i%2 == 0; return nil })
				require.NoError(b, err)
				_, err = s.ComponentIDs(ctx, store.Filter{Session: "S", Enabled: new(i%2 == 0)})
				require.NoError(b, err)
			}
		})
	}
}

// Replica reads would let a list read its version from one replica and the records from
// another, behind it, and keep that list until the next session write: a Cluster URL
// that asks for them is refused, before any connection.
func TestClusterRefusesReplicaReads(t *testing.T) {
	for _, opt := range []string{"read_only=true", "route_by_latency=true", "route_randomly=true"} {
		_, err := store.Open(context.Background(), store.Config{URL: "redis://127.0.0.1:1?" + opt, Cluster: true})
		require.Error(t, err, opt)
		assert.Contains(t, err.Error(), "replica", opt)
	}
}
