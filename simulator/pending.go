package simulator

import "sync"

// pending is what a sender has queued for its next delivery, the shape of the collected
// event outboxes and of the batched CFS reports: a delivery is scheduled when the first
// item arrives and takes every item queued by the time it runs, so items queued
// meanwhile ride along in the same request. A delivery is sent whenever the sender is
// free: no timer waits for more.
type pending[T any] struct {
	mu        sync.Mutex
	items     []T
	scheduled bool
}

// add queues item and, when no delivery is scheduled, schedules one with schedule (which
// must not block). It reports false, queueing nothing, when the queue holds limit items
// already (0: no limit) or schedule refused.
func (p *pending[T]) add(item T, limit int, schedule func() bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if limit > 0 && len(p.items) >= limit {
		return false
	}
	if !p.scheduled {
		if !schedule() {
			return false
		}
		p.scheduled = true
	}
	p.items = append(p.items, item)
	return true
}

// take returns what is queued and ends the scheduled delivery: the next add schedules
// another.
func (p *pending[T]) take() []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	items := p.items
	p.items, p.scheduled = nil, false
	return items
}
