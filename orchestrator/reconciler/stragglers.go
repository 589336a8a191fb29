package reconciler

import (
	"context"
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
}

func (p patientResets) Reset(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	if p.patience <= 0 {
		return p.PowerControl.Reset(ctx, ids, kind)
	}
	done := awaitEach(ids, p.patience, p.background,
		func(id string) error { return p.PowerControl.Reset(ctx, []string{id}, kind)[id] },
		func(late map[string]error) {
			if failed := failures(late); len(failed) > 0 {
				p.failedLate(ctx, kind, failed)
			}
		})
	return failures(done)
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
