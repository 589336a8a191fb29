package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/orchestrator"
)

// Group commit. Node reports arrive concurrently, each a compare-and-set of one record in
// one round trip (script.go). On a single Redis the writes waiting at the same moment
// share that round trip: the first writer to find no batch in flight sends its own
// transaction at once, with any others queued meanwhile, in one pipeline on one
// connection; writers that arrive while a batch is in flight queue, and the next batch
// takes them all (at most maxBatch transactions) as soon as the one in flight returns.
// No write waits for a timer, so a write alone costs what it did.
//
// Each write stays its own transaction (WATCH, check, MULTI ... EXEC; then the next
// one's WATCH), so a mismatch or a conflict fails only that one, and each writer reads
// its own replies: the result it would have had alone. Redis runs the transactions in
// the order queued, so of two writes of one record in a batch the later one's check
// sees the earlier's result (a mismatch: it decides again on it, as it would alone).
// A writer whose context ends while it is queued leaves the queue (nothing of it is
// sent); once its batch is sent it is told its context's error, its write made or not,
// as for a write whose connection timed out.

// maxBatch bounds the transactions of one batch.
const maxBatch = 32

// committer queues the transactions of concurrent writers and sends them in batches.
type committer struct {
	mu    sync.Mutex
	queue []*commitReq
	busy  bool // a batch is being sent, or about to be
}

// commitReq is one writer's transactions in the queue.
type commitReq struct {
	ctx    context.Context
	groups []*txGroup
	state  atomic.Int32 // queued, taken (in a batch) or withdrawn (by its writer)
	done   chan error   // the result, once taken
}

const (
	reqQueued int32 = iota
	reqTaken
	reqWithdrawn
)

// commit sends groups in the next batch and returns their result, as settleGroups
// gives it.
func (c *committer) commit(ctx context.Context, s *Store, rdb *redis.Client, groups []*txGroup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &commitReq{ctx: ctx, groups: groups, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, req)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if lead {
		// The queue was empty: this writer sends the batch, its own transaction first,
		// and hands the next batches on if more writers queued meanwhile.
		if c.sendBatch(s, rdb) {
			go c.run(s, rdb)
		}
		return <-req.done
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// Still queued: withdrawn, nothing of it is sent. Else its outcome is unknown to
		// this writer, as after a timeout.
		req.state.CompareAndSwap(reqQueued, reqWithdrawn)
		return ctx.Err()
	}
}

// run sends batches until the queue is empty.
func (c *committer) run(s *Store, rdb *redis.Client) {
	for c.sendBatch(s, rdb) {
	}
}

// sendBatch takes the next batch from the queue, sends it and gives each writer its
// result. It returns whether writers are left queued; when none are the committer is
// idle (not busy) again.
func (c *committer) sendBatch(s *Store, rdb *redis.Client) bool {
	c.mu.Lock()
	var batch []*commitReq
	var groups []*txGroup
	taken := 0 // of the queue, in the batch or withdrawn
	for _, r := range c.queue {
		if len(groups) > 0 && len(groups)+len(r.groups) > maxBatch {
			break
		}
		taken++
		if r.state.CompareAndSwap(reqQueued, reqTaken) { // else withdrawn: dropped
			batch, groups = append(batch, r), append(groups, r.groups...)
		}
	}
	left := copy(c.queue, c.queue[taken:])
	clear(c.queue[left:])
	c.queue = c.queue[:left]
	c.mu.Unlock()

	if len(batch) > 0 {
		deliver(s, rdb, batch, groups)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = len(c.queue) > 0
	return c.busy
}

// deliver sends one batch and gives each of its writers its result. A panic on the way
// becomes the error of every writer not yet answered, so that none waits forever and
// the committer goes on with the next batch.
func deliver(s *Store, rdb *redis.Client, batch []*commitReq, groups []*txGroup) {
	answered := 0
	defer func() {
		if p := recover(); p != nil {
			err := &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a batch of component writes failed", Err: fmt.Errorf("panic: %v", p)}
			for _, r := range batch[answered:] {
				r.done <- err
			}
		}
	}()
	// One writer's context ending does not cut the others' round trip short: the
	// connection's own timeouts bound it.
	cmds := s.sendGroups(context.WithoutCancel(batch[0].ctx), rdb, groups)
	for _, r := range batch {
		r.done <- settleGroups(r.groups, groupsErr(cmds, r.groups))
		answered++
	}
}
