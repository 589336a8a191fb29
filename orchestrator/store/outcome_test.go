package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// UpdateEach reports the results of the attempt that committed: a component deleted
// after a conflicting attempt has none, one changed meanwhile has the retry's result.
func TestUpdateEachOutcomesOfCommittedAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		_, err := s.AddComponents(ctx, []orchestrator.Component{
			orchestrator.NewComponent("x1c0s0b0n0", t0), orchestrator.NewComponent("x1c0s0b0n1", t0), orchestrator.NewComponent("x1c0s0b0n2", t0)})
		require.NoError(t, err)
		calls := map[string]int{}
		outs, err := store.UpdateEach(ctx, s, []string{"x1c0s0b0n0", "x1c0s0b0n1", "x1c0s0b0n2"}, func(c *orchestrator.Component) (string, error) {
			calls[c.ID]++
			if calls[c.ID] == 1 {
				switch c.ID {
				case "x1c0s0b0n0": // deleted by another writer: this attempt conflicts
					require.NoError(t, s.DeleteComponent(ctx, c.ID))
				case "x1c0s0b0n1": // changed by another writer
					_, err := s.UpdateComponent(ctx, c.ID, func(o *orchestrator.Component) error { o.Session = "other"; return nil })
					require.NoError(t, err)
				}
			}
			if c.ID == "x1c0s0b0n2" {
				return "skipped", store.ErrSkip
			}
			c.Enabled = true
			return "seen " + c.Session, nil
		})
		require.NoError(t, err)
		stored, err := s.StoredHashes(ctx, []string{"x1c0s0b0n1", "x1c0s0b0n2"})
		require.NoError(t, err)
		for i := range outs {
			assert.Equal(t, stored[outs[i].ID], outs[i].Stored, "the digest of %s as stored", outs[i].ID)
			outs[i].Stored = 0
		}
		assert.Equal(t, []store.Outcome[string]{
			{ID: "x1c0s0b0n1", Result: "seen other", Written: true},
			{ID: "x1c0s0b0n2", Result: "skipped"},
		}, outs)
	})
}

// A write with NoWake calls no OnComponentsChanged; the same write without it does.
func TestNoWakeWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		var woken []string
		s := storetest.Open(t, backend, store.Config{OnComponentsChanged: func(ids []string) { woken = append(woken, ids...) }})
		_, err := s.AddComponents(ctx, []orchestrator.Component{orchestrator.NewComponent("x1c0s0b0n0", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
		require.NoError(t, err)
		woken = nil
		enable := func(c *orchestrator.Component) error { c.Enabled = !c.Enabled; return nil }
		_, err = s.UpdateComponents(ctx, []string{"x1c0s0b0n0"}, enable, store.NoWake)
		require.NoError(t, err)
		assert.Empty(t, woken)
		_, err = s.UpdateComponents(ctx, []string{"x1c0s0b0n0"}, enable)
		require.NoError(t, err)
		assert.Equal(t, []string{"x1c0s0b0n0"}, woken)
	})
}

// Reading the status of a complete session whose status was never frozen computes it and
// writes nothing: a GET must not change the store (BOS saves it only on POST .../status).
func TestSessionStatusReadWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		end := now.Add(time.Minute)
		sess := orchestrator.Session{Name: "s1", Operation: orchestrator.OpBoot, TemplateName: "t",
			Status: orchestrator.SessionStatus{Status: orchestrator.SessionComplete, StartTime: now, EndTime: &end}}
		require.NoError(t, s.CreateSession(ctx, sess))
		st, err := s.SessionStatus(ctx, sess, nil, end)
		require.NoError(t, err)
		assert.Equal(t, "complete", st.Status)
		_, saved, err := s.GetSessionStatus(ctx, "", "s1")
		require.NoError(t, err)
		assert.False(t, saved, "the read saved a status")
	})
}
