package sessions_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
)

var storeAll = store.Filter{}

func TestCleanupActualState(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	withActual := func(id string, a bos.BootArtifacts, age time.Duration, f ...func(*bos.Component)) bos.Component {
		c := bos.Component{ID: id, LastAction: bos.LastAction{Action: bos.ActionSessionSetup, LastUpdated: setupNow.Add(-5 * time.Hour)}}
		c.ActualState = bos.ActualState{BootArtifacts: a, BSSToken: "tok"}
		if age > 0 {
			c.ActualState.LastUpdated = setupNow.Add(-age)
		}
		for _, fn := range f {
			fn(&c)
		}
		return c
	}
	inFlight := func(c *bos.Component) {
		c.Enabled = true
		c.Session = "s"
		c.Status.Phase = bos.PhasePoweringOn
		c.LastAction = bos.LastAction{Action: bos.ActionPoweringOn, LastUpdated: setupNow.Add(-time.Minute)}
	}
	_, err := st.PutComponents(ctx, []bos.Component{
		withActual(n00, booted, 5*time.Hour),                                     // stale, disabled
		withActual(n01, booted, 3*time.Hour),                                     // fresh
		withActual(n10, bos.BootArtifacts{}, 9*time.Hour),                        // old but already empty
		withActual(n11, booted, 0),                                               // never stamped
		withActual(n20, booted, 5*time.Hour, inFlight),                           // stale, enabled and in flight
		withActual(n21, bos.BootArtifacts{Kernel: "k"}, 4*time.Hour+time.Second), // just over
		withActual(n30, booted, 4*time.Hour-time.Second),                         // just under
	})
	require.NoError(t, err)
	before, err := st.GetComponent(ctx, n20)
	require.NoError(t, err)

	opts := bos.DefaultOptions()   // component_actual_state_ttl 4h
	opts.MaxComponentBatchSize = 2 // pages of two
	cleaned, oldest, err := sessions.CleanupActualState(ctx, st, opts, setupNow)
	require.NoError(t, err)
	assert.Equal(t, []string{n00, n11, n20, n21}, cleaned)
	assert.Equal(t, setupNow.Add(-4*time.Hour+time.Second), oldest, "n30's: the next to turn stale")

	emptied := bos.ActualState{LastUpdated: setupNow}
	for _, id := range []string{n00, n11, n21} {
		c, err := st.GetComponent(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, emptied, c.ActualState, id)
		assert.Equal(t, bos.LastAction{Action: bos.ActionActualStateCleanup, LastUpdated: setupNow}, c.LastAction, id)
	}
	c, err := st.GetComponent(ctx, n20)
	require.NoError(t, err)
	assert.Equal(t, emptied, c.ActualState)
	assert.Equal(t, before.LastAction, c.LastAction, "an in-flight node keeps its last action")
	assert.Equal(t, bos.StatusPowerOnCalled, c.Status.Status)

	for _, id := range []string{n01, n10, n30} {
		c, err := st.GetComponent(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, bos.ActionSessionSetup, c.LastAction.Action, id)
		assert.Equal(t, "tok", c.ActualState.BSSToken, id)
	}

	// Nothing left to clean.
	cleaned, _, err = sessions.CleanupActualState(ctx, st, opts, setupNow)
	require.NoError(t, err)
	assert.Empty(t, cleaned)

	// Unlimited batch size still pages; a longer TTL keeps everything.
	opts.MaxComponentBatchSize = 0
	opts.ComponentActualStateTTL = "1d"
	cleaned, _, err = sessions.CleanupActualState(ctx, st, opts, setupNow.Add(5*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, cleaned)
	cleaned, oldest, err = sessions.CleanupActualState(ctx, st, opts, setupNow.Add(30*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{n01, n30}, cleaned)
	assert.Equal(t, setupNow.Add(30*time.Hour).UTC(), oldest, "no actual state left: the pass's time")
}
