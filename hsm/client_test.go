package hsm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/topology"
)

// TestClientContract runs every Client call against the real handler over HTTP.
func TestClientContract(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(240))
	require.NoError(t, err)
	srv, err := New(Config{Topology: topo, Now: newFakeClock().Now})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	c := hsmapi.NewClient(ts.URL+"/", ts.Client())
	ctx := context.Background()

	require.NoError(t, c.Ready(ctx))

	t.Run("Components", func(t *testing.T) {
		nodes, err := c.GetComponents(ctx, hsmapi.ComponentFilter{Type: []string{"Node"}})
		require.NoError(t, err)
		assert.Len(t, nodes, 245)
		uan, err := c.GetComponents(ctx, hsmapi.ComponentFilter{Role: []string{"Application"}, Enabled: boolPtr(true), RoleOnly: true})
		require.NoError(t, err)
		assert.Equal(t, []hsmapi.Component{{ID: "x3000c0s4b0n0", Type: "Node", Role: "Application", SubRole: "UAN"},
			{ID: "x3000c0s5b0n0", Type: "Node", Role: "Application", SubRole: "UAN"}}, uan)
		inP1, err := c.GetComponents(ctx, hsmapi.ComponentFilter{Partition: []string{"p1"}, NIDStart: []string{"1"}, NIDEnd: []string{"2"}})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, ids(inP1))

		one, err := c.GetComponent(ctx, "x1000c0s0b0n0")
		require.NoError(t, err)
		assert.Equal(t, "X86", one.Arch)

		got, err := c.QueryComponents(ctx, []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1999c0s0b0n0"}, hsmapi.ComponentFilter{Enabled: boolPtr(true)})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, ids(got))
		got, err = c.QueryComponents(ctx, []string{"x1000c0s0"}, hsmapi.ComponentFilter{Type: []string{"Node"}, StateOnly: true})
		require.NoError(t, err)
		assert.Len(t, got, 4)
		assert.Empty(t, got[0].Arch, "stateonly trims the reply")

		require.NoError(t, c.SetState(ctx, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, StateOn, "", false))
		require.NoError(t, c.SetEnabled(ctx, []string{"x1000c0s0b0n1"}, false))
		on, err := c.GetComponents(ctx, hsmapi.ComponentFilter{State: []string{"On"}})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, ids(on))
		disabled, err := c.QueryComponents(ctx, []string{"all"}, hsmapi.ComponentFilter{Enabled: boolPtr(false)})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1000c0s0b0n1"}, ids(disabled))
		err = c.SetState(ctx, []string{"x1000c0s0b0n0"}, StateEmpty, "", false)
		assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))
		assert.ErrorContains(t, err, "hsm: set state Empty")

		require.NoError(t, c.CreateComponents(ctx, []hsmapi.Component{{ID: "x1001c7s7b1n1", State: StateOff, Role: "Compute", NID: 99999}}, false))
		created, err := c.GetComponent(ctx, "x1001c7s7b1n1")
		require.NoError(t, err)
		assert.Equal(t, 99999, created.NID)
		require.NoError(t, c.DeleteComponent(ctx, "x1001c7s7b1n1"))
		_, err = c.GetComponent(ctx, "x1001c7s7b1n1")
		var d *problem.Details
		require.True(t, errors.As(err, &d), "%v", err)
		assert.Equal(t, http.StatusNotFound, d.Status)
		assert.Equal(t, "no such xname.", d.Detail)
		assert.Equal(t, http.StatusBadRequest, problem.StatusOf(c.CreateComponents(ctx, []hsmapi.Component{{ID: "bad", State: "On"}}, false)))
	})

	t.Run("Groups", func(t *testing.T) {
		groups, err := c.Groups(ctx)
		require.NoError(t, err)
		assert.Len(t, groups, 3)
		require.NoError(t, c.CreateGroup(ctx, hsmapi.Group{Label: "session-1", Description: "BOS test"}))
		err = c.CreateGroup(ctx, hsmapi.Group{Label: "session-1"})
		assert.Equal(t, http.StatusConflict, problem.StatusOf(err))
		require.NoError(t, c.AddGroupMember(ctx, "session-1", "x1000c0s0b0n0"))
		assert.Equal(t, http.StatusConflict, problem.StatusOf(c.AddGroupMember(ctx, "session-1", "x1000c0s0b0n0")))
		assert.Equal(t, http.StatusNotFound, problem.StatusOf(c.AddGroupMember(ctx, "nope", "x1000c0s0b0n0")))
		g, err := c.Group(ctx, "session-1")
		require.NoError(t, err)
		assert.Equal(t, []string{"x1000c0s0b0n0"}, g.Members.IDs)
		ms, err := c.Memberships(ctx, hsmapi.ComponentFilter{ID: []string{"x1000c0s0b0n0"}})
		require.NoError(t, err)
		assert.Equal(t, []hsmapi.Membership{{ID: "x1000c0s0b0n0", GroupLabels: []string{"cabinet-x1000", "compute", "session-1"}, PartitionName: "p1"}}, ms)
		require.NoError(t, c.RemoveGroupMember(ctx, "session-1", "x1000c0s0b0n0"))
		assert.Equal(t, http.StatusNotFound, problem.StatusOf(c.RemoveGroupMember(ctx, "session-1", "x1000c0s0b0n0")))
		require.NoError(t, c.DeleteGroup(ctx, "session-1"))
		assert.Equal(t, http.StatusNotFound, problem.StatusOf(c.DeleteGroup(ctx, "session-1")))

		parts, err := c.Partitions(ctx)
		require.NoError(t, err)
		require.Len(t, parts, 1)
		assert.Len(t, parts[0].Members.IDs, 242)
	})

	t.Run("Locks", func(t *testing.T) {
		locked, err := c.LockedNodes(ctx)
		require.NoError(t, err)
		assert.Empty(t, locked)
		res, err := c.Lock(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0"}})
		require.NoError(t, err)
		assert.Equal(t, hsmapi.LockCounts{Total: 1, Success: 1}, res.Counts)
		locked, err = c.LockedNodes(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"x1000c0s1b0n0"}, locked)
		_, err = c.Lock(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0"}})
		assert.ErrorContains(t, err, "Component is Locked")
		_, err = c.Unlock(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0"}})
		require.NoError(t, err)

		rsv, err := c.Reserve(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0", "x1000c0s1b0n1"}, ReservationDuration: 5})
		require.NoError(t, err)
		require.Len(t, rsv.Success, 2)
		chk, err := c.CheckReservations(ctx, []hsmapi.ReservationKey{{ID: rsv.Success[0].ID, Key: rsv.Success[0].DeputyKey}})
		require.NoError(t, err)
		assert.Len(t, chk.Success, 1)
		st, err := c.LockStatus(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0", "x1999c0s0b0n0"}})
		require.NoError(t, err)
		assert.True(t, st.Components[0].Reserved)
		assert.Equal(t, []string{"x1999c0s0b0n0"}, st.NotFound)
		keys := []hsmapi.ReservationKey{{ID: rsv.Success[0].ID, Key: rsv.Success[0].ReservationKey}, {ID: rsv.Success[1].ID, Key: rsv.Success[1].ReservationKey}}
		renewed, err := c.RenewReservations(ctx, keys, 10, "")
		require.NoError(t, err)
		assert.Equal(t, 2, renewed.Counts.Success)
		rel, err := c.ReleaseReservations(ctx, keys, hsmapi.ProcessingFlexible)
		require.NoError(t, err)
		assert.Equal(t, 2, rel.Counts.Success)

		dis, err := c.DisableReservations(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0"}})
		require.NoError(t, err)
		assert.Equal(t, 1, dis.Counts.Success)
		_, err = c.Reserve(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0"}, ReservationDuration: 1})
		assert.ErrorContains(t, err, "Component reservations are disabled")
		_, err = c.RepairReservations(ctx, hsmapi.LockRequest{ComponentIDs: []string{"x1000c0s1b0n0"}})
		require.NoError(t, err)
	})

	t.Run("Inventory", func(t *testing.T) {
		var want []string
		for _, n := range topo.Nodes[:150] {
			want = append(want, n.Xname)
		}
		ces, err := c.ComponentEndpoints(ctx, hsmapi.EndpointFilter{ID: want})
		require.NoError(t, err)
		require.Len(t, ces, 150, "ids are sent in batches of %d", hsmapi.IDsPerRequest)
		assert.Equal(t, "x1000c0s0b0/redfish/v1/Systems/Node0", ces[0].RedfishURL)
		assert.Equal(t, topology.ResetTypes, ces[0].RedfishSystemInfo.Actions.Reset.AllowableValues)
		nodes, err := c.ComponentEndpoints(ctx, hsmapi.EndpointFilter{Type: []string{"Node"}})
		require.NoError(t, err)
		assert.Len(t, nodes, 245)

		srv.SetBMCEndpoints(map[string]BMCEndpoint{"x1000c0s0b0": {FQDN: "127.1.0.3:8443", User: "root", Password: "pw"}})
		eps, err := c.RedfishEndpoints(ctx)
		require.NoError(t, err)
		assert.Len(t, eps, 125)
		assert.Equal(t, "127.1.0.3:8443", eps[0].FQDN)
		ces, err = c.ComponentEndpoints(ctx, hsmapi.EndpointFilter{RedfishEP: []string{"x1000c0s0b0"}, RedfishType: []string{"ComputerSystem"}})
		require.NoError(t, err)
		require.Len(t, ces, 2)
		assert.Equal(t, "127.1.0.3:8443/redfish/v1/Systems/Node1", ces[1].RedfishURL)

		// A BMC shard registers where its BMCs listen (internal/stack, registerBMCs).
		require.NoError(t, c.PatchRedfishEndpoint(ctx, "x1000c0s1b0", hsmapi.RedfishEndpointUpdate{FQDN: "127.1.0.4:8443", User: "root", Password: "pw"}))
		ces, err = c.ComponentEndpoints(ctx, hsmapi.EndpointFilter{RedfishEP: []string{"x1000c0s1b0"}, RedfishType: []string{"ComputerSystem"}})
		require.NoError(t, err)
		require.Len(t, ces, 2)
		assert.Equal(t, "127.1.0.4:8443/redfish/v1/Systems/Node0", ces[0].RedfishURL)
		assert.ErrorContains(t, c.PatchRedfishEndpoint(ctx, "x9000c0s0b0", hsmapi.RedfishEndpointUpdate{FQDN: "127.1.0.5:8443"}), "x9000c0s0b0")

		eths, err := c.EthernetInterfaces(ctx, "Node")
		require.NoError(t, err)
		assert.Len(t, eths, 245)
	})

	t.Run("Events", func(t *testing.T) {
		res, err := c.PostRedfishEvent(ctx, hsmapi.RedfishEvent{Context: "x1000c0s2b0", Events: []hsmapi.RedfishEventRecord{{
			MessageID: "ResourceEvent.1.0.ResourcePowerStateChanged", MessageArgs: []string{"/redfish/v1/Systems/Node1", "On"}}}})
		require.NoError(t, err)
		assert.Equal(t, hsmapi.EventResult{Applied: 1}, res)
		n, err := c.GetComponent(ctx, "x1000c0s2b0n1")
		require.NoError(t, err)
		assert.Equal(t, StateOn, n.State)
	})

	t.Run("TransportError", func(t *testing.T) {
		dead := hsmapi.NewClient("http://127.0.0.1:1", nil)
		err := dead.Ready(ctx)
		require.Error(t, err)
		assert.Zero(t, problem.StatusOf(err))
	})
}
