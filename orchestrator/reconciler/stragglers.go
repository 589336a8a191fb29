package reconciler

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cray-bos/bos/orchestrator/power"
)

// A batch's Redfish calls run in parallel, but a batch that waited for all of them would
// hold every healthy node behind its slowest BMC: a hung one costs the whole Redfish
// timeout, at every look. So a batch waits for its BMCs only Config.BMCPatience; the
// calls still running then go on in the background, and their nodes are finished when
// they answer, each on its own (see Reconciler.reconcile and patientResets).

// awaitEach runs call for every id concurrently and returns the results of the calls that
// ended within patience. The later results go to late in groups, one per patience that
// passes (so calls late only for the load, not for a bad BMC, are settled in few groups,
// not one by one), from one goroutine counted in background.
func awaitEach[T any](ids []string, patience time.Duration, background *sync.WaitGroup, call func(id string) T, late func(map[string]T)) map[string]T {
	results := make(chan idResult[T], len(ids))
	for _, id := range ids {
		go func() { results <- idResult[T]{id, call(id)} }()
	}
	out := make(map[string]T, len(ids))
	timer := time.NewTimer(patience)
	defer timer.Stop()
	for len(out) < len(ids) {
		select {
		case r := <-results:
			out[r.id] = r.v
		case <-timer.C:
			pending := len(ids) - len(out)
			background.Go(func() { deliverLate(results, pending, patience, late) })
			return out
		}
	}
	return out
}

type idResult[T any] struct {
	id string
	v  T
}

// deliverLate hands the pending results to late, those received each patience together.
func deliverLate[T any](results <-chan idResult[T], pending int, patience time.Duration, late func(map[string]T)) {
	tick := time.NewTicker(patience)
	defer tick.Stop()
	group := map[string]T{}
	for pending > 0 {
		select {
		case r := <-results:
			group[r.id] = r.v
			pending--
		case <-tick.C:
			if len(group) > 0 {
				late(group)
				group = map[string]T{}
			}
		}
	}
	if len(group) > 0 {
		late(group)
	}
}

// patientResets is the PowerControl the reconciler's effects act through: Reset returns
// once every call ended or patience passed, counting the calls still running as under
// way (as a call that went through); those that later fail go to failedLate.
type patientResets struct {
	power.PowerControl
	patience   time.Duration
	background *sync.WaitGroup
	failedLate func(ctx context.Context, kind power.ResetKind, failed map[string]error)
	// owner, when set, bounds each call by the end of this replica's right to act on its
	// node, and refuses a call on a node it no longer owns.
	owner Ownership
}

// errNotOwned fails a call on a node whose lease this replica lost, or cut short when the
// lease ran out.
var errNotOwned = errors.New("this BOS replica's lease on the node ended")

func (p patientResets) Reset(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	if p.patience <= 0 {
		return p.resetBatch(ctx, ids, kind)
	}
	reset := func(id string) error { return p.resetBatch(ctx, []string{id}, kind)[id] }
	done := awaitEach(ids, p.patience, p.background, reset,
		func(late map[string]error) {
			if failed := failures(late); len(failed) > 0 {
				p.failedLate(ctx, kind, failed)
			}
		})
	return failures(done)
}

// resetBatch makes one call for ids, bounded by the earliest end of this replica's
// right to act on them (the nodes it no longer owns fail without a call).
func (p patientResets) resetBatch(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	if p.owner == nil {
		return failures(p.PowerControl.Reset(ctx, ids, kind))
	}
	errs := map[string]error{}
	var owned []string
	var until time.Time
	for _, id := range ids {
		u := p.owner.Until(id)
		if u.IsZero() {
			errs[id] = errNotOwned
			continue
		}
		if until.IsZero() || u.Before(until) {
			until = u
		}
		owned = append(owned, id)
	}
	if len(owned) > 0 {
		leased, cancel := context.WithDeadline(ctx, until)
		defer cancel()
		for id, err := range p.PowerControl.Reset(leased, owned, kind) {
			if err != nil && leased.Err() != nil && ctx.Err() == nil {
				// Cut by the lease: whether the BMC got it is unknown, as after a crash.
				// last_action.in_flight stays, and its next owner verifies it.
				err = errNotOwned
			}
			errs[id] = err
		}
	}
	return failures(errs)
}

// failures are the entries of errs that hold an error.
func failures(errs map[string]error) map[string]error {
	out := map[string]error{}
	for id, err := range errs {
		if err != nil {
			out[id] = err
		}
	}
	return out
}

// actionOf is the action a reset kind performs.
func actionOf(kind power.ResetKind) Action {
	switch kind {
	case power.ResetGracefulOff:
		return GracefulOffAction
	case power.ResetForceOff:
		return ForcefulOffAction
	}
	return PowerOnAction
}
