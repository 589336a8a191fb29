package sessions_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
)

func TestDiscover(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	existing := member(n01, "s", true, bos.PhasePoweringOn)
	existing.DesiredState.Configuration = "cfg"
	_, err := st.PutComponents(ctx, []bos.Component{existing})
	require.NoError(t, err)
	before, err := st.GetComponent(ctx, n01)
	require.NoError(t, err)

	inv := &inventoryStub{nodes: func(context.Context) ([]selection.Node, error) {
		return []selection.Node{{ID: n10}, {ID: n01}, {ID: n00}}, nil
	}}
	added, err := sessions.Discover(ctx, st, inv, setupNow)
	require.NoError(t, err)
	assert.Equal(t, []string{n00, n10}, added)

	c, err := st.GetComponent(ctx, n00)
	require.NoError(t, err)
	want := bos.NewComponent(n00, setupNow)
	assert.Equal(t, want, c)
	assert.False(t, c.Enabled)
	assert.Equal(t, bos.LastAction{Action: bos.ActionNewlyDiscovered, LastUpdated: setupNow}, c.LastAction)
	after, err := st.GetComponent(ctx, n01)
	require.NoError(t, err)
	assert.Equal(t, before, after, "existing components are left alone")

	// Idempotent: nothing new the second time, even later.
	added, err = sessions.Discover(ctx, st, inv, setupNow.Add(time.Hour))
	require.NoError(t, err)
	assert.Empty(t, added)
	c, err = st.GetComponent(ctx, n00)
	require.NoError(t, err)
	assert.Equal(t, want, c)

	// Nodes gone from HSM are never deleted.
	inv.nodes = func(context.Context) ([]selection.Node, error) { return []selection.Node{{ID: n20}}, nil }
	added, err = sessions.Discover(ctx, st, inv, setupNow)
	require.NoError(t, err)
	assert.Equal(t, []string{n20}, added)
	ids, err := st.ComponentIDs(ctx, storeAll)
	require.NoError(t, err)
	assert.Equal(t, []string{n00, n01, n10, n20}, ids)

	inv.nodes = func(context.Context) ([]selection.Node, error) { return nil, errors.New("HSM down") }
	_, err = sessions.Discover(ctx, st, inv, setupNow)
	assert.ErrorContains(t, err, "HSM down")
}

// The reconciler and the v1 agent start together and both discover: while one run is
// under way, a second caller waits for it and gets its result instead of reading HSM
// and the store again. A call after the run ended runs again.
func TestDiscoveryIsSharedByCallersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		reads := 0
		release := make(chan struct{})
		inv := &inventoryStub{nodes: func(context.Context) ([]selection.Node, error) {
			reads++
			<-release
			return []selection.Node{{ID: n00}, {ID: n01}}, nil
		}}
		d := &sessions.Discovery{Store: st, Inventory: inv}

		results := make(chan []string, 2)
		for range 2 {
			go func() {
				added, err := d.Discover(ctx, setupNow)
				assert.NoError(t, err)
				results <- added
			}()
		}
		synctest.Wait() // one run reads HSM, the other caller waits for it
		close(release)
		assert.Equal(t, []string{n00, n01}, <-results)
		assert.Equal(t, []string{n00, n01}, <-results, "both callers have the run's result")
		assert.Equal(t, 1, reads, "HSM was read once")

		added, err := d.Discover(ctx, setupNow)
		require.NoError(t, err)
		assert.Empty(t, added, "a later call runs again, and finds nothing new")
		assert.Equal(t, 2, reads)
	})
}
