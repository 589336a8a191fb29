package selection

import (
	"sync"
	"time"
)

// Handoff carries the HSM snapshot a session's creation read for its overlap
// check (Resolver) to the session's setup (sessions.Setup, the v1 agent), so that
// creating and setting up a session read HSM once and the setup selects the nodes the
// check saw. A snapshot is taken at most once and only within MaxAge of being kept;
// otherwise setup reads HSM itself. A nil *Handoff keeps nothing.
type Handoff struct {
	// MaxAge bounds how old a snapshot setup will use (default 5 s: setup normally runs
	// within a session poll of the creation).
	MaxAge time.Duration
	// Now defaults to time.Now.
	Now func() time.Time

	mu     sync.Mutex
	byKey  map[string]handoff
	pruned time.Time
}

type handoff struct {
	inv *Snapshot
	at  time.Time
}

func (h *Handoff) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handoff) maxAge() time.Duration {
	if h.MaxAge > 0 {
		return h.MaxAge
	}
	return 5 * time.Second
}

// Keep stores inv for the session of key (orchestrator.V2SessionKey, V1SessionKey),
// dropping snapshots nobody took in time (a creation refused with 409, a session
// deleted before its setup).
func (h *Handoff) Keep(key string, inv *Snapshot) {
	if h == nil || key == "" || inv == nil {
		return
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byKey == nil {
		h.byKey = map[string]handoff{}
	}
	if now.Sub(h.pruned) > h.maxAge() {
		for k, e := range h.byKey {
			if now.Sub(e.at) > h.maxAge() {
				delete(h.byKey, k)
			}
		}
		h.pruned = now
	}
	h.byKey[key] = handoff{inv: inv, at: now}
}

// Take returns and forgets the snapshot kept for key, or nil when there is none or it is
// older than MaxAge.
func (h *Handoff) Take(key string) *Snapshot {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.byKey[key]
	if !ok {
		return nil
	}
	delete(h.byKey, key)
	if h.now().Sub(e.at) > h.maxAge() {
		return nil
	}
	return e.inv
}
