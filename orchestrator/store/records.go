package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/internal/etag"
	"github.com/cray-bos/bos/internal/uuid"
	"github.com/cray-bos/bos/orchestrator"
)

// BOS's problem titles for the store's errors.
const (
	notFoundTitle = "The resource was not found"
	existsTitle   = "The resource to be created already exists"
)

// namespace names the hash that holds a tenant's templates, sessions or saved statuses:
// "u" for no tenant, "t:<tenant>" otherwise, so every tenant (and the untenanted space)
// may reuse a name.
func namespace(tenant string) string {
	if tenant == "" {
		return "u"
	}
	return "t:" + tenant
}

func (s *Store) templatesKey(tenant string) string { return s.k("templates:", namespace(tenant)) }
func (s *Store) sessionsKey(tenant string) string  { return s.k("sessions:", namespace(tenant)) }
func (s *Store) statusKey(tenant string) string    { return s.k("session-status:", namespace(tenant)) }
func (s *Store) templateNS() string                { return s.k("template-namespaces") }
func (s *Store) sessionNS() string                 { return s.k("session-namespaces") }
func (s *Store) optionsKey() string                { return s.k("options") }
func (s *Store) tokensKey() string                 { return s.k("tokens") }

// forTenant appends " for tenant '<t>'" to a not-found message when a tenant is set.
func forTenant(tenant string) string {
	if tenant == "" {
		return ""
	}
	return fmt.Sprintf(" for tenant '%s'", tenant)
}

// notFound is the ENOTFOUND of a record: "<what> '<name>' does not exist", naming the
// tenant when there is one.
func notFound(what, name, tenant string) error {
	return &orchestrator.Error{Code: orchestrator.ENOTFOUND, Title: notFoundTitle, Message: fmt.Sprintf("%s '%s' does not exist%s", what, name, forTenant(tenant))}
}

// preconditionTitle is the problem title of EPRECONDITION.
const preconditionTitle = "Precondition Failed"

// checkIfMatch returns EPRECONDITION when cond does not hold for a record stored as
// stored (nil: there is none).
func checkIfMatch(cond etag.Condition, stored []byte, what, name, tenant string) error {
	if cond.Holds(stored) {
		return nil
	}
	why := "has changed since the entity tag in If-Match was read"
	if stored == nil {
		why = "does not exist, so If-Match cannot hold"
	}
	return &orchestrator.Error{Code: orchestrator.EPRECONDITION, Title: preconditionTitle,
		Message: fmt.Sprintf("%s '%s'%s %s; nothing was written", what, name, forTenant(tenant), why)}
}

// ---- Options ----

// GetOptions returns the options: stored values over the defaults, invalid or unknown
// stored values dropped. A missing record means all defaults.
func (s *Store) GetOptions(ctx context.Context) (orchestrator.Options, error) {
	raw, err := s.rdb.Get(ctx, s.optionsKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return orchestrator.DefaultOptions(), nil
	}
	if err != nil {
		return orchestrator.DefaultOptions(), s.fail("get options", err)
	}
	return orchestrator.DecodeStoredOptions(raw)
}

// UpdateOptions changes the options with compare-and-set (mutate may run more than once)
// and returns the result.
func (s *Store) UpdateOptions(ctx context.Context, mutate func(*orchestrator.Options) error) (orchestrator.Options, error) {
	var out orchestrator.Options
	err := s.cas(ctx, "update options", []string{s.optionsKey()}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		raw, err := tx.Get(ctx, s.optionsKey()).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		o, err := orchestrator.DecodeStoredOptions(raw)
		if err != nil {
			return nil, err
		}
		if err := mutate(&o); err != nil {
			return nil, callerError{err}
		}
		if err := o.Validate(); err != nil {
			return nil, callerError{err}
		}
		data, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		out = o
		return func(p redis.Pipeliner) { p.Set(ctx, s.optionsKey(), data, 0) }, nil
	})
	return out, err
}

// cas runs one WATCH/GET/MULTI/EXEC cycle on keys, retrying on conflict. prepare reads
// through tx and returns the writes to queue (nil for none); it may run more than once.
// An error prepare wraps in callerError is returned as is.
// casValues is one optimistic transaction over keys in two round trips on one connection:
// WATCH and MGET of keys in one pipeline, then decide, given the values, returns the
// writes, sent in MULTI/EXEC (redis.TxFailedErr when any key changed after the WATCH).
// When decide returns no writes (or an error) the watch is dropped with UNWATCH.
func (s *Store) casValues(ctx context.Context, keys []string, decide func(vals []any) (func(redis.Pipeliner), error)) error {
	rdb, single := s.rdb.(*redis.Client)
	if !single {
		// A cluster client has no one connection to pipeline WATCH on: its own Watch (keys
		// in one slot, see Config.Cluster), one more round trip.
		return s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			vals, err := tx.MGet(ctx, keys...).Result()
			if err != nil {
				return err
			}
			writes, err := decide(vals)
			if err != nil || writes == nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { writes(p); return nil })
			return err
		}, keys...)
	}
	conn := s.conn(rdb)
	defer conn.Close()
	vals, err := watchAndGet(ctx, conn, keys)
	if err != nil {
		return err
	}
	writes, err := decide(vals)
	if err != nil || writes == nil {
		if uerr := conn.Process(ctx, redis.NewStatusCmd(ctx, "UNWATCH")); err == nil {
			err = uerr
		}
		return err
	}
	_, err = conn.TxPipelined(ctx, func(p redis.Pipeliner) error { writes(p); return nil })
	return err
}

// watchAndGet WATCHes keys on conn and reads them, in one round trip.
func watchAndGet(ctx context.Context, conn *redis.Conn, keys []string) ([]any, error) {
	watch := make([]any, 0, 1+len(keys))
	watch = append(watch, "WATCH")
	for _, k := range keys {
		watch = append(watch, k)
	}
	var vals *redis.SliceCmd
	_, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, watch...)
		vals = p.MGet(ctx, keys...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return vals.Val(), nil
}

func (s *Store) cas(ctx context.Context, step string, keys []string, prepare func(tx *redis.Tx) (func(redis.Pipeliner), error)) error {
	for attempt := 0; ; attempt++ {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			writes, err := prepare(tx)
			if err != nil || writes == nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { writes(p); return nil })
			return err
		}, keys...)
		if errors.Is(err, redis.TxFailedErr) && attempt+1 < maxAttempts {
			if err := backoff(ctx, attempt+1); err != nil {
				return err
			}
			continue
		}
		var ce callerError
		if errors.As(err, &ce) {
			return ce.err
		}
		return s.fail(step, err)
	}
}

// updateJSON is the compare-and-set read-modify-write of one JSON record at key: get
// reads it through tx (redis.Nil: it does not exist, answered with missing), check (if
// set) vets its stored bytes (an If-Match), mutate changes the decoded record (it may run
// more than once, and its error is returned as is), and put queues the writes of the
// result, given with its encoding. It returns the result and its encoding.
func updateJSON[T any](ctx context.Context, s *Store, what, key string, missing error,
	get func(tx *redis.Tx) *redis.StringCmd, check func(stored []byte) error, mutate func(*T) error, put func(p redis.Pipeliner, v *T, data []byte)) (T, []byte, error) {
	var out T
	var outData []byte
	err := s.cas(ctx, "update "+what, []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		raw, err := get(tx).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, callerError{missing}
		}
		if err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(raw); err != nil {
				return nil, callerError{err}
			}
		}
		var v T
		if err := decodeJSON(what, raw, &v); err != nil {
			return nil, callerError{err}
		}
		if err := mutate(&v); err != nil {
			return nil, callerError{err}
		}
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out, outData = v, data
		return func(p redis.Pipeliner) { put(p, &v, data) }, nil
	})
	return out, outData, err
}

// withTag returns v with the entity tag of its stored bytes, or err.
func withTag[T any](v T, stored []byte, err error) (T, string, error) {
	if err != nil {
		return v, "", err
	}
	return v, etag.Of(stored), nil
}

// writeIfMatch queues writes for the record at field of the hash key in a WATCH/MULTI
// cycle that first checks If-Match against its stored bytes: ENOTFOUND (missing, when
// non-nil) for a record that does not exist, EPRECONDITION when cond does not hold.
// what, name and tenant name the record in those errors.
func (s *Store) writeIfMatch(ctx context.Context, step, key, field string, cond etag.Condition, missing error,
	what, name, tenant string, writes func(redis.Pipeliner)) error {
	return s.cas(ctx, step, []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		raw, err := tx.HGet(ctx, key, field).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			raw = nil
			if missing != nil {
				return nil, callerError{missing}
			}
		case err != nil:
			return nil, err
		}
		if err := checkIfMatch(cond, raw, what, name, tenant); err != nil {
			return nil, callerError{err}
		}
		return writes, nil
	})
}

// getTagged reads the record at field of the hash key into v and returns its entity tag;
// missing answers a record that does not exist.
func (s *Store) getTagged(ctx context.Context, what, key, field string, missing error, v any) (string, error) {
	raw, err := s.rdb.HGet(ctx, key, field).Bytes()
	if errors.Is(err, redis.Nil) {
		return "", missing
	}
	if err != nil {
		return "", s.fail("get "+what, err)
	}
	return etag.Of(raw), decodeJSON(what, raw, v)
}

// ---- BSS tokens ----

// PutToken records the artifacts behind a BSS referral token (kept forever, like BOS).
func (s *Store) PutToken(ctx context.Context, token string, rec orchestrator.TokenRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.tokensKey(), token, data).Err(); err != nil {
		return s.fail("put token", err)
	}
	s.tokens.put(token, rec)
	return nil
}

// GetToken returns the record of a token; ok is false for an unknown token.
func (s *Store) GetToken(ctx context.Context, token string) (rec orchestrator.TokenRecord, ok bool, err error) {
	raw, err := s.rdb.HGet(ctx, s.tokensKey(), token).Bytes()
	if errors.Is(err, redis.Nil) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, s.fail("get token", err)
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, false, fmt.Errorf("get token: decode: %w", err)
	}
	return rec, true, nil
}

// GetTokens returns the records of the known tokens among tokens.
func (s *Store) GetTokens(ctx context.Context, tokens []string) (map[string]orchestrator.TokenRecord, error) {
	out := map[string]orchestrator.TokenRecord{}
	// Known records come from memory (a record never changes): only the others are read.
	tokens = dedupe(slices.DeleteFunc(slices.Clone(tokens), func(t string) bool {
		if rec, ok := s.tokens.get(t); ok {
			out[t] = rec
			return true
		}
		return t == ""
	}))
	if len(tokens) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.tokensKey(), tokens...).Result()
	if err != nil {
		return nil, s.fail("get tokens", err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			var rec orchestrator.TokenRecord
			if err := json.Unmarshal([]byte(str), &rec); err != nil {
				return nil, fmt.Errorf("get tokens: decode: %w", err)
			}
			out[tokens[i]] = rec
			s.tokens.put(tokens[i], rec)
		}
	}
	return out, nil
}

// ---- Session templates ----

// GetTemplate returns a template from the tenant's namespace ("" = untenanted), or ENOTFOUND.
func (s *Store) GetTemplate(ctx context.Context, tenant, name string) (orchestrator.SessionTemplate, error) {
	t, _, err := s.GetTemplateTagged(ctx, tenant, name)
	return t, err
}

// GetTemplateTagged is GetTemplate that also returns the record's entity tag.
func (s *Store) GetTemplateTagged(ctx context.Context, tenant, name string) (orchestrator.SessionTemplate, string, error) {
	var t orchestrator.SessionTemplate
	tag, err := s.getTagged(ctx, "session template", s.templatesKey(tenant), name, notFound("Session template", name, tenant), &t)
	return t, tag, err
}

// PutTemplate creates or replaces t in t.Tenant's namespace.
func (s *Store) PutTemplate(ctx context.Context, t orchestrator.SessionTemplate) error {
	_, err := s.PutTemplateIf(ctx, t, etag.Condition{})
	return err
}

// PutTemplateIf is PutTemplate conditioned on If-Match, checked in the write's
// transaction (EPRECONDITION writes nothing; a missing template fails any If-Match). It
// returns the stored template's entity tag.
func (s *Store) PutTemplateIf(ctx context.Context, t orchestrator.SessionTemplate, cond etag.Condition) (string, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("put session template: %w", err)
	}
	key := s.templatesKey(t.Tenant)
	writes := func(p redis.Pipeliner) {
		p.HSet(ctx, key, t.Name, data)
		p.SAdd(ctx, s.templateNS(), namespace(t.Tenant))
	}
	if cond.Present() {
		err = s.writeIfMatch(ctx, "put session template", key, t.Name, cond, nil, "Session template", t.Name, t.Tenant, writes)
	} else {
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error { writes(p); return nil })
		err = s.fail("put session template", err)
	}
	if err != nil {
		return "", err
	}
	return etag.Of(data), nil
}

// UpdateTemplate changes a template with compare-and-set; ENOTFOUND if it does not exist.
func (s *Store) UpdateTemplate(ctx context.Context, tenant, name string, mutate func(*orchestrator.SessionTemplate) error) (orchestrator.SessionTemplate, error) {
	t, _, err := s.updateTemplate(ctx, tenant, name, etag.Condition{}, mutate)
	return t, err
}

// UpdateTemplateIf is UpdateTemplate conditioned on If-Match (ENOTFOUND first, then
// EPRECONDITION, checked in the write's transaction). It returns the result's entity tag.
func (s *Store) UpdateTemplateIf(ctx context.Context, tenant, name string, cond etag.Condition, mutate func(*orchestrator.SessionTemplate) error) (orchestrator.SessionTemplate, string, error) {
	return withTag(s.updateTemplate(ctx, tenant, name, cond, mutate))
}

func (s *Store) updateTemplate(ctx context.Context, tenant, name string, cond etag.Condition, mutate func(*orchestrator.SessionTemplate) error) (orchestrator.SessionTemplate, []byte, error) {
	key := s.templatesKey(tenant)
	return updateJSON(ctx, s, "session template", key, notFound("Session template", name, tenant),
		func(tx *redis.Tx) *redis.StringCmd { return tx.HGet(ctx, key, name) },
		func(stored []byte) error { return checkIfMatch(cond, stored, "Session template", name, tenant) },
		func(t *orchestrator.SessionTemplate) error {
			if err := mutate(t); err != nil {
				return err
			}
			t.Name, t.Tenant = name, tenant
			return nil
		},
		func(p redis.Pipeliner, _ *orchestrator.SessionTemplate, data []byte) { p.HSet(ctx, key, name, data) })
}

// DeleteTemplateIf is DeleteTemplate conditioned on If-Match: ENOTFOUND for a missing
// template, else EPRECONDITION (nothing deleted) when cond does not hold, checked in the
// delete's transaction.
func (s *Store) DeleteTemplateIf(ctx context.Context, tenant, name string, cond etag.Condition) error {
	if !cond.Present() {
		return s.DeleteTemplate(ctx, tenant, name)
	}
	key := s.templatesKey(tenant)
	return s.writeIfMatch(ctx, "delete session template", key, name, cond, notFound("Session template", name, tenant),
		"Session template", name, tenant, func(p redis.Pipeliner) { p.HDel(ctx, key, name) })
}

// DeleteTemplate removes a template, or returns ENOTFOUND.
func (s *Store) DeleteTemplate(ctx context.Context, tenant, name string) error {
	n, err := s.rdb.HDel(ctx, s.templatesKey(tenant), name).Result()
	if err != nil {
		return s.fail("delete session template", err)
	}
	if n == 0 {
		return notFound("Session template", name, tenant)
	}
	return nil
}

// ListTemplates returns the templates of one tenant, or of every tenant and the untenanted
// namespace when all is true, sorted by tenant then name.
func (s *Store) ListTemplates(ctx context.Context, tenant string, all bool) ([]orchestrator.SessionTemplate, error) {
	var out []orchestrator.SessionTemplate
	err := s.listNS(ctx, "list session templates", s.templateNS(), s.k("templates:"), tenant, all, func(raw []byte) error {
		var t orchestrator.SessionTemplate
		if err := decodeJSON("session template", raw, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	slices.SortFunc(out, func(a, b orchestrator.SessionTemplate) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Name, b.Name))
	})
	return out, err
}

// listNS reads every value of one namespace hash, or of all namespaces listed in nsSet.
func (s *Store) listNS(ctx context.Context, step, nsSet, hashPrefix, tenant string, all bool, each func([]byte) error) error {
	return s.listNSStrings(ctx, step, nsSet, hashPrefix, tenant, all, func(raw string) error { return each([]byte(raw)) })
}

// listNSStrings is listNS giving each record as the string read, not copied.
func (s *Store) listNSStrings(ctx context.Context, step, nsSet, hashPrefix, tenant string, all bool, each func(string) error) error {
	spaces := []string{namespace(tenant)}
	if all {
		var err error
		if spaces, err = s.rdb.SMembers(ctx, nsSet).Result(); err != nil {
			return s.fail(step, err)
		}
	}
	var cmds []*redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ns := range spaces {
			cmds = append(cmds, p.HVals(ctx, hashPrefix+ns))
		}
		return nil
	})
	if err != nil {
		return s.fail(step, err)
	}
	for _, c := range cmds {
		for _, v := range c.Val() {
			if err := each(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- Sessions ----

// CreateSession stores a new session in its tenant's namespace; ECONFLICT if the name is
// taken there.
func (s *Store) CreateSession(ctx context.Context, sess orchestrator.Session) error {
	_, err := s.CreateSessionAdmitted(ctx, sess, nil)
	return err
}

// CreateSessionAdmitted stores a new session like CreateSession once admit (nil: none)
// accepts it, atomically with respect to every other admitted creation, v1 or v2, in any
// process on this Redis (createAdmitted). It returns the record stored.
func (s *Store) CreateSessionAdmitted(ctx context.Context, sess orchestrator.Session, admit Admit[orchestrator.Session]) (orchestrator.Session, error) {
	key := s.sessionsKey(sess.Tenant)
	taken := &orchestrator.Error{Code: orchestrator.ECONFLICT, Title: existsTitle, Message: fmt.Sprintf("Session '%s' already exists%s", sess.Name, forTenant(sess.Tenant))}
	return createAdmitted(ctx, s, "create session", sess, admit,
		func(x *orchestrator.Session, epoch int64) { x.Status.Epoch = epoch }, taken,
		func(tx *redis.Tx) (bool, error) { return tx.HExists(ctx, key, sess.Name).Result() },
		func(p redis.Pipeliner, data []byte) *redis.BoolCmd {
			created := p.HSetNX(ctx, key, sess.Name, data)
			p.SAdd(ctx, s.sessionNS(), namespace(sess.Tenant))
			s.bumpSessionsVersion(ctx, p)
			return created
		})
}

// GetSession returns a session from the tenant's namespace, or ENOTFOUND.
func (s *Store) GetSession(ctx context.Context, tenant, name string) (orchestrator.Session, error) {
	sess, _, err := s.GetSessionTagged(ctx, tenant, name)
	return sess, err
}

// GetSessionTagged is GetSession that also returns the record's entity tag. A session
// read again while the sessions version is the one it was read at comes from memory (one
// GET of the version): a record naming 100,000 nodes cost 17 ms of CPU a read, and its
// status is polled.
func (s *Store) GetSessionTagged(ctx context.Context, tenant, name string) (orchestrator.Session, string, error) {
	key := s.sessionsKey(tenant)
	version, err := s.rdb.Get(ctx, s.sessionsVersionKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return orchestrator.Session{}, "", s.fail("get session", err)
	}
	if got, ok := s.sessions.one(key, name, version); ok {
		return cloneSession(got.sess), got.tag, nil
	}
	// The record and the version it is stored at, read together.
	var versionCmd *redis.StringCmd
	var rawCmd *redis.StringCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		versionCmd = p.Get(ctx, s.sessionsVersionKey())
		rawCmd = p.HGet(ctx, key, name)
		return nil
	})
	raw, rawErr := rawCmd.Bytes()
	if errors.Is(rawErr, redis.Nil) {
		return orchestrator.Session{}, "", notFound("Session", name, tenant)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return orchestrator.Session{}, "", s.fail("get session", err)
	}
	var sess orchestrator.Session
	if err := decodeJSON("session", raw, &sess); err != nil {
		return sess, "", err
	}
	tag := etag.Of(raw)
	s.sessions.keepOne(key, name, versionCmd.Val(), taggedSession{sess, tag})
	return cloneSession(sess), tag, nil
}

// UpdateSession changes a session with compare-and-set; ENOTFOUND if it does not exist.
func (s *Store) UpdateSession(ctx context.Context, tenant, name string, mutate func(*orchestrator.Session) error) (orchestrator.Session, error) {
	sess, _, err := s.updateSession(ctx, tenant, name, etag.Condition{}, mutate)
	return sess, err
}

// UpdateSessionIf is UpdateSession conditioned on If-Match (ENOTFOUND first, then
// EPRECONDITION, checked in the write's transaction). It returns the result's entity tag.
func (s *Store) UpdateSessionIf(ctx context.Context, tenant, name string, cond etag.Condition, mutate func(*orchestrator.Session) error) (orchestrator.Session, string, error) {
	return withTag(s.updateSession(ctx, tenant, name, cond, mutate))
}

func (s *Store) updateSession(ctx context.Context, tenant, name string, cond etag.Condition, mutate func(*orchestrator.Session) error) (orchestrator.Session, []byte, error) {
	key := s.sessionsKey(tenant)
	return updateJSON(ctx, s, "session", key, notFound("Session", name, tenant),
		func(tx *redis.Tx) *redis.StringCmd { return tx.HGet(ctx, key, name) },
		func(stored []byte) error { return checkIfMatch(cond, stored, "Session", name, tenant) },
		func(sess *orchestrator.Session) error {
			if err := mutate(sess); err != nil {
				return err
			}
			sess.Name, sess.Tenant = name, tenant
			return nil
		},
		func(p redis.Pipeliner, _ *orchestrator.Session, data []byte) {
			p.HSet(ctx, key, name, data)
			s.bumpSessionsVersion(ctx, p)
		})
}

// DeleteSessionIf is DeleteSession conditioned on If-Match: ENOTFOUND for a missing
// session, else EPRECONDITION (nothing deleted) when cond does not hold, checked in the
// delete's transaction.
func (s *Store) DeleteSessionIf(ctx context.Context, tenant, name string, cond etag.Condition) error {
	if !cond.Present() {
		return s.DeleteSession(ctx, tenant, name)
	}
	key := s.sessionsKey(tenant)
	return s.writeIfMatch(ctx, "delete session", key, name, cond, notFound("Session", name, tenant),
		"Session", name, tenant, func(p redis.Pipeliner) {
			p.HDel(ctx, key, name)
			p.HDel(ctx, s.statusKey(tenant), name)
			s.bumpSessionsVersion(ctx, p)
		})
}

// DeleteSession removes a session and its saved status, or returns ENOTFOUND. Components
// are not touched (they keep naming the deleted session, as in BOS).
func (s *Store) DeleteSession(ctx context.Context, tenant, name string) error {
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.HDel(ctx, s.sessionsKey(tenant), name)
		p.HDel(ctx, s.statusKey(tenant), name)
		s.bumpSessionsVersion(ctx, p)
		return nil
	})
	if err != nil {
		return s.fail("delete session", err)
	}
	if del.Val() == 0 {
		return notFound("Session", name, tenant)
	}
	return nil
}

// ListSessions returns the sessions of one tenant, or of all namespaces when all is true,
// that match f at time now, sorted by tenant then name.
func (s *Store) ListSessions(ctx context.Context, tenant string, all bool, f orchestrator.SessionFilter, now time.Time) ([]orchestrator.Session, error) {
	listed, err := s.listedSessions(ctx, tenant, all)
	if err != nil {
		return nil, err
	}
	var out []orchestrator.Session
	for i := range listed {
		if f.Match(&listed[i], now) {
			out = append(out, cloneSession(listed[i]))
		}
	}
	slices.SortFunc(out, func(a, b orchestrator.Session) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// sessionsVersionKey names the sessions' current version: every create, update and
// delete sets it to a new random id in the transaction that writes the record. A list
// that finds it as the last list left it uses what that list decoded, without reading a
// record. Random, not a counter: a Redis restarted empty, or a key deleted, can never
// give back a version a list was cached at.
func (s *Store) sessionsVersionKey() string { return s.k("sessions-version") }

// bumpSessionsVersion queues the new version every write to a session carries.
func (s *Store) bumpSessionsVersion(ctx context.Context, p redis.Pipeliner) {
	p.Set(ctx, s.sessionsVersionKey(), uuid.New(), 0)
}

// listedSessions returns the stored sessions of one namespace (or of all), shared with the
// cache: callers copy what they keep. It reads them only when the sessions version changed
// since the last list of the same scope (or is missing: a store no write of this version
// has touched). The version is read before the records and again after them: a list
// read across a write is not kept whole.
func (s *Store) listedSessions(ctx context.Context, tenant string, all bool) ([]orchestrator.Session, error) {
	version, err := s.rdb.Get(ctx, s.sessionsVersionKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("list sessions", err)
	}
	scope := sessionScope{all: all}
	if !all {
		scope.tenant = tenant
	}
	if version != "" {
		if listed, ok := s.sessions.list(scope, version); ok {
			return listed, nil
		}
	}
	var listed []orchestrator.Session
	byDigest := make(map[uint64]orchestrator.Session)
	err = s.listNSStrings(ctx, "list sessions", s.sessionNS(), s.k("sessions:"), tenant, all, func(raw string) error {
		digest := storedHash(raw)
		sess, ok := s.sessions.get(digest)
		if !ok {
			if err := decodeJSON("session", []byte(raw), &sess); err != nil {
				return err
			}
		}
		byDigest[digest] = sess
		listed = append(listed, sess)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Kept whole only if no write came between the version read and the records read: a
	// list holding a later write is not the list of version (and, should Redis lose that
	// write and be back at version, would show it).
	after, err := s.rdb.Get(ctx, s.sessionsVersionKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("list sessions", err)
	}
	if after != version {
		version = ""
	}
	s.sessions.keep(byDigest, scope, version, listed)
	return listed, nil
}

// sessionScope is what a list covered: one tenant's namespace, or all of them.
type sessionScope struct {
	tenant string
	all    bool
}

// sessionCache holds the sessions the last list decoded, by the digest of their stored
// bytes (storedHash): a session listed again unchanged is not decoded again. A session's
// record names its nodes (1.5 MB at 100,000), and the session loop lists the sessions
// every 250 ms and whenever a node finishes: decoding them cost a 100,000-node boot 135
// µs a node, and reading them, with no decoding, 7% of BOS's CPU and the same again of
// Redis's. So it also keeps the last list whole, with the sessions version it was read
// at: a list of the same scope at the same version is that list. And it keeps the
// sessions read one by one (GetSessionTagged) at one version, with their entity tags.
type sessionCache struct {
	mu      sync.Mutex
	m       map[uint64]orchestrator.Session
	scope   sessionScope
	version string // "" = no whole list kept
	listed  []orchestrator.Session

	oneVersion string                      // the version of ones ("" = none kept)
	ones       map[[2]string]taggedSession // by sessions key and name
}

// taggedSession is a session as read, with its entity tag.
type taggedSession struct {
	sess orchestrator.Session
	tag  string
}

// one returns the session name of the hash key if it was read at version.
func (c *sessionCache) one(key, name, version string) (taggedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version == "" || version != c.oneVersion {
		return taggedSession{}, false
	}
	got, ok := c.ones[[2]string{key, name}]
	return got, ok
}

// keepOne remembers a session read at version; those of another version are dropped.
func (c *sessionCache) keepOne(key, name, version string, got taggedSession) {
	if version == "" {
		return // no write of this version has touched the store: nothing to check against
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.oneVersion {
		c.oneVersion, c.ones = version, map[[2]string]taggedSession{}
	}
	c.ones[[2]string{key, name}] = got
}

func (c *sessionCache) get(digest uint64) (orchestrator.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sess, ok := c.m[digest]
	return sess, ok
}

// list returns the last list if it covered scope at version.
func (c *sessionCache) list(scope sessionScope, version string) ([]orchestrator.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == "" || c.version != version || c.scope != scope {
		return nil, false
	}
	return c.listed, true
}

// keep replaces the cache with the sessions a list of scope read at version.
func (c *sessionCache) keep(byDigest map[uint64]orchestrator.Session, scope sessionScope, version string, listed []orchestrator.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.scope, c.version, c.listed = byDigest, scope, version, listed
}

// cloneSession copies what a caller could change in place in a cached session.
func cloneSession(sess orchestrator.Session) orchestrator.Session {
	if t := sess.Status.EndTime; t != nil {
		end := *t
		sess.Status.EndTime = &end
	}
	if e := sess.Status.Error; e != nil {
		msg := *e
		sess.Status.Error = &msg
	}
	if sess.Status.TookOver != nil {
		sess.Status.TookOver = slices.Clone(sess.Status.TookOver)
		for i := range sess.Status.TookOver {
			sess.Status.TookOver[i].Nodes = slices.Clone(sess.Status.TookOver[i].Nodes)
		}
	}
	return sess
}

// DeleteSessions removes the given sessions and their saved statuses; it returns how many
// existed.
func (s *Store) DeleteSessions(ctx context.Context, sessions []orchestrator.Session) (int, error) {
	var cmds []*redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, sess := range sessions {
			cmds = append(cmds, p.HDel(ctx, s.sessionsKey(sess.Tenant), sess.Name))
			p.HDel(ctx, s.statusKey(sess.Tenant), sess.Name)
		}
		s.bumpSessionsVersion(ctx, p)
		return nil
	})
	if err != nil {
		return 0, s.fail("delete sessions", err)
	}
	n := 0
	for _, c := range cmds {
		n += int(c.Val())
	}
	return n, nil
}

// SaveSessionStatus stores (freezes) a session's extended status.
func (s *Store) SaveSessionStatus(ctx context.Context, tenant, name string, st orchestrator.SessionExtendedStatus) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save session status: %w", err)
	}
	return s.fail("save session status", s.rdb.HSet(ctx, s.statusKey(tenant), name, data).Err())
}

// GetSessionStatus returns the saved extended status; ok is false when none is saved.
func (s *Store) GetSessionStatus(ctx context.Context, tenant, name string) (st orchestrator.SessionExtendedStatus, ok bool, err error) {
	raw, err := s.rdb.HGet(ctx, s.statusKey(tenant), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, false, nil
	}
	if err != nil {
		return st, false, s.fail("get session status", err)
	}
	return st, true, decodeJSON("session status", raw, &st)
}

func decodeJSON(what string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored " + what + " is not valid JSON", Err: err}
	}
	return nil
}

// ---- Extended session status ----

// SessionStatus returns the extended status of sess (reference 2.5). A complete session's
// status is frozen: the saved copy is returned if there is one; if there is none (its
// completion stopped before saving one) it is computed now and not saved: a read never
// writes (FreezeSessionStatus saves). within restricts the components counted (a tenant's nodes);
// nil counts all.
func (s *Store) SessionStatus(ctx context.Context, sess orchestrator.Session, within func(string) bool, now time.Time) (orchestrator.SessionExtendedStatus, error) {
	if sess.Complete() {
		if st, ok, err := s.GetSessionStatus(ctx, sess.Tenant, sess.Name); err != nil || ok {
			return st, err
		}
		// Not frozen (completion was cut off before it saved one): computed, not saved.
	}
	stats, err := s.SessionStats(ctx, sess.Name, within)
	if err != nil {
		return orchestrator.SessionExtendedStatus{}, err
	}
	return orchestrator.BuildExtendedStatus(&sess, stats, now), nil
}

// FreezeSessionStatus computes the extended status of sess now and saves it (what POST
// /v2/sessions/{id}/status and session completion do).
func (s *Store) FreezeSessionStatus(ctx context.Context, sess orchestrator.Session, within func(string) bool, now time.Time) (orchestrator.SessionExtendedStatus, error) {
	stats, err := s.SessionStats(ctx, sess.Name, within)
	if err != nil {
		return orchestrator.SessionExtendedStatus{}, err
	}
	st := orchestrator.BuildExtendedStatus(&sess, stats, now)
	return st, s.SaveSessionStatus(ctx, sess.Tenant, sess.Name, st)
}
