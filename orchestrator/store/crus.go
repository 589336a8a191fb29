package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// CRUS sessions live beside BOS's records, as JSON the store does not interpret (package
// orchestrator/crus owns the shape):
//
//	{p}crus:session:{id}  string  one CRUS session record
//	{p}crus:sessions      set     every CRUS session id
//
// One key per session keeps compare-and-set writes of different sessions independent.

func (s *Store) crusKey(id string) string { return s.k("crus:session:", id) }
func (s *Store) crusIDs() string          { return s.k("crus:sessions") }

// CreateCRUSSession stores a new CRUS session record; ECONFLICT if the id is taken.
func (s *Store) CreateCRUSSession(ctx context.Context, id string, data []byte) error {
	var created *redis.BoolCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		created = p.SetNX(ctx, s.crusKey(id), data, 0)
		p.SAdd(ctx, s.crusIDs(), id)
		return nil
	})
	if err != nil {
		return s.fail("create crus session", err)
	}
	if !created.Val() {
		return &orchestrator.Error{Code: orchestrator.ECONFLICT, Title: existsTitle, Message: fmt.Sprintf("CRUS session '%s' already exists", id)}
	}
	return nil
}

// GetCRUSSession returns one record, or ENOTFOUND.
func (s *Store) GetCRUSSession(ctx context.Context, id string) ([]byte, error) {
	raw, err := s.rdb.Get(ctx, s.crusKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound("CRUS session", id, "")
	}
	if err != nil {
		return nil, s.fail("get crus session", err)
	}
	return raw, nil
}

// ListCRUSSessions returns every record, by id. Ids whose record vanished meanwhile (a
// concurrent delete) are skipped.
func (s *Store) ListCRUSSessions(ctx context.Context) (map[string][]byte, error) {
	ids, err := s.rdb.SMembers(ctx, s.crusIDs()).Result()
	if err != nil {
		return nil, s.fail("list crus sessions", err)
	}
	out := make(map[string][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	sort.Strings(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.crusKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.fail("list crus sessions", err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[ids[i]] = []byte(str)
		}
	}
	return out, nil
}

// UpdateCRUSSession rewrites one record with compare-and-set: mutate gets the stored
// JSON and returns the new JSON (nil: write nothing). It may run more than once. An error
// from mutate is returned as is; ENOTFOUND if the record does not exist.
func (s *Store) UpdateCRUSSession(ctx context.Context, id string, mutate func([]byte) ([]byte, error)) ([]byte, error) {
	key := s.crusKey(id)
	var out []byte
	err := s.cas(ctx, "update crus session", []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		raw, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, callerError{notFound("CRUS session", id, "")}
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

// DeleteCRUSSession removes one record, or returns ENOTFOUND.
func (s *Store) DeleteCRUSSession(ctx context.Context, id string) error {
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.crusKey(id))
		p.SRem(ctx, s.crusIDs(), id)
		return nil
	})
	if err != nil {
		return s.fail("delete crus session", err)
	}
	if del.Val() == 0 {
		return notFound("CRUS session", id, "")
	}
	return nil
}
