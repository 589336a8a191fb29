package reconciler

import (
	"container/heap"
	"sync"
	"time"

	"github.com/cray-bos/bos/internal/loop"
)

// Retry delays of a node whose look failed (AddRateLimited): RetryBase doubled per
// failure in a row, at most RetryMax, each node on its own count. The first retry comes
// after 1 s, as the fixed delay it replaces: with Redis overloaded, sooner retries of
// thousands of nodes would only add to the load.
const (
	RetryBase = time.Second
	RetryMax  = 30 * time.Second
)

// Clock is the time source of the queue's delayed adds; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// Queue is a work queue of node ids with the guarantees of client-go's workqueue:
//   - a key added while it waits is held once (duplicates collapse);
//   - a key is handed to one worker at a time (Get marks it processing until Done);
//   - a key added while processing is handed out again after Done.
//
// AddIf queues a key only if a condition holds; for a key being processed the condition
// is asked when the processing ends (Done), so it judges what that processing left.
//
// AddAfter delays a key; the earliest due time wins. AddRateLimited delays a key that
// failed by its own exponential backoff (Forget resets it). GetBatch hands out up to n
// keys at once so effects can be batched across nodes, the keys SetFirst names first.
type Queue struct {
	clock   Clock
	backoff *loop.Backoff

	mu         sync.Mutex
	first      func(key string) bool // goes ahead of the others (SetFirst); nil: none
	ahead      []string              // FIFO of keys that go first
	ready      []string              // FIFO of the other keys to hand out
	dirty      map[string]struct{}   // keys that need a look (in ahead or ready, or re-queued after Done)
	processing map[string]struct{}
	deferred   map[string]func() bool // AddIf conditions of processing keys, asked at Done
	delayed    delayHeap
	due        map[string]time.Time // key → its earliest pending due time in delayed
	notify     chan struct{}        // closed and replaced when ready gains keys
	wake       chan struct{}        // pokes the delay loop when a sooner due time arrives
	shutdown   bool
	done       chan struct{}
}

// NewQueue returns a queue whose delayed adds run on clock (nil = RealClock).
func NewQueue(clock Clock) *Queue {
	if clock == nil {
		clock = RealClock
	}
	q := &Queue{
		clock: clock, backoff: loop.NewBackoff(RetryBase, RetryMax), dirty: map[string]struct{}{}, processing: map[string]struct{}{},
		deferred: map[string]func() bool{},
		due:      map[string]time.Time{}, notify: make(chan struct{}), wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	go q.delayLoop()
	return q
}

// Add queues keys for a look now.
func (q *Queue) Add(keys ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(keys...)
}

func (q *Queue) addLocked(keys ...string) {
	if q.shutdown {
		return
	}
	added := false
	for _, k := range keys {
		if _, ok := q.dirty[k]; ok {
			continue
		}
		q.dirty[k] = struct{}{}
		if _, busy := q.processing[k]; busy {
			continue // handed out again by Done
		}
		q.enqueueLocked(k)
		added = true
	}
	if added {
		close(q.notify)
		q.notify = make(chan struct{})
	}
}

// AddIf queues key for a look now if wake() says so, and reports whether it queued key
// or left wake to be asked later. A key already queued stays queued. For a key being
// processed, whose processing may have read the world before the news that calls
// AddIf, wake is asked when the processing ends (Done) instead, so it judges what that
// processing concluded; a later AddIf for the key meanwhile replaces it. wake runs with
// the queue locked: it must not call the queue.
func (q *Queue) AddIf(key string, wake func() bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return false
	}
	if _, ok := q.dirty[key]; ok {
		return true
	}
	if _, busy := q.processing[key]; busy {
		q.deferred[key] = wake
		return true
	}
	if !wake() {
		return false
	}
	q.addLocked(key)
	return true
}

// SetFirst sets the priority rule: keys for which first is true when they are queued are
// handed out before the others, each group in order.
func (q *Queue) SetFirst(first func(key string) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.first = first
}

func (q *Queue) enqueueLocked(k string) {
	if q.first != nil && q.first(k) {
		q.ahead = append(q.ahead, k)
	} else {
		q.ready = append(q.ready, k)
	}
}

// AddAfter queues key for a look after d (at once if d <= 0). A key already due sooner
// keeps its earlier time.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	at := q.clock.Now().Add(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	if cur, ok := q.due[key]; ok && !at.Before(cur) {
		return
	}
	q.due[key] = at
	heap.Push(&q.delayed, delayItem{key: key, at: at})
	if q.delayed[0].key == key {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// AddRateLimited queues each key again after its own backoff: RetryBase doubled per
// failure in a row, at most RetryMax.
func (q *Queue) AddRateLimited(keys ...string) {
	for _, k := range keys {
		q.AddAfter(k, q.backoff.Failed(k))
	}
}

// Forget ends the failure counts of keys whose look succeeded.
func (q *Queue) Forget(keys ...string) { q.backoff.Forget(keys...) }

// Failures is how many looks at key failed in a row.
func (q *Queue) Failures(key string) int { return q.backoff.Failures(key) }

// GetBatch blocks until at least one key is ready and returns up to max of them (all if
// max <= 0), marking them processing. ok is false once the queue is shut down.
func (q *Queue) GetBatch(max int) (keys []string, ok bool) {
	for {
		q.mu.Lock()
		if q.shutdown {
			q.mu.Unlock()
			return nil, false
		}
		if len(q.ahead)+len(q.ready) > 0 {
			keys = take(&q.ahead, max, nil)
			keys = take(&q.ready, max, keys)
			for _, k := range keys {
				delete(q.dirty, k)
				q.processing[k] = struct{}{}
			}
			q.mu.Unlock()
			return keys, true
		}
		wait := q.notify
		q.mu.Unlock()
		select {
		case <-wait:
		case <-q.done:
		}
	}
}

// take moves keys from the front of *from onto keys until keys holds max (all if max <= 0).
func take(from *[]string, max int, keys []string) []string {
	n := len(*from)
	if max > 0 {
		n = min(n, max-len(keys))
	}
	keys = append(keys, (*from)[:n]...)
	*from = (*from)[n:]
	return keys
}

// Done ends the processing of keys; those added meanwhile are handed out again.
func (q *Queue) Done(keys ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	requeue := false
	for _, k := range keys {
		delete(q.processing, k)
		wake, deferred := q.deferred[k]
		delete(q.deferred, k)
		if q.shutdown {
			continue
		}
		_, ok := q.dirty[k]
		if !ok && deferred && wake() {
			q.dirty[k], ok = struct{}{}, true
		}
		if ok {
			q.enqueueLocked(k)
			requeue = true
		}
	}
	if requeue {
		close(q.notify)
		q.notify = make(chan struct{})
	}
}

// Len is the number of keys ready or waiting to be re-queued after Done.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.dirty)
}

// Pending is the number of delayed keys.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.due)
}

// ShutDown wakes every waiting GetBatch with ok=false and stops the delay loop.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.shutdown {
		q.shutdown = true
		close(q.done)
	}
}

// delayLoop moves delayed keys to ready when they fall due.
func (q *Queue) delayLoop() {
	for {
		q.mu.Lock()
		now := q.clock.Now()
		var fire []string
		for len(q.delayed) > 0 && !q.delayed[0].at.After(now) {
			it := heap.Pop(&q.delayed).(delayItem)
			if at, ok := q.due[it.key]; ok && at.Equal(it.at) {
				delete(q.due, it.key)
				fire = append(fire, it.key)
			}
		}
		q.addLocked(fire...)
		var next <-chan time.Time
		if len(q.delayed) > 0 {
			next = q.clock.After(q.delayed[0].at.Sub(q.clock.Now()))
		}
		q.mu.Unlock()
		select {
		case <-next:
		case <-q.wake:
		case <-q.done:
			return
		}
	}
}

type delayItem struct {
	key string
	at  time.Time
}

type delayHeap []delayItem

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)        { *h = append(*h, x.(delayItem)) }
func (h *delayHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
