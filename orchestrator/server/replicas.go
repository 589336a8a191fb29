package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cray-bos/bos/internal/loop"
	"github.com/cray-bos/bos/internal/uuid"
	"github.com/cray-bos/bos/orchestrator/ownership"
)

// Replica roles (Replica.Role).
const (
	RoleAll      = "all"      // the API and the operators (the default)
	RoleAPI      = "api"      // the API only: stateless, any number of them
	RoleOperator = "operator" // the operators (reconciler, v1 agent, CRUS) and the API
)

// Replica makes this BOS one of several processes on one Redis (docs/scale-out.md).
type Replica struct {
	// ID names the replica; its leases carry ID plus a suffix new at every start. Empty:
	// BOS runs alone and works on every node.
	ID string
	// Role is RoleAll ("" too), RoleAPI or RoleOperator.
	Role string
	// Shards and LeaseTTL tune the division of the nodes (0: ownership's defaults);
	// every replica must use the same Shards.
	Shards   int
	LeaseTTL time.Duration
}

func (r Replica) validate() error {
	switch r.Role {
	case "", RoleAll, RoleAPI, RoleOperator:
	default:
		return fmt.Errorf("bos: replica role must be %s, %s or %s, not %q", RoleAll, RoleAPI, RoleOperator, r.Role)
	}
	if r.Role != "" && r.Role != RoleAll && r.ID == "" {
		return fmt.Errorf("bos: replica role %s needs a replica id", r.Role)
	}
	return nil
}

// subscriptionOwner names this replica's BMC event subscriptions: each replica keeps
// its own (and replaces its own at a restart), not the others'. "" (the driver's default)
// for BOS alone.
func (r Replica) subscriptionOwner() string {
	if r.ID == "" {
		return ""
	}
	return "bos-" + r.ID
}

// operates reports whether this BOS runs the operators.
func (r Replica) operates() bool { return r.Role != RoleAPI }

// newOwner returns the replica's Owner, nil when BOS runs alone.
func (b *BOS) newOwner() *ownership.Owner {
	r := b.cfg.Replica
	if r.ID == "" {
		return nil
	}
	return ownership.New(ownership.Config{
		Store: b.store, ID: r.ID + "-" + uuid.New()[:8], Shards: r.Shards, TTL: r.LeaseTTL,
		OnGain: b.rec.resync, Logger: b.cfg.Logger,
	})
}

// runOwner keeps the replica's shards until stop is called, which then releases them.
// Call stop only after the reconciler ended: its calls are bounded by the leases.
func (b *BOS) runOwner(ctx context.Context, o *ownership.Owner) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { o.Run(ctx) })
	return func() {
		cancel()
		wg.Wait()
		leave, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		if err := o.Leave(leave); err != nil {
			b.cfg.Logger.Warn("releasing shard leases; they expire by themselves", "err", err)
		}
	}
}

// whileLeader runs f whenever this replica is the leader, until ctx ends: the v1 agent,
// CRUS's controller and the rollouts run in one replica at a time. f's context ends as
// soon as the lead does by this replica's own clock (its lease on shard 0 not renewed in
// time: a pause, Redis out of reach), not at the next check: a leader that resumes after
// its lease ran out, when another replica may lead already, is stopped as it resumes.
// Whether it leads is checked every interval.
func whileLeader(ctx context.Context, o *ownership.Owner, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		lead, cancel := loop.WhileHeld(ctx, o.LeaderUntil)
		if lead.Err() == nil {
			f(lead)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
