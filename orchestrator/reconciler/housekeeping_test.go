package reconciler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// An actual-state cleanup reads every component: it runs only once the oldest actual
// state the last one left can have turned stale (issue 14: every minute, it cost a
// 100,000-node boot 9% of BOS's CPU, and more the longer the boot).
func TestActualStateCleanupDue(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const ttl = 4 * time.Hour
	for _, c := range []struct {
		name   string
		oldest time.Time
		now    time.Time
		want   bool
	}{
		{"none ran yet", time.Time{}, t0, true},
		{"a minute after a pass that left nothing", t0, t0.Add(time.Minute), false},
		{"just before the oldest turns stale", t0, t0.Add(ttl - time.Second), false},
		{"when it turns stale", t0, t0.Add(ttl), true},
		{"after", t0, t0.Add(ttl + time.Hour), true},
		{"an old state left: due sooner", t0.Add(-ttl + time.Minute), t0.Add(time.Minute), true},
	} {
		assert.Equal(t, c.want, actualStateCleanupDue(c.oldest, c.now, ttl), c.name)
	}
}
