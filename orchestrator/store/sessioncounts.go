package store

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// Every session's component counts are kept in a hash, {p}session-counts:{name}, changed
// by HINCRBY in the same MULTI/EXEC as the component writes that change them (the
// difference between the stored record and the new one), so a status poll or a
// completion check reads a few numbers instead of whole index sets. The ids of a
// session's members with an error are kept in the set {p}index:session-error:{name}.
// {p}session-counts-ready says the counts were built from the records: a store that
// finds it missing (first start after an upgrade, or a repair) rebuilds them.

// Fields of a session's counts hash; a phase's field is fieldPhase + phase.
const (
	fieldMembers       = "members"
	fieldStaged        = "staged"
	fieldStagedMembers = "staged_members"
	fieldEnabled       = "enabled"
	fieldStable        = "stable"
	fieldFailed        = "failed"
	fieldPhase         = "phase:"
)

func (s *Store) countsKey(session string) string       { return s.k("session-counts:", session) }
func (s *Store) sessionErrorIdx(session string) string { return s.k("index:session-error:", session) }
func (s *Store) countsReadyKey() string                { return s.k("session-counts-ready") }

// countDeltas are changes to the session counts: session → field → delta.
type countDeltas map[string]map[string]int64

// add adds sign times c's share of the counts (nothing for a nil c): the counts of a
// session are the sum of its components' shares, as orchestrator.StatsFromComponents
// counts them.
func (d countDeltas) add(c *orchestrator.Component, sign int64) {
	if c == nil {
		return
	}
	inc := func(session, field string) {
		if d[session] == nil {
			d[session] = map[string]int64{}
		}
		d[session][field] += sign
	}
	if c.StagedState.Session != "" {
		inc(c.StagedState.Session, fieldStaged)
	}
	if c.Session == "" {
		return
	}
	inc(c.Session, fieldMembers)
	if c.StagedState.Session == c.Session {
		inc(c.Session, fieldStagedMembers)
	}
	status := orchestrator.ComputeStatus(c)
	switch status {
	case orchestrator.StatusStable:
		inc(c.Session, fieldStable)
	case orchestrator.StatusFailed:
		inc(c.Session, fieldFailed)
	}
	if c.Enabled {
		inc(c.Session, fieldEnabled)
		if status != orchestrator.StatusOnHold {
			inc(c.Session, fieldPhase+c.Status.Phase)
		}
	}
}

// queueCounts adds the non-zero deltas to p, in a fixed order.
func (s *Store) queueCounts(ctx context.Context, p redis.Pipeliner, d countDeltas) {
	for _, session := range slices.Sorted(maps.Keys(d)) {
		fields := d[session]
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			if n := fields[f]; n != 0 {
				p.HIncrBy(ctx, s.countsKey(session), f, n)
			}
		}
	}
}

// countedStats reads a session's stats from its counts hash (one round trip) and the
// records of its members with an error. ok is false when the counts are not built.
func (s *Store) countedStats(ctx context.Context, session string) (st orchestrator.SessionStats, ok bool, err error) {
	st = orchestrator.SessionStats{Phases: map[string]int{}, Errors: map[string][]string{}}
	var ready *redis.IntCmd
	var counts *redis.MapStringStringCmd
	var errored *redis.StringSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ready = p.Exists(ctx, s.countsReadyKey())
		counts = p.HGetAll(ctx, s.countsKey(session))
		errored = p.SMembers(ctx, s.sessionErrorIdx(session))
		return nil
	})
	if err != nil {
		return st, false, s.fail("session stats", err)
	}
	if ready.Val() == 0 {
		return st, false, nil
	}
	for f, v := range counts.Val() {
		n, err := strconv.Atoi(v)
		if err != nil {
			return st, false, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored session count is not a number", Err: err}
		}
		switch f {
		case fieldMembers:
			st.Members = n
		case fieldStaged:
			st.Staged = n
		case fieldStagedMembers:
			st.StagedMembers = n
		case fieldEnabled:
			st.Enabled = n
		case fieldStable:
			st.Stable = n
		case fieldFailed:
			st.Failed = n
		default:
			if ph, isPhase := strings.CutPrefix(f, fieldPhase); isPhase && n != 0 {
				st.Phases[ph] = n
			}
		}
	}
	ids := errored.Val()
	slices.Sort(ids)
	comps, err := s.GetComponents(ctx, ids)
	if err != nil {
		return st, false, err
	}
	for _, c := range comps {
		if c.Error != "" && c.Session == session {
			st.Errors[c.Error] = append(st.Errors[c.Error], c.ID)
		}
	}
	return st, true, nil
}

// RebuildSessionCounts recomputes every session's counts and error set from the
// component records and replaces the stored ones, in one transaction that fails (and is
// retried) if any component is written meanwhile. Open runs it when the counts were
// never built; it repairs them on demand. It reads every record: O(components).
func (s *Store) RebuildSessionCounts(ctx context.Context) error {
	return s.cas(ctx, "rebuild session counts", []string{s.allKey()}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		ids, err := tx.ZRange(ctx, s.allKey(), 0, -1).Result()
		if err != nil {
			return nil, err
		}
		deltas := countDeltas{}
		errored := map[string][]string{}
		for i := 0; i < len(ids); i += readChunk {
			keys := s.compKeys(ids[i:min(i+readChunk, len(ids))])
			if err := tx.Watch(ctx, keys...).Err(); err != nil {
				return nil, err
			}
			vals, err := tx.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, err
			}
			for _, v := range vals {
				str, ok := v.(string)
				if !ok {
					continue
				}
				c, err := decodeComponent([]byte(str))
				if err != nil {
					return nil, err
				}
				deltas.add(&c, 1)
				if c.Session != "" && c.Error != "" {
					errored[c.Session] = append(errored[c.Session], c.ID)
				}
			}
		}
		stale, err := s.scanKeys(ctx, tx, s.countsKey(""), s.sessionErrorIdx(""))
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) {
			if len(stale) > 0 {
				p.Del(ctx, stale...)
			}
			s.queueCounts(ctx, p, deltas)
			for session, ids := range errored {
				p.SAdd(ctx, s.sessionErrorIdx(session), toAny(ids)...)
			}
			p.Set(ctx, s.countsReadyKey(), "1", 0)
		}, nil
	})
}

// ensureCounts builds the session counts if they were never built.
func (s *Store) ensureCounts(ctx context.Context) error {
	n, err := s.rdb.Exists(ctx, s.countsReadyKey()).Result()
	if err != nil {
		return s.fail("check session counts", err)
	}
	if n == 1 {
		return nil
	}
	return s.RebuildSessionCounts(ctx)
}

// scanKeys lists the keys that start with any of prefixes.
func (s *Store) scanKeys(ctx context.Context, c redis.Cmdable, prefixes ...string) ([]string, error) {
	var out []string
	for _, prefix := range prefixes {
		pat := escapeGlob(prefix) + "*"
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pat, 1000).Result()
			if err != nil {
				return nil, err
			}
			out = append(out, keys...)
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(out))), nil
}

func toAny(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
