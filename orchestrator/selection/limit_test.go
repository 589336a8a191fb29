package selection_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/selection"
)

func TestApplyLimit(t *testing.T) {
	// Boot-set nodes a..e; HSM knows group g = {a,b,z} (z is outside the boot set),
	// partition p1 = {b,c} and role Compute = {c,d}.
	bootSet := []string{"x1n0", "x1n1", "x1n2", "x1n3", "x1n4", "x1n1"}
	a, b, c, d, e := "x1n0", "x1n1", "x1n2", "x1n3", "x1n4"
	names := map[string][]string{
		"g":       {a, b, "x9n9"},
		"p1":      {b, c},
		"Compute": {c, d},
	}
	resolve := func(name string) ([]string, bool) { m, ok := names[name]; return m, ok }

	tests := []struct {
		name, limit string
		want        []string
		wantErr     string
	}{
		{name: "empty limit keeps every boot-set node, sorted and deduplicated", limit: "", want: []string{a, b, c, d, e}},
		{name: "all", limit: "all", want: []string{a, b, c, d, e}},
		{name: "star", limit: "*", want: []string{a, b, c, d, e}},
		{name: "literal xname", limit: d, want: []string{d}},
		{name: "xname outside the boot set selects nothing", limit: "x7n7", want: []string{}},
		{name: "unknown name is taken as an xname", limit: "nosuchgroup", want: []string{}},
		{name: "group, clipped to the boot set", limit: "g", want: []string{a, b}},
		{name: "partition", limit: "p1", want: []string{b, c}},
		{name: "role", limit: "Compute", want: []string{c, d}},
		{name: "union of items", limit: "g," + e, want: []string{a, b, e}},
		{name: "intersect", limit: "g,&p1", want: []string{b}},
		{name: "subtract", limit: "all,!Compute", want: []string{a, b, e}},
		{name: "subtract a literal", limit: "*,!" + a, want: []string{b, c, d, e}},
		{name: "left to right: remove then add back", limit: "g,!" + a + "," + a, want: []string{a, b}},
		{name: "left to right: add then remove", limit: "g," + a + ",!" + a, want: []string{b}},
		{name: "subtract first yields nothing", limit: "!" + a, want: []string{}},
		{name: "intersect first yields nothing", limit: "&g", want: []string{}},
		{name: "subtract first, then all", limit: "!" + a + ",all", want: []string{a, b, c, d, e}},
		{name: "surrounding spaces ignored", limit: " g , & p1 ", want: []string{b}},
		{name: "empty middle item", limit: "g,,p1", wantErr: "item 2 is empty"},
		{name: "trailing comma", limit: "g,", wantErr: "item 2 is empty"},
		{name: "lone comma", limit: ",", wantErr: "item 1 is empty"},
		{name: "operator without name", limit: "all,&", wantErr: "item 2 is empty"},
		{name: "bang without name", limit: "!", wantErr: "item 1 is empty"},
		{name: "blank item", limit: "all,  ,g", wantErr: "item 2 is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selection.ApplyLimit(tc.limit, bootSet, resolve)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), tc.limit, "the error quotes the limit")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestApplyLimitNormalisesXnames(t *testing.T) {
	nodes := []string{"x3000c0s1b0n0", "x3000c0s2b0n0"}
	none := func(string) ([]string, bool) { return nil, false }
	got, err := selection.ApplyLimit("X3000C0S01B0N0", nodes, none)
	require.NoError(t, err)
	assert.Equal(t, []string{"x3000c0s1b0n0"}, got)

	got, err = selection.ApplyLimit("all,!x3000c0s02b0n0", nodes, none)
	require.NoError(t, err)
	assert.Equal(t, []string{"x3000c0s1b0n0"}, got)
}
