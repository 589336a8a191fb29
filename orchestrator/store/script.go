package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// A component write is a compare-and-set in one round trip when the writer already knows
// the bytes it expects (ReadBefore, the record cache, a lease's holder as last seen): the
// write script checks each guarded key's current value against the SHA-1 of the expected
// bytes ("" for a key expected missing) and runs the writes of each record whose guards
// (its record, its lease) hold; a record whose guards do not hold gets nothing written,
// and the script returns the current values of the keys that differ, so the writer
// decides again on them without reading them. A script runs atomically, like
// MULTI/EXEC, and every key it touches is declared in KEYS (one hash slot on a Redis
// Cluster). A record's writes are all made or none.
//
// KEYS: the guarded keys first, then every other key written.
// ARGV: the number of guards g, the g expected digests, then one group per record: its
// number of guards, their KEYS indexes, its number of commands and the commands, each as
// name, KEYS index of its key, number of further arguments, those arguments. The
// command "+" (field, n) adds n to the field of a hash: the sums of the groups written
// are applied once per field at the end (HINCRBY), as the session counts want.
// Reply: the guards that do not hold, flat: each its KEYS index followed by the current
// value, or its negated index for a missing key. Empty when every group was written.
var writeScript = redis.NewScript(`
local g = tonumber(ARGV[1])
local held, bad = {}, {}
for i = 1, g do
  local v = redis.call('GET', KEYS[i])
  local want = ARGV[1 + i]
  if v then
    if want ~= '' and redis.sha1hex(v) == want then
      held[i] = true
    else
      bad[#bad + 1] = i
      bad[#bad + 1] = v
    end
  elseif want == '' then
    held[i] = true
  else
    bad[#bad + 1] = -i
  end
end
local sums, order = {}, {}
local i, n = g + 2, #ARGV
while i <= n do
  local ng = tonumber(ARGV[i])
  local pass = true
  for j = i + 1, i + ng do
    if not held[tonumber(ARGV[j])] then
      pass = false
    end
  end
  i = i + 1 + ng
  local nc = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, nc do
    local argc = tonumber(ARGV[i + 2])
    if pass then
      local key = KEYS[tonumber(ARGV[i + 1])]
      if ARGV[i] == '+' then
        local s = sums[key]
        if not s then
          s = {fields = {}, n = {}}
          sums[key] = s
          order[#order + 1] = key
        end
        local f = ARGV[i + 3]
        if not s.n[f] then
          s.fields[#s.fields + 1] = f
          s.n[f] = 0
        end
        s.n[f] = s.n[f] + tonumber(ARGV[i + 4])
      else
        redis.call(ARGV[i], key, unpack(ARGV, i + 3, i + 2 + argc))
      end
    end
    i = i + 3 + argc
  end
end
for _, key in ipairs(order) do
  local s = sums[key]
  for _, f in ipairs(s.fields) do
    if s.n[f] ~= 0 then
      redis.call('HINCRBY', key, f, s.n[f])
    end
  end
end
return bad
`)

// cmdSink receives a write's commands, each on one key: a MULTI/EXEC pipeline (pipeSink)
// or the write script's arguments (scriptArgs).
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

func (w pipeSink) incr(key, field string, n int64) { w.p.HIncrBy(w.ctx, key, field, n) }

// scriptArgs builds the KEYS and ARGV of writeScript.
type scriptArgs struct {
	keys   []string
	idx    map[string]int // KEYS index (1-based) by key
	guards int
	argv   []any
	nc     int // ARGV position of the current group's number of commands
	groups int
}

func newScriptArgs(n int) *scriptArgs {
	return &scriptArgs{idx: make(map[string]int, 4*n), argv: make([]any, 1, 32*n)}
}

// guard adds key as a guard expecting kv and returns its KEYS index. Guards come first.
func (a *scriptArgs) guard(key string, kv keyVal) int {
	if i, ok := a.idx[key]; ok {
		return i
	}
	a.keys = append(a.keys, key)
	a.guards++
	a.idx[key] = a.guards
	d := ""
	if kv.exists {
		d = sha1Hex(kv.s)
	}
	a.argv = append(a.argv, d)
	return a.guards
}

// writesStart ends the guards: the groups follow.
func (a *scriptArgs) writesStart() { a.argv[0] = a.guards }

// group starts a record's group, written only if the guards (KEYS indexes) hold.
func (a *scriptArgs) group(guards ...int) {
	a.argv = append(a.argv, len(guards))
	for _, g := range guards {
		a.argv = append(a.argv, g)
	}
	a.nc = len(a.argv)
	a.argv = append(a.argv, 0)
	a.groups++
}

func (a *scriptArgs) key(key string) int {
	i, ok := a.idx[key]
	if !ok {
		a.keys = append(a.keys, key)
		i = len(a.keys)
		a.idx[key] = i
	}
	return i
}

func (a *scriptArgs) add(name, key string, args ...any) {
	a.argv[a.nc] = a.argv[a.nc].(int) + 1
	a.argv = append(a.argv, name, a.key(key), len(args))
	a.argv = append(a.argv, args...)
}

func (a *scriptArgs) incr(key, field string, n int64) {
	a.argv[a.nc] = a.argv[a.nc].(int) + 1
	a.argv = append(a.argv, "+", a.key(key), 2, field, n)
}

// run sends the script and returns the guards that do not hold, by KEYS index (1-based),
// with the current values.
func (a *scriptArgs) run(ctx context.Context, rdb redis.Scripter) (map[int]keyVal, error) {
	res, err := writeScript.Run(ctx, rdb, a.keys, a.argv...).Result()
	if err != nil {
		return nil, err
	}
	bad, ok := res.([]any)
	if !ok {
		return nil, fmt.Errorf("write script: unexpected reply %v", res)
	}
	out := map[int]keyVal{}
	for j := 0; j < len(bad); j++ {
		i, ok := bad[j].(int64)
		if !ok || i == 0 || int(max(i, -i)) > a.guards {
			return nil, fmt.Errorf("write script: unexpected reply %v", res)
		}
		kv := keyVal{fresh: true}
		if i > 0 {
			if j++; j == len(bad) {
				return nil, fmt.Errorf("write script: unexpected reply %v", res)
			}
			kv.s, kv.exists = bad[j].(string)
		} else {
			i = -i
		}
		out[int(i)] = kv
	}
	return out, nil
}

// sha1Hex is the SHA-1 of s in lower-case hex, as Redis's redis.sha1hex gives it.
func sha1Hex(s string) string {
	sum := sha1.Sum(unsafe.Slice(unsafe.StringData(s), len(s))) // read only
	return hex.EncodeToString(sum[:])
}

// keyVal is a key's value as a write knows it: s (when exists), and whether the write
// read it from Redis (fresh) or took it from what it was given or remembered (a guess,
// checked by the write script).
type keyVal struct {
	s      string
	exists bool
	fresh  bool
}
