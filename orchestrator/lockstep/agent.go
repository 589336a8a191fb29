package lockstep

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cray-bos/bos/internal/loop"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/reconciler"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Timing bounds and paces the agent. Zero fields take the defaults, which are BOA's own
// (reference 5.8) except Poll, which BOA set between 5 and 10 s.
type Timing struct {
	// Poll is how often a step looks at its nodes again (power, reports, CFS). Default 1 s.
	Poll time.Duration
	// GracefulShutdown is how long nodes get to power off after a graceful request before
	// they are forced (BOA GRACEFUL_SHUTDOWN_TIMEOUT). Default 300 s.
	GracefulShutdown time.Duration
	// ForcefulShutdown is how long forced nodes get before they fail the shutdown
	// (FORCEFUL_SHUTDOWN_TIMEOUT). Default 180 s.
	ForcefulShutdown time.Duration
	// Boot is how long a powered-on node gets to report booting its new image (BOS's chart:
	// 360 polls of 5 s). Default 30 min.
	Boot time.Duration
	// Configure is how long CFS gets to configure the nodes (BOA's fixed 1800 s). Default 30 min.
	Configure time.Duration
	// Sessions is how often new and orphaned sessions are looked for when nothing wakes
	// the agent. Default 1 s.
	Sessions time.Duration
	// Save is the least time between two status writes while a step is under way (each
	// phase change is written at once). Default 500 ms.
	Save time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Poll, time.Second)
	def(&t.GracefulShutdown, 300*time.Second)
	def(&t.ForcefulShutdown, 180*time.Second)
	def(&t.Boot, 30*time.Minute)
	def(&t.Configure, 30*time.Minute)
	def(&t.Sessions, time.Second)
	def(&t.Save, 500*time.Millisecond)
	return t
}

// Config wires an Agent. Store, Inventory and Effects (with its Store, BSS, CFS and Power)
// are required; Images is required for boot and reboot sessions.
type Config struct {
	Store     *store.Store
	Inventory selection.Inventory
	// Discovery runs discovery (of Store and Inventory), shared with the other callers
	// of the process (the reconciler); nil = one of its own.
	Discovery *sessions.Discovery
	Images    bootsets.Images
	Effects   *reconciler.Effects
	// Handoff passes the inventory a session's creation read to the agent (optional).
	Handoff *selection.Handoff
	Timing  Timing
	// Logger gets the agent's progress and, as BOA logged them, the failed nodes of each
	// session and the command that retries them. Nil discards.
	Logger *slog.Logger
	// Now is the clock of timestamps and step deadlines; nil means time.Now. Waits between
	// polls are real timers of Timing.Poll.
	Now func() time.Time
}

// Agent runs v1 sessions: it picks up every pending session (and, after a restart, every
// running one, which it runs again from the start as a restarted BOA job did) and runs
// each in its own goroutine until it completes, is deleted, or the agent stops.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
	// A session whose run panicked starts again no sooner than retryAt, its own
	// exponential backoff (Timing.Sessions doubled per panic in a row, at most 5 min).
	backoff *loop.Backoff
	retryAt map[string]time.Time
}

// New checks cfg and returns an agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("lockstep: Config.Store is required")
	case cfg.Inventory == nil:
		return nil, errors.New("lockstep: Config.Inventory is required")
	case cfg.Effects == nil || cfg.Effects.Store == nil || cfg.Effects.BSS == nil || cfg.Effects.CFS == nil || cfg.Effects.Power == nil:
		return nil, errors.New("lockstep: Config.Effects with Store, BSS, CFS and Power is required")
	}
	cfg.Timing = cfg.Timing.withDefaults()
	if cfg.Discovery == nil {
		cfg.Discovery = &sessions.Discovery{Store: cfg.Store, Inventory: cfg.Inventory}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Agent{cfg: cfg, log: cfg.Logger,
		wake: make(chan struct{}, 1), running: map[string]context.CancelFunc{},
		backoff: loop.NewBackoff(cfg.Timing.Sessions, 5*time.Minute), retryAt: map[string]time.Time{}}, nil
}

// Wake asks the agent to look for new sessions now (the API calls it after a create).
func (a *Agent) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run makes sure every HSM node is a BOS component (sessions.Discover), then looks for
// sessions to run until ctx is cancelled; then it stops every session it runs (they stay
// running in the store and start again with the next agent) and returns.
func (a *Agent) Run(ctx context.Context) error {
	defer func() {
		a.mu.Lock()
		for _, cancel := range a.running {
			cancel()
		}
		a.mu.Unlock()
		a.wg.Wait()
	}()
	// Sessions act on BOS components: make sure HSM's nodes are ones before the first
	// session runs (as the reconciler does: with a Discovery shared with it, the two
	// starting together share one run; either way it only adds what is missing).
	for {
		added, err := a.cfg.Discovery.Discover(ctx, a.cfg.Now())
		if err == nil {
			if len(added) > 0 {
				a.log.Info("v1 agent: discovered nodes", "added", len(added))
			}
			break
		}
		a.log.Warn("v1 agent: initial discovery; retrying", "err", err)
		if err := sleep(ctx, a.cfg.Timing.Sessions); err != nil {
			return nil
		}
	}
	loop.Every(ctx, a.log, "v1 agent", func() time.Duration { return a.cfg.Timing.Sessions }, a.wake, a.pass)
	return nil
}

// pass starts a goroutine for every active session that has none, and stops those whose
// session was deleted.
func (a *Agent) pass(ctx context.Context) {
	active, err := a.cfg.Store.ActiveV1Sessions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("v1 agent: listing sessions", "err", err)
		}
		return
	}
	want := make(map[string]bool, len(active))
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	for _, s := range active {
		want[s.ID] = true
		if _, ok := a.running[s.ID]; ok {
			continue
		}
		if now.Before(a.retryAt[s.ID]) {
			continue // it panicked: wait out its backoff
		}
		sctx, cancel := context.WithCancel(ctx)
		a.running[s.ID] = cancel
		a.wg.Add(1)
		go func(id string) {
			defer a.wg.Done()
			err := loop.Safely(a.log, "v1 session "+id, func() { a.runSession(sctx, id) })
			cancel()
			a.mu.Lock()
			delete(a.running, id)
			if err != nil {
				a.retryAt[id] = a.cfg.Now().Add(a.backoff.Failed(id))
			} else {
				delete(a.retryAt, id)
				a.backoff.Forget(id)
			}
			a.mu.Unlock()
		}(s.ID)
	}
	for id, cancel := range a.running {
		if !want[id] {
			cancel() // deleted (or completed, in which case it is ending anyway)
		}
	}
	for id := range a.retryAt {
		if !want[id] {
			delete(a.retryAt, id)
			a.backoff.Forget(id)
		}
	}
}

// Running reports how many sessions the agent is running now.
func (a *Agent) Running() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running)
}

func (a *Agent) runSession(ctx context.Context, id string) {
	log := a.log.With("session", id)
	r := &run{a: a, id: id, log: log}
	err := r.execute(ctx)
	switch {
	case err == nil:
	case errors.Is(err, errDeleted):
		log.Info("v1 session deleted while it ran; stopped")
	case ctx.Err() != nil:
		log.Info("v1 session interrupted; it runs again from the start with the next agent")
	default:
		log.Error("v1 session stopped on an error; it runs again on the next pass", "err", err)
	}
}
