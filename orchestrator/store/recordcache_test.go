package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The record cache stays within its bytes, evicting the oldest entries first, and a record
// written over and over does not grow it.
func TestRecordCacheBounded(t *testing.T) {
	raw := strings.Repeat("r", 1000)
	limit := 10 * entrySize("x0000", raw)
	c := newRecordCache(limit)
	for i := range 25 {
		c.put(fmt.Sprintf("x%04d", i), raw)
		_, size := c.len()
		require.LessOrEqual(t, size, limit)
	}
	n, _ := c.len()
	assert.Equal(t, 10, n)
	_, ok := c.get("x0014")
	assert.False(t, ok, "evicted, oldest first")
	got, ok := c.get("x0015")
	assert.True(t, ok)
	assert.Equal(t, raw, got)

	// Rewriting one record keeps one entry, its latest bytes, and a short queue.
	for i := range 10000 {
		c.put("x0024", fmt.Sprintf("%s%04d", raw[4:], i)) // the same size
	}
	got, _ = c.get("x0024")
	assert.Equal(t, raw[4:]+"9999", got)
	n, size := c.len()
	assert.Equal(t, 10, n)
	assert.LessOrEqual(t, size, limit)
	assert.Less(t, len(c.fifo)-c.head, 2*n+65)
	assert.Less(t, cap(c.fifo), 1000)
	_, ok = c.get("x0015")
	assert.True(t, ok, "rewrites of x0024 pushed nothing else out")

	c.drop("x0024")
	_, ok = c.get("x0024")
	assert.False(t, ok)
	c.put("big", strings.Repeat("b", limit))
	_, ok = c.get("big")
	assert.False(t, ok, "an entry larger than the cache is not kept")

	var none *recordCache // RecordCacheBytes < 0
	none.put("x", "y")
	_, ok = none.get("x")
	assert.False(t, ok)
}
