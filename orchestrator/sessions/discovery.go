package sessions

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/store"
)

// discoveryChunk is how many new records Discover creates per store call.
const discoveryChunk = 1000

// Discover is BOS's discovery operator (reference 4.3): every HSM node that is not yet a
// BOS component gets the record bos.NewComponent builds (empty states, disabled,
// last_action newly_discovered). It never deletes or changes an existing component, so
// running it again adds nothing. It returns the ids it added, sorted.
func Discover(ctx context.Context, st *store.Store, inv selection.Inventory, now time.Time) ([]string, error) {
	nodes, err := inv.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: read HSM nodes: %w", err)
	}
	ids := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if n.ID != "" {
			ids = append(ids, n.ID)
		}
	}
	sort.Strings(ids)
	known, err := st.ExistingComponentIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	isKnown := make(map[string]bool, len(known))
	for _, id := range known {
		isKnown[id] = true
	}
	fresh := make([]bos.Component, 0, len(ids)-min(len(ids), len(known)))
	for _, id := range ids {
		if !isKnown[id] {
			fresh = append(fresh, bos.NewComponent(id, now))
		}
	}
	var added []string
	for i := 0; i < len(fresh); i += discoveryChunk {
		// AddComponents skips ids created since the check, so a race with the API is safe.
		out, err := st.AddComponents(ctx, fresh[i:min(i+discoveryChunk, len(fresh))])
		for _, c := range out {
			added = append(added, c.ID)
		}
		if err != nil {
			return added, fmt.Errorf("discovery: add components: %w", err)
		}
	}
	return added, nil
}

// Discovery runs Discover on Store and Inventory for the callers of one process, once
// for those that ask while a run is under way: they share its result. The reconciler
// and the v1 agent both discover as they start; at 100,000 nodes each run reads every
// HSM node and checks every id in the store (about 2 CPU-s of BOS's). A call after a
// run ended runs again.
type Discovery struct {
	Store     *store.Store
	Inventory selection.Inventory

	mu  sync.Mutex
	run *discoveryRun // the run under way, nil when none is
}

type discoveryRun struct {
	done  chan struct{}
	added []string
	err   error
}

// Discover runs Discover, or waits for the run under way and returns its result (the
// same ids added, for each of its callers). A caller whose ctx ends stops waiting; the
// run goes on for the others unless it is the one that started it.
func (d *Discovery) Discover(ctx context.Context, now time.Time) ([]string, error) {
	d.mu.Lock()
	if run := d.run; run != nil {
		d.mu.Unlock()
		select {
		case <-run.done:
			return run.added, run.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	run := &discoveryRun{done: make(chan struct{})}
	d.run = run
	d.mu.Unlock()
	run.added, run.err = Discover(ctx, d.Store, d.Inventory, now)
	d.mu.Lock()
	d.run = nil
	d.mu.Unlock()
	close(run.done)
	return run.added, run.err
}
