package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// A write given the records read before it (ReadBefore) mutates what is stored now: the
// read when the record is unchanged, the stored record when it changed since.
func TestReadBeforeMutatesTheStoredRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		_, err := s.PutComponents(ctx, []orchestrator.Component{{ID: "x1", Error: "first"}, {ID: "x2", Error: "first"}})
		require.NoError(t, err)
		read, err := s.ReadComponents(ctx, []string{"x1", "x2", "x3"})
		require.NoError(t, err)
		require.Len(t, read, 2, "x3 does not exist")
		reads := map[string]store.Read{}
		for _, r := range read {
			assert.Equal(t, "first", r.Error)
			reads[r.ID] = r
		}
		_, err = s.UpdateComponent(ctx, "x2", func(c *orchestrator.Component) error { c.Error = "second"; return nil })
		require.NoError(t, err)

		seen := map[string]string{}
		out, err := s.UpdateComponents(ctx, []string{"x1", "x2"}, func(c *orchestrator.Component) error {
			seen[c.ID] = c.Error
			c.Session = "s"
			return nil
		}, store.ReadBefore(reads))
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"x1": "first", "x2": "second"}, seen)
		require.Len(t, out, 2)
		got, err := s.GetComponents(ctx, []string{"x1", "x2"})
		require.NoError(t, err)
		assert.Equal(t, []string{"first", "second"}, []string{got[0].Error, got[1].Error})
		assert.Equal(t, []string{"s", "s"}, []string{got[0].Session, got[1].Session})
	})
}

// A write that conflicts is tried again, but a record unchanged since the attempt that
// conflicted keeps that attempt's outcome: only the records written meanwhile are
// mutated again (mutate depends only on the record).
func TestConflictRetryMutatesOnlyChangedRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		ids := []string{"x1", "x2", "x3", "x4"}
		var comps []orchestrator.Component
		for _, id := range ids {
			comps = append(comps, orchestrator.Component{ID: id})
		}
		_, err := s.PutComponents(ctx, comps)
		require.NoError(t, err)
		calls := map[string]int{}
		out, err := s.UpdateComponents(ctx, ids, func(c *orchestrator.Component) error {
			calls[c.ID]++
			if c.ID == "x1" && calls["x1"] == 1 {
				// Another writer, inside the first attempt: its EXEC fails.
				_, err := s.UpdateComponent(ctx, "x4", func(c *orchestrator.Component) error { c.Error = "meanwhile"; return nil })
				require.NoError(t, err)
			}
			c.Session = "s"
			return nil
		})
		require.NoError(t, err)
		require.Len(t, out, 4)
		assert.Equal(t, map[string]int{"x1": 1, "x2": 1, "x3": 1, "x4": 2}, calls)
		got, err := s.GetComponents(ctx, ids)
		require.NoError(t, err)
		for _, c := range got {
			assert.Equal(t, "s", c.Session, c.ID)
		}
		assert.Equal(t, "meanwhile", got[3].Error, "the other writer's change is kept")
	})
}

// A write expecting what this process wrote last finds what another process did since:
// a delete (ENOTFOUND, nothing recreated), a change (mutate sees it, even when it then
// changes nothing), and a write given stale reads (ReadBefore) decides on the record
// stored.
func TestWriteAfterAnotherProcessWrote(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{})
		s, other := stores[0], stores[1]
		_, err := s.PutComponents(ctx, []orchestrator.Component{{ID: "x1"}, {ID: "x2"}, {ID: "x3"}})
		require.NoError(t, err)

		require.NoError(t, other.DeleteComponent(ctx, "x1"))
		_, err = s.UpdateComponent(ctx, "x1", func(c *orchestrator.Component) error { c.Error = "late"; return nil })
		require.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err), "%v", err)
		ids, err := s.ExistingComponentIDs(ctx, []string{"x1"})
		require.NoError(t, err)
		assert.Empty(t, ids, "x1 is not recreated")

		_, err = other.UpdateComponent(ctx, "x2", func(c *orchestrator.Component) error { c.Error = "other"; return nil })
		require.NoError(t, err)
		got, err := s.UpdateComponent(ctx, "x2", func(c *orchestrator.Component) error { return nil })
		require.NoError(t, err)
		assert.Equal(t, "other", got.Error, "the record as stored, not as this process wrote it")

		read, err := s.ReadComponents(ctx, []string{"x3"})
		require.NoError(t, err)
		_, err = other.UpdateComponent(ctx, "x3", func(c *orchestrator.Component) error { c.Error = "other"; return nil })
		require.NoError(t, err)
		seen := ""
		_, err = store.UpdateEach(ctx, s, []string{"x2", "x3"}, func(c *orchestrator.Component) (bool, error) {
			if c.ID == "x3" {
				seen = c.Error
			}
			c.Session = "s"
			return true, nil
		}, store.ReadBefore(map[string]store.Read{"x3": read[0]}))
		require.NoError(t, err)
		assert.Equal(t, "other", seen)
		all, err := other.GetComponents(ctx, []string{"x2", "x3"})
		require.NoError(t, err)
		for _, c := range all {
			assert.Equal(t, "other", c.Error, c.ID)
			assert.Equal(t, "s", c.Session, c.ID)
		}
	})
}

// A write of a few records given what a read returned (ReadBefore) is one round trip;
// when one changed since the read, the check answers with it and the second round trip
// writes, without a read of its own.
func TestReadBeforeWriteRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{RecordCacheBytes: -1})
		s, other := stores[0], stores[1]
		ids := []string{"x1", "x2", "x3"}
		_, err := other.PutComponents(ctx, []orchestrator.Component{{ID: "x1"}, {ID: "x2"}, {ID: "x3"}})
		require.NoError(t, err)
		readAll := func() map[string]store.Read {
			read, err := s.ReadComponents(ctx, ids)
			require.NoError(t, err)
			reads := map[string]store.Read{}
			for _, r := range read {
				reads[r.ID] = r
			}
			return reads
		}
		h := &redisCounter{}
		s.AddHook(h)
		write := func(reads map[string]store.Read, session string) map[string]string {
			seen := map[string]string{}
			h.trips.Store(0)
			_, err := store.UpdateEach(ctx, s, ids, func(c *orchestrator.Component) (bool, error) {
				seen[c.ID] = c.Error
				c.Session = session
				return true, nil
			}, store.ReadBefore(reads))
			require.NoError(t, err)
			return seen
		}

		reads := readAll()
		write(reads, "a")
		assert.Equal(t, int64(1), h.trips.Load(), "the reads are current")

		reads = readAll()
		_, err = other.UpdateComponent(ctx, "x2", func(c *orchestrator.Component) error { c.Error = "other"; return nil })
		require.NoError(t, err)
		seen := write(reads, "b")
		assert.Equal(t, int64(2), h.trips.Load(), "x2 changed since the read")
		assert.Equal(t, "other", seen["x2"], "decided again on the record stored")
		got, err := other.GetComponents(ctx, ids)
		require.NoError(t, err)
		for _, c := range got {
			assert.Equal(t, "b", c.Session, c.ID)
		}
		assert.Equal(t, "other", got[1].Error)
	})
}
