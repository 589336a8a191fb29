package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// An owner's event secret outlives the process that made it: a second store on the same
// Redis (a restarted BOS) gets the same one; another owner gets its own.
func TestEventSecretIsKeptPerOwner(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			stores := storetest.OpenShared(t, backend, 2, store.Config{})
			first, restarted := stores[0], stores[1]

			alone, err := first.EventSecret(ctx, "")
			require.NoError(t, err)
			assert.Len(t, alone, 26, "crypto/rand's Text: 130 bits")
			again, err := restarted.EventSecret(ctx, "")
			require.NoError(t, err)
			assert.Equal(t, alone, again, "a restart has the secret of the subscriptions it left")

			replica, err := restarted.EventSecret(ctx, "bos-r2")
			require.NoError(t, err)
			assert.NotEqual(t, alone, replica, "each owner its own")
			replicaAgain, err := first.EventSecret(ctx, "bos-r2")
			require.NoError(t, err)
			assert.Equal(t, replica, replicaAgain)
		})
	}
}

// A secret no start has asked for in EventSecretTTL is gone: the next start makes a new
// one (and replaces the subscriptions); each start keeps it for EventSecretTTL more.
func TestEventSecretOfAGoneReplicaExpires(t *testing.T) {
	ctx := context.Background()
	m, a, b := openMini(t)
	first, err := a.EventSecret(ctx, "bos-pod-1")
	require.NoError(t, err)
	m.FastForward(store.EventSecretTTL - time.Hour)
	again, err := b.EventSecret(ctx, "bos-pod-1")
	require.NoError(t, err)
	require.Equal(t, first, again, "within its TTL")
	m.FastForward(store.EventSecretTTL - time.Hour)
	again, err = b.EventSecret(ctx, "bos-pod-1")
	require.NoError(t, err)
	assert.Equal(t, first, again, "the start before renewed it")
	m.FastForward(store.EventSecretTTL + time.Hour)
	assert.False(t, m.Exists("p:event-secret:bos-pod-1"), "gone with its replica")
	fresh, err := a.EventSecret(ctx, "bos-pod-1")
	require.NoError(t, err)
	assert.NotEqual(t, first, fresh)
}
