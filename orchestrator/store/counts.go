package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// AddHook adds a go-redis hook to the store's client, and so to the connections it
// takes for component writes (metrics time commands with it). Call it before the store
// is in use.
func (s *Store) AddHook(h redis.Hook) {
	s.rdb.AddHook(h)
	s.hooks = append(s.hooks, h)
}

// conn takes one connection from the pool of rdb, with the store's hooks (a single
// Redis's connections inherit its client's; a Cluster master's are given them here);
// Close gives it back.
func (s *Store) conn(rdb *redis.Client) *redis.Conn {
	c := rdb.Conn()
	if rdb != s.rdb {
		for _, h := range s.hooks {
			c.AddHook(h)
		}
	}
	return c
}

// ComponentCounts counts the components in each phase and each computed status: the
// sizes of the index sets, one pipeline of SCARDs, whatever the number of components.
func (s *Store) ComponentCounts(ctx context.Context) (byPhase, byStatus map[string]int, err error) {
	phases := make([]*redis.IntCmd, len(orchestrator.Phases))
	statuses := make([]*redis.IntCmd, len(orchestrator.Statuses))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ph := range orchestrator.Phases {
			phases[i] = p.SCard(ctx, s.phaseIdx(ph))
		}
		for i, st := range orchestrator.Statuses {
			statuses[i] = p.SCard(ctx, s.statusIdx(st))
		}
		return nil
	})
	if err != nil {
		return nil, nil, s.fail("count components", err)
	}
	byPhase, byStatus = make(map[string]int, len(phases)), make(map[string]int, len(statuses))
	for i, ph := range orchestrator.Phases {
		byPhase[ph] = int(phases[i].Val())
	}
	for i, st := range orchestrator.Statuses {
		byStatus[st] = int(statuses[i].Val())
	}
	return byPhase, byStatus, nil
}

// SessionCounts counts the v2 sessions of every tenant by status.status.
func (s *Store) SessionCounts(ctx context.Context) (map[string]int, error) {
	sessions, err := s.ListSessions(ctx, "", true, orchestrator.SessionFilter{}, time.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]int{orchestrator.SessionPending: 0, orchestrator.SessionRunning: 0, orchestrator.SessionComplete: 0}
	for _, sess := range sessions {
		out[sess.Status.Status]++
	}
	return out, nil
}
