package webui

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cray-bos/bos/orchestrator/store"
)

// hub turns the store's component writes into batched changes for every open stream. The
// ids written are collected in dirty; while a stream is open a ticker reads them once per
// tick and merges their cells into each stream's pending changes. Meanwhile the rolling
// inputs are read every in.every, and the nodes whose Slurm state changed marked dirty.
type hub struct {
	st   *store.Store
	in   *rollingInputs
	tick time.Duration
	log  *slog.Logger

	mu      sync.Mutex // guards the fields below; never held across I/O
	dirty   map[string]struct{}
	streams map[*stream]struct{}
	stop    chan struct{} // non-nil while the ticker goroutine runs; closed to stop it
}

func newHub(st *store.Store, in *rollingInputs, tick time.Duration, log *slog.Logger) *hub {
	return &hub{st: st, in: in, tick: tick, log: log, dirty: map[string]struct{}{}, streams: map[*stream]struct{}{}}
}

// notify records written ids while any stream is open (none: nothing to tell).
func (h *hub) notify(ids []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.streams) == 0 {
		return
	}
	for _, id := range ids {
		h.dirty[id] = struct{}{}
	}
}

// stream is one browser's events stream: the changes it has not been sent yet, by id, so
// what waits for a slow browser is at most one cell per component.
type stream struct {
	within  func(string) bool
	mu      sync.Mutex
	pending map[string]cell
	ready   chan struct{} // capacity 1: pending has something
}

// add opens a stream and starts the ticker if it is the first.
func (h *hub) add(within func(string) bool) *stream {
	s := &stream{within: within, pending: map[string]cell{}, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.streams[s] = struct{}{}
	if h.stop == nil {
		h.stop = make(chan struct{})
		go h.run(h.stop)
		go h.follow(h.stop)
	}
	return s
}

// remove closes a stream; the ticker stops with the last one.
func (h *hub) remove(s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.streams, s)
	if len(h.streams) == 0 && h.stop != nil {
		close(h.stop)
		h.stop = nil
		clear(h.dirty)
	}
}

// run reads the dirty components every tick until stop is closed.
func (h *hub) run(stop <-chan struct{}) { ticking(stop, h.tick, h.flush) }

// follow reads the rolling inputs every in.every until stop is closed, Slurm while a
// staged session exists (the nodes whose Slurm state changed are marked dirty:
// in.changed is notify).
func (h *hub) follow(stop <-chan struct{}) {
	ticking(stop, h.in.every, func() { h.in.refresh(context.Background(), true) })
}

// ticking calls pass every period until stop is closed.
func ticking(stop <-chan struct{}, period time.Duration, pass func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		pass()
	}
}

// flush publishes the components written since the last flush.
func (h *hub) flush() {
	h.mu.Lock()
	var ids []string
	if len(h.dirty) > 0 {
		ids = make([]string, 0, len(h.dirty))
		for id := range h.dirty {
			ids = append(ids, id)
		}
		clear(h.dirty)
	}
	h.mu.Unlock()
	if len(ids) > 0 {
		h.publish(ids)
	}
}

// publish reads ids (one MGET) and gives their cells to every stream.
func (h *hub) publish(ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raws, err := h.st.GetComponentsJSON(ctx, ids)
	if err != nil {
		h.log.Warn("web view: reading changed components", "err", err)
		h.notify(ids) // again at the next tick
		return
	}
	in := h.in.current()
	cells := make(map[string]cell, len(ids))
	for _, id := range ids {
		cells[id] = deletedCell
	}
	for _, raw := range raws {
		id, c, err := cellOfJSON(raw, in)
		if err != nil {
			h.log.Warn("web view: a stored component does not decode", "err", err)
			continue
		}
		cells[id] = c
	}
	h.mu.Lock()
	streams := make([]*stream, 0, len(h.streams))
	for s := range h.streams {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	for _, s := range streams {
		s.merge(cells)
	}
}

// merge adds changes to the stream's pending ones and wakes its writer.
func (s *stream) merge(cells map[string]cell) {
	s.mu.Lock()
	n := 0
	for id, c := range cells {
		if s.within == nil || s.within(id) {
			s.pending[id] = c
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// take returns the pending changes and empties them.
func (s *stream) take() Changes {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.pending)
	ch := Changes{IDs: make([]string, 0, n), Codes: make([]uint8, 0, n), Rolling: make([]uint8, 0, n)}
	for id, c := range s.pending {
		ch.IDs = append(ch.IDs, id)
		ch.Codes = append(ch.Codes, c.code)
		ch.Rolling = append(ch.Rolling, c.rolling)
	}
	clear(s.pending)
	return ch
}

// backlog is how many changes wait for the browser (tests).
func (s *stream) backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}
