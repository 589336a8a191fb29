package lockstep

import (
	"context"
	"errors"
	"fmt"
	"sort"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/operator"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Resolver picks a session's nodes from the HSM inventory exactly as the v2 session setup
// does (operator.ResolveBootSetNodes: node lists, groups and roles; limit; HSM locks; arch;
// enabled), then bounds them by the template's partition. The agent uses it to start a
// v1 session, and the API, as an orchestrator.NodeResolver, to refuse overlapping
// sessions of either version.
type Resolver struct {
	Inventory operator.Inventory
	// Tenants resolves v2 tenant sessions; nil means a tenant session selects nothing.
	Tenants tenant.Registry
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
		byBootSet, _, err := BootSetNodes(sel, inv, tn)
		if err != nil {
			out[i].Err = &bos.Error{Code: bos.EINVALID, Message: err.Error()}
			continue
		}
		set := map[string]struct{}{}
		for _, nodes := range byBootSet {
			for _, id := range nodes {
				set[id] = struct{}{}
			}
		}
		for id := range set {
			out[i].Nodes = append(out[i].Nodes, id)
		}
		sort.Strings(out[i].Nodes)
	}
	return out, nil
}

// BootSetNodes resolves each boot set of sel.Template (operator.ResolveBootSetNodes),
// keeps only members of sel.Partition when it is set, and gives a node named by several
// boot sets to the last of them in name order (as v2 setup does). It returns the nodes
// by boot set (sorted; every boot set present) and the HSM names that were unknown.
func BootSetNodes(sel bos.NodeSelector, inv *operator.InventorySnapshot, tn *tenant.Tenant) (map[string][]string, []string, error) {
	var inPartition map[string]bool
	if sel.Partition != "" {
		members, ok := inv.Partitions[sel.Partition]
		if !ok {
			return nil, nil, fmt.Errorf("the template's partition %q is not an HSM partition", sel.Partition)
		}
		inPartition = make(map[string]bool, len(members))
		for _, id := range members {
			inPartition[id] = true
		}
	}
	sess := bos.Session{Tenant: sel.Tenant, Limit: sel.Limit, IncludeDisabled: sel.IncludeDisabled}
	names := make([]string, 0, len(sel.Template.BootSets))
	for name := range sel.Template.BootSets {
		names = append(names, name)
	}
	sort.Strings(names)
	owner := map[string]string{}
	var unknown []string
	for _, name := range names {
		nodes, unk, err := operator.ResolveBootSetNodes(sel.Template.BootSets[name], sess, inv, tn)
		if err != nil {
			return nil, nil, fmt.Errorf("boot set '%s': %w", name, err)
		}
		unknown = append(unknown, unk...)
		for _, id := range nodes {
			if inPartition == nil || inPartition[id] {
				owner[id] = name
			}
		}
	}
	out := make(map[string][]string, len(names))
	for _, name := range names {
		out[name] = []string{}
	}
	for id, name := range owner {
		out[name] = append(out[name], id)
	}
	for _, nodes := range out {
		sort.Strings(nodes)
	}
	return out, unknown, nil
}
