package store_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

var countedSessions = []string{"", "s1", "s2", "s3"}

// requireCountsExact checks every session's counted stats, and the index-based ones
// (a filter that keeps all), against a recount of the full records.
func requireCountsExact(t *testing.T, s *store.Store, step string) {
	t.Helper()
	ctx := context.Background()
	all, err := s.ListComponents(ctx, store.Filter{})
	require.NoError(t, err)
	keepAll := func(string) bool { return true }
	for _, sess := range append(countedSessions[1:], "no-members") {
		want := bos.StatsFromComponents(sess, all)
		got, err := s.SessionStats(ctx, sess, nil)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s: counted stats of %s", step, sess)
		got, err = s.SessionStats(ctx, sess, keepAll)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s: indexed stats of %s", step, sess)
		for _, within := range []func(string) bool{nil, keepAll} {
			done, err := s.SessionDone(ctx, sess, within)
			require.NoError(t, err)
			require.Equal(t, want.Done(), done, "%s: %s done", step, sess)
		}
	}
}

// TestSessionDone: a session is done once nothing is enabled or staged for it.
func TestSessionDone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		comps := someComponents(3)
		for i := range comps {
			comps[i].Session = "s"
		}
		comps[2].Enabled, comps[2].StagedState.Session = false, "s"
		_, err := s.PutComponents(ctx, comps)
		require.NoError(t, err)
		for _, step := range []struct {
			id   string
			edit func(*bos.Component)
			done bool
		}{
			{comps[0].ID, func(c *bos.Component) { c.Enabled = false }, false},
			{comps[1].ID, func(c *bos.Component) { c.Enabled = false }, false}, // still staged
			{comps[2].ID, func(c *bos.Component) { c.StagedState.Session = "" }, true},
			{comps[2].ID, func(c *bos.Component) { c.Enabled = true }, false},
		} {
			_, err := s.UpdateComponent(ctx, step.id, func(c *bos.Component) error { step.edit(c); return nil })
			require.NoError(t, err)
			done, err := s.SessionDone(ctx, "s", nil)
			require.NoError(t, err)
			require.Equal(t, step.done, done, "after editing %s", step.id)
		}
	})
}

// randomChange changes c's counted fields at random.
func randomChange(rng *rand.Rand, c *bos.Component) {
	n := randomComponents(rng, 1, countedSessions)[0]
	switch rng.Intn(4) {
	case 0:
		c.Session = n.Session
	case 1:
		c.StagedState.Session = n.StagedState.Session
	case 2:
		c.Enabled, c.Error = n.Enabled, n.Error
	default:
		c.Status, c.LastAction = n.Status, n.LastAction
	}
}

// TestSessionCountsMatchRecount makes random writes, deletes and session changes through
// every write path and checks after each that the counts equal a full recount.
func TestSessionCountsMatchRecount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		rng := rand.New(rand.NewSource(7))
		pool := randomComponents(rng, 200, countedSessions)
		pick := func(n int) []string {
			var ids []string
			for range n {
				ids = append(ids, pool[rng.Intn(len(pool))].ID)
			}
			return ids
		}
		_, err := s.PutComponents(ctx, pool[:100])
		require.NoError(t, err)
		requireCountsExact(t, s, "start")
		for step := range 60 {
			var op string
			switch rng.Intn(6) {
			case 0:
				op = "update many"
				_, err = s.UpdateComponents(ctx, pick(40), func(c *bos.Component) error { randomChange(rng, c); return nil })
			case 1:
				op = "update one"
				_, err = s.UpdateComponent(ctx, pick(1)[0], func(c *bos.Component) error { randomChange(rng, c); return nil })
				if bos.IsNotFound(err) {
					err = nil
				}
			case 2:
				op = "put"
				_, err = s.PutComponents(ctx, randomComponents(rng, 30, countedSessions))
			case 3:
				op = "add"
				_, err = s.AddComponents(ctx, randomComponents(rng, 30, countedSessions))
			case 4:
				op = "delete"
				_, err = s.DeleteComponents(ctx, pick(15))
			default:
				op = "delete one"
				err = s.DeleteComponent(ctx, pick(1)[0])
				if bos.IsNotFound(err) {
					err = nil
				}
			}
			require.NoError(t, err, op)
			requireCountsExact(t, s, fmt.Sprintf("step %d (%s)", step, op))
		}
	})
}

// TestSessionCountsConcurrentWriters races writers (whose transactions conflict and
// retry) and a rebuild; the counts end equal to a recount.
func TestSessionCountsConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 3, store.Config{})
		comps := randomComponents(rand.New(rand.NewSource(3)), 100, countedSessions)
		_, err := stores[0].PutComponents(ctx, comps)
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewSource(int64(w)))
				s := stores[w%len(stores)]
				for range 25 {
					ids := []string{comps[rng.Intn(50)].ID, comps[rng.Intn(100)].ID}
					if _, err := s.UpdateComponents(ctx, ids, func(c *bos.Component) error { randomChange(rng, c); return nil }); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 3 {
				if err := stores[2].RebuildSessionCounts(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for _, s := range stores {
			requireCountsExact(t, s, "after the race")
		}
	})
}

// TestSessionCountsRebuild covers counts never built (records written before counts
// existed: the index-based stats answer, and start-up builds them) and counts damaged
// (a rebuild repairs them and drops a stale session's).
func TestSessionCountsRebuild(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		rdb := s.RedisClient()
		_, err := s.PutComponents(ctx, randomComponents(rand.New(rand.NewSource(5)), 300, countedSessions))
		require.NoError(t, err)

		// Upgrade: no counts at all.
		for _, sess := range countedSessions[1:] {
			require.NoError(t, rdb.Del(ctx, s.CountsKey(sess)).Err())
		}
		require.NoError(t, rdb.Del(ctx, s.CountsReadyKey()).Err())
		requireCountsExact(t, s, "counts missing")
		require.NoError(t, s.EnsureCounts(ctx))
		require.Equal(t, int64(1), rdb.Exists(ctx, s.CountsReadyKey()).Val(), "start-up built the counts")
		requireCountsExact(t, s, "after start-up")

		// Damage: a wrong count and a stale session's counts.
		require.NoError(t, rdb.HIncrBy(ctx, s.CountsKey("s1"), "enabled", 5).Err())
		require.NoError(t, rdb.HIncrBy(ctx, s.CountsKey("gone"), "members", 2).Err())
		st, err := s.SessionStats(ctx, "s1", nil)
		require.NoError(t, err)
		all, err := s.ListComponents(ctx, store.Filter{})
		require.NoError(t, err)
		require.Equal(t, bos.StatsFromComponents("s1", all).Enabled+5, st.Enabled, "the damage shows")
		require.NoError(t, rdb.HSet(ctx, s.CountsKey("s2"), "members", "many").Err())
		_, err = s.SessionStats(ctx, "s2", nil)
		require.Equal(t, bos.EINTERNAL, bos.ErrorCode(err), "an unreadable count: %v", err)
		require.NoError(t, s.RebuildSessionCounts(ctx))
		requireCountsExact(t, s, "after the repair")
		require.Zero(t, rdb.Exists(ctx, s.CountsKey("gone")).Val(), "stale counts dropped")
	})
}

// TestComponentWriteRoundTrips: a component write whose record this process wrote last
// is one round trip (WATCH, the check of the bytes it expects, MULTI/EXEC, pipelined);
// one on a record it does not know (or another process changed since) reads it first or
// is told it by the check, two round trips.
func TestComponentWriteRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{PoolSize: 1})
		s, other := stores[0], stores[1]
		comps := someComponents(3)
		a, b, c := comps[0].ID, comps[1].ID, comps[2].ID
		_, err := s.PutComponents(ctx, comps[:2])
		require.NoError(t, err)
		_, err = other.PutComponents(ctx, comps[2:])
		require.NoError(t, err)
		h := &redisCounter{}
		s.AddHook(h)
		touch := func(c *bos.Component) error { c.EventStats.PowerOnAttempts++; return nil }
		trips := func(_ string, write func()) {
			t.Helper()
			h.cmds.Store(0)
			h.trips.Store(0)
			write()
		}

		trips("no change", func() {
			_, err = s.UpdateComponent(ctx, a, func(*bos.Component) error { return nil })
			require.NoError(t, err)
		})
		require.Equal(t, int64(1), h.trips.Load(), "a change-less write checks what it expected")
		_, err = s.UpdateComponent(ctx, a, func(*bos.Component) error { return bos.Errorf(bos.EINVALID, "no") })
		require.Error(t, err)
		_, err = other.UpdateComponent(ctx, a, touch) // a changes behind s's back
		require.NoError(t, err)

		trips("known record", func() {
			_, err = s.UpdateComponent(ctx, b, touch)
			require.NoError(t, err)
		})
		require.Equal(t, int64(1), h.trips.Load(), "round trips of a write of a record this process wrote")
		trips("unknown record", func() {
			_, err = s.UpdateComponent(ctx, c, touch)
			require.NoError(t, err)
		})
		require.Equal(t, int64(2), h.trips.Load(), "round trips of a write of a record another process wrote")
		trips("changed record", func() {
			got, err := s.UpdateComponent(ctx, a, touch)
			require.NoError(t, err)
			require.Equal(t, 2, got.EventStats.PowerOnAttempts, "the write decided again on the current record")
		})
		require.Equal(t, int64(2), h.trips.Load(), "round trips of a write of a record another process changed")
		trips("known again", func() {
			_, err = s.UpdateComponent(ctx, c, touch)
			require.NoError(t, err)
		})
		require.Equal(t, int64(1), h.trips.Load(), "the last write is remembered")
	})
}
