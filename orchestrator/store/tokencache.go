package store

import (
	"sync"

	"github.com/cray-bos/bos/orchestrator"
)

// tokenCacheMax bounds the token records a Store keeps in memory; past it the cache
// starts again empty (a boot uses one token per artifact set and power-on batch).
const tokenCacheMax = 4096

// tokenCache keeps the BSS token records this process has read or written. A token's
// record never changes once written (PutToken writes a new, random token), so every node
// report naming a known token is resolved without a Redis round trip.
type tokenCache struct {
	mu   sync.Mutex
	recs map[string]orchestrator.TokenRecord
}

func (c *tokenCache) get(token string) (orchestrator.TokenRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.recs[token]
	return rec, ok
}

func (c *tokenCache) put(token string, rec orchestrator.TokenRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recs == nil || len(c.recs) >= tokenCacheMax {
		c.recs = make(map[string]orchestrator.TokenRecord)
	}
	c.recs[token] = rec
}
