package selection_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// ---- a small cluster ----

const (
	n00 = "x1000c0s0b0n0" // Compute, X86
	n01 = "x1000c0s0b0n1" // Compute, X86
	n10 = "x1000c0s1b0n0" // Compute, UNKNOWN arch
	n11 = "x1000c0s1b0n1" // Compute, no arch at all
	n20 = "x1000c0s2b0n0" // Application_UAN, ARM
	n21 = "x1000c0s2b0n1" // Compute, X86, disabled in HSM
	n30 = "x1000c0s3b0n0" // Compute, X86, locked in HSM
	n31 = "x1000c0s3b0n1" // Management_Master, X86
	n40 = "x1000c0s4b0n0" // Compute, X86
)

func clusterNodes() []selection.Node {
	return []selection.Node{
		{ID: n00, Role: "Compute", Arch: "X86", Enabled: true},
		{ID: n01, Role: "Compute", Arch: "X86", Enabled: true},
		{ID: n10, Role: "Compute", Arch: "UNKNOWN", Enabled: true},
		{ID: n11, Role: "Compute", Arch: "", Enabled: true},
		{ID: n20, Role: "Application", SubRole: "UAN", Arch: "ARM", Enabled: true},
		{ID: n21, Role: "Compute", Arch: "X86", Enabled: false},
		{ID: n30, Role: "Compute", Arch: "X86", Enabled: true},
		{ID: n31, Role: "Management", SubRole: "Master", Arch: "X86", Enabled: true},
		{ID: n40, Role: "Compute", Arch: "X86", Enabled: true},
	}
}

func clusterSnapshot() *selection.Snapshot {
	groups := map[string][]string{"blue": {n00, n01, n30}, "red": {n10, n11}, "mixed": {n00, n20, n21}}
	return selection.NewSnapshot(clusterNodes(), groups, map[string][]string{"p1": {n00, n10}}, []string{n30})
}

var acme = tenant.New("acme", []string{n00, n10, n20, n21})

func bootSetA(fs ...func(*bos.BootSet)) bos.BootSet {
	bs := bos.BootSet{Path: "s3://boot-images/a/manifest.json", Type: "s3", Arch: bos.ArchX86}
	for _, f := range fs {
		f(&bs)
	}
	return bs
}

func groups(g ...string) func(*bos.BootSet)   { return func(bs *bos.BootSet) { bs.NodeGroups = g } }
func roles(r ...string) func(*bos.BootSet)    { return func(bs *bos.BootSet) { bs.NodeRolesGroups = r } }
func nodeList(n ...string) func(*bos.BootSet) { return func(bs *bos.BootSet) { bs.NodeList = n } }
func arch(a string) func(*bos.BootSet)        { return func(bs *bos.BootSet) { bs.Arch = a } }

func TestResolveBootSet(t *testing.T) {
	tests := []struct {
		name        string
		bs          bos.BootSet
		limit       string
		disabled    bool // include_disabled
		tenant      *tenant.Tenant
		want        []string
		wantUnknown []string
		wantErr     string
	}{
		{name: "node_list", bs: bootSetA(nodeList(n00, n01)), want: []string{n00, n01}},
		{name: "node_list is normalised", bs: bootSetA(nodeList("X1000C0S0B0N01")), want: []string{n01}},
		{name: "node_list entry unknown to HSM drops out", bs: bootSetA(nodeList(n00, "x9000c0s0b0n0")), want: []string{n00}},
		{name: "group, locked member removed", bs: bootSetA(groups("blue")), want: []string{n00, n01}},
		{name: "union of list, groups and roles", bs: bootSetA(nodeList(n31), groups("blue"), roles("Compute")),
			want: []string{n00, n01, n10, n31, n40}},
		{name: "role", bs: bootSetA(roles("Management")), want: []string{n31}},
		{name: "Role_SubRole", bs: bootSetA(roles("Application_UAN"), arch(bos.ArchARM)), want: []string{n20}},
		{name: "SubRole alone is not a role", bs: bootSetA(roles("UAN")), want: nil, wantUnknown: []string{"role UAN"}},
		{name: "unknown group and role skipped", bs: bootSetA(groups("nope", "blue"), roles("Nope")),
			want: []string{n00, n01}, wantUnknown: []string{"group nope", "role Nope"}},
		{name: "X86 takes UNKNOWN but not a missing arch", bs: bootSetA(groups("red")), want: []string{n10}},
		{name: "Unknown boot set takes a missing arch (quirk)", bs: bootSetA(groups("red"), arch(bos.ArchUnknown)), want: []string{n11}},
		{name: "ARM boot set", bs: bootSetA(groups("mixed"), arch(bos.ArchARM)), want: []string{n20}},
		{name: "empty arch means X86", bs: bootSetA(groups("mixed"), arch("")), want: []string{n00}},
		{name: "HSM-disabled node dropped", bs: bootSetA(nodeList(n21)), want: nil},
		{name: "include_disabled keeps it", bs: bootSetA(nodeList(n21)), disabled: true, want: []string{n21}},
		{name: "locked node dropped even with include_disabled", bs: bootSetA(nodeList(n30)), disabled: true, want: nil},
		{name: "limit by xname", bs: bootSetA(groups("blue")), limit: n01, want: []string{n01}},
		{name: "limit by partition", bs: bootSetA(roles("Compute")), limit: "p1", want: []string{n00, n10}},
		{name: "limit by role then subtract group", bs: bootSetA(groups("blue", "red")), limit: "Compute,!red", want: []string{n00, n01}},
		{name: "limit starting with ! selects nothing", bs: bootSetA(groups("blue")), limit: "!" + n00, want: nil},
		{name: "bad limit", bs: bootSetA(groups("blue")), limit: "all,", wantErr: "item 2 is empty"},
		{name: "tenant: groups and roles intersected", bs: bootSetA(roles("Compute")), tenant: acme, want: []string{n00, n10}},
		{name: "tenant: node_list inside", bs: bootSetA(nodeList(n00)), tenant: acme, want: []string{n00}},
		{name: "tenant: node_list outside fails", bs: bootSetA(nodeList(n00, n01, n31)), tenant: acme,
			wantErr: "node_list names nodes that are not available to tenant 'acme': " + n01 + "," + n31},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sess := bos.Session{Name: "s", Operation: bos.OpBoot, Limit: tc.limit, IncludeDisabled: tc.disabled}
			got, unknown, err := selection.ResolveBootSet(tc.bs, sess, clusterSnapshot(), tc.tenant)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantUnknown, unknown)
		})
	}
}

func TestSnapshotLookup(t *testing.T) {
	inv := selection.NewSnapshot(clusterNodes(),
		map[string][]string{"Compute": {n31}}, // a group shadows a role of the same name
		map[string][]string{"p1": {n00}}, nil)
	m, ok := inv.Lookup("Compute")
	assert.True(t, ok)
	assert.Equal(t, []string{n31}, m, "groups are tried before roles")
	m, ok = inv.Lookup("p1")
	assert.True(t, ok)
	assert.Equal(t, []string{n00}, m)
	m, ok = inv.Lookup("Management_Master")
	assert.True(t, ok)
	assert.Equal(t, []string{n31}, m)
	_, ok = inv.Lookup(n00)
	assert.False(t, ok, "an xname is not a name")
}

// TestSelect: boot sets resolve on their own; a node in several belongs to the last
// by name; the partition bounds every boot set; the limit applies; an unknown partition
// and a bad limit are errors (the latter naming its boot set).
func TestSelect(t *testing.T) {
	a0, a1, a2, b0 := "x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0", "x1000c0s2b0n0"
	var nodes []selection.Node
	for _, id := range []string{a0, a1, a2, b0} {
		nodes = append(nodes, selection.Node{ID: id, Role: "Compute", Arch: "X86", Enabled: true})
	}
	inv := selection.NewSnapshot(nodes, map[string][]string{"g": {a1, a2}}, map[string][]string{"p1": {a0, a1, b0}}, nil)
	tmpl := bos.SessionTemplate{BootSets: map[string]bos.BootSet{
		"x": {NodeList: []string{a0, a1}},
		"y": {NodeGroups: []string{"g", "nope"}}, // a1 is in both: y (last by name) keeps it
	}}
	got, err := selection.Select(bos.NodeSelector{Template: tmpl}, inv, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"x", "y"}, got.Names)
	assert.Equal(t, map[string][]string{"x": {a0, a1}, "y": {a1, a2}}, got.Resolved)
	assert.Equal(t, map[string][]string{"x": {a0}, "y": {a1, a2}}, got.ByBootSet())
	assert.Equal(t, []string{a0, a1, a2}, got.Nodes())
	assert.Equal(t, []string{"group nope"}, got.AllUnknown())

	got, err = selection.Select(bos.NodeSelector{Template: tmpl, Partition: "p1"}, inv, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"x": {a0}, "y": {a1}}, got.ByBootSet(), "the partition bounds every boot set")

	got, err = selection.Select(bos.NodeSelector{Template: tmpl, Limit: "all,!" + a1}, inv, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"x": {a0}, "y": {a2}}, got.ByBootSet())

	got, err = selection.Select(bos.NodeSelector{Template: bos.SessionTemplate{BootSets: map[string]bos.BootSet{"x": {NodeList: []string{b0}}}}}, inv, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"x": {b0}}, got.ByBootSet())

	_, err = selection.Select(bos.NodeSelector{Template: tmpl, Partition: "p9"}, inv, nil)
	assert.ErrorContains(t, err, `partition "p9" is not an HSM partition`)
	_, err = selection.Select(bos.NodeSelector{Template: tmpl, Limit: a0 + ",,"}, inv, nil)
	var be *selection.BootSetError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "x", be.BootSet)
	assert.ErrorContains(t, err, "boot set 'x': ")
	assert.ErrorContains(t, err, "empty")
}
