package selection

import (
	"fmt"
	"slices"
	"sort"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Selection is what a session's template selects from one inventory snapshot
// (Select): the node resolution v2 setup, the v1 agent and the API's overlap check
// share.
type Selection struct {
	// Names are the template's boot set names, sorted.
	Names []string
	// Resolved holds each boot set's own nodes (ResolveBootSet, bound by the
	// partition), sorted; a node may be in several.
	Resolved map[string][]string
	// Unknown holds each boot set's group and role names HSM does not know.
	Unknown map[string][]string
	// Owner gives each node its boot set: the last in name order that resolved it.
	Owner map[string]string
}

// BootSetError is a boot set's resolution failure.
type BootSetError struct {
	BootSet string
	Err     error
}

func (e *BootSetError) Error() string { return fmt.Sprintf("boot set '%s': %v", e.BootSet, e.Err) }
func (e *BootSetError) Unwrap() error { return e.Err }

// Select resolves each boot set of sel.Template (ResolveBootSet with the
// selector's tenant, limit and include_disabled) and keeps only members of sel.Partition
// when it is set. An unknown partition is an error; so is a boot set that cannot resolve
// (a *BootSetError).
func Select(sel bos.NodeSelector, inv *Snapshot, tn *tenant.Tenant) (Selection, error) {
	var inPartition map[string]bool
	if sel.Partition != "" {
		members, ok := inv.Partitions[sel.Partition]
		if !ok {
			return Selection{}, fmt.Errorf("the template's partition %q is not an HSM partition", sel.Partition)
		}
		inPartition = make(map[string]bool, len(members))
		for _, id := range members {
			inPartition[id] = true
		}
	}
	sess := bos.Session{Tenant: sel.Tenant, Limit: sel.Limit, IncludeDisabled: sel.IncludeDisabled}
	out := Selection{
		Names:    make([]string, 0, len(sel.Template.BootSets)),
		Resolved: make(map[string][]string, len(sel.Template.BootSets)),
		Unknown:  map[string][]string{},
		Owner:    map[string]string{},
	}
	for name := range sel.Template.BootSets {
		out.Names = append(out.Names, name)
	}
	sort.Strings(out.Names)
	for _, name := range out.Names {
		nodes, unknown, err := ResolveBootSet(sel.Template.BootSets[name], sess, inv, tn)
		if err != nil {
			return Selection{}, &BootSetError{BootSet: name, Err: err}
		}
		if len(unknown) > 0 {
			out.Unknown[name] = unknown
		}
		if inPartition != nil {
			nodes = slices.DeleteFunc(nodes, func(id string) bool { return !inPartition[id] })
		}
		out.Resolved[name] = nodes
		for _, id := range nodes {
			out.Owner[id] = name
		}
	}
	return out, nil
}

// ByBootSet returns the nodes each boot set owns (see Owner), sorted; every boot set is
// present.
func (s Selection) ByBootSet() map[string][]string {
	out := make(map[string][]string, len(s.Names))
	for _, name := range s.Names {
		out[name] = []string{}
	}
	for id, name := range s.Owner {
		out[name] = append(out[name], id)
	}
	for _, nodes := range out {
		sort.Strings(nodes)
	}
	return out
}

// Nodes returns every selected node, sorted.
func (s Selection) Nodes() []string {
	out := make([]string, 0, len(s.Owner))
	for id := range s.Owner {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// AllUnknown returns the unknown HSM names of every boot set.
func (s Selection) AllUnknown() []string {
	var out []string
	for _, name := range s.Names {
		out = append(out, s.Unknown[name]...)
	}
	return out
}
