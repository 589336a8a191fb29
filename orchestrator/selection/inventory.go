package selection

import (
	"context"
	"fmt"
)

// Inventory is what BOS reads from HSM.
type Inventory interface {
	// Nodes returns every component of type Node.
	Nodes(ctx context.Context) ([]Node, error)
	// Groups maps each HSM group label to its member xnames.
	Groups(ctx context.Context) (map[string][]string, error)
	// Partitions maps each HSM partition name to its member xnames.
	Partitions(ctx context.Context) (map[string][]string, error)
	// LockedNodes lists nodes with an HSM admin lock (locks/status?type=Node&locked=True).
	LockedNodes(ctx context.Context) ([]string, error)
}

// Node is an HSM node as session setup and discovery see it.
type Node struct {
	ID      string
	Role    string
	SubRole string
	Arch    string // X86, ARM, Other, UNKNOWN; "" is read as "Unknown" (BOS quirk, see ResolveBootSet)
	Enabled bool
}

// Snapshot is one read of the HSM inventory, shared by every boot set of a
// session setup.
type Snapshot struct {
	Nodes      map[string]Node     // HSM nodes by xname
	Groups     map[string][]string // group label → members
	Partitions map[string][]string // partition name → members (nil when not read)
	Roles      map[string][]string // Role, and Role_SubRole, → members
	Locked     map[string]bool     // nodes with an HSM lock
}

// NewSnapshot indexes what HSM returned. Roles are keyed by Role and by
// Role_SubRole, as BOS builds them from State/Components.
func NewSnapshot(nodes []Node, groups, partitions map[string][]string, locked []string) *Snapshot {
	inv := &Snapshot{
		Nodes:      make(map[string]Node, len(nodes)),
		Groups:     groups,
		Partitions: partitions,
		Roles:      map[string][]string{},
		Locked:     make(map[string]bool, len(locked)),
	}
	for _, n := range nodes {
		inv.Nodes[n.ID] = n
		if n.Role == "" {
			continue
		}
		inv.Roles[n.Role] = append(inv.Roles[n.Role], n.ID)
		if n.SubRole != "" {
			key := n.Role + "_" + n.SubRole
			inv.Roles[key] = append(inv.Roles[key], n.ID)
		}
	}
	for _, id := range locked {
		inv.Locked[id] = true
	}
	return inv
}

// Lookup resolves a limit name to the members of the HSM group, partition or role of that
// name, tried in that order.
func (inv *Snapshot) Lookup(name string) ([]string, bool) {
	if m, ok := inv.Groups[name]; ok {
		return m, true
	}
	if m, ok := inv.Partitions[name]; ok {
		return m, true
	}
	m, ok := inv.Roles[name]
	return m, ok
}

// ReadSnapshot reads what node selection needs from HSM: nodes, groups, partitions (when
// asked; they cost a request) and admin-locked nodes. The error names the read that failed.
func ReadSnapshot(ctx context.Context, inv Inventory, withPartitions bool) (*Snapshot, error) {
	nodes, err := inv.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("Reading HSM components: %w", err)
	}
	groups, err := inv.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("Reading HSM groups: %w", err)
	}
	var partitions map[string][]string
	if withPartitions {
		if partitions, err = inv.Partitions(ctx); err != nil {
			return nil, fmt.Errorf("Reading HSM partitions: %w", err)
		}
	}
	locked, err := inv.LockedNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("Reading HSM locks: %w", err)
	}
	return NewSnapshot(nodes, groups, partitions, locked), nil
}
