package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testclock"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// kinds lists the kinds of entries, in the order given.
func kinds(entries []bos.HistoryEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Kind
	}
	return out
}

// TestComponentHistory: every committed write records its changes, newest first, stamped
// by the store's clock; a write that changes nothing records nothing; notes join the
// same list; the list keeps the newest HistoryLimit entries and goes with the component.
func TestComponentHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		clock := testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
		s := storetest.Open(t, backend, store.Config{HistoryLimit: 5, Now: clock.Now})
		ctx := t.Context()
		const id = "x1000c0s0b0n0"
		_, err := s.AddComponents(ctx, []bos.Component{bos.NewComponent(id, clock.Now())})
		require.NoError(t, err)

		clock.Advance(time.Second)
		_, err = s.UpdateComponent(ctx, id, func(c *bos.Component) error {
			c.Enabled, c.Session = true, "s1"
			return nil
		})
		require.NoError(t, err)
		_, err = s.UpdateComponent(ctx, id, func(c *bos.Component) error { return nil })
		require.NoError(t, err)

		got, err := s.ComponentHistory(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, []string{bos.HistorySession, bos.HistoryEnabled, bos.HistoryCreated}, kinds(got), "newest first; the empty write adds none")
		assert.Equal(t, bos.HistoryEntry{Time: clock.Now(), Kind: bos.HistorySession, To: "s1", Session: "s1"}, got[0])
		assert.Equal(t, bos.ActionNewlyDiscovered, got[2].Detail)
		assert.Equal(t, clock.Now().Add(-time.Second), got[2].Time)

		require.NoError(t, s.NoteHistory(ctx, map[string]bos.HistoryEntry{
			id:              {Kind: bos.HistoryCFS, To: "cfg", Detail: "requested"},
			"x1000c0s9b0n0": {Kind: bos.HistoryCFS, To: "cfg"}, // no such component: no entry
		}))
		_, err = s.UpdateComponent(ctx, id, func(c *bos.Component) error { c.Error = "boom"; return nil })
		require.NoError(t, err)
		_, err = s.UpdateComponent(ctx, id, func(c *bos.Component) error { c.Error = ""; return nil })
		require.NoError(t, err)
		got, err = s.ComponentHistory(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, []string{bos.HistoryError, bos.HistoryError, bos.HistoryCFS, bos.HistorySession, bos.HistoryEnabled}, kinds(got), "the newest 5 kept")
		assert.Equal(t, "boom", got[0].From)

		_, err = s.ComponentHistory(ctx, "x1000c0s9b0n0")
		assert.True(t, bos.IsNotFound(err), "no component, no history: %v", err)

		require.NoError(t, s.DeleteComponent(ctx, id))
		_, err = s.ComponentHistory(ctx, id)
		assert.True(t, bos.IsNotFound(err))
		_, err = s.PutComponent(ctx, bos.Component{ID: id})
		require.NoError(t, err)
		got, err = s.ComponentHistory(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, []string{bos.HistoryCreated}, kinds(got), "a deleted component's history went with it")
	})
}

// TestHistoryOff: a negative HistoryLimit keeps no history.
func TestHistoryOff(t *testing.T) {
	s := storetest.Open(t, storetest.Mini, store.Config{HistoryLimit: -1})
	ctx := t.Context()
	_, err := s.PutComponent(ctx, bos.Component{ID: "x1000c0s0b0n0", Enabled: true})
	require.NoError(t, err)
	require.NoError(t, s.NoteHistory(ctx, map[string]bos.HistoryEntry{"x1000c0s0b0n0": {Kind: bos.HistoryCFS}}))
	got, err := s.ComponentHistory(ctx, "x1000c0s0b0n0")
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestHistoryUnderContention: concurrent writers of one component conflict and retry;
// each committed write leaves exactly its own entry, so the error entries form one chain
// (each one's from is the previous one's to) with one link per writer.
func TestHistoryUnderContention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		const writers = 20
		s := storetest.Open(t, backend, store.Config{HistoryLimit: 2 * writers})
		ctx := t.Context()
		const id = "x1000c0s0b0n0"
		_, err := s.PutComponent(ctx, bos.Component{ID: id})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				_, err := s.UpdateComponent(ctx, id, func(c *bos.Component) error { c.Error = fmt.Sprint("writer ", i); return nil })
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		hist, err := s.ComponentHistory(ctx, id)
		require.NoError(t, err)
		var chain []bos.HistoryEntry
		for _, e := range slices.Backward(hist) { // oldest first
			if e.Kind == bos.HistoryError {
				chain = append(chain, e)
			}
		}
		require.Len(t, chain, writers)
		assert.Empty(t, chain[0].From)
		seen := map[string]bool{}
		for i, e := range chain {
			if i > 0 {
				assert.Equal(t, chain[i-1].To, e.From, "entry %d follows the one before", i)
			}
			assert.False(t, seen[e.To], "%s recorded once", e.To)
			seen[e.To] = true
		}
		c, err := s.GetComponent(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, c.Error, chain[len(chain)-1].To, "the last entry is the stored record")
	})
}

// TestHistoryReadsBothForms: a list holding a JSON entry (as stored before the packed
// form) and packed elements reads as one history, newest first, and a write's entries
// keep its order within it; an element in neither form is an EINTERNAL error.
func TestHistoryReadsBothForms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
		clock := testclock.New(t0.Add(time.Minute))
		s := storetest.Open(t, backend, store.Config{Now: clock.Now})
		ctx := t.Context()
		const id = "x1000c0s0b0n0"
		_, err := s.PutComponent(ctx, bos.Component{ID: id})
		require.NoError(t, err)
		old, err := json.Marshal(bos.HistoryEntry{Time: t0, Kind: bos.HistoryError, To: "from before", Session: "s0"})
		require.NoError(t, err)
		require.NoError(t, s.PushRawHistory(ctx, id, string(old)))
		_, err = s.UpdateComponent(ctx, id, func(c *bos.Component) error {
			c.Enabled, c.Session, c.Error = true, "s1", "now"
			return nil
		})
		require.NoError(t, err)

		got, err := s.ComponentHistory(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, []bos.HistoryEntry{
			{Time: clock.Now(), Kind: bos.HistoryError, To: "now", Session: "s1"},
			{Time: clock.Now(), Kind: bos.HistorySession, To: "s1", Session: "s1"},
			{Time: clock.Now(), Kind: bos.HistoryEnabled, From: "false", To: "true", Session: "s1"},
			{Time: t0, Kind: bos.HistoryError, To: "from before", Session: "s0"},
			{Time: clock.Now(), Kind: bos.HistoryCreated},
		}, got, "the write's entries newest first, then the JSON entry, then the record's creation")

		require.NoError(t, s.PushRawHistory(ctx, id, "\x07garbage"))
		_, err = s.ComponentHistory(ctx, id)
		assert.Equal(t, bos.EINTERNAL, bos.ErrorCode(err), "%v", err)
	})
}

// TestHistoryLimitCountsEntries: the list keeps HistoryLimit writes, and the history
// answers the newest HistoryLimit entries of them.
func TestHistoryLimitCountsEntries(t *testing.T) {
	s := storetest.Open(t, storetest.Mini, store.Config{HistoryLimit: 3})
	ctx := t.Context()
	const id = "x1000c0s0b0n0"
	_, err := s.PutComponent(ctx, bos.Component{ID: id})
	require.NoError(t, err)
	for i := range 4 { // two entries a write
		_, err = s.UpdateComponent(ctx, id, func(c *bos.Component) error {
			c.Enabled, c.Error = !c.Enabled, fmt.Sprint("e", i)
			return nil
		})
		require.NoError(t, err)
	}
	got, err := s.ComponentHistory(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, []string{bos.HistoryError, bos.HistoryEnabled, bos.HistoryError}, kinds(got))
	assert.Equal(t, "e3", got[0].To)
	assert.Equal(t, "e2", got[2].To)
	raw, err := s.ComponentHistoryRaw(ctx, id)
	require.NoError(t, err)
	assert.Len(t, raw, 3, "three writes kept")
}

// TestNoteHistoryIsOneRoundTrip: notes for a chunk of components go in one pipeline of
// RPUSHX and LTRIM, with no transaction; an id without a record still gets no entry.
func TestNoteHistoryIsOneRoundTrip(t *testing.T) {
	s := storetest.Open(t, storetest.Mini, store.Config{})
	ctx := t.Context()
	ids := []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b1n0"}
	for _, id := range ids[:2] {
		_, err := s.PutComponent(ctx, bos.Component{ID: id})
		require.NoError(t, err)
	}
	hook := &countHook{}
	s.AddHook(hook)
	notes := map[string]bos.HistoryEntry{}
	for _, id := range ids {
		notes[id] = bos.HistoryEntry{Kind: bos.HistoryCFS, To: "cfg", Detail: "requested", Session: "s1"}
	}
	require.NoError(t, s.NoteHistory(ctx, notes))
	assert.Equal(t, int64(1), hook.trips.Load(), "round trips")
	assert.Equal(t, int64(2*len(ids)), hook.cmds.Load(), "RPUSHX and LTRIM a note")
	for _, id := range ids[:2] {
		got, err := s.ComponentHistory(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, []string{bos.HistoryCFS, bos.HistoryCreated}, kinds(got), id)
	}
	raw, err := s.ComponentHistoryRaw(ctx, ids[2])
	require.NoError(t, err)
	assert.Empty(t, raw, "no record, no history")
}
