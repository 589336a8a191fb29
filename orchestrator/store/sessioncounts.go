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
// completion check reads a few numbers instead of whole index sets. A session's members
// with an error are kept the same way in the hash {p}session-errors:{name} (id → error).
// {p}session-counts-ready says the counts were built from the records: Open builds them
// when it is missing (the first start after an upgrade); until then SessionStats answers
// from the index sets.

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

func (s *Store) countsKey(session string) string        { return s.k("session-counts:", session) }
func (s *Store) sessionErrorsKey(session string) string { return s.k("session-errors:", session) }
func (s *Store) countsReadyKey() string                 { return s.k("session-counts-ready") }

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

// queueSessionError adds to w the change of the session errors of replacing old (nil:
// none) by cur (nil: a delete).
func (s *Store) queueSessionError(w cmdSink, old, cur *orchestrator.Component) {
	oldSess, oldErr := sessionError(old)
	newSess, newErr := sessionError(cur)
	switch {
	case oldSess == newSess && oldErr == newErr:
	case newErr != "":
		if oldErr != "" && oldSess != newSess {
			w.add("HDEL", s.sessionErrorsKey(oldSess), old.ID)
		}
		w.add("HSET", s.sessionErrorsKey(newSess), cur.ID, newErr)
	default:
		w.add("HDEL", s.sessionErrorsKey(oldSess), old.ID)
	}
}

// sessionError is c's session and error when it counts in its session's errors.
func sessionError(c *orchestrator.Component) (session, err string) {
	if c == nil || c.Session == "" || c.Error == "" {
		return "", ""
	}
	return c.Session, c.Error
}

// queueCounts adds the non-zero deltas to w, in a fixed order.
func (s *Store) queueCounts(w cmdSink, d countDeltas) {
	for _, session := range slices.Sorted(maps.Keys(d)) {
		fields := d[session]
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			if n := fields[f]; n != 0 {
				w.incr(s.countsKey(session), f, n)
			}
		}
	}
}

// SessionDone reports BOS's completion rule (orchestrator.SessionStats.Done) for a
// session: from its counts in one round trip when within is nil, else from SessionStats.
func (s *Store) SessionDone(ctx context.Context, session string, within func(id string) bool) (bool, error) {
	if within == nil {
		var ready *redis.IntCmd
		var counts *redis.SliceCmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			ready = p.Exists(ctx, s.countsReadyKey())
			counts = p.HMGet(ctx, s.countsKey(session), fieldEnabled, fieldStaged)
			return nil
		})
		if err != nil {
			return false, s.fail("session done", err)
		}
		if ready.Val() == 1 {
			for _, v := range counts.Val() {
				if n, ok := v.(string); ok && n != "0" {
					return false, nil
				}
			}
			return true, nil
		}
	}
	st, err := s.SessionStats(ctx, session, within)
	return st.Done(), err
}

// countedStats reads a session's stats from its counts and errors hashes: one round trip.
// ok is false when the counts are not built.
func (s *Store) countedStats(ctx context.Context, session string) (st orchestrator.SessionStats, ok bool, err error) {
	st = orchestrator.SessionStats{Phases: map[string]int{}, Errors: map[string][]string{}}
	var ready *redis.IntCmd
	var counts *redis.MapStringStringCmd
	var errored *redis.MapStringStringCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ready = p.Exists(ctx, s.countsReadyKey())
		counts = p.HGetAll(ctx, s.countsKey(session))
		errored = p.HGetAll(ctx, s.sessionErrorsKey(session))
		return nil
	})
	if err != nil {
		return st, false, s.fail("session stats", err)
	}
	if ready.Val() == 0 {
		return st, false, nil
	}
	totals := map[string]*int{fieldMembers: &st.Members, fieldStaged: &st.Staged, fieldStagedMembers: &st.StagedMembers,
		fieldEnabled: &st.Enabled, fieldStable: &st.Stable, fieldFailed: &st.Failed}
	for f, v := range counts.Val() {
		n, err := strconv.Atoi(v)
		if err != nil {
			return st, false, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored session count is not a number", Err: err}
		}
		if total, ok := totals[f]; ok {
			*total = n
		} else if ph, isPhase := strings.CutPrefix(f, fieldPhase); isPhase && n != 0 {
			st.Phases[ph] = n
		}
	}
	for id, text := range errored.Val() {
		st.Errors[text] = append(st.Errors[text], id)
	}
	for _, ids := range st.Errors {
		slices.Sort(ids)
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
		errored := map[string]map[string]string{} // session → id → error
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
				if sess, text := sessionError(&c); text != "" {
					if errored[sess] == nil {
						errored[sess] = map[string]string{}
					}
					errored[sess][c.ID] = text
				}
			}
		}
		stale, err := s.scanKeys(ctx, tx, s.countsKey(""), s.sessionErrorsKey(""))
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) {
			if len(stale) > 0 {
				p.Del(ctx, stale...)
			}
			s.queueCounts(pipeSink{ctx, p}, deltas)
			for session, byID := range errored {
				p.HSet(ctx, s.sessionErrorsKey(session), byID)
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
