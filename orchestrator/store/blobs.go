package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// blobs is a kind of record the store keeps as JSON it does not interpret, owned by
// another package (CRUS sessions, rollouts): one string key per record and a set of the
// ids, so compare-and-set writes of different records stay independent.
type blobs struct {
	s    *Store
	what string // the record's name in errors: "CRUS session"
	key  func(id string) string
	ids  string
}

func (b blobs) create(ctx context.Context, id string, data []byte) error {
	var created *redis.BoolCmd
	_, err := b.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		created = p.SetNX(ctx, b.key(id), data, 0)
		p.SAdd(ctx, b.ids, id)
		return nil
	})
	if err != nil {
		return b.s.fail("create "+b.what, err)
	}
	if !created.Val() {
		return &orchestrator.Error{Code: orchestrator.ECONFLICT, Title: existsTitle, Message: fmt.Sprintf("%s '%s' already exists", b.what, id)}
	}
	return nil
}

func (b blobs) get(ctx context.Context, id string) ([]byte, error) {
	raw, err := b.s.rdb.Get(ctx, b.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound(b.what, id, "")
	}
	if err != nil {
		return nil, b.s.fail("get "+b.what, err)
	}
	return raw, nil
}

// list returns every record, by id; ids whose record vanished meanwhile are skipped.
func (b blobs) list(ctx context.Context) (map[string][]byte, error) {
	ids, err := b.s.rdb.SMembers(ctx, b.ids).Result()
	if err != nil {
		return nil, b.s.fail("list "+b.what, err)
	}
	out := make(map[string][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	sort.Strings(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = b.key(id)
	}
	vals, err := b.s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, b.s.fail("list "+b.what, err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[ids[i]] = []byte(str)
		}
	}
	return out, nil
}

// update rewrites one record with compare-and-set: mutate gets the stored JSON and
// returns the new JSON (nil: write nothing). It may run more than once.
func (b blobs) update(ctx context.Context, id string, mutate func([]byte) ([]byte, error)) ([]byte, error) {
	key := b.key(id)
	var out []byte
	err := b.s.cas(ctx, "update "+b.what, []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		raw, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, callerError{notFound(b.what, id, "")}
		}
		if err != nil {
			return nil, err
		}
		data, err := mutate(raw)
		if err != nil {
			return nil, callerError{err}
		}
		if data == nil {
			out = raw
			return nil, nil
		}
		out = data
		return func(p redis.Pipeliner) { p.Set(ctx, key, data, 0) }, nil
	})
	return out, err
}

func (b blobs) delete(ctx context.Context, id string) error {
	var del *redis.IntCmd
	_, err := b.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, b.key(id))
		p.SRem(ctx, b.ids, id)
		return nil
	})
	if err != nil {
		return b.s.fail("delete "+b.what, err)
	}
	if del.Val() == 0 {
		return notFound(b.what, id, "")
	}
	return nil
}
