package stack

import (
	"context"
	"sync"

	"github.com/cray-bos/bos/orchestrator/operator"
)

// reconcilerRun runs the BOS reconciler and can kill and restart it on the same store, as
// a crash and a restart of the process would: the queue, timers and calls in progress die
// with it; the store, BMCs and the other services live on.
type reconcilerRun struct {
	cfg    operator.Config // Queue and Instance are set per run
	runCtx context.Context
	wg     *sync.WaitGroup

	mu     sync.Mutex // guards the fields below; never held across I/O
	queue  *operator.Queue
	rec    *operator.Reconciler
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

// start runs a new reconciler (a new Instance) with a new queue.
func (r *reconcilerRun) start() *operator.Reconciler {
	ctx, cancel := context.WithCancel(r.runCtx)
	cfg := r.cfg
	cfg.Queue = operator.NewQueue(nil)
	rec := operator.New(cfg)
	done := make(chan struct{})
	r.mu.Lock()
	r.queue, r.rec, r.cancel, r.done = cfg.Queue, rec, cancel, done
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(done)
		_ = rec.Run(ctx)
	}()
	return rec
}

// CrashReconciler stops the running reconciler at once, as kill -9 would stop BOS: what
// it recorded stays in the store, what it was about to do is lost. It does not wait, so a
// fault hook inside the reconciler (a power driver) may call it.
func (s *Stack) CrashReconciler() {
	if s.rec == nil {
		return
	}
	s.rec.mu.Lock()
	cancel := s.rec.cancel
	s.rec.mu.Unlock()
	cancel()
}

// RestartReconciler stops the running reconciler (if CrashReconciler has not), waits for
// it to end and starts a new one on the same store, as a restarted BOS would. Call it from
// outside the reconciler.
func (s *Stack) RestartReconciler() {
	if s.rec == nil {
		return
	}
	s.rec.mu.Lock()
	cancel, done := s.rec.cancel, s.rec.done
	s.rec.queue, s.rec.rec = nil, nil // wake-ups between the two runs are lost, as in a real restart
	s.rec.mu.Unlock()
	cancel()
	<-done
	s.rec.start()
}
