package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// DefaultHistoryLimit is how many history entries a component keeps when
// Config.HistoryLimit is 0.
const DefaultHistoryLimit = 64

func (s *Store) historyKey(id string) string { return s.k("history:", id) }

// historyLimit is the entries kept per component; 0 keeps none.
func historyLimit(cfg Config) int {
	switch {
	case cfg.HistoryLimit == 0:
		return DefaultHistoryLimit
	case cfg.HistoryLimit < 0:
		return 0
	}
	return cfg.HistoryLimit
}

func (s *Store) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// historyOf encodes the entries a component write adds (old nil: a new record) as one
// list element, or nil when it adds none.
func (s *Store) historyOf(old, cur *orchestrator.Component) []byte {
	if s.historyMax == 0 {
		return nil
	}
	var elem []byte
	orchestrator.EachChange(old, cur, func(kind, from, to, detail string) {
		if elem == nil {
			elem = appendHistoryHead(make([]byte, 0, 256), s.now(), orchestrator.ChangesSession(old, cur))
		}
		elem = appendHistoryEntry(elem, kind, from, to, detail)
	})
	return elem
}

// A history list element holds the entries of one write, which share its time and
// session:
//
//	element = 0x01, varint(time as Unix nanoseconds), string(session), entry...
//	entry   = kind code, [string(kind) when the code is 0], string(from), string(to), string(detail)
//	string  = uvarint(length), bytes
//
// About a third of the bytes of an entry a JSON object each (the form before it, still
// read): the history was half again the bytes of the records a boot writes, and storing
// and sending them cost a 100,000-node boot about a twentieth of its CPU.
const packedHistory = 0x01

// historyKinds are the kinds' codes in a packed element: append only, stored data names
// them by their place.
var historyKinds = [...]string{1: orchestrator.HistoryCreated, orchestrator.HistoryEnabled, orchestrator.HistorySession,
	orchestrator.HistoryDesired, orchestrator.HistoryStaged, orchestrator.HistoryBSS, orchestrator.HistoryActual,
	orchestrator.HistoryPhase, orchestrator.HistoryStatus, orchestrator.HistoryOverride, orchestrator.HistoryAction,
	orchestrator.HistoryAttempts, orchestrator.HistoryError, orchestrator.HistoryCFS}

// unknownHistoryKind names a kind code this version does not know: the entry's other
// fields read as any entry's do.
func unknownHistoryKind(code byte) string { return "unknown-" + strconv.Itoa(int(code)) }

func historyKindCode(kind string) byte {
	for i := 1; i < len(historyKinds); i++ {
		if historyKinds[i] == kind {
			return byte(i)
		}
	}
	return 0
}

func appendHistoryHead(dst []byte, t time.Time, session string) []byte {
	dst = append(dst, packedHistory)
	dst = binary.AppendVarint(dst, t.UnixNano())
	return appendPackedString(dst, session)
}

func appendHistoryEntry(dst []byte, kind, from, to, detail string) []byte {
	code := historyKindCode(kind)
	dst = append(dst, code)
	if code == 0 {
		dst = appendPackedString(dst, kind)
	}
	dst = appendPackedString(dst, from)
	dst = appendPackedString(dst, to)
	return appendPackedString(dst, detail)
}

func appendPackedString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// decodeHistory appends to dst the entries of a stored list element, oldest first: a
// packed element, or a JSON entry as stored before.
func decodeHistory(dst []orchestrator.HistoryEntry, raw string) ([]orchestrator.HistoryEntry, error) {
	if strings.HasPrefix(raw, "{") {
		var e orchestrator.HistoryEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return dst, err
		}
		return append(dst, e), nil
	}
	d := packedReader{rest: raw}
	if d.byte() != packedHistory {
		return dst, errors.New("unknown history element format")
	}
	t := time.Unix(0, d.varint()).UTC()
	session := d.string()
	for d.err == nil && d.rest != "" {
		e := orchestrator.HistoryEntry{Time: t, Session: session}
		switch code := d.byte(); {
		case code == 0:
			e.Kind = d.string()
		case int(code) < len(historyKinds):
			e.Kind = historyKinds[code]
		default: // a kind a newer BOS added (replicas of two versions share Redis in an upgrade)
			e.Kind = unknownHistoryKind(code)
		}
		e.From, e.To, e.Detail = d.string(), d.string(), d.string()
		dst = append(dst, e)
	}
	return dst, d.err
}

// packedReader reads a packed element; its first error sticks, and reads after it
// return zero values.
type packedReader struct {
	rest string
	err  error
}

func (d *packedReader) fail() {
	if d.err == nil {
		d.err = errors.New("truncated or corrupt history element")
	}
	d.rest = ""
}

func (d *packedReader) byte() byte {
	if d.rest == "" {
		d.fail()
		return 0
	}
	b := d.rest[0]
	d.rest = d.rest[1:]
	return b
}

func (d *packedReader) varint() int64 {
	v, n := binary.Varint([]byte(d.rest[:min(len(d.rest), binary.MaxVarintLen64)]))
	if n <= 0 {
		d.fail()
		return 0
	}
	d.rest = d.rest[n:]
	return v
}

func (d *packedReader) string() string {
	n, w := binary.Uvarint([]byte(d.rest[:min(len(d.rest), binary.MaxVarintLen64)]))
	if w <= 0 || n > uint64(len(d.rest)-w) {
		d.fail()
		return ""
	}
	s := d.rest[w : w+int(n)]
	d.rest = d.rest[w+int(n):]
	return s
}

// pushHistory queues, in the write's transaction, the element's append to id's list and
// the trim that keeps it bounded: at most HistoryLimit writes, so at least HistoryLimit
// entries.
func (s *Store) pushHistory(w cmdSink, id string, elem []byte) {
	if elem == nil {
		return
	}
	key := s.historyKey(id)
	w.add("RPUSH", key, elem)
	w.add("LTRIM", key, -s.historyMax, -1)
}

// ComponentHistory returns a component's history, newest first (at most HistoryLimit
// entries), or ENOTFOUND when the
// component does not exist.
func (s *Store) ComponentHistory(ctx context.Context, id string) ([]orchestrator.HistoryEntry, error) {
	var exists *redis.IntCmd
	var list *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, s.compKey(id))
		list = p.LRange(ctx, s.historyKey(id), 0, -1)
		return nil
	})
	if err != nil {
		return nil, s.fail("read history", err)
	}
	if exists.Val() == 0 {
		return nil, notFound("Component", id, "")
	}
	var out []orchestrator.HistoryEntry
	for _, raw := range list.Val() {
		if out, err = decodeHistory(out, raw); err != nil {
			return nil, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored history entry cannot be read", Err: err}
		}
	}
	slices.Reverse(out)
	if s.historyMax > 0 && len(out) > s.historyMax {
		out = out[:s.historyMax]
	}
	return out, nil
}

// NoteHistory appends an entry, stamped now, to the history of each component named in
// notes (an effect whose result is not in the record: a CFS request), in one pipeline
// with no transaction: RPUSHX appends only to a list that exists, and a component's list
// exists from its creation (the created entry) until its deletion, which deletes both in
// one MULTI. So an id without a record gets no entry and no history outlives its
// component. (A component created while the history was off has no list: its notes
// begin with its next write.) The transaction before (WATCH, EXISTS, MULTI) was a WATCH
// of 500 keys a chunk, which costs Redis the square of its keys.
func (s *Store) NoteHistory(ctx context.Context, notes map[string]orchestrator.HistoryEntry) error {
	if s.historyMax == 0 || len(notes) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(notes))
	now := s.now()
	for i := 0; i < len(ids); i += writeChunk {
		chunk := ids[i:min(i+writeChunk, len(ids))]
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range chunk {
				e := notes[id]
				elem := appendHistoryEntry(appendHistoryHead(make([]byte, 0, 64), now, e.Session), e.Kind, e.From, e.To, e.Detail)
				key := s.historyKey(id)
				p.Do(ctx, "RPUSHX", key, elem)
				p.Do(ctx, "LTRIM", key, -s.historyMax, -1)
			}
			return nil
		})
		if err != nil {
			return s.fail("note history", err)
		}
	}
	return nil
}
