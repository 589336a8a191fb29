package pcs

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/pcsapi"
)

// Reservations is PCS's use of HSM's service reservations (/locks/service/reservations):
// before acting on nodes it reserves them, or checks the deputy keys it was given, so two
// services never drive a node at once.
type Reservations interface {
	// Valid returns the nodes whose deputy key (xname → key) names a live reservation.
	Valid(ctx context.Context, deputyKeys map[string]string) (map[string]bool, error)
	// Acquire reserves what it can of xnames for minutes (flexible: a node reserved by
	// someone else is left out) and returns the reservation key of each node it got.
	Acquire(ctx context.Context, xnames []string, minutes int) (map[string]string, error)
	// Renew extends reservations (xname → reservation key) to minutes from now.
	Renew(ctx context.Context, keys map[string]string, minutes int) error
	// Release gives reservations back.
	Release(ctx context.Context, keys map[string]string) error
}

// Reservations last a minute and are renewed every reservationRenewal while the
// transition runs, as hms-smd's reservation library does for PCS.
const (
	reservationMinutes  = 1
	reservationRenewal  = 30 * time.Second
	taskReserveFailed   = "Unable to reserve component"
	taskDeputyKeyFailed = "Invalid deputy key and unable to reserve component"
)

// reserve reserves the nodes of plans that have actions, or validates their deputy keys,
// failing the tasks of those it cannot hold, and returns the reservation keys it took
// (release them) and the deputy keys in use (check them before each stage). Without
// Config.Reservations it does nothing, as PCS with locking disabled.
func (s *Server) reserve(ctx context.Context, id string, plans map[string]nodePlan, deputy map[string]string) (held, deputies map[string]string, ok bool) {
	r := s.cfg.Reservations
	if r == nil {
		return nil, nil, true
	}
	deputies = map[string]string{}
	var want []string
	for x, p := range plans {
		if len(p.actions) == 0 {
			continue
		}
		if k := deputy[x]; k != "" {
			deputies[x] = k
		} else {
			want = append(want, x)
		}
	}
	fail := func(err error) (map[string]string, map[string]string, bool) {
		s.finishAll(id, pcsapi.TaskFailed, "Error acquiring reservations", err.Error())
		return nil, nil, false
	}
	if len(deputies) > 0 {
		valid, err := r.Valid(ctx, deputies)
		if err != nil {
			return fail(err)
		}
		for x := range deputies {
			if !valid[x] {
				delete(deputies, x)
				want = append(want, x)
			}
		}
	}
	if len(want) == 0 {
		return nil, deputies, true
	}
	held, err := r.Acquire(ctx, want, reservationMinutes)
	if err != nil {
		return fail(err)
	}
	for _, x := range want {
		if held[x] != "" {
			continue
		}
		msg := taskReserveFailed
		if deputy[x] != "" {
			msg = taskDeputyKeyFailed
		}
		s.fail(ctx, id, x, "Failed to achieve transition", msg)
	}
	return held, deputies, true
}

// holding is the reservations a transition holds: renewed while it runs, given back
// node by node once a node's last action is sent, the rest when the transition ends.
type holding struct {
	s    *Server
	mu   sync.Mutex
	keys map[string]string // xname → reservation key
}

func (h *holding) snapshot() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.keys)
}

// release gives back the reservations of xnames that are held (all of them when all is
// set). It runs on the server's context: an aborted transition still gives them back.
func (h *holding) release(xnames []string, all bool) {
	h.mu.Lock()
	give := map[string]string{}
	for x, k := range h.keys {
		if all || slices.Contains(xnames, x) {
			give[x] = k
			delete(h.keys, x)
		}
	}
	h.mu.Unlock()
	if len(give) == 0 {
		return
	}
	if err := h.s.cfg.Reservations.Release(h.s.ctx, give); err != nil {
		h.s.cfg.Logger.Warn("pcs: releasing reservations", "err", err)
	}
}

// keep renews the reservations until ctx ends, then releases what is left.
func (h *holding) keep(ctx context.Context) {
	t := time.NewTicker(reservationRenewal)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.release(nil, true)
			return
		case <-t.C:
			if keys := h.snapshot(); len(keys) > 0 {
				if err := h.s.cfg.Reservations.Renew(ctx, keys, reservationMinutes); err != nil && ctx.Err() == nil {
					h.s.cfg.Logger.Warn("pcs: renewing reservations", "err", err)
				}
			}
		}
	}
}

// checkDeputies fails the in-progress tasks whose deputy key no longer names a live
// reservation, as PCS checks before each stage.
func (s *Server) checkDeputies(ctx context.Context, id string, deputies map[string]string) {
	if len(deputies) == 0 {
		return
	}
	valid, err := s.cfg.Reservations.Valid(ctx, deputies)
	if err != nil {
		s.cfg.Logger.Warn("pcs: checking deputy keys", "err", err)
		return
	}
	for x := range deputies {
		if !valid[x] {
			s.fail(ctx, id, x, "Failed to achieve transition", "Reservation expired")
			delete(deputies, x)
		}
	}
}
