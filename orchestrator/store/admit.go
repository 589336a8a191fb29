package store

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Admit decides whether a new session may be stored (the API's overlap rule): it reads
// what it needs through the store, may fill in the record it is given (the nodes taken
// over) or refuse it with an error returned as is, and may run more than once, each
// time on a fresh copy of the record.
type Admit[T any] func(ctx context.Context, rec *T) error

func (s *Store) sessionEpochKey() string { return s.k("session-epoch") }

// createAdmitted is the one compare-and-set of every session creation, v1 and v2: WATCH
// the session epoch, refuse a name that exists (taken), run admit on a copy of rec, stamp
// the copy with the epoch this creation commits (the one INCR will return), then MULTI:
// put's writes (its BoolCmd says whether the record was new) and INCR of the epoch, EXEC.
// The stamp orders creations totally, across processes and clocks. A creation that any process commits meanwhile bumps the epoch, so EXEC
// fails and admit runs again over the new state: overlapping creations are decided one
// after the other, never on the same view. The name is checked before admit, so a taken
// name is the "already exists" 409 even when the session also overlaps.
func createAdmitted[T any](ctx context.Context, s *Store, step string, rec T, admit Admit[T], stamp func(*T, int64), taken error,
	exists func(tx *redis.Tx) (bool, error), put func(p redis.Pipeliner, data []byte) *redis.BoolCmd) (T, error) {
	var out T
	var created *redis.BoolCmd
	err := s.cas(ctx, step, []string{s.sessionEpochKey()}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		found, err := exists(tx)
		if err != nil {
			return nil, err
		}
		if found {
			return nil, callerError{taken}
		}
		epoch, err := tx.Get(ctx, s.sessionEpochKey()).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		v := rec
		if admit != nil {
			if err := admit(ctx, &v); err != nil {
				return nil, callerError{err}
			}
		}
		stamp(&v, epoch+1)
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out = v
		return func(p redis.Pipeliner) {
			created = put(p, data)
			p.Incr(ctx, s.sessionEpochKey())
		}, nil
	})
	if err != nil {
		return out, err
	}
	if !created.Val() {
		return out, taken
	}
	return out, nil
}
