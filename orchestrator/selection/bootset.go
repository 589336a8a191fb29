package selection

import (
	"fmt"
	"strings"

	"github.com/cray-bos/bos/internal/xname"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// ResolveBootSet computes the nodes one boot set of sess acts on (reference 4.4
// step 1), in this order:
//
//  1. node_list ∪ members of node_groups ∪ members of node_roles_groups (Role or
//     Role_SubRole); group and role names HSM does not know are returned in unknown and
//     otherwise skipped;
//  2. for a tenant session (tn != nil) a node_list entry outside the tenant is an error,
//     and group and role members are kept only when the tenant owns them;
//  3. the session limit (ApplyLimit, names resolved by inv.Lookup);
//  4. nodes locked in HSM are removed;
//  5. arch: the node's HSM Arch must be the boot set's arch (default X86), and X86 also
//     takes UNKNOWN. Nodes HSM does not know drop out here. Quirk kept from BOS: a node
//     with no Arch counts as "Unknown" (mixed case), so an X86 boot set drops it and only
//     an "Unknown" boot set takes it;
//  6. unless sess.IncludeDisabled, only nodes HSM reports enabled.
//
// The result is sorted.
func ResolveBootSet(bs bos.BootSet, sess bos.Session, inv *Snapshot, tn *tenant.Tenant) (nodes, unknown []string, err error) {
	set := map[string]struct{}{}
	var outside []string
	for _, id := range bs.NodeList {
		if xname.Valid(id) {
			id = xname.Normalize(id)
		}
		if tn != nil && !tn.Has(id) {
			outside = append(outside, id)
			continue
		}
		set[id] = struct{}{}
	}
	if len(outside) > 0 {
		return nil, nil, fmt.Errorf("node_list names nodes that are not available to tenant '%s': %s", tn.Name, listSome(outside, 10))
	}
	addMembers := func(kind string, names []string, lookup map[string][]string) {
		for _, name := range names {
			members, ok := lookup[name]
			if !ok {
				unknown = append(unknown, kind+" "+name)
				continue
			}
			for _, id := range members {
				if tn == nil || tn.Has(id) {
					set[id] = struct{}{}
				}
			}
		}
	}
	addMembers("group", bs.NodeGroups, inv.Groups)
	addMembers("role", bs.NodeRolesGroups, inv.Roles)

	limited, err := ApplyLimit(sess.Limit, sortedSet(set), inv.Lookup)
	if err != nil {
		return nil, unknown, err
	}
	arch := bs.Arch
	if arch == "" {
		arch = bos.ArchX86
	}
	for _, id := range limited {
		n, ok := inv.Nodes[id]
		if !ok || inv.Locked[id] || !archMatches(arch, n.Arch) {
			continue
		}
		if !sess.IncludeDisabled && !n.Enabled {
			continue
		}
		nodes = append(nodes, id)
	}
	return nodes, unknown, nil
}

// archMatches reports whether a node whose HSM Arch is nodeArch may boot a boot set of
// arch bsArch (see ResolveBootSet step 5).
func archMatches(bsArch, nodeArch string) bool {
	if nodeArch == "" {
		nodeArch = bos.ArchUnknown // BOS's default, which matches neither X86 nor UNKNOWN
	}
	return nodeArch == bsArch || (bsArch == bos.ArchX86 && nodeArch == "UNKNOWN")
}

// listSome joins up to n ids with commas, then "..." if there are more.
func listSome(ids []string, n int) string {
	s := strings.Join(ids[:min(n, len(ids))], ",")
	if len(ids) > n {
		s += "..."
	}
	return s
}
