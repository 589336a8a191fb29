package lockstep

import (
	"context"
	"errors"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/operator"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Resolver picks a session's nodes from the HSM inventory with the v2 session setup's
// resolution (operator.SelectNodes: node lists, groups and roles; limit; HSM locks; arch;
// enabled; the template's partition). The agent uses it to start a
// v1 session, and the API, as an orchestrator.NodeResolver, to refuse overlapping
// sessions of either version.
type Resolver struct {
	Inventory operator.Inventory
	// Tenants resolves v2 tenant sessions; nil means a tenant session selects nothing.
	Tenants tenant.Registry
	// Handoff, when set, keeps the inventory read for a selector with a SessionKey for
	// that session's setup.
	Handoff *operator.InventoryHandoff
}

var _ bos.NodeResolver = (*Resolver)(nil)

// Snapshot reads the HSM inventory once (partitions included).
func (r *Resolver) Snapshot(ctx context.Context) (*operator.InventorySnapshot, error) {
	return operator.ReadInventory(ctx, r.Inventory, true)
}

// ResolveNodes returns the sorted nodes of each selector, reading the inventory once. A
// bad limit or an unknown partition fails that selector (EINVALID); an unreadable
// inventory or tenant registry fails the call (EUNAVAILABLE). A tenant the registry does
// not know selects nothing.
func (r *Resolver) ResolveNodes(ctx context.Context, sels []bos.NodeSelector) ([]bos.NodeSelection, error) {
	if len(sels) == 0 {
		return nil, nil
	}
	inv, err := r.Snapshot(ctx)
	if err != nil {
		return nil, &bos.Error{Code: bos.EUNAVAILABLE, Message: "session nodes: the HSM inventory cannot be read", Err: err}
	}
	out := make([]bos.NodeSelection, len(sels))
	for i, sel := range sels {
		r.Handoff.Keep(sel.SessionKey, inv)
		var tn *tenant.Tenant
		if sel.Tenant != "" {
			if r.Tenants == nil {
				continue
			}
			if tn, err = r.Tenants.Get(ctx, sel.Tenant); errors.Is(err, tenant.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, &bos.Error{Code: bos.EUNAVAILABLE, Message: "session nodes: the tenant registry cannot be read", Err: err}
			}
		}
		selection, err := operator.SelectNodes(sel, inv, tn)
		if err != nil {
			out[i].Err = &bos.Error{Code: bos.EINVALID, Message: err.Error()}
			continue
		}
		out[i].Nodes = selection.Nodes()
	}
	return out, nil
}
