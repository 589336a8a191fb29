package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"maps"
	"slices"
	"time"
	"unsafe"

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

// historyOf encodes the entries a component write adds (old nil: a new record).
func (s *Store) historyOf(old, cur *orchestrator.Component) [][]byte {
	if s.historyMax == 0 {
		return nil
	}
	return encodeHistory(orchestrator.ComponentChanges(old, cur, s.now().UTC()))
}

// encodeHistory encodes entries into one buffer, each a part of it.
func encodeHistory(entries []orchestrator.HistoryEntry) [][]byte {
	out := make([][]byte, len(entries))
	buf := make([]byte, 0, 192*len(entries))
	for i := range entries {
		start := len(buf)
		buf = appendHistoryEntry(buf, &entries[i])
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// appendHistoryEntry appends e encoded as json.Marshal encodes it, byte for byte, without
// reflection: every component write encodes its entries, and json.Marshal of them was
// 2.5% of BOS's CPU in a 10,000-node boot.
func appendHistoryEntry(dst []byte, e *orchestrator.HistoryEntry) []byte {
	if y := e.Time.Year(); y < 0 || y > 9999 { // json.Marshal's error: leave it its own
		b, _ := json.Marshal(e)
		return append(dst, b...)
	}
	dst = append(dst, `{"time":"`...)
	dst = e.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","kind":`...)
	dst = appendJSONString(dst, e.Kind)
	dst = appendJSONField(dst, `,"from":`, e.From)
	dst = appendJSONField(dst, `,"to":`, e.To)
	dst = appendJSONField(dst, `,"detail":`, e.Detail)
	dst = appendJSONField(dst, `,"session":`, e.Session)
	return append(dst, '}')
}

// appendJSONField appends name and the string v, unless v is empty (omitempty).
func appendJSONField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return appendJSONString(append(dst, name...), v)
}

// appendJSONString appends s as a JSON string as encoding/json writes it: as is when it
// holds only printable ASCII that needs no escape, else through json.Marshal.
func appendJSONString(dst []byte, s string) []byte {
	if !plainJSONString(s) {
		b, _ := json.Marshal(s)
		return append(dst, b...)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainJSONString reports whether encoding/json writes s as it is: printable ASCII but
// the quote, the backslash and the HTML characters it escapes. It looks at 8 bytes at a
// time: every record write encodes some 2 KB of strings.
func plainJSONString(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := func(x uint64, n byte) uint64 { return (x - ones*uint64(n)) &^ x & highs } // a byte < n (n <= 128)
	is := func(x uint64, b byte) uint64 { return less(x^(ones*uint64(b)), 1) }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		if less(x, 0x20)|x&highs|is(x, 0x7f)|is(x, '"')|is(x, '\\')|is(x, '<')|is(x, '>')|is(x, '&') != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// pushHistory queues, in the write's transaction, the entries' append to id's list and the
// trim that keeps it bounded.
func (s *Store) pushHistory(w cmdSink, id string, entries [][]byte) {
	if len(entries) == 0 {
		return
	}
	args := make([]any, len(entries))
	for i, e := range entries {
		args[i] = e
	}
	key := s.historyKey(id)
	w.add("RPUSH", key, args...)
	w.add("LTRIM", key, -s.historyMax, -1)
}

// ComponentHistory returns a component's history, newest first, or ENOTFOUND when the
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
	raws := list.Val()
	out := make([]orchestrator.HistoryEntry, 0, len(raws))
	for _, raw := range slices.Backward(raws) {
		var e orchestrator.HistoryEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored history entry is not valid JSON", Err: err}
		}
		out = append(out, e)
	}
	return out, nil
}

// NoteHistory appends an entry, stamped now, to the history of each component named in
// notes (an effect whose result is not in the record: a CFS request). Ids without a
// record get none: existence is checked in the append's transaction, so no history
// outlives its component.
func (s *Store) NoteHistory(ctx context.Context, notes map[string]orchestrator.HistoryEntry) error {
	if s.historyMax == 0 || len(notes) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(notes))
	now := s.now().UTC()
	for i := 0; i < len(ids); i += writeChunk {
		chunk := ids[i:min(i+writeChunk, len(ids))]
		err := s.cas(ctx, "note history", s.compKeys(chunk), func(tx *redis.Tx) (func(redis.Pipeliner), error) {
			cmds, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, id := range chunk {
					p.Exists(ctx, s.compKey(id))
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			return func(p redis.Pipeliner) {
				for j, id := range chunk {
					if cmds[j].(*redis.IntCmd).Val() == 1 {
						e := notes[id]
						e.Time = now
						s.pushHistory(pipeSink{ctx, p}, id, encodeHistory([]orchestrator.HistoryEntry{e}))
					}
				}
			}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
