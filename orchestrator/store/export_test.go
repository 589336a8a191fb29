package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// Test access to the session counts' keys, to damage them as an upgrade or a bug would.

func (s *Store) RedisClient() redis.UniversalClient     { return s.rdb }
func (s *Store) CountsKey(session string) string        { return s.countsKey(session) }
func (s *Store) SessionsKey(tenant string) string       { return s.sessionsKey(tenant) }
func (s *Store) CountsReadyKey() string                 { return s.countsReadyKey() }
func (s *Store) EnsureCounts(ctx context.Context) error { return s.ensureCounts(ctx) }

// ComponentHistoryRaw returns the elements of id's history list, oldest first, as
// stored (for measuring what the history costs).
func (s *Store) ComponentHistoryRaw(ctx context.Context, id string) ([]string, error) {
	return s.rdb.LRange(ctx, s.historyKey(id), 0, -1).Result()
}

// PushRawHistory appends raw to id's history list as it is (an element another version
// stored, or a damaged one).
func (s *Store) PushRawHistory(ctx context.Context, id, raw string) error {
	return s.rdb.RPush(ctx, s.historyKey(id), raw).Err()
}

// HistoryMemoryUsage sums Redis's MEMORY USAGE of the history lists of ids (a real Redis
// only: miniredis has no MEMORY command); ids without a history count 0.
func (s *Store) HistoryMemoryUsage(ctx context.Context, ids []string) (int, error) {
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.MemoryUsage(ctx, s.historyKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) { // Nil: a node without history
		return 0, err
	}
	total := 0
	for _, c := range cmds {
		total += int(c.(*redis.IntCmd).Val())
	}
	return total, nil
}

// DecodeComponent is the store's decoder of a stored component.
func DecodeComponent(raw []byte) (orchestrator.Component, error) { return decodeComponent(raw) }

// QueuedWrites is how many component writes wait for the next batch (groupcommit.go).
func (s *Store) QueuedWrites() int {
	s.commits.mu.Lock()
	defer s.commits.mu.Unlock()
	return len(s.commits.queue)
}

// PlantDecoding makes the record cache hold c as the decoding of id's stored bytes (as
// if this process had decoded them so), to tell whether a read or a write decodes them.
// c's strings must be in the stored bytes (the cache keeps their places there).
func (s *Store) PlantDecoding(ctx context.Context, id string, c orchestrator.Component) error {
	raw, err := s.rdb.Get(ctx, s.compKey(id)).Result()
	if err != nil {
		return err
	}
	s.records.drop(id)
	s.records.put(id, raw, &c)
	if _, ok := s.records.decoded(id, raw); !ok {
		return fmt.Errorf("the stored bytes of %s do not hold the planted strings", id)
	}
	return nil
}

// CachedDecoding is the record cache's decoding of id's bytes, if it has one.
func (s *Store) CachedDecoding(id string) (orchestrator.Component, bool) {
	raw, ok := s.records.get(id)
	if !ok {
		return orchestrator.Component{}, false
	}
	return s.records.decoded(id, raw)
}
