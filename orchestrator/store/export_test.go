package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Test access to the session counts' keys, to damage them as an upgrade or a bug would.

func (s *Store) RedisClient() redis.UniversalClient     { return s.rdb }
func (s *Store) CountsKey(session string) string        { return s.countsKey(session) }
func (s *Store) CountsReadyKey() string                 { return s.countsReadyKey() }
func (s *Store) EnsureCounts(ctx context.Context) error { return s.ensureCounts(ctx) }
