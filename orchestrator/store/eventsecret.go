package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"time"

	"github.com/redis/go-redis/v9"
)

// EventSecretTTL is how long an event secret outlives the last start that asked for it.
const EventSecretTTL = 30 * 24 * time.Hour

// EventSecret returns the secret the BMC event subscriptions of owner ("" for BOS alone)
// carry back to BOS (power.RedfishConfig.EventSecret): made at random by the first call
// for owner and stored, so that a BOS restarted on the same Redis (or a replica restarted
// under its id) has the secret of the subscriptions it left on the BMCs: it takes their
// events and keeps them, instead of refusing those events until it has replaced every
// subscription. Deleting the key rotates the secret: the next start replaces every
// subscription. The secret is BOS's own: never logged, never in an API reply.
//
// Each call keeps the key for EventSecretTTL more, so the secrets of replicas that are
// gone for good (a pod name never used again) do not pile up.
func (s *Store) EventSecret(ctx context.Context, owner string) (string, error) {
	key := s.k("event-secret:", cmp.Or(owner, "bos"))
	var get *redis.StringCmd
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, key, rand.Text(), 0)
		p.Expire(ctx, key, EventSecretTTL)
		get = p.Get(ctx, key)
		return nil
	}); err != nil {
		return "", s.fail("event secret", err)
	}
	return get.Val(), nil
}
