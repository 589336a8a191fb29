package reconciler

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// fakeClock fires After channels only when Advance passes their time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func getNow(t *testing.T, q *Queue, max int) []string {
	t.Helper()
	type result struct {
		keys []string
		ok   bool
	}
	ch := make(chan result, 1)
	go func() { k, ok := q.GetBatch(max); ch <- result{k, ok} }()
	r := testwait.Receive(t, ch, "GetBatch returns", func() string { return fmt.Sprintf("%d keys queued", q.Len()) })
	require.True(t, r.ok)
	sort.Strings(r.keys)
	return r.keys
}

func TestQueueCollapsesDuplicates(t *testing.T) {
	q := NewQueue(newFakeClock())
	defer q.ShutDown()
	q.Add("a", "b", "a")
	q.Add("b")
	assert.Equal(t, 2, q.Len())
	assert.Equal(t, []string{"a", "b"}, getNow(t, q, 0))
	assert.Equal(t, 0, q.Len())
}

func TestQueueOneWorkerPerKeyAndRequeueWhenDirtied(t *testing.T) {
	q := NewQueue(newFakeClock())
	defer q.ShutDown()
	q.Add("a")
	assert.Equal(t, []string{"a"}, getNow(t, q, 1))
	q.Add("a") // dirtied while processing: must not be handed to a second worker
	q.Add("b")
	assert.Equal(t, []string{"b"}, getNow(t, q, 0), "a is still processing")
	q.Done("b")
	q.Done("a")
	assert.Equal(t, []string{"a"}, getNow(t, q, 0), "a comes back after Done")
	q.Done("a")
	assert.Equal(t, 0, q.Len())
}

func TestQueueBatchSize(t *testing.T) {
	q := NewQueue(newFakeClock())
	defer q.ShutDown()
	q.Add("a", "b", "c")
	assert.Len(t, getNow(t, q, 2), 2)
	assert.Len(t, getNow(t, q, 2), 1)
}

func TestQueueAddAfter(t *testing.T) {
	clock := newFakeClock()
	q := NewQueue(clock)
	defer q.ShutDown()
	q.AddAfter("late", 10*time.Second)
	q.AddAfter("soon", 2*time.Second)
	q.AddAfter("late", 20*time.Second) // a later due time does not postpone the earlier one
	require.Equal(t, 2, q.Pending())

	// advanceUntil moves the clock in small steps until n keys are still delayed: the
	// delay loop registers its timer concurrently, so one big step could race it.
	advanceUntil := func(n int) {
		testwait.Until(t, fmt.Sprintf("%d keys delayed", n), func() bool { clock.Advance(50 * time.Millisecond); return q.Pending() == n },
			func() string { return fmt.Sprintf("%d delayed at +%s", q.Pending(), clock.Now().Sub(t0)) })
	}
	clock.Advance(time.Second)
	assert.Equal(t, 0, q.Len(), "nothing is due after 1s")
	advanceUntil(1)
	assert.Equal(t, []string{"soon"}, getNow(t, q, 0))
	assert.Less(t, clock.Now().Sub(t0), 10*time.Second, "late is not due yet")
	advanceUntil(0)
	assert.Equal(t, []string{"late"}, getNow(t, q, 0))
	assert.GreaterOrEqual(t, clock.Now().Sub(t0), 10*time.Second)
}

func TestQueueShutDownWakesGetters(t *testing.T) {
	q := NewQueue(nil)
	done := make(chan bool)
	go func() { _, ok := q.GetBatch(1); done <- ok }()
	q.ShutDown()
	assert.False(t, testwait.Receive(t, done, "GetBatch woken by ShutDown", nil))
}

func TestQueueConcurrentWorkersNeverShareAKey(t *testing.T) {
	q := NewQueue(nil)
	var mu sync.Mutex
	inFlight := map[string]bool{}
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				keys, ok := q.GetBatch(3)
				if !ok {
					return
				}
				mu.Lock()
				for _, k := range keys {
					if inFlight[k] {
						t.Errorf("key %s handed to two workers", k)
					}
					inFlight[k] = true
					seen[k]++
				}
				mu.Unlock()
				mu.Lock()
				for _, k := range keys {
					inFlight[k] = false
				}
				mu.Unlock()
				q.Done(keys...)
			}
		}()
	}
	keys := []string{"a", "b", "c", "d", "e"}
	for i := 0; i < 2000; i++ {
		q.Add(keys[i%len(keys)])
	}
	testwait.Until(t, "every key handed out", func() bool { return q.Len() == 0 }, func() string { return fmt.Sprintf("%d keys queued", q.Len()) })
	q.ShutDown()
	wg.Wait()
	for _, k := range keys {
		assert.Positive(t, seen[k])
	}
}

// Keys SetFirst names are handed out before the others, each group in order, also when
// they come back after Done; a batch fills up with the others.
func TestQueueFirstKeysGoAhead(t *testing.T) {
	q := NewQueue(newFakeClock())
	defer q.ShutDown()
	q.SetFirst(func(k string) bool { return k[0] == 'r' }) // "reported"
	q.Add("a", "b", "r1", "c", "r2")
	keys, ok := q.GetBatch(3)
	require.True(t, ok)
	assert.Equal(t, []string{"r1", "r2", "a"}, keys)
	q.Add("r1") // dirtied while processing
	q.Add("d")
	q.Done(keys...)
	keys, _ = q.GetBatch(0)
	assert.Equal(t, []string{"r1", "b", "c", "d"}, keys)
}

// AddIf asks its condition at once for a key nobody processes, and for a key being
// processed when the processing ends (Done): the condition then judges what that
// processing concluded, not what was known when it was called.
func TestQueueAddIf(t *testing.T) {
	q := NewQueue(newFakeClock())
	defer q.ShutDown()
	verdict := false
	asked := 0
	cond := func() bool { asked++; return verdict }

	assert.False(t, q.AddIf("a", cond), "idle, the condition says no")
	assert.Equal(t, 1, asked)
	assert.Equal(t, 0, q.Len())

	verdict = true
	assert.True(t, q.AddIf("a", cond), "idle, the condition says yes")
	assert.Equal(t, 1, q.Len())
	assert.True(t, q.AddIf("a", cond), "already queued")
	assert.Equal(t, 2, asked, "a queued key needs no condition")
	assert.Equal(t, []string{"a"}, getNow(t, q, 0))

	// Processing: the condition is left to Done, which asks it then.
	verdict = false
	assert.True(t, q.AddIf("a", cond))
	assert.Equal(t, 2, asked, "not asked while a is processed")
	verdict = true // what the look under way concluded
	q.Done("a")
	assert.Equal(t, 3, asked)
	assert.Equal(t, []string{"a"}, getNow(t, q, 0), "handed out again: the condition held at Done")

	verdict = true
	assert.True(t, q.AddIf("a", cond))
	verdict = false
	q.Done("a")
	assert.Equal(t, 0, q.Len(), "the condition no longer held at Done")

	// A later AddIf replaces the earlier one; an Add queues the key whatever the condition.
	q.Add("a")
	assert.Equal(t, []string{"a"}, getNow(t, q, 0))
	assert.True(t, q.AddIf("a", func() bool { return true }))
	assert.True(t, q.AddIf("a", func() bool { return false }))
	q.Done("a")
	assert.Equal(t, 0, q.Len(), "the later condition counts")
	q.Add("a")
	assert.Equal(t, []string{"a"}, getNow(t, q, 0))
	assert.True(t, q.AddIf("a", func() bool { return false }))
	q.Add("a")
	q.Done("a")
	assert.Equal(t, []string{"a"}, getNow(t, q, 0), "added while processing: handed out again")
	q.Done("a")
	assert.Equal(t, 0, q.Len())
}
