package server

import (
	"context"
	"sync"

	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
)

// reconcilerRun runs the v2 reconciler under Run's context and can kill and restart it
// on the same store, as a crash and a restart of the process would: the queue, timers
// and calls in progress die with it; the store, BMCs and the other services live on.
type reconcilerRun struct {
	cfg reconciler.Config // Queue and Instance are set per run
	wg  sync.WaitGroup    // every reconciler started

	mu     sync.Mutex // guards the fields below; never held across I/O
	ctx    context.Context
	queue  *reconciler.Queue
	rec    *reconciler.Reconciler
	cancel context.CancelFunc
	done   chan struct{}
}

// wake queues nodes on the running reconciler (the store hook and power events call it).
func (r *reconcilerRun) wake(ids ...string) {
	r.mu.Lock()
	q := r.queue
	r.mu.Unlock()
	if q != nil {
		q.Add(ids...)
	}
}

// wakePower passes a node's power event to the running reconciler, which queues the node
// if the event can change its decision (reconciler.MemoOf).
func (r *reconcilerRun) wakePower(id string, p power.Power) {
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	if rec != nil {
		rec.WakePower(id, p)
	}
}

// resync asks the running reconciler to look at every node it owns (after it took
// shards).
func (r *reconcilerRun) resync() {
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	if rec != nil {
		rec.Resync()
	}
}

// queueLen is the running reconciler's queue depth (0 when none runs).
func (r *reconcilerRun) queueLen() int {
	r.mu.Lock()
	q := r.queue
	r.mu.Unlock()
	if q == nil {
		return 0
	}
	return q.Len()
}

// wakeSessions asks the running reconciler to look at sessions now (the API calls it
// after a v2 session is created or deleted).
func (r *reconcilerRun) wakeSessions() {
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	if rec != nil {
		rec.WakeSessions()
	}
}

// begin starts the first reconciler; ctx (Run's) bounds it and its successors.
func (r *reconcilerRun) begin(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	r.start()
}

// start runs a new reconciler (a new Instance) with a new queue, unless Run has ended.
func (r *reconcilerRun) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	cfg := r.cfg
	cfg.Queue = reconciler.NewQueue(nil)
	rec := reconciler.New(cfg)
	done := make(chan struct{})
	r.queue, r.rec, r.cancel, r.done = cfg.Queue, rec, cancel, done
	r.wg.Add(1) // under mu, before end can Wait
	go func() {
		defer r.wg.Done()
		defer close(done)
		defer cancel()
		_ = rec.Run(ctx)
	}()
}

// end waits for the reconciler after Run's context has ended; none starts after it.
func (r *reconcilerRun) end() {
	r.mu.Lock()
	r.ctx, r.queue, r.rec = nil, nil, nil
	r.mu.Unlock()
	r.wg.Wait()
}

// CrashReconciler stops the running reconciler at once, as kill -9 would stop BOS: what
// it recorded stays in the store, what it was about to do is lost. It does not wait, so a
// fault hook inside the reconciler (a power driver, see Config.WrapPower) may call it.
func (b *BOS) CrashReconciler() {
	b.rec.mu.Lock()
	cancel := b.rec.cancel
	b.rec.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// RestartReconciler stops the running reconciler (if CrashReconciler has not), waits for
// it to end and starts a new one on the same store, as a restarted BOS would. Call it from
// outside the reconciler, while Run runs.
func (b *BOS) RestartReconciler() {
	r := b.rec
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.queue, r.rec = nil, nil // wake-ups between the two runs are lost, as in a real restart
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	r.start()
}
