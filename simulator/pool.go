package simulator

import "sync"

// workPool is a fixed set of goroutines draining one queue of jobs. The node agents share
// one (bounding their concurrent HTTP calls); event delivery uses one single-worker pool
// per shard so a BMC's events leave in order.
type workPool struct {
	mu     sync.RWMutex // held shared while sending, exclusively to close
	closed bool
	jobs   chan func()
	wg     sync.WaitGroup
}

func newWorkPool(workers, queue int) *workPool {
	p := &workPool{jobs: make(chan func(), queue)}
	p.wg.Add(workers)
	for range workers {
		go func() {
			defer p.wg.Done()
			for job := range p.jobs {
				job()
			}
		}()
	}
	return p
}

// submit queues job, waiting for room; it reports false once the pool is closed. Never
// call it with a BMC lock held.
func (p *workPool) submit(job func()) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	p.jobs <- job
	return true
}

// trySubmit queues job if there is room; it never blocks.
func (p *workPool) trySubmit(job func()) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	select {
	case p.jobs <- job:
		return true
	default:
		return false
	}
}

// close stops accepting jobs, lets the workers finish the queue and waits for them.
func (p *workPool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
