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

// Node reports on a Cluster share round trips as on a single Redis (group commit on the
// master of the hash tag's slot), and the store's hooks (metrics) see them: 64 writers
// at once made fewer round trips than writes. Before, each took two of its own through
// the Cluster client (WATCH, then the check and MULTI/EXEC), on its node clients, whose
// commands the store's hooks never saw.
func TestClusterGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: storetest.StartCluster(t, 3), KeyPrefix: "bos:", Cluster: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	h := &redisCounter{}
	s.AddHook(h)
	comps := bootingSession(640)
	_, err = s.PutComponents(ctx, comps)
	require.NoError(t, err)

	trips := h.trips.Load()
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < len(comps); i += 64 {
				_, err := s.UpdateComponent(ctx, comps[i].ID, func(c *orchestrator.Component) error {
					c.ActualState.BootArtifacts.Kernel = "k-" + c.ID
					return nil
				})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	trips = h.trips.Load() - trips
	t.Logf("%d reports in %d round trips", len(comps), trips)
	assert.Positive(t, trips, "the store's hooks see the writes")
	assert.Less(t, trips, int64(len(comps)), "reports shared round trips")
	for _, c := range comps {
		got, err := s.GetComponent(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, "k-"+c.ID, got.ActualState.BootArtifacts.Kernel)
	}
}

// When the hash tag's slot moves to another master (a failover or a resharding the
// store's Cluster client has not seen yet), a write sent to the old master is answered
// MOVED and runs nothing there; it goes again through the Cluster client, which follows
// the slot, and the writes after it go to the new master.
func TestClusterWritesFollowAMovedSlot(t *testing.T) {
	ctx := context.Background()
	url := storetest.StartCluster(t, 3)
	s, err := store.Open(ctx, store.Config{URL: url, KeyPrefix: "bos:", Cluster: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	comps := bootingSession(20)
	_, err = s.PutComponents(ctx, comps)
	require.NoError(t, err)
	report := func(id, kernel string) {
		t.Helper()
		_, err := s.UpdateComponent(ctx, id, func(c *orchestrator.Component) error {
			c.ActualState.BootArtifacts.Kernel = kernel
			return nil
		})
		require.NoError(t, err)
	}
	report(comps[0].ID, "before") // the store's client knows the slot's master

	moveSlot(t, url, store.HashTag("bos:"))
	for i, c := range comps {
		report(c.ID, fmt.Sprintf("after-%d", i))
	}
	for i, c := range comps {
		got, err := s.GetComponent(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("after-%d", i), got.ActualState.BootArtifacts.Kernel)
	}
}

// moveSlot moves the slot of key, and its keys, from its master to another one of the
// Cluster at url, as redis-cli --cluster reshard does (CLUSTER SETSLOT IMPORTING and
// MIGRATING, MIGRATE, CLUSTER SETSLOT NODE on every master).
func moveSlot(t *testing.T, url, key string) {
	t.Helper()
	ctx := context.Background()
	addrs := []string{strings.TrimPrefix(strings.Split(url, "?")[0], "redis://")}
	for _, kv := range strings.Split(strings.SplitN(url, "?", 2)[1], "&") {
		addrs = append(addrs, strings.TrimPrefix(kv, "addr="))
	}
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer raw.Close()
	slot := raw.ClusterKeySlot(ctx, key).Val()
	from, err := raw.MasterForKey(ctx, key)
	require.NoError(t, err)
	nodes := map[string]*redis.Client{}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		defer c.Close()
		nodes[a] = c
	}
	src := nodes[from.Options().Addr]
	var dstAddr string
	for a := range nodes {
		if a != from.Options().Addr {
			dstAddr = a
			break
		}
	}
	dst := nodes[dstAddr]
	id := func(c *redis.Client) string { return c.ClusterMyID(ctx).Val() }
	srcID, dstID := id(src), id(dst)
	require.NoError(t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	require.NoError(t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	host, port, _ := strings.Cut(dstAddr, ":")
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
		require.NoError(t, err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		require.NoError(t, src.Do(ctx, args...).Err())
	}
	for _, c := range nodes {
		require.NoError(t, c.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	}
}
