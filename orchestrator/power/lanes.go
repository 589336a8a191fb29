package power

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// lanes run the calls to each BMC address one after another and back to back. A call
// that finds another running on its address queues behind it, holding no Parallel slot;
// when that call ends it hands the queued one its turn and its slot at once, so the next
// request rides the connection the last one just gave back to the pool. Without this,
// the calls of a BMC far apart in a batch waited for slots apart, among hundreds of other
// calls, and by then the pool's idle connections had moved on to other BMCs: a dial per
// request (and a TLS handshake on real BMCs). A BMC serves one request at a time, as
// real BMCs prefer, so no parallelism is lost.
type lanes struct {
	sem   chan struct{} // Parallel slots
	stall time.Duration // a call running this long gives its slot back (a hung BMC holds none)

	mu   sync.Mutex
	busy map[string]*lane // addresses with a call holding their turn
}

func newLanes(parallel int, stall time.Duration) *lanes {
	return &lanes{sem: make(chan struct{}, parallel), stall: stall, busy: map[string]*lane{}}
}

// lane is one address's queue of calls waiting for their turn.
type lane struct{ queue []*queued }

type queued struct {
	ctx  context.Context
	work func(*turn)
	done func()
	stop func() bool // stops the context.AfterFunc that runs work without a turn if ctx ends first
}

// turn is the right to call an address, with a Parallel slot while held is true.
type turn struct {
	l    *lanes
	key  string
	ln   *lane
	held atomic.Bool
}

// do runs work once it is key's turn and a slot is free, in a goroutine of its own, then
// done. It waits (in the caller) only for a slot when key is idle; a call queued behind
// another returns at once. If ctx ends before the call's turn or slot comes, work runs
// at once without a slot (queued: without a turn, nil) and sees the ended context.
func (l *lanes) do(ctx context.Context, key string, work func(*turn), done func()) {
	l.mu.Lock()
	if ln, ok := l.busy[key]; ok {
		q := &queued{ctx: ctx, work: work, done: done}
		ln.queue = append(ln.queue, q)
		q.stop = context.AfterFunc(ctx, func() {
			l.mu.Lock()
			i := slices.Index(ln.queue, q)
			if i >= 0 {
				ln.queue = slices.Delete(ln.queue, i, i+1)
			}
			l.mu.Unlock()
			if i >= 0 { // not handed its turn yet: go without one
				work(nil)
				done()
			}
		})
		l.mu.Unlock()
		return
	}
	ln := &lane{}
	l.busy[key] = ln
	l.mu.Unlock()
	t := &turn{l: l, key: key, ln: ln}
	select {
	case l.sem <- struct{}{}:
		t.held.Store(true)
		go t.run(work, done)
	case <-ctx.Done(): // this call only, here; the queue goes on without the caller
		work(t)
		q, slot := t.pass()
		done()
		if q != nil {
			go t.take(q, slot).run(q.work, q.done)
		}
	}
}

// run runs work, then the calls queued behind it on the address, one after another in
// this goroutine (handing over in another would leave the connection idle meanwhile,
// for other calls to push out of the pool).
func (t *turn) run(work func(*turn), done func()) {
	for {
		work(t)
		q, slot := t.pass()
		done()
		if q == nil {
			return
		}
		t, work, done = t.take(q, slot), q.work, q.done
	}
}

// take is q's turn after t, with t's slot, or a slot of its own (none if its context
// ends first).
func (t *turn) take(q *queued, slot bool) *turn {
	if !slot {
		select {
		case t.l.sem <- struct{}{}:
			slot = true
		case <-q.ctx.Done():
		}
	}
	next := &turn{l: t.l, key: t.key, ln: t.ln}
	next.held.Store(slot)
	return next
}

// call runs fn under the turn: past the stall time the slot is given back.
func (t *turn) call(fn func()) {
	if t == nil || !t.held.Load() {
		fn()
		return
	}
	stalled := time.AfterFunc(t.l.stall, func() {
		if t.held.CompareAndSwap(true, false) {
			<-t.l.sem
		}
	})
	defer stalled.Stop()
	fn()
}

// pass takes the next call queued on the address, to hand it the turn and the slot if
// still held; with none queued it frees both.
func (t *turn) pass() (next *queued, slot bool) {
	l := t.l
	slot = t.held.CompareAndSwap(true, false)
	l.mu.Lock()
	if len(t.ln.queue) == 0 {
		delete(l.busy, t.key)
		l.mu.Unlock()
		if slot {
			<-l.sem
		}
		return nil, false
	}
	next = t.ln.queue[0]
	t.ln.queue = t.ln.queue[1:]
	l.mu.Unlock()
	next.stop()
	return next, slot
}
