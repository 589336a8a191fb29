package sessions

import (
	"context"
	"fmt"
	"sort"
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
	var fresh []bos.Component
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
