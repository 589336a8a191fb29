package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// Sessions listed again come from the cache of decoded sessions while their records are
// unchanged: what a caller changes in what it was given stays its own, and a session
// written since is listed as written.
func TestListSessionsCacheIsFreshAndPrivate(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(t, err)
	defer st.Close()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sess := bos.Session{Name: "s1", Operation: "boot", Limit: "x1,x2",
		Status: bos.SessionStatus{Status: bos.SessionRunning, StartTime: start,
			TookOver: []bos.SessionTakeover{{API: "v2", Session: "s0", Nodes: []string{"x1"}}}}}
	require.NoError(t, st.CreateSession(ctx, sess))
	list := func() bos.Session {
		got, err := st.ListSessions(ctx, "", true, bos.SessionFilter{}, start)
		require.NoError(t, err)
		require.Len(t, got, 1)
		return got[0]
	}
	first := list()
	end := start.Add(time.Hour)
	first.Status.TookOver[0].Nodes[0] = "changed"
	first.Status.EndTime = &end
	first.Limit = "changed"

	again := list()
	assert.Equal(t, "x1", again.Status.TookOver[0].Nodes[0], "a caller's change reached the cache")
	assert.Nil(t, again.Status.EndTime)
	assert.Equal(t, "x1,x2", again.Limit)

	_, err = st.UpdateSession(ctx, "", "s1", func(s *bos.Session) error {
		s.Status.Status, s.Status.EndTime = bos.SessionComplete, &end
		return nil
	})
	require.NoError(t, err)
	updated := list()
	assert.Equal(t, bos.SessionComplete, updated.Status.Status, "listed as written since")
	require.NotNil(t, updated.Status.EndTime)
	assert.True(t, end.Equal(*updated.Status.EndTime))
}

// BenchmarkListSessionsLarge lists a session naming 100,000 nodes, as the session loop
// does every 250 ms.
func BenchmarkListSessionsLarge(b *testing.B) {
	ctx := context.Background()
	st := openWithLargeSession(b)
	b.ResetTimer()
	for b.Loop() {
		_, err := st.ListSessions(ctx, "", true, bos.SessionFilter{Status: bos.SessionPending}, time.Now())
		require.NoError(b, err)
	}
}

// openWithLargeSession opens an embedded store holding session "big", whose record
// names 100,000 nodes (1.5 MB).
func openWithLargeSession(b *testing.B) *store.Store {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(b, err)
	b.Cleanup(func() { st.Close() })
	nodes := make([]string, 100_000)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("x3000c0s%db0n%d", i/2, i%2)
	}
	require.NoError(b, st.CreateSession(ctx, bos.Session{Name: "big", Operation: "boot", Components: strings.Join(nodes, ","),
		Status: bos.SessionStatus{Status: bos.SessionRunning}}))
	return st
}

// The digests a read, a write's outcome and StoredHashes give of one stored record agree,
// and change when the record does: the reconciler's resync compares them.
func TestStoredHashesAgree(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(t, err)
	defer st.Close()
	_, err = st.AddComponents(ctx, []bos.Component{bos.NewComponent("x1", time.Now())})
	require.NoError(t, err)
	reads, err := st.ReadComponents(ctx, []string{"x1"})
	require.NoError(t, err)
	hashes, err := st.StoredHashes(ctx, []string{"x1", "missing"})
	require.NoError(t, err)
	assert.Equal(t, map[string]uint64{"x1": reads[0].StoredHash()}, hashes)
	assert.NotZero(t, hashes["x1"])

	outs, err := store.UpdateEach(ctx, st, []string{"x1"}, func(c *bos.Component) (int, error) {
		c.Error = "changed"
		return 0, nil
	})
	require.NoError(t, err)
	now, err := st.StoredHashes(ctx, []string{"x1"})
	require.NoError(t, err)
	assert.NotEqual(t, hashes["x1"], now["x1"], "written")
	assert.Equal(t, now["x1"], outs[0].Stored, "written")

	outs, err = store.UpdateEach(ctx, st, []string{"x1"}, func(c *bos.Component) (int, error) { return 0, store.ErrSkip })
	require.NoError(t, err)
	assert.Equal(t, now["x1"], outs[0].Stored, "skipped")
}

// A session read again while no session was written since comes from memory, with the
// entity tag of its stored bytes: what a caller changes in what it was given stays its
// own, a write through any store (another replica's) is read as written, a delete as
// gone. A change made behind the stores' back (no sessions version set) is not read: the
// proof that the second read read no record.
func TestGetSessionCacheIsFreshAndPrivate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{})
		st, other := stores[0], stores[1]
		start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		require.NoError(t, st.CreateSession(ctx, bos.Session{Name: "s1", Operation: "boot", Limit: "x1,x2",
			Status: bos.SessionStatus{Status: bos.SessionRunning, StartTime: start,
				TookOver: []bos.SessionTakeover{{API: "v2", Session: "s0", Nodes: []string{"x1"}}}}}))
		first, tag, err := st.GetSessionTagged(ctx, "", "s1")
		require.NoError(t, err)
		end := start.Add(time.Hour)
		first.Status.TookOver[0].Nodes[0] = "changed"
		first.Status.EndTime = &end
		first.Limit = "changed"

		rdb, key := st.RedisClient(), st.SessionsKey("")
		stored, err := rdb.HGet(ctx, key, "s1").Result()
		require.NoError(t, err)
		require.NoError(t, rdb.HSet(ctx, key, "s1", strings.Replace(stored, `"x1,x2"`, `"behind"`, 1)).Err())

		again, againTag, err := st.GetSessionTagged(ctx, "", "s1")
		require.NoError(t, err)
		assert.Equal(t, tag, againTag)
		assert.Equal(t, "x1", again.Status.TookOver[0].Nodes[0], "a caller's change reached the cache")
		assert.Nil(t, again.Status.EndTime)
		assert.Equal(t, "x1,x2", again.Limit, "read from memory: no session was written through a store")

		_, err = other.UpdateSession(ctx, "", "s1", func(s *bos.Session) error {
			s.Status.Status, s.Status.EndTime = bos.SessionComplete, &end
			return nil
		})
		require.NoError(t, err)
		updated, updatedTag, err := st.GetSessionTagged(ctx, "", "s1")
		require.NoError(t, err)
		assert.Equal(t, bos.SessionComplete, updated.Status.Status, "read as written since")
		assert.Equal(t, "behind", updated.Limit)
		assert.NotEqual(t, tag, updatedTag)
		_, storedTag, err := other.GetSessionTagged(ctx, "", "s1")
		require.NoError(t, err)
		assert.Equal(t, storedTag, updatedTag, "the tag of the stored bytes")

		n, err := other.DeleteSessions(ctx, []bos.Session{updated})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, _, err = st.GetSessionTagged(ctx, "", "s1")
		assert.Equal(t, bos.ENOTFOUND, bos.ErrorCode(err), "deleted")
	})
}

// BenchmarkGetSessionLarge reads a session naming 100,000 nodes, as a client polling its
// status does.
func BenchmarkGetSessionLarge(b *testing.B) {
	ctx := context.Background()
	st := openWithLargeSession(b)
	b.ResetTimer()
	for b.Loop() {
		_, err := st.GetSession(ctx, "", "big")
		require.NoError(b, err)
	}
}
