package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// A component write of a few records (txRecords) is a compare-and-set in one round trip
// when the writer already knows the bytes it expects (ReadBefore, the record cache, a
// lease's holder as last seen). One pipeline on one connection carries
//
//	WATCH the guarded keys and an abort key of this attempt
//	EVAL checkScript: compare each guarded key with the bytes expected (or expected
//	     missing); if any differs, touch the abort key and return the current values
//	MULTI, the writes, EXEC
//
// A mismatch touches a watched key, so the EXEC writes nothing and the writer decides
// again on the values the script returned, without reading them; a write by anyone
// after the WATCH fails the EXEC as before. The writes themselves are ordinary commands
// in MULTI/EXEC: running them inside the script cost Redis about 1.7 times the CPU of
// the WATCH/MGET/MULTI cycle, and the comparison sends the bytes expected rather than
// hashing the current ones in Lua (redis.sha1hex) for the same reason. The
// check is sent with EVAL, not EVALSHA: a script missing from the server's cache
// (NOSCRIPT) would leave the MULTI/EXEC after it unchecked; Redis caches the compiled
// script by its digest either way.
//
// KEYS: the guarded keys, then the abort key (absent when there are no writes).
// ARGV: per guarded key "1" and the bytes expected, or "0" and "" for a missing key.
// Reply: the guards that do not hold, flat: each its KEYS index followed by the current
// value, or its negated index for a missing key. Empty when all hold.
const checkScript = `
local bad = {}
local n = #ARGV / 2
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if ARGV[2 * i - 1] == '1' then
    if v ~= ARGV[2 * i] then
      if v then
        bad[#bad + 1] = i
        bad[#bad + 1] = v
      else
        bad[#bad + 1] = -i
      end
    end
  elseif v then
    bad[#bad + 1] = i
    bad[#bad + 1] = v
  end
end
if #bad > 0 and #KEYS > n then
  redis.call('SET', KEYS[n + 1], '1')
  redis.call('DEL', KEYS[n + 1])
end
return bad
`

// cmdSink receives a write's commands, each on one key.
type cmdSink interface {
	add(name, key string, args ...any)
	// incr adds n to field of the hash key (the session counts).
	incr(key, field string, n int64)
}

// pipeSink queues commands in a pipeline.
type pipeSink struct {
	ctx context.Context
	p   redis.Pipeliner
}

func (w pipeSink) add(name, key string, args ...any) {
	w.p.Do(w.ctx, append([]any{name, key}, args...)...)
}

func (w pipeSink) incr(key, field string, n int64) { w.add("HINCRBY", key, field, n) }

// keyVal is a key's value as a write knows it: s (when exists), and whether the write
// read it from Redis (fresh) or took it from what it was given or remembered (a guess,
// checked by checkScript).
type keyVal struct {
	s      string
	exists bool
	fresh  bool
}

// abortSeq numbers the abort keys of this process's write attempts.
var abortSeq atomic.Uint64

// txGroup is one transaction of a write: writes (nil for none) to make if every key of
// guards still holds what kvs says. After checkAndWrite, bad holds the guards that did
// not (index in guards → current value, fresh) and committed whether the writes were
// made: false with no mismatch means another writer changed a guarded key between the
// check and the EXEC.
type txGroup struct {
	guards    []string
	kvs       []keyVal
	writes    func(cmdSink)
	bad       map[int]keyVal
	committed bool
	check     *redis.Cmd
	exec      *redis.Cmd
	// first and end delimit the group's commands in the pipeline that sent it.
	first, end int
}

// checkAndWrite runs the groups' transactions, independent of each other, in one round
// trip on one connection, shared with other writers' transactions waiting at the moment
// (groupcommit.go): on a single Redis, and on a Redis Cluster on the master of the hash
// tag's slot, where every key of the store lives. When that slot has moved (a failover,
// a resharding) since the Cluster client last looked, nothing of the groups ran there,
// and they go through the Cluster client, which follows the slot and WATCHes on its own:
// two round trips a group.
func (s *Store) checkAndWrite(ctx context.Context, groups []*txGroup) error {
	if rdb := s.server(ctx); rdb != nil {
		err := s.commits.commit(ctx, s, rdb, groups)
		if rdb == s.rdb || !movedAway(err) || slices.ContainsFunc(groups, func(g *txGroup) bool { return g.committed }) {
			return err
		}
		for _, g := range groups {
			*g = txGroup{guards: g.guards, kvs: g.kvs, writes: g.writes}
		}
	}
	var err error
	for _, g := range groups {
		keys := s.keysOf(g)
		if g.writes == nil {
			_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { s.queueGroup(ctx, p, g, keys, false); return nil })
		} else {
			err = s.rdb.Watch(ctx, func(tx *redis.Tx) error {
				_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error { s.queueGroup(ctx, p, g, keys, false); return nil })
				return err
			}, keys...)
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			break
		}
	}
	return settleGroups(groups, err)
}

// server is the one Redis server that holds every key of the store: the single Redis,
// or a Cluster's master of the hash tag's slot as its client knows it now (nil when it
// cannot say: the Cluster path then WATCHes through the Cluster client).
func (s *Store) server(ctx context.Context) *redis.Client {
	switch c := s.rdb.(type) {
	case *redis.Client:
		return c
	case *redis.ClusterClient:
		if m, err := c.MasterForKey(ctx, s.prefix); err == nil {
			return m
		}
	}
	return nil
}

// movedAway reports whether err is a Cluster's answer that the slot is served elsewhere
// now or not at all (MOVED, ASK, READONLY from a master turned replica, TRYAGAIN,
// CLUSTERDOWN): the command did not run.
func movedAway(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	for _, p := range []string{"MOVED ", "ASK ", "READONLY ", "TRYAGAIN ", "CLUSTERDOWN "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// sendGroups sends the groups' transactions in one pipeline on one connection of rdb
// and returns the pipeline's commands, each group's from g.first to g.end, every one
// with its reply or error: a failure before any was sent (no connection) is set on all.
func (s *Store) sendGroups(ctx context.Context, rdb *redis.Client, groups []*txGroup) []redis.Cmder {
	conn := s.conn(rdb)
	defer conn.Close()
	cmds, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, g := range groups {
			g.first = p.Len()
			s.queueGroup(ctx, p, g, s.keysOf(g), true)
			g.end = p.Len()
		}
		return nil
	})
	if err != nil && !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Err() != nil }) {
		for _, c := range cmds {
			c.SetErr(err)
		}
	}
	return cmds
}

// groupsErr is what the groups' own commands among cmds say went wrong, the first
// error of theirs: what the pipeline would have returned had they been sent alone.
func groupsErr(cmds []redis.Cmder, groups []*txGroup) error {
	for _, g := range groups {
		for _, c := range cmds[g.first:g.end] {
			if err := c.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// keysOf is the keys a group's check script is given: its guards, then (when it writes)
// an abort key of its own.
func (s *Store) keysOf(g *txGroup) []string {
	if g.writes == nil {
		return g.guards
	}
	return append(g.guards[:len(g.guards):len(g.guards)], s.k("write-abort:", s.abortID, ":", strconv.FormatUint(abortSeq.Add(1), 10)))
}

// queueGroup queues one group's transaction: (WATCH, when watch) EVAL of the check,
// MULTI, the writes, EXEC; or the check alone when the group writes nothing (atomic by
// itself).
func (s *Store) queueGroup(ctx context.Context, p redis.Pipeliner, g *txGroup, keys []string, watch bool) {
	argv := make([]any, 0, 2*len(g.guards))
	for _, kv := range g.kvs {
		if kv.exists {
			argv = append(argv, "1", kv.s)
		} else {
			argv = append(argv, "0", "")
		}
	}
	if g.writes == nil {
		g.check = p.Eval(ctx, checkScript, keys, argv...)
		return
	}
	if watch {
		args := make([]any, 0, 1+len(keys))
		args = append(args, "WATCH")
		for _, k := range keys {
			args = append(args, k)
		}
		p.Do(ctx, args...)
	}
	g.check = p.Eval(ctx, checkScript, keys, argv...)
	p.Do(ctx, "MULTI")
	g.writes(pipeSink{ctx, p})
	g.exec = p.Do(ctx, "EXEC")
}

// settleGroups reads the replies of groups sent together: bad and committed of each,
// or the first error, sendErr (the pipeline's) when no group's own reply says more.
func settleGroups(groups []*txGroup, sendErr error) error {
	for _, g := range groups {
		if g.check == nil || g.check.Err() != nil {
			if g.check != nil && !errors.Is(g.check.Err(), redis.Nil) {
				return g.check.Err()
			}
			if sendErr == nil || errors.Is(sendErr, redis.Nil) {
				sendErr = errors.New("write check: not sent")
			}
			return sendErr
		}
		bad, perr := parseCheck(g.check.Val(), len(g.guards))
		if perr != nil {
			return perr
		}
		g.bad = bad
		switch {
		case g.exec == nil:
			g.committed = len(bad) == 0
		case errors.Is(g.exec.Err(), redis.Nil): // EXEC failed: a mismatch, or a write after the WATCH
		case g.exec.Err() != nil:
			return g.exec.Err()
		case len(bad) > 0:
			return fmt.Errorf("write check: a mismatch, yet EXEC ran")
		default:
			g.committed = true
		}
	}
	if sendErr != nil && !errors.Is(sendErr, redis.Nil) {
		return sendErr
	}
	return nil
}

// parseCheck reads checkScript's reply.
func parseCheck(res any, n int) (map[int]keyVal, error) {
	list, ok := res.([]any)
	if !ok {
		return nil, fmt.Errorf("write check: unexpected reply %v", res)
	}
	var out map[int]keyVal
	for j := 0; j < len(list); j++ {
		i, ok := list[j].(int64)
		if !ok || i == 0 || int(max(i, -i)) > n {
			return nil, fmt.Errorf("write check: unexpected reply %v", res)
		}
		kv := keyVal{fresh: true}
		if i > 0 {
			if j++; j == len(list) {
				return nil, fmt.Errorf("write check: unexpected reply %v", res)
			}
			kv.s, kv.exists = list[j].(string)
		} else {
			i = -i
		}
		if out == nil {
			out = map[int]keyVal{}
		}
		out[int(i)-1] = kv
	}
	return out, nil
}
