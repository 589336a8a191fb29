package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// A read or a write of a record whose stored bytes are those the record cache holds takes
// the cache's decoding of them instead of decoding them again: here a planted one that
// the bytes do not say (the error's text as the session), so that its use shows.
func TestCachedDecodingSparesDecoding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		_, err := s.PutComponents(ctx, []orchestrator.Component{{ID: "x1", Error: "stored"}, {ID: "x2", Error: "stored"}})
		require.NoError(t, err)
		for _, id := range []string{"x1", "x2"} {
			require.NoError(t, s.PlantDecoding(ctx, id, orchestrator.Component{ID: id, Session: "stored", RetryPolicy: new(3)}))
		}

		read, err := s.ReadComponents(ctx, []string{"x1"})
		require.NoError(t, err)
		require.Len(t, read, 1)
		assert.Equal(t, []string{"stored", ""}, []string{read[0].Session, read[0].Error}, "read: the cached decoding")

		var seen []string
		_, err = s.UpdateComponent(ctx, "x2", func(c *orchestrator.Component) error {
			seen = []string{c.Session, c.Error}
			return orchestrator.Errorf(orchestrator.EINVALID, "write nothing")
		})
		require.Error(t, err)
		assert.Equal(t, []string{"stored", ""}, seen, "write: the cached decoding")
	})
}

// What the cache hands out is a copy: a caller changing it (its retry policy's pointee
// included) changes nothing the next reader gets.
func TestCachedDecodingIsNotShared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		_, err := s.PutComponents(ctx, []orchestrator.Component{{ID: "x1", Error: "stored", RetryPolicy: new(3)}})
		require.NoError(t, err)
		for range 2 {
			read, err := s.ReadComponents(ctx, []string{"x1"})
			require.NoError(t, err)
			require.Len(t, read, 1)
			assert.Equal(t, "stored", read[0].Error)
			assert.Equal(t, 3, *read[0].RetryPolicy)
			read[0].Error, *read[0].RetryPolicy = "changed by the reader", 9
		}
		cached, ok := s.CachedDecoding("x1")
		require.True(t, ok)
		assert.Equal(t, "stored", cached.Error)
		assert.Equal(t, 3, *cached.RetryPolicy)
		cached.Error, *cached.RetryPolicy = "changed by the reader", 9
		got, err := s.GetComponent(ctx, "x1")
		require.NoError(t, err)
		_, err = s.UpdateComponent(ctx, "x1", func(c *orchestrator.Component) error {
			assert.Equal(t, got, *c, "the write's record as stored")
			c.Session = "s1"
			return nil
		})
		require.NoError(t, err)
	})
}

// A record another process wrote since is decoded afresh, by a read and by a write.
func TestChangedRecordIsDecodedAfresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{})
		s, other := stores[0], stores[1]
		_, err := s.PutComponents(ctx, []orchestrator.Component{{ID: "x1", Error: "stored"}, {ID: "x2", Error: "stored"}})
		require.NoError(t, err)
		for _, id := range []string{"x1", "x2"} {
			require.NoError(t, s.PlantDecoding(ctx, id, orchestrator.Component{ID: id, Session: "stored"}))
			_, err = other.UpdateComponent(ctx, id, func(c *orchestrator.Component) error { c.Error = "other's"; return nil })
			require.NoError(t, err)
		}

		read, err := s.ReadComponents(ctx, []string{"x1"})
		require.NoError(t, err)
		require.Len(t, read, 1)
		assert.Equal(t, []string{"", "other's"}, []string{read[0].Session, read[0].Error})

		var seen []string
		_, err = s.UpdateComponent(ctx, "x2", func(c *orchestrator.Component) error {
			seen = []string{c.Session, c.Error}
			c.Session = "s1"
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"", "other's"}, seen)
	})
}

// A record this process writes is remembered decoded, as a read would decode it: the
// next read or write of it decodes nothing.
func TestWrittenRecordIsCachedDecoded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		// Times as a write may hold them but a read never returns them: in a zone that is
		// not UTC (written with a Z all the same), zero but in a zone (not written).
		now := time.Now().In(time.FixedZone("GMT", 0))
		_, err := s.PutComponent(ctx, orchestrator.Component{ID: "x1", Enabled: true, RetryPolicy: new(2),
			ActualState: orchestrator.ActualState{LastUpdated: now, BSSToken: "tok"},
			StagedState: orchestrator.StagedState{LastUpdated: time.Time{}.In(time.FixedZone("CET", 3600))},
			LastAction:  orchestrator.LastAction{Action: orchestrator.ActionPoweringOn, LastUpdated: now.UTC()}})
		require.NoError(t, err)
		cached, ok := s.CachedDecoding("x1")
		require.True(t, ok, "the write's record")
		got, err := s.GetComponent(ctx, "x1")
		require.NoError(t, err)
		assertIdentical(t, got, cached)

		_, err = s.UpdateComponents(ctx, []string{"x1"}, func(c *orchestrator.Component) error { c.Error = "e"; return nil })
		require.NoError(t, err)
		cached, ok = s.CachedDecoding("x1")
		require.True(t, ok, "the next write's record")
		got, err = s.GetComponent(ctx, "x1")
		require.NoError(t, err)
		assertIdentical(t, got, cached)
	})
}

// assertIdentical asserts want and got are the same to the bit (times their location and
// monotonic reading included, which assert.Equal does not compare).
func assertIdentical(t *testing.T, want, got orchestrator.Component) {
	t.Helper()
	assert.True(t, reflect.DeepEqual(want, got), "want %#v\ngot  %#v", want, got)
}
