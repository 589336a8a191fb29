package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// A component write is one compare-and-set in one round trip when the writer already
// knows the bytes it expects (ReadBefore, the record cache, a lease's holder): the write
// script checks each guarded key's current value against the SHA-1 of the expected bytes
// ("" for a key expected missing) and, when all hold, runs the writes; when any does not
// it writes nothing and returns the current values of the keys that differ, so the writer
// decides again without reading them. A script runs atomically, like MULTI/EXEC, and
// every key it touches is declared in KEYS (one hash slot on a Redis Cluster).
//
// KEYS: the guarded keys first, then every other key written.
// ARGV: the number of guards g, the g expected digests, then the writes, each as
// command, index of its key in KEYS, number of further arguments, those arguments.
// Reply: 0 when the writes ran; else a flat list of the guards that do not hold, each
// its KEYS index followed by the current value, or its negated index for a missing key.
var writeScript = redis.NewScript(`
local g = tonumber(ARGV[1])
local bad = {}
for i = 1, g do
  local v = redis.call('GET', KEYS[i])
  local want = ARGV[1 + i]
  if v then
    if want == '' or redis.sha1hex(v) ~= want then
      bad[#bad + 1] = i
      bad[#bad + 1] = v
    end
  elseif want ~= '' then
    bad[#bad + 1] = -i
  end
end
if #bad > 0 then
  return bad
end
local i, n = g + 2, #ARGV
while i <= n do
  local argc = tonumber(ARGV[i + 2])
  redis.call(ARGV[i], KEYS[tonumber(ARGV[i + 1])], unpack(ARGV, i + 3, i + 2 + argc))
  i = i + 3 + argc
end
return 0
`)

// cmdSink receives a write's commands, each on one key: a MULTI/EXEC pipeline (pipeSink)
// or the write script's arguments (scriptArgs).
type cmdSink interface {
	add(name, key string, args ...any)
}

// pipeSink queues commands in a pipeline.
type pipeSink struct {
	ctx context.Context
	p   redis.Pipeliner
}

func (w pipeSink) add(name, key string, args ...any) {
	w.p.Do(w.ctx, append([]any{name, key}, args...)...)
}

// scriptArgs builds the KEYS and ARGV of writeScript.
type scriptArgs struct {
	keys []string
	idx  map[string]int // KEYS index (1-based) by key
	argv []any
}

// newScriptArgs starts the arguments with the guards: keys and the values expected.
func newScriptArgs(keys []string, vals []keyVal) *scriptArgs {
	a := &scriptArgs{keys: keys[:len(keys):len(keys)], idx: make(map[string]int, 2*len(keys)),
		argv: make([]any, 0, 1+len(keys)+8*len(keys))}
	a.argv = append(a.argv, len(keys))
	for i, k := range keys {
		a.idx[k] = i + 1
		d := ""
		if vals[i].exists {
			d = sha1Hex(vals[i].s)
		}
		a.argv = append(a.argv, d)
	}
	return a
}

func (a *scriptArgs) add(name, key string, args ...any) {
	i, ok := a.idx[key]
	if !ok {
		a.keys = append(a.keys, key)
		i = len(a.keys)
		a.idx[key] = i
	}
	a.argv = append(a.argv, name, i, len(args))
	a.argv = append(a.argv, args...)
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

// casOutcome is how a casKnown went.
type casOutcome int

const (
	casDone     casOutcome = iota // written, or nothing to write
	casStale                      // a guess was wrong: known now holds the current values
	casConflict                   // a value this write had read changed: known holds the current values
)

// casKnown is one compare-and-set over keys. known holds what the write believes the keys
// hold; the keys it lacks are read first (one MGET, no WATCH). decide, given the values
// (a string, or nil for a missing key), returns the writes (nil for none). The writes go
// in one round trip through writeScript, guarded by the values decide was given; a
// decision to write nothing on values that were all read just now sends nothing, one on
// guessed values is checked by the script (with no writes). When a guard does not hold
// nothing is written, known gets the current values (all fresh) and the outcome says
// whether only guesses were wrong (casStale) or a value read earlier changed (casConflict).
func (s *Store) casKnown(ctx context.Context, keys []string, known map[string]keyVal, decide func(vals []any) (func(cmdSink), error)) (casOutcome, error) {
	var unknown []string
	for _, k := range keys {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		got, err := s.rdb.MGet(ctx, unknown...).Result()
		if err != nil {
			return casDone, err
		}
		for i, v := range got {
			str, ok := v.(string)
			known[unknown[i]] = keyVal{s: str, exists: ok, fresh: true}
		}
	}
	vals := make([]any, len(keys))
	kvs := make([]keyVal, len(keys))
	allFresh := true
	for i, k := range keys {
		kv := known[k]
		kvs[i] = kv
		if kv.exists {
			vals[i] = kv.s
		}
		allFresh = allFresh && kv.fresh
	}
	writes, err := decide(vals)
	if err != nil {
		return casDone, err
	}
	if writes == nil && allFresh {
		return casDone, nil
	}
	args := newScriptArgs(keys, kvs)
	if writes != nil {
		writes(args)
	}
	res, err := writeScript.Run(ctx, s.rdb, args.keys, args.argv...).Result()
	if err != nil {
		return casDone, err
	}
	bad, ok := res.([]any)
	if !ok {
		return casDone, nil
	}
	outcome := casStale
	for _, k := range keys { // every guard was checked: those not listed hold
		kv := known[k]
		kv.fresh = true
		known[k] = kv
	}
	for j := 0; j < len(bad); j++ {
		i, ok := bad[j].(int64)
		if !ok || i == 0 || int(max(i, -i)) > len(keys) {
			return casDone, fmt.Errorf("write script: unexpected reply %v", res)
		}
		kv := keyVal{fresh: true}
		if i > 0 {
			j++
			if j == len(bad) {
				return casDone, fmt.Errorf("write script: unexpected reply %v", res)
			}
			kv.s, kv.exists = bad[j].(string)
		} else {
			i = -i
		}
		if kvs[i-1].fresh {
			outcome = casConflict
		}
		known[keys[i-1]] = kv
	}
	return outcome, nil
}
