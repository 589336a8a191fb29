package store

import (
	"sync"
	"unsafe"

	"github.com/cray-bos/bos/orchestrator"
)

// DefaultRecordCacheBytes bounds the record cache when Config.RecordCacheBytes is 0: a
// 100,000-node boot's records (about 2.4 KB each, 2.8 with their decoding). It holds only
// records this process has seen, so a smaller cluster uses less.
const DefaultRecordCacheBytes = 320 << 20

// recordCacheOverhead is what an entry is counted for besides its id and bytes.
const recordCacheOverhead = 64

// recordCache holds the stored bytes of the components this process last read or wrote in
// its component writes, by id, with their decoding when known (a read or a write of the
// same bytes then decodes nothing), up to a number of bytes (oldest entries evicted first). A
// write takes them as what it expects to find (the write script checks), so a node
// report on a record this process wrote recently (the power-on decision, the token)
// costs one round trip instead of a read and a write. A wrong entry (another replica
// wrote the record) costs one more round trip, never a wrong write.
type recordCache struct {
	mu    sync.Mutex
	limit int
	size  int
	gen   uint64
	m     map[string]cacheEntry
	fifo  []cacheRef // insertion order; refs to replaced or dropped entries are skipped
	head  int        // fifo[head:] is live
}

type cacheEntry struct {
	raw  string
	gen  uint64
	comp *compactRecord // raw decoded, nil until known
	size int            // what the entry is counted for
}

type cacheRef struct {
	id  string
	gen uint64
}

func newRecordCache(limit int) *recordCache {
	return &recordCache{limit: limit, m: map[string]cacheEntry{}}
}

func entrySize(id, raw string) int { return len(id) + len(raw) + recordCacheOverhead }

// decodedSize is what an entry's decoding is counted for besides its bytes.
const decodedSize = int(unsafe.Sizeof(compactRecord{}))

// get returns the bytes last seen for id.
func (c *recordCache) get(id string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return e.raw, ok
}

// decoded returns a copy of id's record decoded when raw is the bytes last seen for it
// and their decoding is known, sparing the caller decoding raw.
func (c *recordCache) decoded(id, raw string) (orchestrator.Component, bool) {
	if c == nil {
		return orchestrator.Component{}, false
	}
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || e.comp == nil || e.raw != raw {
		return orchestrator.Component{}, false
	}
	return e.comp.component(e.raw), true
}

// put remembers raw as id's stored bytes and dec (nil: not known) as their decoding. The
// same raw again keeps the decoding already known.
func (c *recordCache) put(id, raw string, dec *orchestrator.Component) {
	if c == nil || entrySize(id, raw) > c.limit {
		c.drop(id)
		return
	}
	var comp *compactRecord
	if dec != nil {
		comp, _ = compact(dec, raw)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		if e.raw == raw && (e.comp != nil || comp == nil) {
			return
		}
		c.size -= e.size
	}
	e := cacheEntry{raw: raw, size: entrySize(id, raw)}
	if comp != nil && e.size+decodedSize <= c.limit {
		e.comp, e.size = comp, e.size+decodedSize
	}
	c.gen++
	e.gen = c.gen
	c.m[id] = e
	c.size += e.size
	c.fifo = append(c.fifo, cacheRef{id: id, gen: c.gen})
	c.evict()
}

// learn adds dec, raw decoded, to id's entry when raw is still the bytes it holds (a read
// decoded them): the entry keeps its place.
func (c *recordCache) learn(id, raw string, dec *orchestrator.Component) {
	if c == nil {
		return
	}
	comp, ok := compact(dec, raw)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.comp != nil || e.raw != raw {
		return
	}
	if e.size+decodedSize > c.limit {
		return
	}
	e.comp, e.size = comp, e.size+decodedSize
	c.size += decodedSize
	c.m[id] = e
	c.evict()
}

// evict drops the oldest entries until the cache is within its bytes.
func (c *recordCache) evict() {
	for c.size > c.limit && c.head < len(c.fifo) {
		r := c.fifo[c.head]
		c.fifo[c.head] = cacheRef{}
		c.head++
		if e, ok := c.m[r.id]; ok && e.gen == r.gen {
			delete(c.m, r.id)
			c.size -= e.size
		}
	}
	c.compact()
}

// drop forgets id.
func (c *recordCache) drop(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		delete(c.m, id)
		c.size -= e.size
		c.compact()
	}
}

// compact drops the fifo's dead refs once they outnumber the live entries, so a few
// records written over and over do not grow it.
func (c *recordCache) compact() {
	if live := len(c.fifo) - c.head; live <= 2*len(c.m)+64 && c.head <= len(c.fifo)/2 {
		return
	}
	kept := make([]cacheRef, 0, 2*len(c.m)+64)
	for _, r := range c.fifo[c.head:] {
		if e, ok := c.m[r.id]; ok && e.gen == r.gen {
			kept = append(kept, r)
		}
	}
	c.fifo, c.head = kept, 0
}

// len is the number of entries (tests).
func (c *recordCache) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.size
}

// leaseMemory holds the holder each lease key had when this process's last fenced write
// read or checked it: a fenced write expects it again (the write script checks), and
// reads the leases it has not seen.
type leaseMemory struct {
	mu sync.Mutex
	m  map[string]string
}

func (l *leaseMemory) get(key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.m[key]
	return h, ok
}

// set remembers holder for key; "" forgets it (nobody holds it).
func (l *leaseMemory) set(key, holder string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if holder == "" {
		delete(l.m, key)
		return
	}
	if l.m == nil {
		l.m = map[string]string{}
	}
	l.m[key] = holder
}

// bytesString is b as a string without a copy. The store's record bytes (a write's
// encoding, a read's reply) are never changed once made, and a cache entry or an
// expectation that were wrong would only cost the check's second round trip.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// stringBytes is s as bytes without a copy, which nobody may change (see bytesString).
func stringBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
