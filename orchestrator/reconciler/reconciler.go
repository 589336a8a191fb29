package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/internal/loop"
	"github.com/cray-bos/bos/internal/uuid"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Config wires a Reconciler.
type Config struct {
	Store *store.Store
	// Queue holds the node ids to look at. Make it first and pass its Add as the store's
	// OnComponentsChanged hook, so every committed write wakes the node. nil = a new queue.
	Queue     *Queue
	Inventory selection.Inventory
	// Discovery runs discovery (of Store and Inventory), shared with the other callers
	// of the process (the v1 agent); nil = one of its own.
	Discovery *sessions.Discovery
	BSS       BootParameters
	CFS       Configuration
	Images    bootsets.Images
	Power     power.PowerControl
	// KnownPower, when set, gives in one call per batch the readings known without asking
	// each node's BMC (events, HSM's states) and the nodes left to Power's reads.
	KnownPower func(ctx context.Context, ids []string) (known map[string]power.PowerReading, missing []string)
	Tenants    tenant.Registry
	// Handoff passes the inventory a session's creation read to its setup (optional).
	Handoff *selection.Handoff
	// Workers is how many batches are reconciled at once (default 4).
	Workers int
	// BatchSize is the most nodes one worker takes at a time (default 1000; the option
	// max_component_batch_size caps it). Effects are batched across a batch's nodes.
	BatchSize int
	// CFSPoll is how soon a configuring node is looked at again: CFS sends no events
	// (default 500 ms; BOS looks every polling_frequency).
	CFSPoll time.Duration
	// BMCPatience is how long a batch waits for its nodes' BMCs (default 1 s; keep it well
	// under the Redfish timeout). Calls still running then go on without holding the
	// batch, and their nodes are decided or recorded when they answer, so a slow or hung
	// BMC delays only its own nodes (see stragglers.go).
	BMCPatience time.Duration
	// SessionPoll is how often pending and running sessions are looked at (default 250 ms).
	// It is only a resync: WakeSessions (called by the API after a v2 session is created
	// or deleted, and when a node reaches its final state) wakes the session loop at once.
	SessionPoll time.Duration
	// Instance names this process in the power calls it records (last_action.in_flight),
	// so that after a crash the next process can tell calls cut off between recording and
	// sending from its own calls under way. Default: random per New.
	Instance string
	Logger   *slog.Logger
	// LogLevel, when set, is the level of Logger's handler: every pass sets it from the
	// logging_level option, as BOS's operators do.
	LogLevel *slog.LevelVar
	// ReadTimeouts, when set, is updated from the *_read_timeout options at every pass.
	ReadTimeouts *ReadTimeouts
	// OnPass, when set, is told how long each pass over a batch of nodes took and how many
	// nodes it looked at (metrics).
	OnPass func(took time.Duration, nodes int)
	// Ownership, when set, is this replica's share of the nodes among BOS replicas on
	// one Redis: it looks only at nodes it owns, fences its writes, bounds its power calls
	// by its leases, and sets sessions up and completes them only as the leader. Nil: this
	// process works on every node.
	Ownership Ownership
	Now       func() time.Time
}

// Reconciler drives every enabled component to its desired state (see doc.go).
type Reconciler struct {
	cfg     Config
	queue   *Queue
	log     *slog.Logger
	setup   *sessions.Setup
	effects *Effects

	sessionWake chan struct{}
	memos       memos // each node's last look: the wake and priority rules (wake.go)
	resyncWake  chan struct{}
	// fullResync makes the next resync look at every node it owns (at start, after
	// Resync, after the options changed); the others look only where ResyncLooks says.
	fullResync atomic.Bool
	resyncOpts bos.Options         // the options of the last resync
	writeOpts  []store.WriteOption // of the reconciler's own writes
	// stragglers counts the goroutines finishing calls that outlasted BMCPatience.
	stragglers sync.WaitGroup
	// decide is Decide; tests wrap it to act between a decision and its write.
	decide func(bos.Component, Observation, bos.Options, time.Time) Decision
}

// New returns a reconciler; Run starts it.
func New(cfg Config) *Reconciler {
	if cfg.Queue == nil {
		cfg.Queue = NewQueue(nil)
	}
	if cfg.Discovery == nil {
		cfg.Discovery = &sessions.Discovery{Store: cfg.Store, Inventory: cfg.Inventory}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.CFSPoll <= 0 {
		cfg.CFSPoll = 500 * time.Millisecond
	}
	if cfg.SessionPoll <= 0 {
		cfg.SessionPoll = 250 * time.Millisecond
	}
	if cfg.BMCPatience <= 0 {
		cfg.BMCPatience = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Instance == "" {
		cfg.Instance = uuid.New()
	}
	r := &Reconciler{cfg: cfg, queue: cfg.Queue, log: cfg.Logger, sessionWake: make(chan struct{}, 1), resyncWake: make(chan struct{}, 1), decide: Decide,
		setup:     &sessions.Setup{Store: cfg.Store, Inventory: cfg.Inventory, Images: cfg.Images, Tenants: cfg.Tenants, Handoff: cfg.Handoff, Now: cfg.Now, Logger: cfg.Logger},
		writeOpts: []store.WriteOption{store.NoWake, store.PerRecord}}
	r.fullResync.Store(true) // the first pass re-checks calls a crashed process may have cut off
	power := patientResets{PowerControl: cfg.Power, patience: cfg.BMCPatience, background: &r.stragglers, failedLate: r.resetFailedLate, owner: cfg.Ownership}
	r.effects = &Effects{Store: cfg.Store, BSS: cfg.BSS, CFS: cfg.CFS, Power: power, Now: cfg.Now, NoWake: true, Restamp: r.memos.restamp}
	r.queue.SetFirst(func(id string) bool {
		m, ok := r.memos.get(id)
		return FirstInQueue(m, ok)
	})
	if cfg.Ownership != nil {
		r.effects.Fence = cfg.Ownership.Fence()
		r.writeOpts = append(r.writeOpts, store.FencedBy(*r.effects.Fence))
	}
	return r
}

// Wake queues nodes for a look now (the store hook calls it).
func (r *Reconciler) Wake(ids ...string) { r.queue.Add(ids...) }

// WakePower queues a node whose power an event reported as p, if that can change its
// decision (Memo.Wakes); it reports whether it did, or left it to the look under way. A
// node without a memo (never looked at by this process) is queued. A node being looked
// at is judged by the memo that look leaves, when it ends (Queue.AddIf): the look may
// have read its power before the event, and the memo it replaces may say the event
// cannot matter where the new one says it can (a report taken while the power still
// read off: TestCrashMatrix waited for the resync).
func (r *Reconciler) WakePower(id string, p power.Power) bool {
	if _, ok := r.memos.get(id); !ok {
		r.queue.Add(id)
		return true
	}
	return r.queue.AddIf(id, func() bool {
		m, ok := r.memos.get(id)
		return !ok || m.Wakes(p)
	})
}

// WakeSessions asks for a look at pending and running sessions now.
func (r *Reconciler) WakeSessions() {
	select {
	case r.sessionWake <- struct{}{}:
	default:
	}
}

// Resync asks for a look at every enabled node this replica owns now (after it took
// shards).
func (r *Reconciler) Resync() {
	r.fullResync.Store(true)
	select {
	case r.resyncWake <- struct{}{}:
	default:
	}
}

// owns reports whether this replica works on node id.
func (r *Reconciler) owns(id string) bool { return r.cfg.Ownership == nil || r.cfg.Ownership.Owns(id) }

// lead returns ctx bounded by this replica's lead, which runs the session loop and
// housekeeping (ctx itself when it runs alone), and whether it leads: a leader whose
// lease runs out stops these passes at that moment, not at their next start.
func (r *Reconciler) lead(ctx context.Context) (context.Context, context.CancelFunc, bool) {
	if r.cfg.Ownership == nil {
		return ctx, func() {}, true
	}
	lead, cancel := loop.WhileHeld(ctx, r.cfg.Ownership.LeaderUntil)
	return lead, cancel, lead.Err() == nil
}

// Run reconciles until ctx is cancelled: node workers, the resync that heals missed
// wake-ups every polling_frequency, and the session, discovery and cleanup loops.
func (r *Reconciler) Run(ctx context.Context) error {
	defer r.queue.ShutDown() // also when stopped during the first discovery
	// Sessions need BOS components: discover HSM's nodes before setting any session up.
	for {
		added, err := r.cfg.Discovery.Discover(ctx, r.cfg.Now())
		if err == nil {
			r.log.Info("initial discovery", "added", len(added))
			break
		}
		r.log.Warn("initial discovery; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < r.cfg.Workers; i++ {
		wg.Go(func() { r.worker(ctx) })
	}
	// The resync's first pass looks at every enabled node at once: calls a crashed process
	// recorded but may not have sent are verified and re-sent now (Decide, lost).
	house := &housekeeping{r: r, lastDiscovery: r.cfg.Now()} // Run did the first discovery
	every := func(name string, interval func() time.Duration, wake <-chan struct{}, pass func(context.Context)) {
		wg.Go(func() { loop.Every(ctx, r.log, name, interval, wake, pass) })
	}
	var period time.Duration // polling_frequency, read by each resync pass
	every("resync", func() time.Duration { return period }, r.resyncWake, func(ctx context.Context) {
		opts := r.options(ctx)
		period = seconds(opts.PollingFrequency)
		if opts != r.resyncOpts { // deadlines asked for under other options
			r.resyncOpts = opts
			r.fullResync.Store(true)
		}
		r.resync(ctx, r.fullResync.Swap(false))
	})
	every("sessions", func() time.Duration { return r.cfg.SessionPoll }, r.sessionWake, r.sessionPass)
	every("housekeeping", func() time.Duration { return 5 * time.Second }, nil, house.pass)
	<-ctx.Done()
	r.queue.ShutDown() // ends the workers
	wg.Wait()
	r.stragglers.Wait()
	return nil
}

func (r *Reconciler) worker(ctx context.Context) {
	for {
		keys, ok := r.queue.GetBatch(r.cfg.BatchSize)
		if !ok {
			return
		}
		var held map[string]bool
		start := time.Now()
		r.safely(keys, func(keys []string) {
			for k, v := range r.reconcile(ctx, keys) {
				if held == nil {
					held = map[string]bool{}
				}
				held[k] = v
			}
		})
		if r.cfg.OnPass != nil {
			r.cfg.OnPass(time.Since(start), len(keys))
		}
		if len(held) == 0 {
			r.queue.Done(keys...)
			continue
		}
		for _, k := range keys {
			if !held[k] {
				r.queue.Done(k)
			}
		}
	}
}

// options reads the live options, falling back to the defaults (as BOS's operators do)
// when the store cannot be read.
func (r *Reconciler) options(ctx context.Context) bos.Options {
	opts, err := r.cfg.Store.GetOptions(ctx)
	if err != nil {
		r.log.Warn("reading options; using defaults", "err", err)
		return bos.DefaultOptions()
	}
	if r.cfg.LogLevel != nil {
		r.cfg.LogLevel.Set(opts.LogLevel())
	}
	if r.cfg.ReadTimeouts != nil {
		r.cfg.ReadTimeouts.Set(opts)
	}
	return opts
}

// retryLater puts keys back after a failure that is nobody's fault in particular, each
// after its own backoff (Queue.AddRateLimited).
func (r *Reconciler) retryLater(keys []string, why string, err error) {
	r.log.Warn("reconcile deferred", "why", why, "nodes", len(keys), "err", err)
	r.queue.AddRateLimited(keys...)
}

// safely runs look on keys with panics contained. A look that panics is run again on
// each key alone, so the keys that do not panic go on and each one that does is logged
// with its id and retried after its own backoff; the process survives.
func (r *Reconciler) safely(keys []string, look func(keys []string)) {
	if len(keys) == 1 {
		if err := loop.Safely(r.log, "node "+keys[0], func() { look(keys) }); err != nil {
			r.queue.AddRateLimited(keys[0])
		}
		return
	}
	if err := loop.Safely(nil, "", func() { look(keys) }); err == nil {
		return
	}
	r.log.Warn("a look at a batch panicked; looking at its nodes one by one", "nodes", len(keys))
	for _, k := range keys {
		r.safely([]string{k}, look)
	}
}

// reconcile looks at a batch of nodes: observe, decide, store (compare-and-set), act.
// It returns the nodes whose power reading outlasted BMCPatience: they stay processing
// (so no other look reads them again meanwhile) until their reading arrives, then they
// are settled apart from the batch (see awaitEach) and released.
func (r *Reconciler) reconcile(ctx context.Context, keys []string) (held map[string]bool) {
	if ctx.Err() != nil {
		return nil
	}
	if r.cfg.Ownership != nil {
		keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool {
			if r.owns(k) {
				return false
			}
			r.queue.Forget(k) // another replica's: it looks at it
			return true
		})
		if len(keys) == 0 {
			return nil
		}
	}
	comps, err := r.cfg.Store.ReadComponents(ctx, keys)
	if err != nil {
		r.retryLater(keys, "read components", err)
		return nil
	}
	var ids []string
	enabled := make(map[string]store.Read, len(comps))
	for _, c := range comps {
		if c.Enabled {
			ids = append(ids, c.ID)
			enabled[c.ID] = c
		}
	}
	for _, k := range keys {
		if _, ok := enabled[k]; !ok {
			r.queue.Forget(k) // disabled or deleted: nothing to do, a look that succeeded
		}
	}
	if len(ids) == 0 {
		return nil
	}
	known, ask := map[string]power.PowerReading(nil), ids
	if r.cfg.KnownPower != nil {
		known, ask = r.cfg.KnownPower(ctx, ids)
	}
	power := awaitEach(ask, r.cfg.BMCPatience, &r.stragglers,
		func(id string) power.PowerReading { return r.cfg.Power.PowerStates(ctx, []string{id})[id] },
		func(late map[string]power.PowerReading) {
			ids := slices.Collect(maps.Keys(late))
			r.safely(ids, func(ids []string) { r.settle(ctx, ids, late, nil) })
			r.queue.Done(ids...)
		})
	maps.Copy(power, known)
	if len(power) < len(ids) {
		held = make(map[string]bool, len(ids)-len(power))
		var answered []string
		for _, id := range ids {
			if _, ok := power[id]; ok {
				answered = append(answered, id)
			} else {
				held[id] = true
			}
		}
		ids = answered
		r.log.Info("batch goes on without slow BMCs", "nodes", len(held))
	}
	r.settle(ctx, ids, power, enabled)
	return held
}

// settle decides and acts on nodes whose power is read. reads are the nodes' records as
// the look read them (nil: read them now).
func (r *Reconciler) settle(ctx context.Context, ids []string, power map[string]power.PowerReading, reads map[string]store.Read) {
	if len(ids) == 0 {
		return
	}
	if reads == nil {
		comps, err := r.cfg.Store.ReadComponents(ctx, ids)
		if err != nil {
			r.retryLater(ids, "read components", err)
			return
		}
		reads = make(map[string]store.Read, len(comps))
		for _, c := range comps {
			reads[c.ID] = c
		}
	}
	opts := r.options(ctx)
	cfsViews, err := r.cfg.CFS.Components(ctx, ids)
	if err != nil {
		// An unreachable CFS is not a missing record: wait rather than put nodes on hold.
		r.retryLater(ids, "read CFS", err)
		return
	}
	now := r.cfg.Now()
	decide := func(c *bos.Component) Decision {
		obs := Observation{Power: power[c.ID].Power, Self: r.cfg.Instance}
		if e := power[c.ID].Err; e != nil {
			obs.PowerError = e.Error()
		}
		if v, ok := cfsViews[c.ID]; ok {
			obs.CFS = &v
		}
		return r.decide(*c, obs, opts, now)
	}
	// Decided first on the records as read: a node whose record the decision leaves as
	// it is needs no write (a write since that read woke it: it is looked at again).
	// The others are stored with compare-and-set, decided again on the record the
	// transaction reads (the same unless it changed since: then it is not decoded again).
	decisions := make(map[string]Decision, len(ids))
	var changed []string
	storedAs := make(map[string]uint64, len(ids)) // each decided node's StoredHash after the decision
	for _, id := range ids {
		c, ok := reads[id]
		if !ok {
			continue // deleted since
		}
		if d := decide(&c.Component); d.Changed {
			changed = append(changed, id)
		} else {
			decisions[id] = d
			storedAs[id] = c.StoredHash()
		}
	}
	if len(changed) > 0 {
		// Only the decisions of the attempt that committed are acted on: a node deleted or
		// changed before it has none, or a fresh one.
		// The reconciler's own writes wake nobody (NoWake): each decision says when to look
		// again.
		outcomes, err := store.UpdateEach(ctx, r.cfg.Store, changed, func(c *bos.Component) (Decision, error) {
			d := decide(c)
			if !d.Changed {
				return d, store.ErrSkip
			}
			*c = d.Component
			return d, nil
		}, slices.Concat(r.writeOpts, []store.WriteOption{store.ReadBefore(reads)})...)
		if err != nil {
			r.retryLater(ids, "store decisions", err)
			return
		}
		for _, o := range outcomes {
			decisions[o.ID] = o.Result
			storedAs[o.ID] = o.Stored
		}
	}
	memos := make(map[string]Memo, len(decisions))
	for id, d := range decisions {
		if d.Component.ID != "" {
			m := MemoOf(d.Component, power[id].Power, r.cfg.Instance)
			if power[id].Err == nil {
				m.Stored = storedAs[id]
			}
			memos[id] = m
		}
	}
	r.memos.record(memos)
	r.act(ctx, decisions, opts)
	finished := false
	for id, d := range decisions {
		finished = finished || (d.Changed && !d.Component.Enabled)
		switch {
		case d.RequeueAfter > 0:
			r.queue.AddAfter(id, d.RequeueAfter)
		case d.PollCFS:
			r.queue.AddAfter(id, r.cfg.CFSPoll)
		}
	}
	if finished {
		r.WakeSessions() // a session may be complete now
	}
	r.queue.Forget(ids...) // looked at without a failure: the next one backs off from the start
}

// act performs the stored decisions' actions through Effects, batched: one BSS PUT per
// artifact set, one CFS PATCH per (configuration, session), Redfish resets in parallel.
// Failures are recorded on the components so the next look retries them.
func (r *Reconciler) act(ctx context.Context, decisions map[string]Decision, opts bos.Options) {
	byAction := map[Action][]bos.Component{}
	for _, d := range decisions {
		if d.Action != NoAction {
			byAction[d.Action] = append(byAction[d.Action], d.Component)
		}
	}
	for act, comps := range byAction {
		sort.Slice(comps, func(i, j int) bool { return comps[i].ID < comps[j].ID })
		var failed map[string]error
		switch act {
		case PowerOnAction:
			failed = r.effects.PowerOn(ctx, comps)
		case GracefulOffAction:
			failed = r.effects.PowerOff(ctx, idsOf(comps), power.ResetGracefulOff)
		case ForcefulOffAction:
			failed = r.effects.PowerOff(ctx, idsOf(comps), power.ResetForceOff)
		case ConfigureAction:
			r.configure(ctx, comps)
		}
		// A call that returned is not recorded apart (it cost every power call a second
		// transaction): last_action.in_flight stays this process's until the node's next
		// write, which Decide makes once the call's effect is seen (the report, the Off),
		// and clears it then. After a crash the next process verifies the effect first.
		if lost := ownedFailures(failed); len(lost) > 0 {
			r.recordFailures(ctx, act, lost, opts)
		}
	}
}

// configure asks CFS for the desired configuration. A failure is only logged: the node
// stays configuring and the next look tries again (configuration is not a counted action
// in BOS).
func (r *Reconciler) configure(ctx context.Context, comps []bos.Component) {
	failed := r.effects.Configure(ctx, comps)
	if err := r.cfg.Store.NoteHistory(ctx, cfsNotes(comps, failed)); err != nil {
		r.log.Warn("recording cfs requests in the nodes' history", "nodes", len(comps), "err", err)
	}
	for _, err := range failed {
		r.log.Warn("cfs configure", "nodes", len(comps), "err", err)
		return // one line per batch: the failures share their cause
	}
}

// cfsNotes are the history entries of a CFS request for comps (the record keeps no trace
// of it): the configuration asked for and the result.
func cfsNotes(comps []bos.Component, failed map[string]error) map[string]bos.HistoryEntry {
	notes := make(map[string]bos.HistoryEntry, len(comps))
	for _, c := range comps {
		detail := "requested"
		if err := failed[c.ID]; err != nil {
			detail = "failed: " + err.Error()
		}
		notes[c.ID] = bos.HistoryEntry{Kind: bos.HistoryCFS, To: c.DesiredState.Configuration, Detail: detail, Session: c.Session}
	}
	return notes
}

// resetFailedLate records a reset that failed after its batch went on (see patientResets).
func (r *Reconciler) resetFailedLate(ctx context.Context, kind power.ResetKind, failed map[string]error) {
	if failed = ownedFailures(failed); len(failed) > 0 {
		r.recordFailures(ctx, actionOf(kind), failed, r.options(ctx))
	}
}

// recordFailures marks the failed action on each node (if it is still the node's last
// action) and looks again after a backoff.
func (r *Reconciler) recordFailures(ctx context.Context, act Action, failed map[string]error, opts bos.Options) {
	ids := make([]string, 0, len(failed))
	for id := range failed {
		ids = append(ids, id)
	}
	want := map[Action]string{PowerOnAction: bos.ActionPoweringOn, GracefulOffAction: bos.ActionPoweringOffGracefully, ForcefulOffAction: bos.ActionPoweringOffForcefully}[act]
	now := r.cfg.Now()
	stored, err := r.cfg.Store.UpdateComponents(ctx, ids, func(c *bos.Component) error {
		if c.LastAction.Action != want || c.LastAction.Failed {
			return store.ErrSkip
		}
		RecordFailure(c, act, failed[c.ID], now)
		return nil
	}, r.writeOpts...)
	if err != nil {
		r.log.Error("recording action failures", "action", act, "nodes", len(ids), "err", err)
	}
	for _, c := range stored {
		r.queue.AddAfter(c.ID, RetryDelay(attemptsOf(&c, act), opts))
	}
	r.log.Info("action failed", "action", act, "nodes", len(ids), "example", failed[ids[0]])
}

// ownedFailures drops from failed the calls not made because this replica no longer
// owns their nodes: not the nodes' failures, their new owner decides.
func ownedFailures(failed map[string]error) map[string]error {
	out := make(map[string]error, len(failed))
	for id, err := range failed {
		if !errors.Is(err, errNotOwned) {
			out[id] = err
		}
	}
	return out
}

// sameCall reports whether a and b record the same power call.
func sameCall(a, b bos.LastAction) bool {
	return a.Action == b.Action && a.Failed == b.Failed && a.InFlight == b.InFlight && a.LastUpdated.Equal(b.LastUpdated)
}

// resync heals missed wake-ups: at start (full), then every polling_frequency, it
// queues the enabled nodes this replica owns that a look could decide on otherwise than
// the last one did (ResyncLooks): their record changed, or their power as known now
// (events, HSM) can change the decision. It reads each record's stored bytes, not
// decoding any, so a node waiting for its report costs no look however long the boot.
// full, or without KnownPower, it queues every node.
func (r *Reconciler) resync(ctx context.Context, full bool) {
	enabled := true
	ids, err := r.cfg.Store.ComponentIDs(ctx, store.Filter{Enabled: &enabled})
	if err != nil {
		r.fullResync.Store(true) // after an outage, every node again
		r.log.Warn("resync", "err", err)
		return
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !r.owns(id) })
	if full || r.cfg.KnownPower == nil {
		r.queue.Add(ids...)
		return
	}
	for chunk := range slices.Chunk(ids, r.cfg.BatchSize) {
		due, err := r.resyncDue(ctx, chunk)
		if err != nil {
			r.log.Warn("resync: looking at every node of a batch", "nodes", len(chunk), "err", err)
			due = chunk
		}
		r.queue.Add(due...)
	}
}

// resyncDue returns the nodes among ids that ResyncLooks says to look at.
func (r *Reconciler) resyncDue(ctx context.Context, ids []string) ([]string, error) {
	var due, check []string
	memos := make(map[string]Memo, len(ids))
	for _, id := range ids {
		m, ok := r.memos.get(id)
		if !ok || m.Stored == 0 {
			due = append(due, id)
			continue
		}
		memos[id] = m
		check = append(check, id)
	}
	if len(check) == 0 {
		return due, nil
	}
	stored, err := r.cfg.Store.StoredHashes(ctx, check)
	if err != nil {
		return nil, err
	}
	known, _ := r.cfg.KnownPower(ctx, check)
	for _, id := range check {
		reading, powerKnown := known[id]
		powerKnown = powerKnown && reading.Err == nil
		if ResyncLooks(memos[id], true, stored[id], reading.Power, powerKnown) {
			due = append(due, id)
		}
	}
	return due, nil
}

// sessionPass sets up pending sessions and completes running ones (the leader only).
func (r *Reconciler) sessionPass(ctx context.Context) {
	ctx, cancel, leads := r.lead(ctx)
	defer cancel()
	if !leads {
		return
	}
	now := r.cfg.Now()
	pending, err := r.cfg.Store.ListSessions(ctx, "", true, bos.SessionFilter{Status: bos.SessionPending}, now)
	if err != nil {
		r.log.Warn("listing pending sessions", "err", err)
		return
	}
	// Oldest first, so each newer session's setup comes later (TakesNode keeps the
	// order when setups interleave across processes).
	slices.SortStableFunc(pending, func(a, b bos.Session) int { return a.Creation().Compare(b.Creation()) })
	opts := r.options(ctx)
	for _, sess := range pending {
		if err := r.setup.Run(ctx, sess, opts); err != nil {
			r.log.Warn("session setup will be retried", "session", sess.Name, "err", err)
		}
	}
	if _, err := sessions.CompleteSessions(ctx, r.cfg.Store, r.cfg.Tenants, r.cfg.Now()); err != nil {
		r.log.Warn("session completion", "err", err)
	}
}

// housekeeping runs discovery every discovery_frequency and completed session cleanup
// every minute; it is called every 5 s. Actual-state cleanup, which reads every
// component, runs on a minute's pass only once an actual state can have turned stale:
// when the oldest one the last pass left is component_actual_state_ttl old (every minute
// it cost a 100,000-node boot 9% of BOS's CPU, and more the longer the boot).
type housekeeping struct {
	r                          *Reconciler
	lastDiscovery, lastCleanup time.Time
	oldestActual               time.Time // what the last actual-state cleanup returned; zero: run the next
}

// actualStateCleanupDue says whether an actual-state cleanup can find anything at now,
// given the oldest actual state the last one left (zero: none ran) and the TTL.
func actualStateCleanupDue(oldest, now time.Time, ttl time.Duration) bool {
	return oldest.IsZero() || !now.Before(oldest.Add(ttl))
}

func (h *housekeeping) pass(ctx context.Context) {
	r := h.r
	ctx, cancel, leads := r.lead(ctx)
	defer cancel()
	if !leads {
		return
	}
	opts := r.options(ctx)
	now := r.cfg.Now()
	if opts.DiscoveryFrequency > 0 && now.Sub(h.lastDiscovery) >= seconds(opts.DiscoveryFrequency) {
		if added, err := r.cfg.Discovery.Discover(ctx, now); err != nil {
			r.log.Warn("discovery", "err", err)
		} else {
			h.lastDiscovery = now
			if len(added) > 0 {
				r.log.Info("discovered new nodes", "count", len(added))
			}
		}
	}
	if now.Sub(h.lastCleanup) >= time.Minute {
		h.lastCleanup = now
		if _, err := sessions.CleanupSessions(ctx, r.cfg.Store, opts, now); err != nil {
			r.log.Warn("session cleanup", "err", err)
		}
		if actualStateCleanupDue(h.oldestActual, now, opts.ActualStateTTL()) {
			_, oldest, err := sessions.CleanupActualState(ctx, r.cfg.Store, opts, now)
			if err != nil {
				r.log.Warn("actual state cleanup", "err", err)
				oldest = time.Time{} // again on the next minute's pass
			}
			h.oldestActual = oldest
		}
	}
}
