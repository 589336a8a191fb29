package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/etag"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// listFixture is a miniredis with two stores on it: one lists the sessions, the other
// writes them.
type listFixture struct {
	m              *miniredis.Miniredis
	lister, writer *store.Store
}

var listNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newListFixture(t *testing.T) listFixture {
	f := listFixture{m: miniredis.RunT(t)}
	open := func() *store.Store {
		st, err := store.Open(context.Background(), store.Config{URL: "redis://" + f.m.Addr(), KeyPrefix: "l:"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	f.lister, f.writer = open(), open()
	return f
}

// names lists the sessions as "name:status".
func (f listFixture) names(t *testing.T) []string {
	got, err := f.lister.ListSessions(context.Background(), "", true, bos.SessionFilter{}, listNow)
	require.NoError(t, err)
	var out []string
	for _, s := range got {
		out = append(out, s.Name+":"+string(s.Status.Status))
	}
	return out
}

func (f listFixture) create(t *testing.T, name string) {
	require.NoError(t, f.writer.CreateSession(context.Background(), bos.Session{Name: name, Operation: "boot",
		Status: bos.SessionStatus{Status: bos.SessionPending, StartTime: listNow}}))
}

// A list at an unchanged sessions version is the last list, without reading a record:
// a record changed behind the store's back (no version bump) is not seen. Every write of
// another store on the same Redis (create, update, each kind of delete) bumps the version,
// so the next list sees it; and a Redis with no version at all is always read.
func TestListSessionsReadsOnlyAfterAWrite(t *testing.T) {
	f := newListFixture(t)
	ctx, m, writer := context.Background(), f.m, f.writer
	names := func() []string { return f.names(t) }
	create := func(name string) { f.create(t, name) }

	create("a")
	assert.Equal(t, []string{"a:pending"}, names(), "created")

	raw := m.HGet("l:sessions:u", "a")
	require.NotEmpty(t, raw)
	m.HSet("l:sessions:u", "a", raw[:len(raw)-1]+` `+raw[len(raw)-1:]) // same session, other bytes
	other := strings.Replace(raw, `"name":"a"`, `"name":"z"`, 1)
	require.NotEqual(t, raw, other)
	m.HSet("l:sessions:u", "z", other) // a session written without the version
	assert.Equal(t, []string{"a:pending"}, names(), "no write bumped the version: the last list")
	m.HDel("l:sessions:u", "z")

	_, err := writer.UpdateSession(ctx, "", "a", func(s *bos.Session) error {
		s.Status.Status = bos.SessionRunning
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a:running"}, names(), "updated")

	create("b")
	create("c")
	create("d")
	assert.Equal(t, []string{"a:running", "b:pending", "c:pending", "d:pending"}, names(), "created more")
	require.NoError(t, writer.DeleteSession(ctx, "", "b"))
	assert.Equal(t, []string{"a:running", "c:pending", "d:pending"}, names(), "deleted")
	_, tag, err := writer.GetSessionTagged(ctx, "", "c")
	require.NoError(t, err)
	cond, err := etag.ParseIfMatch([]string{tag})
	require.NoError(t, err)
	require.NoError(t, writer.DeleteSessionIf(ctx, "", "c", cond))
	assert.Equal(t, []string{"a:running", "d:pending"}, names(), "deleted if matching")
	n, err := writer.DeleteSessions(ctx, []bos.Session{{Name: "d"}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, []string{"a:running"}, names(), "deleted in a batch")

	m.Del("l:sessions-version")
	m.HSet("l:sessions:u", "z", other)
	assert.Equal(t, []string{"a:running", "z:pending"}, names(), "no version: read every time")
}

// A Redis that restarts empty (or loses the version) and is written again never gives
// back the version a list was cached at: the list after the first write is fresh.
func TestListSessionsAfterRedisRestartsEmpty(t *testing.T) {
	f := newListFixture(t)
	names := func() []string { return f.names(t) }
	create := func(name string) { f.create(t, name) }
	create("before")
	require.Equal(t, []string{"before:pending"}, names())
	f.m.FlushAll() // this test's own miniredis: a restart with nothing on disk
	create("after")
	assert.Equal(t, []string{"after:pending"}, names())
}

// writeBeforeHook runs write once, before the first pipeline that reads a hash's values
// (a list's records) is sent.
type writeBeforeHook struct {
	write func()
	done  bool
}

func (h *writeBeforeHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *writeBeforeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *writeBeforeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !h.done && len(cmds) > 0 && cmds[0].Name() == "hvals" {
			h.done = true
			h.write()
		}
		return next(ctx, cmds)
	}
}

// A list whose records were read after a write that followed its version read holds that
// write: it is not the list of the version it read. If Redis then loses the write (a
// replica promoted before it reached it) and is back at that version, the list must be
// read again, not show the lost session.
func TestListSessionsReadAcrossAWriteIsNotKept(t *testing.T) {
	f := newListFixture(t)
	m, lister := f.m, f.lister
	names := func() []string { return f.names(t) }
	create := func(name string) { f.create(t, name) }

	create("a")
	version, err := m.Get("l:sessions-version")
	require.NoError(t, err)
	lister.AddHook(&writeBeforeHook{write: func() { create("b") }})
	assert.Equal(t, []string{"a:pending", "b:pending"}, names(), "b created between the version read and the records read")
	// b's creation is lost: Redis is back at the version the list read.
	m.HDel("l:sessions:u", "b")
	require.NoError(t, m.Set("l:sessions-version", version))
	assert.Equal(t, []string{"a:pending"}, names(), "b's creation lost")
}
