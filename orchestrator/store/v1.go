package store

// BOS v1: sessions (each with its status document) and raw access to the shared template
// records, which carry v1 extensions the v2 type does not decode.
//
//	{p}v1-session:{id}      string  V1Session (request, template snapshot, status document)
//	{p}v1-sessions          set     every v1 session id
//	{p}v1-sessions-active   set     ids of pending and running v1 sessions

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

func (s *Store) v1SessionKey(id string) string { return s.k("v1-session:", id) }
func (s *Store) v1SessionsKey() string         { return s.k("v1-sessions") }
func (s *Store) v1ActiveKey() string           { return s.k("v1-sessions-active") }

// CreateV1Session stores a new v1 session; ECONFLICT if the id is taken.
func (s *Store) CreateV1Session(ctx context.Context, sess orchestrator.V1Session) error {
	_, err := s.CreateV1SessionAdmitted(ctx, sess, nil)
	return err
}

// CreateV1SessionAdmitted stores a new v1 session like CreateV1Session once admit (nil:
// none) accepts it, atomically with respect to every other admitted creation
// (createAdmitted). It returns the record stored.
func (s *Store) CreateV1SessionAdmitted(ctx context.Context, sess orchestrator.V1Session, admit Admit[orchestrator.V1Session]) (orchestrator.V1Session, error) {
	key := s.v1SessionKey(sess.ID)
	taken := &orchestrator.Error{Code: orchestrator.ECONFLICT, Title: existsTitle, Message: fmt.Sprintf("Session '%s' already exists", sess.ID)}
	return createAdmitted(ctx, s, "create v1 session", sess, admit,
		func(x *orchestrator.V1Session, epoch int64) { x.Epoch = epoch }, taken,
		func(tx *redis.Tx) (bool, error) {
			n, err := tx.Exists(ctx, key).Result()
			return n > 0, err
		},
		func(p redis.Pipeliner, data []byte) *redis.BoolCmd {
			created := p.SetNX(ctx, key, data, 0)
			p.SAdd(ctx, s.v1SessionsKey(), sess.ID)
			if sess.State != orchestrator.V1Complete {
				p.SAdd(ctx, s.v1ActiveKey(), sess.ID)
			}
			return created
		})
}

// GetV1Session returns a v1 session, or ENOTFOUND.
func (s *Store) GetV1Session(ctx context.Context, id string) (orchestrator.V1Session, error) {
	var sess orchestrator.V1Session
	raw, err := s.rdb.Get(ctx, s.v1SessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return sess, notFound("Session", id, "")
	}
	if err != nil {
		return sess, s.fail("get v1 session", err)
	}
	return sess, decodeJSON("v1 session", raw, &sess)
}

// V1SessionIDs returns the id of every v1 session, sorted.
func (s *Store) V1SessionIDs(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.v1SessionsKey()).Result()
	if err != nil {
		return nil, s.fail("list v1 sessions", err)
	}
	sort.Strings(ids)
	return ids, nil
}

// ActiveV1Sessions returns the pending and running v1 sessions, sorted by id.
func (s *Store) ActiveV1Sessions(ctx context.Context) ([]orchestrator.V1Session, error) {
	ids, err := s.rdb.SMembers(ctx, s.v1ActiveKey()).Result()
	if err != nil {
		return nil, s.fail("list active v1 sessions", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sort.Strings(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.v1SessionKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.fail("list active v1 sessions", err)
	}
	var out []orchestrator.V1Session
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // deleted since SMEMBERS
		}
		var sess orchestrator.V1Session
		if err := decodeJSON("v1 session", []byte(str), &sess); err != nil {
			return nil, err
		}
		if sess.State != orchestrator.V1Complete {
			out = append(out, sess)
		}
	}
	return out, nil
}

// UpdateV1Session changes a v1 session with compare-and-set (mutate may run more than
// once) and keeps the active set in step with its state; ENOTFOUND if it does not exist
// (deleted meanwhile).
func (s *Store) UpdateV1Session(ctx context.Context, id string, mutate func(*orchestrator.V1Session) error) (orchestrator.V1Session, error) {
	key := s.v1SessionKey(id)
	sess, _, err := updateJSON(ctx, s, "v1 session", key, notFound("Session", id, ""),
		func(tx *redis.Tx) *redis.StringCmd { return tx.Get(ctx, key) }, nil,
		func(sess *orchestrator.V1Session) error {
			if err := mutate(sess); err != nil {
				return err
			}
			sess.ID = id
			return nil
		},
		func(p redis.Pipeliner, sess *orchestrator.V1Session, data []byte) {
			p.Set(ctx, key, data, 0)
			if sess.State == orchestrator.V1Complete {
				p.SRem(ctx, s.v1ActiveKey(), id)
			} else {
				p.SAdd(ctx, s.v1ActiveKey(), id)
			}
		})
	return sess, err
}

// DeleteV1Session removes a v1 session and its status, or returns ENOTFOUND.
func (s *Store) DeleteV1Session(ctx context.Context, id string) error {
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.v1SessionKey(id))
		p.SRem(ctx, s.v1SessionsKey(), id)
		p.SRem(ctx, s.v1ActiveKey(), id)
		return nil
	})
	if err != nil {
		return s.fail("delete v1 session", err)
	}
	if del.Val() == 0 {
		return notFound("Session", id, "")
	}
	return nil
}

// ---- Raw template records ----

// TemplateRecord is a stored template as its JSON, with the namespace it lives in.
type TemplateRecord struct {
	Tenant string
	Name   string
	JSON   []byte
}

// GetTemplateJSON returns the stored JSON of a template, or ENOTFOUND.
func (s *Store) GetTemplateJSON(ctx context.Context, tenant, name string) ([]byte, error) {
	raw, err := s.rdb.HGet(ctx, s.templatesKey(tenant), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound("Session template", name, tenant)
	}
	if err != nil {
		return nil, s.fail("get session template", err)
	}
	return raw, nil
}

// PutTemplateJSON creates or replaces a template record with raw (which must be a JSON
// object that decodes as a template; the caller has validated it).
func (s *Store) PutTemplateJSON(ctx context.Context, tenant, name string, raw []byte) error {
	if !json.Valid(raw) {
		return fmt.Errorf("put session template %s: not valid JSON", name)
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.templatesKey(tenant), name, raw)
		p.SAdd(ctx, s.templateNS(), namespace(tenant))
		return nil
	})
	return s.fail("put session template", err)
}

// ListTemplatesJSON returns every stored template record of every namespace, sorted by
// tenant then name.
func (s *Store) ListTemplatesJSON(ctx context.Context) ([]TemplateRecord, error) {
	spaces, err := s.rdb.SMembers(ctx, s.templateNS()).Result()
	if err != nil {
		return nil, s.fail("list session templates", err)
	}
	var out []TemplateRecord
	for _, ns := range spaces {
		all, err := s.rdb.HGetAll(ctx, s.k("templates:", ns)).Result()
		if err != nil {
			return nil, s.fail("list session templates", err)
		}
		tenant := strings.TrimPrefix(ns, "t:")
		if ns == "u" {
			tenant = ""
		}
		for name, raw := range all {
			out = append(out, TemplateRecord{Tenant: tenant, Name: name, JSON: []byte(raw)})
		}
	}
	slices.SortFunc(out, func(a, b TemplateRecord) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// RewriteTemplate rewrites one template record with compare-and-set: rewrite gets the
// stored JSON and returns the new JSON (nil: leave it) and, optionally, a copy to store
// under keepName unless a record of that name exists already. Both writes are one
// transaction, so a crash leaves either the old state or the new. A missing template is
// left alone. It reports whether the record was rewritten.
func (s *Store) RewriteTemplate(ctx context.Context, tenant, name string, rewrite func(raw []byte) (out []byte, keepName string, keep []byte, err error)) (bool, error) {
	key := s.templatesKey(tenant)
	changed := false
	err := s.cas(ctx, "rewrite session template", []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		changed = false
		raw, err := tx.HGet(ctx, key, name).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out, keepName, keep, err := rewrite(raw)
		if err != nil {
			return nil, callerError{err}
		}
		if out == nil {
			return nil, nil
		}
		changed = true
		return func(p redis.Pipeliner) {
			if keep != nil && keepName != "" {
				p.HSetNX(ctx, key, keepName, keep)
			}
			p.HSet(ctx, key, name, out)
		}, nil
	})
	return changed, err
}
