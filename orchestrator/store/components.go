package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/internal/etag"
	"github.com/cray-bos/bos/orchestrator"
)

// ErrSkip, returned by a mutate function, leaves that component unwritten and out of the
// result; the other components of the call are still written.
var ErrSkip = errors.New("skip this component")

// Tuning of the component paths.
const (
	// writeChunk is how many components one WATCH/MULTI transaction covers. A conflict
	// splits the chunk in halves, so a busy reconciler cannot starve a bulk write.
	writeChunk = 500
	// recordChunk is writeChunk for the writers to which only each record's atomicity
	// matters (PerRecord): Redis's WATCH checks each key against every key the
	// connection already watches, so its cost grows with the square of the keys (Redis
	// 7.0: about 10 µs of the server's CPU for 16 keys, 156 for 100, 825 for 250 and
	// 4,460 for 500), and a look's chunk of 500 held Redis for milliseconds.
	recordChunk = 100
	// readChunk is how many keys one MGET asks for.
	readChunk = 1000
	// txRecords is the most records a write checks with checkScript, in one round trip;
	// a larger write (and any on the embedded miniredis) WATCHes and reads them, then
	// MULTI/EXEC (writeChunkWatched): two round trips per chunk matter little there, and
	// the script's GETs cost Redis more than the MGET (BenchmarkLookWrites).
	txRecords = 16
	// maxAttempts bounds the retries of one conflicting component.
	maxAttempts = 1000
)

// Filter selects components. Zero fields do not filter. Every filter but IDs is served
// from an index, so no read scans all components.
type Filter struct {
	IDs           []string // when non-nil, only these ids; an empty non-nil slice matches nothing
	Session       string   // session == Session
	StagedSession string   // staged_state.session == StagedSession
	Enabled       *bool    // enabled == *Enabled
	Phase         *string  // status.phase == *Phase ("" is a real phase)
	Status        []string // computed status is any of these
	StartAfterID  string   // only ids sorting strictly after this one
	PageSize      int      // at most this many results; 0 = no limit
}

func (f *Filter) indexed() bool {
	return f.Session != "" || f.StagedSession != "" || f.Enabled != nil || f.Phase != nil || len(f.Status) > 0
}

// Key helpers.
func (s *Store) compKey(id string) string   { return s.k("component:", id) }
func (s *Store) allKey() string             { return s.k("components") }
func (s *Store) sessionIdx(n string) string { return s.k("index:session:", n) }
func (s *Store) stagedIdx(n string) string  { return s.k("index:staged:", n) }
func (s *Store) phaseIdx(p string) string   { return s.k("index:phase:", p) }
func (s *Store) statusIdx(st string) string { return s.k("index:status:", st) }
func (s *Store) enabledIdx(e bool) string   { return s.k("index:enabled:", strconv.FormatBool(e)) }
func (s *Store) errorIdx() string           { return s.k("index:error") }
func (s *Store) compKeys(ids []string) []string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.compKey(id)
	}
	return keys
}

// indexKeys lists the index sets c belongs to (none for a nil c).
func (s *Store) indexKeys(c *orchestrator.Component) []string {
	if c == nil {
		return nil
	}
	keys := []string{s.enabledIdx(c.Enabled), s.phaseIdx(c.Status.Phase), s.statusIdx(orchestrator.ComputeStatus(c))}
	if c.Session != "" {
		keys = append(keys, s.sessionIdx(c.Session))
	}
	if c.StagedState.Session != "" {
		keys = append(keys, s.stagedIdx(c.StagedState.Session))
	}
	if c.Error != "" {
		keys = append(keys, s.errorIdx())
	}
	return keys
}

// GetComponent returns one component, or ENOTFOUND.
func (s *Store) GetComponent(ctx context.Context, id string) (orchestrator.Component, error) {
	c, _, err := s.getComponent(ctx, id)
	return c, err
}

// GetComponentTagged is GetComponent that also returns the record's entity tag.
func (s *Store) GetComponentTagged(ctx context.Context, id string) (orchestrator.Component, string, error) {
	return withTag(s.getComponent(ctx, id))
}

// getComponent returns one component and its stored bytes, or ENOTFOUND.
func (s *Store) getComponent(ctx context.Context, id string) (orchestrator.Component, []byte, error) {
	raw, err := s.rdb.Get(ctx, s.compKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return orchestrator.Component{}, nil, notFound("Component", id, "")
	}
	if err != nil {
		return orchestrator.Component{}, nil, s.fail("get component", err)
	}
	c, err := decodeComponent(raw)
	return c, raw, err
}

// GetComponents returns the components that exist among ids, in the order given.
func (s *Store) GetComponents(ctx context.Context, ids []string) ([]orchestrator.Component, error) {
	raws, err := s.mget(ctx, ids)
	if err != nil {
		return nil, err
	}
	return decodeComponents(raws)
}

// Read is a component as a read found it, with its stored bytes. Given back to a write
// (ReadBefore), it spares the write decoding the record again when the record has not
// changed since.
type Read struct {
	orchestrator.Component
	raw []byte
}

// ReadComponents is GetComponents keeping each record's stored bytes (see Read).
// A record whose bytes are those the record cache holds is not decoded again.
func (s *Store) ReadComponents(ctx context.Context, ids []string) ([]Read, error) {
	out := make([]Read, 0, len(ids))
	err := s.mgetEach(ctx, ids, func(id, str string) error {
		c, ok := s.records.decoded(id, str)
		if !ok {
			var err error
			if c, err = decodeComponent(stringBytes(str)); err != nil {
				return err
			}
			s.records.learn(id, str, &c)
		}
		out = append(out, Read{Component: c, raw: stringBytes(str)})
		return nil
	})
	return out, err
}

// StoredHash is a digest of a record's stored bytes, the same in this process for the
// same bytes and never 0: a reader that kept it can tell later whether the record changed
// without reading it whole into a decoder (StoredHashes).
func (r Read) StoredHash() uint64 { return max(maphash.Bytes(storedSeed, r.raw), 1) }

var storedSeed = maphash.MakeSeed()

func storedHash(raw string) uint64 { return max(maphash.String(storedSeed, raw), 1) }

// StoredHashes returns the StoredHash of each of ids that exists, without decoding any.
func (s *Store) StoredHashes(ctx context.Context, ids []string) (map[string]uint64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var cmds []*redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < len(ids); i += readChunk {
			cmds = append(cmds, p.MGet(ctx, s.compKeys(ids[i:min(i+readChunk, len(ids))])...))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("read components", err)
	}
	out := make(map[string]uint64, len(ids))
	i := 0
	for _, c := range cmds {
		for _, v := range c.Val() {
			if str, ok := v.(string); ok {
				out[ids[i]] = storedHash(str)
			}
			i++
		}
	}
	return out, nil
}

// GetComponentsJSON returns the stored JSON of the components that exist among ids, in
// the order of ids, undecoded (readers that need a few fields decode only those).
func (s *Store) GetComponentsJSON(ctx context.Context, ids []string) ([]json.RawMessage, error) {
	return s.mget(ctx, ids)
}

// ListComponents returns the components matching f, in id order.
func (s *Store) ListComponents(ctx context.Context, f Filter) ([]orchestrator.Component, error) {
	raws, err := s.ListComponentsJSON(ctx, f)
	if err != nil {
		return nil, err
	}
	return decodeComponents(raws)
}

// ListComponentsJSON returns the stored JSON of the components matching f, in id order.
// The stored form already carries the computed status, so the API can send it as is.
func (s *Store) ListComponentsJSON(ctx context.Context, f Filter) ([]json.RawMessage, error) {
	if !f.indexed() && f.IDs == nil {
		return s.scanAll(ctx, f.StartAfterID, f.PageSize)
	}
	ids, err := s.candidates(ctx, &f)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	for len(ids) > 0 && (f.PageSize == 0 || len(out) < f.PageSize) {
		n := readChunk
		if f.PageSize > 0 {
			n = min(n, f.PageSize-len(out))
		}
		n = min(n, len(ids))
		raws, err := s.mget(ctx, ids[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, raws...)
		ids = ids[n:]
	}
	return out, nil
}

// ComponentIDs returns the ids matching f, in id order (pages apply).
func (s *Store) ComponentIDs(ctx context.Context, f Filter) ([]string, error) {
	if !f.indexed() && f.IDs == nil {
		return s.rangeIDs(ctx, f.StartAfterID, f.PageSize)
	}
	ids, err := s.candidates(ctx, &f)
	if err != nil {
		return nil, err
	}
	if f.IDs != nil && !f.indexed() {
		// Plain id lists may name missing components: keep the existing ones.
		exist, err := s.existing(ctx, ids)
		if err != nil {
			return nil, err
		}
		ids = exist
	}
	if f.PageSize > 0 && len(ids) > f.PageSize {
		ids = ids[:f.PageSize]
	}
	return ids, nil
}

// candidates resolves the filter to a sorted id list after StartAfterID (before paging).
func (s *Store) candidates(ctx context.Context, f *Filter) ([]string, error) {
	var ids []string
	if f.indexed() {
		var fixed []string
		if f.Session != "" {
			fixed = append(fixed, s.sessionIdx(f.Session))
		}
		if f.StagedSession != "" {
			fixed = append(fixed, s.stagedIdx(f.StagedSession))
		}
		if f.Enabled != nil {
			fixed = append(fixed, s.enabledIdx(*f.Enabled))
		}
		if f.Phase != nil {
			fixed = append(fixed, s.phaseIdx(*f.Phase))
		}
		var cmds []*redis.StringSliceCmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if len(f.Status) == 0 {
				cmds = append(cmds, p.SInter(ctx, fixed...))
				return nil
			}
			seen := map[string]bool{}
			for _, st := range f.Status {
				if !seen[st] {
					seen[st] = true
					cmds = append(cmds, p.SInter(ctx, append(slices.Clone(fixed), s.statusIdx(st))...))
				}
			}
			return nil
		})
		if err != nil {
			return nil, s.fail("list components", err)
		}
		for _, c := range cmds {
			ids = append(ids, c.Val()...) // statuses are disjoint: no duplicates
		}
		if f.IDs != nil {
			want := make(map[string]struct{}, len(f.IDs))
			for _, id := range f.IDs {
				want[id] = struct{}{}
			}
			ids = slices.DeleteFunc(ids, func(id string) bool { _, ok := want[id]; return !ok })
		}
	} else {
		ids = slices.Clone(f.IDs)
	}
	sort.Strings(ids)
	ids = slices.Compact(ids)
	if f.StartAfterID != "" {
		i, found := slices.BinarySearch(ids, f.StartAfterID)
		if found {
			i++
		}
		ids = ids[i:]
	}
	return ids, nil
}

// rangeIDs pages through the id index.
func (s *Store) rangeIDs(ctx context.Context, after string, limit int) ([]string, error) {
	min := "-"
	if after != "" {
		min = "(" + after
	}
	by := &redis.ZRangeBy{Min: min, Max: "+"}
	if limit > 0 {
		by.Count = int64(limit)
	}
	ids, err := s.rdb.ZRangeByLex(ctx, s.allKey(), by).Result()
	return ids, s.fail("list component ids", err)
}

// scanAll lists components in id order from the id index: all ids in one ZRANGEBYLEX
// when there is no page limit, then pipelined MGETs.
func (s *Store) scanAll(ctx context.Context, after string, limit int) ([]json.RawMessage, error) {
	ids, err := s.rangeIDs(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	return s.mget(ctx, ids)
}

// mget fetches the JSON of the given ids (missing ones skipped), pipelining MGETs.
func (s *Store) mget(ctx context.Context, ids []string) ([]json.RawMessage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]json.RawMessage, 0, len(ids))
	err := s.mgetEach(ctx, ids, func(_, str string) error {
		out = append(out, json.RawMessage(str))
		return nil
	})
	return out, err
}

// mgetEach calls each with the id and stored JSON of each of ids that exists, in order,
// pipelining MGETs; each's error stops it.
func (s *Store) mgetEach(ctx context.Context, ids []string, each func(id, str string) error) error {
	if len(ids) == 0 {
		return nil
	}
	var cmds []*redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < len(ids); i += readChunk {
			cmds = append(cmds, p.MGet(ctx, s.compKeys(ids[i:min(i+readChunk, len(ids))])...))
		}
		return nil
	})
	if err != nil {
		return s.fail("read components", err)
	}
	i := 0
	for _, c := range cmds {
		for _, v := range c.Val() {
			if str, ok := v.(string); ok {
				if err := each(ids[i], str); err != nil {
					return err
				}
			}
			i++
		}
	}
	return nil
}

// existing returns the ids (sorted input) that exist, keeping order.
func (s *Store) existing(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []string
	for i := 0; i < len(ids); i += readChunk {
		chunk := ids[i:min(i+readChunk, len(ids))]
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range chunk {
				p.Exists(ctx, s.compKey(id))
			}
			return nil
		})
		if err != nil {
			return nil, s.fail("check components", err)
		}
		for j, c := range cmds {
			if c.(*redis.IntCmd).Val() == 1 {
				out = append(out, chunk[j])
			}
		}
	}
	return out, nil
}

// ExistingComponentIDs returns which of ids exist (order kept, duplicates dropped).
func (s *Store) ExistingComponentIDs(ctx context.Context, ids []string) ([]string, error) {
	return s.existing(ctx, dedupe(ids))
}

// decodeOptions make the JSON v2 decoder read components as encoding/json does (case-
// insensitive names, duplicate names, invalid UTF-8), about 4 times faster: decoding
// the ~1.5 KB record was the reconciler's largest cost per look.
var decodeOptions = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

func decodeComponent(raw []byte) (orchestrator.Component, error) {
	var c orchestrator.Component
	if err := jsonv2.Unmarshal(raw, &c, decodeOptions); err != nil {
		return c, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored component is not valid JSON", Err: err}
	}
	return c, nil
}

func decodeComponents(raws []json.RawMessage) ([]orchestrator.Component, error) {
	out := make([]orchestrator.Component, len(raws))
	for i, raw := range raws {
		c, err := decodeComponent(raw)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// UpdateComponent reads one component, lets mutate change it and writes it back if no
// other writer changed it meanwhile; on a conflict it re-reads and calls mutate again, so
// mutate must depend only on the component it is given. It returns ENOTFOUND for a missing
// component, mutate's error unchanged, or the stored result (with its computed status).
func (s *Store) UpdateComponent(ctx context.Context, id string, mutate func(*orchestrator.Component) error) (orchestrator.Component, error) {
	c, _, err := s.updateComponent(ctx, id, etag.Condition{}, mutate)
	return c, err
}

// UpdateComponentIf is UpdateComponent conditioned on If-Match: when cond does not hold
// for the stored record it returns EPRECONDITION and writes nothing. The check runs in
// the write's transaction, so no other write can come between them. It also returns the
// result's entity tag.
func (s *Store) UpdateComponentIf(ctx context.Context, id string, cond etag.Condition, mutate func(*orchestrator.Component) error) (orchestrator.Component, string, error) {
	return withTag(s.updateComponent(ctx, id, cond, mutate))
}

// UpdateComponentIfJSON is UpdateComponentIf returning the stored record's JSON, which the
// API sends as it is (no second encoding of the record).
func (s *Store) UpdateComponentIfJSON(ctx context.Context, id string, cond etag.Condition, mutate func(*orchestrator.Component) error) (json.RawMessage, string, error) {
	_, raw, err := s.updateComponent(ctx, id, cond, mutate)
	if err != nil {
		return nil, "", err
	}
	return raw, etag.Of(raw), nil
}

func (s *Store) updateComponent(ctx context.Context, id string, cond etag.Condition, mutate func(*orchestrator.Component) error) (orchestrator.Component, []byte, error) {
	var missing bool
	out, raws, _, err := s.write(ctx, []string{id}, modeUpdate, func(c *orchestrator.Component, stored []byte) (any, error) {
		if err := checkIfMatch(cond, stored, "Component", id, ""); err != nil {
			return nil, err
		}
		return nil, mutate(c)
	}, func(string) { missing = true })
	if err != nil {
		return orchestrator.Component{}, nil, err
	}
	if missing {
		return orchestrator.Component{}, nil, notFound("Component", id, "")
	}
	if len(out) == 0 {
		return s.getComponent(ctx, id) // mutate returned ErrSkip: report the record as is
	}
	return out[0], raws[0], nil
}

// UpdateComponents is UpdateComponent for many ids: missing ids and those for which mutate
// returns ErrSkip are left out of the result. Each component is written atomically; the
// call as a whole is not (components of chunks already committed stay written if a later
// mutate fails). Duplicate ids are handled once.
func (s *Store) UpdateComponents(ctx context.Context, ids []string, mutate func(*orchestrator.Component) error, opts ...WriteOption) ([]orchestrator.Component, error) {
	out, _, _, err := s.write(ctx, dedupe(ids), modeUpdate, func(c *orchestrator.Component, _ []byte) (any, error) { return nil, mutate(c) }, nil, opts...)
	return out, err
}

// Outcome is what UpdateEach's mutate returned for one component, in the attempt that
// committed.
type Outcome[R any] struct {
	ID     string
	Result R
	// Written is false when mutate returned ErrSkip (or changed nothing): the record
	// stays as it was read in that attempt.
	Written bool
	// Stored is the StoredHash of the record as that attempt left it stored.
	Stored uint64
}

// UpdateEach is UpdateComponents whose mutate also returns a result (a decision, an
// outcome to report). mutate may run several times for a component (see doc.go): the
// outcomes are those of the attempt that committed, one per component that existed then,
// in ids order; a component deleted before that attempt has none. With ErrSkip mutate
// leaves the component unwritten and still gives its result.
func UpdateEach[R any](ctx context.Context, s *Store, ids []string, mutate func(*orchestrator.Component) (R, error), opts ...WriteOption) ([]Outcome[R], error) {
	_, _, outs, err := s.write(ctx, dedupe(ids), modeUpdate, func(c *orchestrator.Component, _ []byte) (any, error) { return mutate(c) }, nil, opts...)
	res := make([]Outcome[R], len(outs))
	for i, o := range outs {
		res[i] = Outcome[R]{ID: o.id, Written: o.written, Stored: o.stored}
		if o.val != nil {
			res[i].Result = o.val.(R)
		}
	}
	return res, err
}

// PutComponents creates or replaces whole records (ids taken from the records; for a
// repeated id the last record wins) and returns them as stored.
func (s *Store) PutComponents(ctx context.Context, comps []orchestrator.Component) ([]orchestrator.Component, error) {
	byID := make(map[string]orchestrator.Component, len(comps))
	ids := make([]string, 0, len(comps))
	for _, c := range comps {
		if _, dup := byID[c.ID]; !dup {
			ids = append(ids, c.ID)
		}
		byID[c.ID] = c.Clone()
	}
	out, _, _, err := s.write(ctx, ids, modeUpsert, func(c *orchestrator.Component, _ []byte) (any, error) {
		*c = byID[c.ID].Clone()
		return nil, nil
	}, nil, PerRecord)
	return out, err
}

// PutComponent creates or replaces one record.
func (s *Store) PutComponent(ctx context.Context, c orchestrator.Component) (orchestrator.Component, error) {
	out, _, err := s.PutComponentIf(ctx, c, etag.Condition{})
	return out, err
}

// PutComponentIf is PutComponent conditioned on If-Match (checked in the write's
// transaction; EPRECONDITION writes nothing: a missing record fails any If-Match). It
// also returns the result's entity tag.
func (s *Store) PutComponentIf(ctx context.Context, c orchestrator.Component, cond etag.Condition) (orchestrator.Component, string, error) {
	rec := c.Clone()
	out, raws, _, err := s.write(ctx, []string{c.ID}, modeUpsert, func(cur *orchestrator.Component, stored []byte) (any, error) {
		if err := checkIfMatch(cond, stored, "Component", rec.ID, ""); err != nil {
			return nil, err
		}
		*cur = rec.Clone()
		return nil, nil
	}, nil)
	if err != nil {
		return orchestrator.Component{}, "", err
	}
	return out[0], etag.Of(raws[0]), nil
}

// AddComponents creates the records whose ids do not exist yet and leaves existing ones
// alone (what discovery needs), each on its own (PerRecord). It returns the records created.
func (s *Store) AddComponents(ctx context.Context, comps []orchestrator.Component) ([]orchestrator.Component, error) {
	byID := make(map[string]orchestrator.Component, len(comps))
	ids := make([]string, 0, len(comps))
	for _, c := range comps {
		if _, dup := byID[c.ID]; !dup {
			ids = append(ids, c.ID)
			byID[c.ID] = c.Clone()
		}
	}
	out, _, _, err := s.write(ctx, ids, modeUpsert, func(c *orchestrator.Component, stored []byte) (any, error) {
		if stored != nil {
			return nil, ErrSkip
		}
		*c = byID[c.ID].Clone()
		return nil, nil
	}, nil, PerRecord)
	return out, err
}

// WriteOption changes how a component write is made.
type WriteOption func(*writeOptions)

type writeOptions struct {
	noWake    bool
	perRecord bool
	fence     *Fence
	read      map[string]Read // records read before the write, by id
}

// ReadBefore gives a write the records a read returned before it: a record whose stored
// bytes are still the same is taken as read instead of being decoded again.
func ReadBefore(reads map[string]Read) WriteOption {
	return func(o *writeOptions) { o.read = reads }
}

// PerRecord lets a component write commit in transactions of recordChunk records
// instead of writeChunk: for writers that need each record written atomically and no
// more (the reconciler's decisions, session setup), not for an API request, whose
// records up to writeChunk are written in one transaction. Each record is still
// compare-and-set.
var PerRecord WriteOption = func(o *writeOptions) { o.perRecord = true }

// NoWake makes a component write call no OnComponentsChanged. The reconciler writes its
// own decisions this way: it schedules its next look at those nodes itself, and waking
// them again would only repeat the work.
var NoWake WriteOption = func(o *writeOptions) { o.noWake = true }

type writeMode int

const (
	modeUpdate writeMode = iota // only existing components
	modeUpsert                  // missing components start as Component{ID: id}
)

// mutateFunc changes a component inside a write's transaction; stored is the record's
// stored bytes, nil for a component that does not exist yet (modeUpsert). Its result is
// kept as the component's outcome.
type mutateFunc func(c *orchestrator.Component, stored []byte) (any, error)

// outcome is mutate's result for one component in the attempt that committed.
type outcome struct {
	id      string
	val     any
	written bool
	stored  uint64 // StoredHash of the record as the attempt left it
}

// write runs mutate over ids in compare-and-set transactions of up to writeChunk
// components (recordChunk with PerRecord) and returns the resulting records in ids
// order, with their stored bytes. It also returns mutate's outcome for every component
// it was called on in the committed attempts. onMissing is told about ids that do not exist in modeUpdate.
func (s *Store) write(ctx context.Context, ids []string, mode writeMode, mutate mutateFunc, onMissing func(string), opts ...WriteOption) ([]orchestrator.Component, [][]byte, []outcome, error) {
	var wo writeOptions
	for _, o := range opts {
		o(&wo)
	}
	out := make([]orchestrator.Component, 0, len(ids))
	var raws [][]byte
	var outs []outcome
	size := writeChunk
	if wo.perRecord {
		size = recordChunk
	}
	for i := 0; i < len(ids); i += size {
		chunk := ids[i:min(i+size, len(ids))]
		ends := make(map[string]end, len(chunk))
		if err := s.writeChunk(ctx, chunk, mode, mutate, wo, map[string]*tried{}, map[string]keyVal{}, ends, 0); err != nil {
			return out, raws, outs, err
		}
		for _, id := range chunk {
			e, ok := ends[id]
			switch {
			case !ok: // fenced out
			case e.missing:
				if onMissing != nil {
					onMissing(id)
				}
			default:
				if e.inResult {
					out, raws = append(out, e.c), append(raws, e.raw)
				}
				outs = append(outs, e.out)
			}
		}
	}
	return out, raws, outs, nil
}

// queueIndexes adds to w the index changes of replacing old (nil: none) by cur (nil: a
// delete) for id.
func (s *Store) queueIndexes(w cmdSink, id string, old, cur *orchestrator.Component) {
	if old != nil && cur != nil {
		s.queueIndexChanges(w, id, old, cur)
		return
	}
	oldKeys, newKeys := s.indexKeys(old), s.indexKeys(cur)
	for _, k := range oldKeys {
		if !slices.Contains(newKeys, k) {
			w.add("SREM", k, id)
		}
	}
	for _, k := range newKeys {
		if !slices.Contains(oldKeys, k) {
			w.add("SADD", k, id)
		}
	}
	switch {
	case old == nil && cur != nil:
		w.add("ZADD", s.allKey(), 0, id)
	case old != nil && cur == nil:
		w.add("ZREM", s.allKey(), id)
	}
}

// queueIndexChanges is queueIndexes for a record replaced: it names only the index sets
// of the fields that changed (each field's sets are its own), in indexKeys' order, where
// comparing the two records' whole key lists cost every component write.
func (s *Store) queueIndexChanges(w cmdSink, id string, old, cur *orchestrator.Component) {
	var rems, adds [6]string
	nr, na := 0, 0
	change := func(changed, inOld, inNew bool, key func(c *orchestrator.Component) string) {
		if !changed {
			return
		}
		if inOld {
			rems[nr], nr = key(old), nr+1
		}
		if inNew {
			adds[na], na = key(cur), na+1
		}
	}
	change(old.Enabled != cur.Enabled, true, true, func(c *orchestrator.Component) string { return s.enabledIdx(c.Enabled) })
	change(old.Status.Phase != cur.Status.Phase, true, true, func(c *orchestrator.Component) string { return s.phaseIdx(c.Status.Phase) })
	if os, ns := orchestrator.ComputeStatus(old), orchestrator.ComputeStatus(cur); os != ns {
		rems[nr], adds[na], nr, na = s.statusIdx(os), s.statusIdx(ns), nr+1, na+1
	}
	change(old.Session != cur.Session, old.Session != "", cur.Session != "", func(c *orchestrator.Component) string { return s.sessionIdx(c.Session) })
	change(old.StagedState.Session != cur.StagedState.Session, old.StagedState.Session != "", cur.StagedState.Session != "",
		func(c *orchestrator.Component) string { return s.stagedIdx(c.StagedState.Session) })
	change((old.Error != "") != (cur.Error != ""), old.Error != "", cur.Error != "", func(*orchestrator.Component) string { return s.errorIdx() })
	for _, k := range rems[:nr] {
		w.add("SREM", k, id)
	}
	for _, k := range adds[:na] {
		w.add("SADD", k, id)
	}
}

// pending is one component write prepared inside a transaction.
type pending struct {
	raw      []byte
	old, cur *orchestrator.Component // old is nil for a new record
	history  []byte                  // the element to append to the component's history (nil: none)
}

// queueWrites adds to w the writes of todo: each record, its index changes, its history
// and the change of the session counts they make, all in one transaction. The records
// of a write of several go in one MSET and each index set's changes in one SREM and one
// SADD (batchSink): a look's chunk of 500 sent about 2,500 commands, now about 1,000
// (the history's RPUSH and LTRIM, a key each, stay one per record).
func (s *Store) queueWrites(w cmdSink, todo []*pending) {
	if len(todo) > 1 {
		b := &batchSink{cmdSink: w}
		defer b.flush()
		w = b
	}
	counts := countDeltas{}
	for _, t := range todo {
		id := t.cur.ID
		w.add("SET", s.compKey(id), t.raw)
		s.queueIndexes(w, id, t.old, t.cur)
		s.queueSessionError(w, t.old, t.cur)
		s.pushHistory(w, id, t.history)
		counts.add(t.old, -1)
		counts.add(t.cur, 1)
	}
	s.queueCounts(w, counts)
}

// batchSink gathers the commands of a write of several records that Redis takes for
// many keys or members at once: the records' SETs become one MSET, the SREMs of one
// index set one SREM, its SADDs one SADD; flush sends them, the SREMs before the SADDs
// as queueIndexes orders them for one record. Everything else passes through as it
// comes. The write is one MULTI/EXEC and its records have distinct ids, so only the
// number of commands changes (fewer command objects to build and parse here, fewer to
// dispatch in Redis), not what the transaction does.
type batchSink struct {
	cmdSink
	sets []any // key, value, key, value, ...
	srem setMembers
	sadd setMembers
}

// setMembers is the members to add to (or remove from) each set, sets in the order first
// named.
type setMembers struct {
	keys    []string
	members map[string][]any
}

func (m *setMembers) add(key string, member any) {
	if m.members == nil {
		m.members = map[string][]any{}
	}
	if _, ok := m.members[key]; !ok {
		m.keys = append(m.keys, key)
	}
	m.members[key] = append(m.members[key], member)
}

func (m *setMembers) flush(w cmdSink, name string) {
	for _, k := range m.keys {
		w.add(name, k, m.members[k]...)
	}
}

func (b *batchSink) add(name, key string, args ...any) {
	switch {
	case name == "SET" && len(args) == 1:
		b.sets = append(b.sets, key, args[0])
	case name == "SREM" && len(args) == 1:
		b.srem.add(key, args[0])
	case name == "SADD" && len(args) == 1:
		b.sadd.add(key, args[0])
	default:
		b.cmdSink.add(name, key, args...)
	}
}

// flush sends what b gathered.
func (b *batchSink) flush() {
	switch {
	case len(b.sets) == 2:
		b.cmdSink.add("SET", b.sets[0].(string), b.sets[1])
	case len(b.sets) > 2:
		b.cmdSink.add("MSET", b.sets[0].(string), b.sets[1:]...)
	}
	b.srem.flush(b.cmdSink, "SREM")
	b.sadd.flush(b.cmdSink, "SADD")
}

// tried is one component's outcome in an attempt of a write. The write's next attempts
// (after a conflict) reuse it for a record whose stored bytes are the same, without
// decoding, mutating and encoding it again: mutate depends only on the record.
type tried struct {
	stored string
	exists bool
	skip   bool // mutate returned ErrSkip
	val    any  // mutate's result
	c      orchestrator.Component
	raw    []byte
	write  *pending // nil when the record is unchanged

	decoded *orchestrator.Component // stored as decoded, when this try decoded it (no ReadBefore, no cache)
}

// try decodes the record stored as str (exists false: none, modeUpsert) and mutates it.
func (s *Store) try(id, str string, exists bool, mutate mutateFunc, wo writeOptions) (*tried, error) {
	t := &tried{stored: str, exists: exists}
	c := orchestrator.Component{ID: id}
	var old *orchestrator.Component // the record before mutate: indexes, counts, history
	var stored []byte
	if exists {
		stored = stringBytes(str)
		decoded := false
		if r, ok := wo.read[id]; ok && string(r.raw) == str {
			c = r.Component.Clone()
		} else if c, ok = s.records.decoded(id, str); !ok {
			var err error
			if c, err = decodeComponent(stored); err != nil {
				return nil, err
			}
			decoded = true
		}
		old = new(c.Clone()) // mutate changes c
		if decoded {
			t.decoded = old // for the record cache: nobody changes old
		}
	}
	val, err := mutate(&c, stored)
	t.val = val
	if errors.Is(err, ErrSkip) {
		t.skip = true
		return t, nil
	} else if err != nil {
		return nil, callerError{err}
	}
	c.ID = id
	c.RefreshStatus()
	if err := c.Validate(); err != nil {
		return nil, callerError{err}
	}
	raw, err := encodeComponent(&c)
	if err != nil {
		return nil, fmt.Errorf("encode component %s: %w", id, err)
	}
	t.c, t.raw = c, raw
	if !exists || !bytes.Equal(raw, stored) {
		t.write = &pending{raw: raw, old: old, cur: &t.c, history: s.historyOf(old, &t.c)}
	}
	return t, nil
}

// end is how a write ended for one component, in the attempt that committed.
type end struct {
	missing  bool // modeUpdate and no record
	inResult bool // the record is in the write's result (not skipped)
	c        orchestrator.Component
	raw      []byte
	out      outcome
}

// writeChunk writes ids in one compare-and-set round trip (checkAndWrite) when it knows
// the records' bytes (known, ReadBefore, the record cache), else after one MGET of those
// it does not. When a record is not as expected nothing is written and the chunk is
// decided again on the values the check returned: at once when only guesses were
// wrong; in halves, after a backoff for a single record, when a record changed since
// this write read it (so that one hot component only holds up itself). tries holds the
// outcomes of the earlier attempts, known the keys' values as last read or expected;
// ends receives each component's end.
func (s *Store) writeChunk(ctx context.Context, ids []string, mode writeMode, mutate mutateFunc, wo writeOptions, tries map[string]*tried, known map[string]keyVal, ends map[string]end, attempt int) error {
	keys := s.compKeys(ids)
	leaseOf, leaseKeys := s.fenceKeys(wo, ids)
	if leaseOf != nil && wo.fence.Holder == "" {
		return callerError{errFenceHolder}
	}
	rdb, single := s.rdb.(*redis.Client)
	if single && (len(ids) > txRecords || s.mini != nil || s.noScript) {
		return s.writeChunkWatched(ctx, rdb, ids, keys, leaseOf, leaseKeys, mode, mutate, wo, tries, ends, attempt)
	}
	var unknown []string
	for i, k := range keys {
		if _, ok := known[k]; ok {
			continue
		}
		if r, ok := wo.read[ids[i]]; ok {
			known[k] = keyVal{s: bytesString(r.raw), exists: true}
		} else if raw, ok := s.records.get(ids[i]); ok {
			known[k] = keyVal{s: raw, exists: true}
		} else {
			unknown = append(unknown, k)
		}
	}
	for _, k := range leaseKeys {
		if _, ok := known[k]; !ok {
			if h, ok := s.leases.get(k); ok {
				known[k] = keyVal{s: h, exists: true}
			} else {
				unknown = append(unknown, k)
			}
		}
	}
	if len(unknown) > 0 {
		got, err := s.rdb.MGet(ctx, unknown...).Result()
		if err != nil {
			return s.fail("write components", err)
		}
		for i, v := range got {
			str, ok := v.(string)
			known[unknown[i]] = keyVal{s: str, exists: ok, fresh: true}
		}
	}

	plans, err := s.decideChunk(ids, keys, leaseOf, mode, mutate, wo, tries, known)
	if err != nil {
		var ce callerError
		if !errors.As(err, &ce) {
			return s.fail("write components", err)
		}
		// The caller refused a record as this process remembered it (or as the caller
		// read it), which may be out of date: another writer's since, or this process's
		// memory overtaken by a reply that came late. A write would be checked, a refusal
		// is not: decide again on the stored records before answering with it.
		guessed := guessedKeys(keys, known)
		if len(guessed) == 0 {
			return ce.err
		}
		if err := s.readFresh(ctx, ids, keys, guessed, known); err != nil {
			return err
		}
		return s.writeChunk(ctx, ids, mode, mutate, wo, tries, known, ends, attempt)
	}

	// Check what was guessed, and every key of a record written; write.
	var groups []*txGroup
	var members [][]int // each group's records (indexes in ids)
	for i0, group := 0, len(ids); i0 < len(ids); i0 += group {
		g := &txGroup{}
		var todo []*pending
		var recs []int
		for i := i0; i < min(i0+group, len(ids)); i++ {
			p := &plans[i]
			recs = append(recs, i)
			var guard []string
			if kv := known[keys[i]]; !p.fenced && (p.write != nil || !kv.fresh) {
				guard = append(guard, keys[i])
			}
			if leaseOf != nil {
				if lk := leaseOf[ids[i]]; p.write != nil || !known[lk].fresh {
					guard = append(guard, lk)
				}
			}
			for _, k := range guard {
				if !slices.Contains(g.guards, k) {
					g.guards, g.kvs = append(g.guards, k), append(g.kvs, known[k])
				}
			}
			if p.write != nil {
				todo = append(todo, p.write)
			}
		}
		if len(todo) > 0 {
			g.writes = func(w cmdSink) { s.queueWrites(w, todo) }
		}
		if len(g.guards) > 0 {
			groups, members = append(groups, g), append(members, recs)
		}
	}
	if len(groups) > 0 {
		if err := s.checkAndWrite(ctx, groups); err != nil {
			return s.fail("write components", err)
		}
	}
	var again []string
	conflict := false
	for j, g := range groups {
		if g.committed {
			continue
		}
		conflict = conflict || len(g.bad) == 0 // a write after the check
		for i, k := range g.guards {
			kv, changed := g.bad[i]
			switch {
			case !changed && len(g.bad) == 0:
				delete(known, k) // read it again
				continue
			case !changed:
				kv = known[k]
				kv.fresh = true
			case known[k].fresh:
				conflict = true
			}
			known[k] = kv
		}
		for _, i := range members[j] {
			again = append(again, ids[i])
			plans[i].fenced = true // not this attempt's to report
		}
	}

	s.keepCommitted(ids, keys, leaseKeys, plans, known, ends, wo)
	if len(again) == 0 {
		return nil
	}
	if !conflict {
		// Only what this write expected without reading was out of date.
		return s.writeChunk(ctx, again, mode, mutate, wo, tries, known, ends, attempt)
	}
	// Someone wrote one of these components since this write read it: retry, in halves
	// so that one hot component only holds up itself.
	if len(again) > 1 {
		half := len(again) / 2
		if err := s.writeChunk(ctx, again[:half], mode, mutate, wo, tries, known, ends, 0); err != nil {
			return err
		}
		return s.writeChunk(ctx, again[half:], mode, mutate, wo, tries, known, ends, 0)
	}
	if attempt+1 >= maxAttempts {
		return orchestrator.Errorf(orchestrator.ECONFLICT, "component %s: gave up after %d conflicting writes", again[0], maxAttempts)
	}
	if err := backoff(ctx, attempt+1); err != nil {
		return err
	}
	return s.writeChunk(ctx, again, mode, mutate, wo, tries, known, ends, attempt+1)
}

// guessedKeys returns the keys of records known without reading them from Redis.
func guessedKeys(keys []string, known map[string]keyVal) []string {
	var out []string
	for _, k := range keys {
		if kv, ok := known[k]; ok && !kv.fresh {
			out = append(out, k)
		}
	}
	return out
}

// readFresh reads the records of keys (among ids' keys) from Redis into known, and into
// the record cache.
func (s *Store) readFresh(ctx context.Context, ids, keys, fresh []string, known map[string]keyVal) error {
	got, err := s.rdb.MGet(ctx, fresh...).Result()
	if err != nil {
		return s.fail("write components", err)
	}
	idOf := make(map[string]string, len(ids))
	for i, k := range keys {
		idOf[k] = ids[i]
	}
	for i, v := range got {
		str, ok := v.(string)
		known[fresh[i]] = keyVal{s: str, exists: ok, fresh: true}
		if ok {
			s.records.put(idOf[fresh[i]], str, nil)
		} else {
			s.records.drop(idOf[fresh[i]])
		}
	}
	return nil
}

// plan is a write's decision on one record in one attempt.
type plan struct {
	end
	fenced  bool                    // not this writer's lease (or not this attempt's): in no result
	write   *pending                // nil: nothing to write
	decoded *orchestrator.Component // the record as stored, decoded (nil: not decoded)
}

// decideChunk decides on each record of ids as known holds it: fenced out, missing,
// skipped, unchanged or to write. mutate's errors come back as callerError.
func (s *Store) decideChunk(ids, keys []string, leaseOf map[string]string, mode writeMode, mutate mutateFunc, wo writeOptions, tries map[string]*tried, known map[string]keyVal) ([]plan, error) {
	plans := make([]plan, len(ids))
	for i, id := range ids {
		p := &plans[i]
		kv := known[keys[i]]
		if leaseOf != nil {
			if lv := known[leaseOf[id]]; !lv.exists || lv.s != wo.fence.Holder {
				p.fenced = true // another replica's, or nobody's: not this writer's to change
				continue
			}
		}
		if !kv.exists && mode == modeUpdate {
			p.missing = true
			continue
		}
		t, ok := tries[id]
		if !ok || t.exists != kv.exists || t.stored != kv.s {
			var err error
			if t, err = s.try(id, kv.s, kv.exists, mutate, wo); err != nil {
				return nil, err
			}
			tries[id] = t
		}
		p.decoded = t.decoded
		if t.skip {
			p.out = outcome{id: id, val: t.val, stored: storedHash(t.stored)}
			continue
		}
		p.inResult, p.c, p.raw = true, t.c, t.raw
		p.out = outcome{id: id, val: t.val, written: t.write != nil, stored: Read{raw: t.raw}.StoredHash()}
		p.write = t.write
	}
	return plans, nil
}

// keepCommitted records the ends of the plans committed (not fenced), remembers the
// records as left and the leases as seen, and calls the hooks.
func (s *Store) keepCommitted(ids, keys, leaseKeys []string, plans []plan, known map[string]keyVal, ends map[string]end, wo writeOptions) {
	var written []string
	for i, id := range ids {
		p := &plans[i]
		if p.fenced {
			continue
		}
		ends[id] = p.end
		switch kv := known[keys[i]]; {
		case p.write != nil:
			written = append(written, id)
			var decoded *orchestrator.Component
			if d, ok := asDecoded(p.write.cur); ok {
				decoded = &d
			}
			s.records.put(id, bytesString(p.write.raw), decoded)
		case kv.exists:
			s.records.put(id, kv.s, p.decoded)
		default:
			s.records.drop(id)
		}
	}
	for _, k := range leaseKeys {
		if kv, ok := known[k]; ok && kv.fresh {
			s.leases.set(k, kv.s)
		}
	}
	s.changed(written, !wo.noWake)
}

// writeChunkWatched is writeChunk in two round trips on one connection, the records read
// fresh: WATCH and MGET of the keys (one pipeline), decide, then MULTI/EXEC, or UNWATCH
// when nothing is written. A write committed meanwhile fails the EXEC: the chunk is
// retried in halves (a single component after a backoff).
func (s *Store) writeChunkWatched(ctx context.Context, rdb *redis.Client, ids, keys []string, leaseOf map[string]string, leaseKeys []string, mode writeMode, mutate mutateFunc, wo writeOptions, tries map[string]*tried, ends map[string]end, attempt int) error {
	all := slices.Concat(keys, leaseKeys)
	conn := s.conn(rdb)
	defer conn.Close()
	vals, err := watchAndGet(ctx, conn, all)
	if err != nil {
		return s.fail("write components", err)
	}
	known := make(map[string]keyVal, len(all))
	for i, v := range vals {
		str, ok := v.(string)
		known[all[i]] = keyVal{s: str, exists: ok, fresh: true}
	}
	plans, err := s.decideChunk(ids, keys, leaseOf, mode, mutate, wo, tries, known)
	if err == nil {
		var todo []*pending
		for i := range plans {
			if plans[i].write != nil {
				todo = append(todo, plans[i].write)
			}
		}
		if len(todo) == 0 {
			err = conn.Process(ctx, redis.NewStatusCmd(ctx, "UNWATCH"))
		} else {
			_, err = conn.TxPipelined(ctx, func(p redis.Pipeliner) error { s.queueWrites(pipeSink{ctx, p}, todo); return nil })
		}
		if err == nil {
			s.keepCommitted(ids, keys, leaseKeys, plans, known, ends, wo)
			return nil
		}
	} else if uerr := conn.Process(ctx, redis.NewStatusCmd(ctx, "UNWATCH")); uerr != nil {
		return s.fail("write components", uerr)
	}
	var ce callerError
	switch {
	case errors.As(err, &ce):
		return ce.err
	case !errors.Is(err, redis.TxFailedErr):
		return s.fail("write components", err)
	}
	// Someone wrote one of these components meanwhile: retry, in halves so that one hot
	// component only holds up itself.
	if len(ids) > 1 {
		half := len(ids) / 2
		if err := s.writeChunk(ctx, ids[:half], mode, mutate, wo, tries, map[string]keyVal{}, ends, 0); err != nil {
			return err
		}
		return s.writeChunk(ctx, ids[half:], mode, mutate, wo, tries, map[string]keyVal{}, ends, 0)
	}
	if attempt+1 >= maxAttempts {
		return orchestrator.Errorf(orchestrator.ECONFLICT, "component %s: gave up after %d conflicting writes", ids[0], maxAttempts)
	}
	if err := backoff(ctx, attempt+1); err != nil {
		return err
	}
	return s.writeChunk(ctx, ids, mode, mutate, wo, tries, map[string]keyVal{}, ends, attempt+1)
}

// DeleteComponent removes one component, or returns ENOTFOUND.
func (s *Store) DeleteComponent(ctx context.Context, id string) error {
	return s.DeleteComponentIf(ctx, id, etag.Condition{})
}

// DeleteComponentIf is DeleteComponent conditioned on If-Match: ENOTFOUND for a missing
// component, else EPRECONDITION (nothing deleted) when cond does not hold, checked in the
// delete's transaction.
func (s *Store) DeleteComponentIf(ctx context.Context, id string, cond etag.Condition) error {
	deleted, err := s.deleteComponents(ctx, []string{id}, func(stored []byte) error {
		return checkIfMatch(cond, stored, "Component", id, "")
	})
	if err != nil {
		return err
	}
	if len(deleted) == 0 {
		return notFound("Component", id, "")
	}
	return nil
}

// DeleteComponents removes the components that exist among ids and returns their ids.
func (s *Store) DeleteComponents(ctx context.Context, ids []string) ([]string, error) {
	return s.deleteComponents(ctx, dedupe(ids), nil)
}

// deleteComponents removes the components that exist among ids (no repeats); check, when
// set, vets each one's stored bytes in the transaction and its error stops the chunk.
func (s *Store) deleteComponents(ctx context.Context, ids []string, check func(stored []byte) error) ([]string, error) {
	var deleted []string
	for i := 0; i < len(ids); i += writeChunk {
		chunk := ids[i:min(i+writeChunk, len(ids))]
		keys := s.compKeys(chunk)
		var done []string
		var olds []orchestrator.Component // the records of done
		err := s.cas(ctx, "delete components", keys, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
			done, olds = done[:0], olds[:0]
			vals, err := tx.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, err
			}
			for j, v := range vals {
				if str, ok := v.(string); ok {
					if check != nil {
						if err := check([]byte(str)); err != nil {
							return nil, callerError{err}
						}
					}
					c, err := decodeComponent([]byte(str))
					if err != nil {
						return nil, err
					}
					done, olds = append(done, chunk[j]), append(olds, c)
				}
			}
			if len(done) == 0 {
				return nil, nil
			}
			return func(p redis.Pipeliner) {
				counts := countDeltas{}
				w := pipeSink{ctx, p}
				for j, id := range done {
					p.Del(ctx, s.compKey(id), s.historyKey(id))
					s.queueIndexes(w, id, &olds[j], nil)
					s.queueSessionError(w, &olds[j], nil)
					counts.add(&olds[j], -1)
				}
				s.queueCounts(w, counts)
			}, nil
		})
		if err != nil {
			return deleted, err
		}
		for _, id := range done {
			s.records.drop(id)
		}
		s.changed(done, true)
		deleted = append(deleted, done...)
	}
	return deleted, nil
}

// SessionStats gathers the counts behind a session's extended status and completion test.
// within, when non-nil, restricts every count to the ids it accepts (a tenant's nodes).
// Without within the session's counts are read (one round trip, whatever the session's
// size) and then the records of the members that carry an error; with within (or before
// the counts are built) the members are read from the index sets and filtered: O(session).
func (s *Store) SessionStats(ctx context.Context, session string, within func(id string) bool) (orchestrator.SessionStats, error) {
	if within == nil {
		if st, ok, err := s.countedStats(ctx, session); err != nil || ok {
			return st, err
		}
	}
	return s.indexedStats(ctx, session, within)
}

// indexedStats is SessionStats from the index sets: one pipelined round trip of SINTERs,
// then the records of the members that carry an error.
func (s *Store) indexedStats(ctx context.Context, session string, within func(id string) bool) (orchestrator.SessionStats, error) {
	st := orchestrator.SessionStats{Phases: map[string]int{}, Errors: map[string][]string{}}
	members := s.sessionIdx(session)
	var (
		all, staged, both, enabled, stable, failed, onHold, errored *redis.StringSliceCmd
		phases                                                      = map[string]*redis.StringSliceCmd{}
	)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.SMembers(ctx, members)
		staged = p.SMembers(ctx, s.stagedIdx(session))
		both = p.SInter(ctx, members, s.stagedIdx(session))
		enabled = p.SInter(ctx, members, s.enabledIdx(true))
		stable = p.SInter(ctx, members, s.statusIdx(orchestrator.StatusStable))
		failed = p.SInter(ctx, members, s.statusIdx(orchestrator.StatusFailed))
		onHold = p.SInter(ctx, members, s.statusIdx(orchestrator.StatusOnHold))
		errored = p.SInter(ctx, members, s.errorIdx())
		for _, ph := range orchestrator.Phases {
			phases[ph] = p.SInter(ctx, members, s.enabledIdx(true), s.phaseIdx(ph))
		}
		return nil
	})
	if err != nil {
		return st, s.fail("session stats", err)
	}
	keep := func(ids []string) []string {
		if within == nil {
			return ids
		}
		return slices.DeleteFunc(ids, func(id string) bool { return !within(id) })
	}
	st.Members = len(keep(all.Val()))
	st.Staged = len(keep(staged.Val()))
	st.StagedMembers = len(keep(both.Val()))
	st.Enabled = len(keep(enabled.Val()))
	st.Stable = len(keep(stable.Val()))
	st.Failed = len(keep(failed.Val()))
	held := map[string]bool{}
	for _, id := range onHold.Val() {
		held[id] = true
	}
	for ph, cmd := range phases {
		n := 0
		for _, id := range keep(cmd.Val()) {
			if !held[id] {
				n++
			}
		}
		if n > 0 {
			st.Phases[ph] = n
		}
	}
	errIDs := keep(errored.Val())
	sort.Strings(errIDs)
	comps, err := s.GetComponents(ctx, errIDs)
	if err != nil {
		return st, err
	}
	for _, c := range comps {
		if c.Error != "" && c.Session == session {
			st.Errors[c.Error] = append(st.Errors[c.Error], c.ID)
		}
	}
	return st, nil
}

// changed tells the hooks of committed writes of ids: OnComponentsChanged when the write
// wakes (not NoWake), OnComponentsWritten always.
func (s *Store) changed(ids []string, wake bool) {
	if len(ids) == 0 {
		return
	}
	if s.onChanged != nil && wake {
		s.onChanged(slices.Clone(ids))
	}
	if s.origin != "" && wake {
		s.publishWakes(ids)
	}
	if s.onWritten != nil {
		s.onWritten(slices.Clone(ids))
	}
}

// callerError carries an error of the caller's mutate function (or of validating its
// result) through the transaction, so that it is returned unchanged rather than taken
// for a Redis failure.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

// dedupe drops repeated ids, keeping the first occurrence's position.
func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
