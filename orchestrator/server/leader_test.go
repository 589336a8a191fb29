package server

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/ownership"
	"github.com/cray-bos/bos/orchestrator/store"
)

// What the leader runs (the v1 agent, CRUS, the rollouts) goes on while its lease on
// shard 0 is renewed and ends the moment the lease does by the replica's own clock,
// not at the next check a second later: by then another replica may lead.
func TestLeaderTasksEndWithTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := store.Open(t.Context(), store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer s.Close()
		const ttl = 3 * time.Second
		o := ownership.New(ownership.Config{Store: s, ID: "r1", Shards: 4, TTL: ttl})
		require.NoError(t, o.Step(t.Context()))
		require.False(t, o.LeaderUntil().IsZero(), "one replica leads")

		ctx, stop := context.WithCancel(t.Context())
		ended := make(chan time.Time, 1)
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			whileLeader(ctx, o, time.Second, func(lead context.Context) { <-lead.Done(); ended <- time.Now() })
		}()
		for range 6 { // renewed every TTL/3, as Owner.Run does: two TTLs
			time.Sleep(ttl / 3)
			require.NoError(t, o.Step(ctx))
		}
		synctest.Wait()
		require.Empty(t, ended, "the lead ended while its lease was renewed")

		until := o.LeaderUntil() // no renewal from here: a pause, Redis out of reach
		require.NotZero(t, until.Nanosecond(), "the lease ends between two checks, a second apart")
		assert.Equal(t, until, <-ended, "the lead ends with the lease")
		stop()
		<-returned
	})
}
