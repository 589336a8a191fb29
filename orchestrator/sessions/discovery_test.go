package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
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
