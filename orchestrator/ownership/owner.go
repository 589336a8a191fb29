package ownership

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cray-bos/bos/internal/loop"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Leases is the store's lease and heartbeat surface (store.Store implements it).
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	RenewLeases(ctx context.Context, names []string, holder string, ttl time.Duration) ([]bool, error)
	ReleaseLeases(ctx context.Context, names []string, holder string) ([]bool, error)
	LeaseHolders(ctx context.Context, names []string) ([]string, error)
	Heartbeat(ctx context.Context, id string, now, until time.Time) ([]string, error)
	Leave(ctx context.Context, id string) error
}

// Defaults of Config.
const (
	DefaultShards = 64
	DefaultTTL    = 10 * time.Second
)

// Config configures an Owner.
type Config struct {
	Store Leases
	// ID names this replica (its leases' value): unique among the replicas, and new at
	// every start so that a restarted replica does not take its predecessor's leases for
	// its own.
	ID string
	// Shards is how many shards the nodes are hashed into (default DefaultShards); every
	// replica must use the same number.
	Shards int
	// TTL is a lease's time to live (default DefaultTTL): a dead replica's nodes move to
	// the others within TTL plus a third of it. Leases are renewed every TTL/3.
	TTL time.Duration
	// OnGain is called after a pass took shards (the reconciler then queues their nodes).
	OnGain func()
	Logger *slog.Logger
	Now    func() time.Time
}

// Owner holds this replica's shards. Its methods are safe for concurrent use.
type Owner struct {
	cfg Config

	mu sync.Mutex
	// until is, per shard held, the time until which this replica may act on it: the
	// time its last renewal was sent plus the TTL less a margin.
	until map[int]time.Time
	// leaving are shards this replica gives up: no longer acted on or renewed, left to
	// expire (releasing them at once could let another replica act while a call of ours
	// is still under way).
	leaving map[int]bool
}

// New returns an Owner holding nothing; Run (or Step) takes its shards.
func New(cfg Config) *Owner {
	if cfg.Shards <= 0 {
		cfg.Shards = DefaultShards
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Owner{cfg: cfg, until: map[int]time.Time{}, leaving: map[int]bool{}}
}

// ID is this replica's id.
func (o *Owner) ID() string { return o.cfg.ID }

// margin is taken off a lease's validity for the time a request takes to reach Redis
// after it was timed and for clock drift.
func (o *Owner) margin() time.Duration { return o.cfg.TTL / 10 }

// Owns reports whether this replica may act on node id now.
func (o *Owner) Owns(id string) bool {
	return o.valid(Shard(id, o.cfg.Shards), o.cfg.Now())
}

// Leader reports whether this replica holds shard 0: it alone sets sessions up,
// completes them and runs housekeeping.
func (o *Owner) Leader() bool { return o.valid(0, o.cfg.Now()) }

func (o *Owner) valid(shard int, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	u, ok := o.until[shard]
	return ok && now.Before(u)
}

// Until is when this replica's right to act on node id ends (zero if it holds none now):
// a call on the node must be done by then, its context's deadline.
func (o *Owner) Until(id string) time.Time { return o.untilShard(Shard(id, o.cfg.Shards)) }

// LeaderUntil is when this replica's lead ends unless it is renewed (zero if it does not
// lead now): what it runs as the leader must stop by then.
func (o *Owner) LeaderUntil() time.Time { return o.untilShard(0) }

func (o *Owner) untilShard(shard int) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u, ok := o.until[shard]; ok && o.cfg.Now().Before(u) {
		return u
	}
	return time.Time{}
}

// Fence guards the writes of owned nodes: each is made only if this replica holds the
// node's lease in the write's transaction.
func (o *Owner) Fence() *store.Fence {
	return &store.Fence{Holder: o.cfg.ID, Lease: func(id string) string { return LeaseName(Shard(id, o.cfg.Shards)) }}
}

// Held lists the shards this replica holds, by its own clock.
func (o *Owner) Held() []int {
	now := o.cfg.Now()
	var out []int
	for s := range o.cfg.Shards {
		if o.valid(s, now) {
			out = append(out, s)
		}
	}
	return out
}

// Run keeps this replica's shards every TTL/3 until ctx ends, then leaves: it drops
// its heartbeat and releases its leases. Call it after whatever acts on the nodes has
// stopped, or cancel ctx only then.
func (o *Owner) Run(ctx context.Context) {
	loop.Every(ctx, o.cfg.Logger, "ownership", func() time.Duration { return o.cfg.TTL / 3 }, nil, func(ctx context.Context) {
		if err := o.Step(ctx); err != nil {
			o.cfg.Logger.Warn("keeping shard leases", "err", err)
		}
	})
}

// Leave releases every lease this replica holds and drops its heartbeat (a clean stop:
// the others take its shards at their next pass).
func (o *Owner) Leave(ctx context.Context) error {
	o.mu.Lock()
	names := make([]string, 0, len(o.until)+len(o.leaving))
	for s := range o.until {
		names = append(names, LeaseName(s))
	}
	for s := range o.leaving {
		names = append(names, LeaseName(s))
	}
	o.until, o.leaving = map[int]time.Time{}, map[int]bool{}
	o.mu.Unlock()
	_, err := o.cfg.Store.ReleaseLeases(ctx, names, o.cfg.ID)
	if lerr := o.cfg.Store.Leave(ctx, o.cfg.ID); err == nil {
		err = lerr
	}
	return err
}

// Step is one pass: heartbeat, renew the leases held, then take and give up shards as
// Plan says. A lease that could not be renewed stops being acted on at once.
func (o *Owner) Step(ctx context.Context) error {
	c := o.cfg
	sent := c.Now()
	live, err := c.Store.Heartbeat(ctx, c.ID, sent, sent.Add(c.TTL))
	if err != nil {
		return err // the leases held stay valid until their time runs out
	}
	renew, _ := o.snapshot()
	if len(renew) > 0 {
		names := make([]string, len(renew))
		for i, s := range renew {
			names[i] = LeaseName(s)
		}
		kept, err := c.Store.RenewLeases(ctx, names, c.ID, c.TTL)
		if err != nil {
			return err
		}
		o.mu.Lock()
		for i, s := range renew {
			if kept[i] {
				o.until[s] = sent.Add(c.TTL - o.margin())
			} else if _, ok := o.until[s]; ok {
				delete(o.until, s)
				c.Logger.Warn("lost a shard lease", "shard", s)
			}
		}
		o.mu.Unlock()
	}
	all := make([]string, c.Shards)
	for s := range all {
		all[s] = LeaseName(s)
	}
	holders, err := c.Store.LeaseHolders(ctx, all)
	if err != nil {
		return err
	}
	_, leaving := o.snapshot()
	for s, h := range holders {
		if leaving[s] {
			if h != c.ID {
				o.forget(s) // expired: gone for good
			} else {
				holders[s] = "(leaving) " + h // neither ours nor free until it expires
			}
		}
	}
	take, release := Plan(c.Shards, live, c.ID, holders)
	if len(release) > 0 {
		o.mu.Lock()
		for _, s := range release {
			delete(o.until, s)
			o.leaving[s] = true
		}
		o.mu.Unlock()
		c.Logger.Info("giving up shards for other replicas", "shards", release)
	}
	gained := 0
	for _, s := range take {
		sent := c.Now()
		ok, err := c.Store.AcquireLease(ctx, LeaseName(s), c.ID, c.TTL)
		if err != nil {
			return err
		}
		if ok {
			o.mu.Lock()
			o.until[s] = sent.Add(c.TTL - o.margin())
			o.mu.Unlock()
			gained++
		}
	}
	if gained > 0 {
		c.Logger.Info("took shards", "count", gained, "holding", len(o.Held()))
		if c.OnGain != nil {
			c.OnGain()
		}
	}
	return nil
}

// snapshot returns the shards held (valid or not yet found lost) and those leaving.
func (o *Owner) snapshot() (held []int, leaving map[int]bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for s := range o.until {
		held = append(held, s)
	}
	leaving = make(map[int]bool, len(o.leaving))
	for s := range o.leaving {
		leaving[s] = true
	}
	return held, leaving
}

func (o *Owner) forget(s int) {
	o.mu.Lock()
	delete(o.leaving, s)
	o.mu.Unlock()
}
