package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leases let BOS replicas on one Redis divide work: a lease is a key holding its
// holder's id with a TTL (SET NX PX), renewed by the holder and taken by another replica
// only once it has expired. Replicas announce themselves in a sorted set scored by the
// time (Unix ms) until which they count as alive.

// renewScript extends a lease held by ARGV[1] to ARGV[2] ms; 1 if it was held.
const renewScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`

// releaseScript deletes a lease held by ARGV[1]; 1 if it was held.
const releaseScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`

func (s *Store) leaseKey(name string) string { return s.k("lease:", name) }
func (s *Store) replicasKey() string         { return s.k("replicas") }

// AcquireLease takes the lease name for holder for ttl if nobody holds it, or renews it
// if holder does. It reports whether holder holds it now.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.leaseKey(name), holder, ttl).Result()
	if err != nil {
		return false, s.fail("acquire lease", err)
	}
	if ok {
		return true, nil
	}
	kept, err := s.RenewLeases(ctx, []string{name}, holder, ttl)
	return err == nil && kept[0], err
}

// RenewLeases extends each lease in names that holder holds to ttl from now, in one
// round trip, and reports which ones it still held.
func (s *Store) RenewLeases(ctx context.Context, names []string, holder string, ttl time.Duration) ([]bool, error) {
	return s.leaseScript(ctx, "renew leases", renewScript, names, holder, strconv.FormatInt(ttl.Milliseconds(), 10))
}

// ReleaseLeases gives up each lease in names that holder holds, so another replica can
// take it at once, and reports which ones it held.
func (s *Store) ReleaseLeases(ctx context.Context, names []string, holder string) ([]bool, error) {
	return s.leaseScript(ctx, "release leases", releaseScript, names, holder)
}

// leaseScript runs script on each lease in names, pipelined (EVAL: the scripts are
// short, and a Cluster's nodes need no script cache).
func (s *Store) leaseScript(ctx context.Context, step string, script string, names []string, args ...any) ([]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range names {
			p.Eval(ctx, script, []string{s.leaseKey(n)}, args...)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(step, err)
	}
	out := make([]bool, len(names))
	for i, c := range cmds {
		n, _ := c.(*redis.Cmd).Int64()
		out[i] = n == 1
	}
	return out, nil
}

// LeaseHolders returns the holder of each lease in names ("" for a free one).
func (s *Store) LeaseHolders(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = s.leaseKey(n)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.fail("read leases", err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i], _ = v.(string)
	}
	return out, nil
}

// Heartbeat records replica id as alive until until, forgets replicas whose time ran out
// before now, and returns the live ones in id order.
func (s *Store) Heartbeat(ctx context.Context, id string, now, until time.Time) ([]string, error) {
	cmds, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, s.replicasKey(), redis.Z{Score: float64(until.UnixMilli()), Member: id})
		p.ZRemRangeByScore(ctx, s.replicasKey(), "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
		p.ZRange(ctx, s.replicasKey(), 0, -1)
		return nil
	})
	if err != nil {
		return nil, s.fail("heartbeat", err)
	}
	live, err := cmds[2].(*redis.StringSliceCmd).Result()
	slices.Sort(live)
	return live, s.fail("heartbeat", err)
}

// Leave removes replica id from the live replicas (a clean stop).
func (s *Store) Leave(ctx context.Context, id string) error {
	return s.fail("leave", s.rdb.ZRem(ctx, s.replicasKey(), id).Err())
}

// Fence makes a component write conditional on leases (FencedBy): a component is written
// only if Holder holds the lease Lease(id) in the write's own transaction, so a replica
// whose lease expired (and may be held by another replica now) writes nothing there.
type Fence struct {
	Holder string
	Lease  func(id string) string
}

// FencedBy makes a component write skip every component whose lease f.Holder does not
// hold when the write commits. The leases are checked with the components in the write's
// transaction: a lease taken or given up meanwhile retries the write. mutate is called
// only on components whose lease the write found held by f.Holder, read or as this
// process's last fenced write saw it (checked at the commit).
func FencedBy(f Fence) WriteOption { return func(o *writeOptions) { o.fence = &f } }

// errFenceHolder is returned by a fenced write whose fence has no holder.
var errFenceHolder = errors.New("fenced write without a holder")

// fenceKeys returns the lease keys guarding ids (in a map by id) under wo's fence, nil
// without one.
func (s *Store) fenceKeys(wo writeOptions, ids []string) (byID map[string]string, keys []string) {
	if wo.fence == nil {
		return nil, nil
	}
	byID = make(map[string]string, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		k := s.leaseKey(wo.fence.Lease(id))
		byID[id] = k
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return byID, keys
}

// heldLeases says which of the lease keys holder holds, given their values (read in the
// write's transaction; nil for a lease nobody holds).
func heldLeases(keys []string, vals []any, holder string) map[string]bool {
	held := make(map[string]bool, len(keys))
	for i, v := range vals {
		held[keys[i]] = v == holder
	}
	return held
}
