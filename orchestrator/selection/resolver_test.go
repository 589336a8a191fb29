package selection_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// fixedInventory is an HSM of the cluster in select_test.go that counts node reads; a
// non-nil err fails every read.
type fixedInventory struct {
	reads int
	err   error
}

func (f *fixedInventory) Nodes(context.Context) ([]selection.Node, error) {
	f.reads++
	return clusterNodes(), f.err
}
func (f *fixedInventory) Groups(context.Context) (map[string][]string, error) {
	return map[string][]string{"blue": {n00, n01, n30}}, f.err
}
func (f *fixedInventory) Partitions(context.Context) (map[string][]string, error) {
	return map[string][]string{"p1": {n00, n10}}, f.err
}
func (f *fixedInventory) LockedNodes(context.Context) ([]string, error) { return []string{n30}, f.err }

// TestResolveNodes: one inventory read per call whatever the number of selectors; each
// selector resolves as session setup would (limit, tenant, partition); a bad limit or an
// unknown partition fails that selector alone (EINVALID); an unknown tenant selects
// nothing; an unreadable HSM fails the call (EUNAVAILABLE); a selector with a session key
// leaves the snapshot for that session's setup.
func TestResolveNodes(t *testing.T) {
	two := bos.SessionTemplate{BootSets: map[string]bos.BootSet{
		"x": {NodeList: []string{n00, n01}}, "y": {NodeList: []string{n01, n10}}}}
	compute := bos.SessionTemplate{BootSets: map[string]bos.BootSet{"z": {NodeRolesGroups: []string{"Compute"}}}}
	tests := []struct {
		name    string
		sel     bos.NodeSelector
		want    []string
		wantErr bool
	}{
		{name: "every boot set", sel: bos.NodeSelector{Template: two}, want: []string{n00, n01, n10}},
		{name: "limit", sel: bos.NodeSelector{Template: two, Limit: n10}, want: []string{n10}},
		{name: "tenant", sel: bos.NodeSelector{Template: compute, Tenant: "acme"}, want: []string{n00, n10}},
		{name: "unknown tenant selects nothing", sel: bos.NodeSelector{Template: two, Tenant: "ghost"}},
		{name: "partition bounds the boot sets", sel: bos.NodeSelector{Template: two, Partition: "p1"}, want: []string{n00, n10}},
		{name: "locked and disabled nodes drop out", sel: bos.NodeSelector{Template: compute}, want: []string{n00, n01, n10, n40}},
		{name: "bad limit", sel: bos.NodeSelector{Template: two, Limit: "&"}, wantErr: true},
		{name: "unknown partition", sel: bos.NodeSelector{Template: two, Partition: "p9"}, wantErr: true},
	}
	inv := &fixedInventory{}
	r := &selection.Resolver{Inventory: inv, Tenants: tenant.NewMemory(acme)}
	sels := make([]bos.NodeSelector, len(tests))
	for i, tc := range tests {
		sels[i] = tc.sel
	}
	out, err := r.ResolveNodes(context.Background(), sels)
	require.NoError(t, err)
	require.Len(t, out, len(tests))
	assert.Equal(t, 1, inv.reads, "one inventory read for every selector")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantErr {
				assert.Equal(t, bos.EINVALID, bos.ErrorCode(out[i].Err))
				assert.Nil(t, out[i].Nodes)
				return
			}
			require.NoError(t, out[i].Err)
			assert.Equal(t, tc.want, out[i].Nodes)
		})
	}

	out, err = r.ResolveNodes(context.Background(), nil)
	require.NoError(t, err)
	assert.Nil(t, out)
	assert.Equal(t, 1, inv.reads, "no selector, no read")

	handoff := &selection.Handoff{}
	r.Handoff = handoff
	_, err = r.ResolveNodes(context.Background(), []bos.NodeSelector{{Template: two, SessionKey: bos.V2SessionKey("", "s")}})
	require.NoError(t, err)
	kept := handoff.Take(bos.V2SessionKey("", "s"))
	require.NotNil(t, kept, "the snapshot is left for the session's setup")
	assert.NotNil(t, kept.Partitions, "read with partitions, which setup may need")

	inv.err = errors.New("connection refused")
	_, err = r.ResolveNodes(context.Background(), sels)
	assert.Equal(t, bos.EUNAVAILABLE, bos.ErrorCode(err))
}
