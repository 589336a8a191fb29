package operator

import (
	"context"
	"sync"
	"time"
)

// A batch's Redfish calls run in parallel, but a batch that waited for all of them would
// hold every healthy node behind its slowest BMC: a hung one costs the whole Redfish
// timeout, at every look. So a batch waits for its BMCs only Config.BMCPatience; the
// calls still running then go on in the background, and their nodes are finished when
// they answer, each on its own (see Reconciler.reconcile and patientResets).

// awaitEach runs call for every id concurrently and returns the results of the calls that
// ended within patience. Each later call's result goes to late when it ends, in a
// goroutine of its own counted in background; late is not called for the ids returned.
func awaitEach[T any](ids []string, patience time.Duration, background *sync.WaitGroup, call func(id string) T, late func(id string, v T)) map[string]T {
	type result struct {
		id string
		v  T
	}
	results := make(chan result, len(ids))
	for _, id := range ids {
		go func() { results <- result{id, call(id)} }()
	}
	out := make(map[string]T, len(ids))
	timer := time.NewTimer(patience)
	defer timer.Stop()
	for len(out) < len(ids) {
		select {
		case r := <-results:
			out[r.id] = r.v
		case <-timer.C:
			for range len(ids) - len(out) {
				background.Go(func() {
					r := <-results
					late(r.id, r.v)
				})
			}
			return out
		}
	}
	return out
}

// patientResets is the PowerControl the reconciler's effects act through: Reset returns
// once every call ended or patience passed, counting the calls still running as under
// way (as a call that went through); each of those that later fails goes to failedLate.
type patientResets struct {
	PowerControl
	patience   time.Duration
	background *sync.WaitGroup
	failedLate func(ctx context.Context, kind ResetKind, id string, err error)
}

func (p patientResets) Reset(ctx context.Context, ids []string, kind ResetKind) map[string]error {
	if p.patience <= 0 {
		return p.PowerControl.Reset(ctx, ids, kind)
	}
	done := awaitEach(ids, p.patience, p.background,
		func(id string) error { return p.PowerControl.Reset(ctx, []string{id}, kind)[id] },
		func(id string, err error) {
			if err != nil {
				p.failedLate(ctx, kind, id, err)
			}
		})
	failed := map[string]error{}
	for id, err := range done {
		if err != nil {
			failed[id] = err
		}
	}
	return failed
}

// actionOf is the action a reset kind performs.
func actionOf(kind ResetKind) Action {
	switch kind {
	case ResetGracefulOff:
		return GracefulOffAction
	case ResetForceOff:
		return ForcefulOffAction
	}
	return PowerOnAction
}
