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

// Rollouts share CRUS's record code (blobs.go); this checks their own keys and the
// tenant namespaces.
func TestRollouts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		st := storetest.Open(t, backend, store.Config{})
		ctx := context.Background()
		a, b := store.RolloutID("", "r1"), store.RolloutID("vcluster-a", "r1")
		assert.NotEqual(t, a, b, "tenants may reuse a name")
		require.NoError(t, st.CreateRollout(ctx, a, []byte(`{"n":1}`)))
		require.NoError(t, st.CreateRollout(ctx, b, []byte(`{"n":2}`)))
		assert.Equal(t, orchestrator.ECONFLICT, orchestrator.ErrorCode(st.CreateRollout(ctx, a, []byte(`{}`))))

		_, err := st.UpdateRollout(ctx, b, func([]byte) ([]byte, error) { return []byte(`{"n":3}`), nil })
		require.NoError(t, err)
		list, err := st.ListRollouts(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string][]byte{a: []byte(`{"n":1}`), b: []byte(`{"n":3}`)}, list)
		crus, err := st.ListCRUSSessions(ctx)
		require.NoError(t, err)
		assert.Empty(t, crus, "rollouts are not CRUS sessions")

		require.NoError(t, st.DeleteRollout(ctx, a))
		_, err = st.GetRollout(ctx, a)
		assert.True(t, orchestrator.IsNotFound(err))
		raw, err := st.GetRollout(ctx, b)
		require.NoError(t, err)
		assert.JSONEq(t, `{"n":3}`, string(raw))
	})
}
