package selection

import (
	"context"
	"errors"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Resolver is the API's node resolver (an orchestrator.NodeResolver): it resolves the
// selectors of sessions being created, each with Select on one inventory read, so that
// session creation can find the nodes a new session overlaps, v1 or v2. It keeps that
// read for the new session's setup (Handoff).
type Resolver struct {
	Inventory Inventory
	// Tenants resolves v2 tenant sessions; nil means a tenant session selects nothing.
	Tenants tenant.Registry
	// Handoff, when set, keeps the inventory read for a selector with a SessionKey for
	// that session's setup.
	Handoff *Handoff
}

var _ bos.NodeResolver = (*Resolver)(nil)

// ResolveNodes returns the sorted nodes of each selector, reading the inventory once. A
// bad limit or an unknown partition fails that selector (EINVALID); an unreadable
// inventory or tenant registry fails the call (EUNAVAILABLE). A tenant the registry does
// not know selects nothing.
func (r *Resolver) ResolveNodes(ctx context.Context, sels []bos.NodeSelector) ([]bos.NodeSelection, error) {
	if len(sels) == 0 {
		return nil, nil
	}
	inv, err := ReadSnapshot(ctx, r.Inventory, true) // partitions too: setup may need them
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
		selected, err := Select(sel, inv, tn)
		if err != nil {
			out[i].Err = &bos.Error{Code: bos.EINVALID, Message: err.Error()}
			continue
		}
		out[i].Nodes = selected.Nodes()
	}
	return out, nil
}
