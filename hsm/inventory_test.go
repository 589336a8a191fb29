package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/topology"
)

func TestSeededComponentEndpoints(t *testing.T) {
	clock := newFakeClock()
	s, err := New(Config{Topology: testTopology(t), Now: clock.Now,
		BMCs: map[string]BMCEndpoint{"x1000c0s0b0": {FQDN: "127.1.0.3:8443", User: "root", Password: "secret"}}})
	require.NoError(t, err)

	r := call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b0n1", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{
		"ID":"x1000c0s0b0n1","Type":"Node","Domain":"","FQDN":"x1000c0s0b0n1",
		"RedfishType":"ComputerSystem","RedfishSubtype":"Physical","MACAddr":"02:00:00:00:00:02",
		"UUID":"`+simUUID("x1000c0s0b0n1")+`","OdataID":"/redfish/v1/Systems/Node1",
		"RedfishEndpointID":"x1000c0s0b0","Enabled":true,
		"RedfishEndpointFQDN":"127.1.0.3:8443","RedfishURL":"127.1.0.3:8443/redfish/v1/Systems/Node1",
		"ComponentEndpointType":"ComponentEndpointComputerSystem",
		"RedfishSystemInfo":{"Name":"Node1",
			"Actions":{"#ComputerSystem.Reset":{
				"ResetType@Redfish.AllowableValues":["On","ForceOff","GracefulShutdown","GracefulRestart","ForceRestart","PowerCycle","PushPowerButton","Nmi"],
				"target":"/redfish/v1/Systems/Node1/Actions/ComputerSystem.Reset"}},
			"EthernetNICInfo":[{"RedfishId":"1","@odata.id":"/redfish/v1/Systems/Node1/EthernetInterfaces/1",
				"Description":"Node management NIC","Hostname":"nid000002","InterfaceEnabled":true,
				"MACAddress":"02:00:00:00:00:02","PermanentMACAddress":"02:00:00:00:00:02"}]}}`, r.body)

	// River nodes are Self; a BMC without an entry is reached by its xname.
	ce := decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x3000c0s4b0n0", ""))
	assert.Equal(t, "/redfish/v1/Systems/Self", ce.OdataID)
	assert.Equal(t, "x3000c0s4b0/redfish/v1/Systems/Self", ce.RedfishURL)
	mgr := decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b0", ""))
	assert.Equal(t, "Manager", mgr.RedfishType)
	assert.Equal(t, "127.1.0.3:8443/redfish/v1/Managers/BMC", mgr.RedfishURL)

	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", ""))
	assert.Equal(t, "127.1.0.3:8443", ep.FQDN)
	assert.Equal(t, "127.1.0.3", ep.IPAddress)
	assert.Equal(t, "127.1.0.3", ep.Hostname)
	assert.Equal(t, "root", ep.User)
	assert.Empty(t, ep.Password, "never returned")
	assert.Equal(t, "NodeBMC", ep.Type)
	assert.Equal(t, "DiscoverOK", ep.DiscoveryInfo.LastDiscoveryStatus)
}

func TestBMCAddressFromTopology(t *testing.T) {
	topo := testTopology(t)
	topo.BMCs[0].Address = "127.0.0.9"
	topo.BMCs[0].Username, topo.BMCs[0].Password = "admin", "pw"
	s, err := New(Config{Topology: topo})
	require.NoError(t, err)
	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/"+topo.BMCs[0].Xname, ""))
	assert.Equal(t, "127.0.0.9", ep.FQDN)
	assert.Equal(t, "admin", ep.User)

	_, err = New(Config{Topology: topo, BMCs: map[string]BMCEndpoint{"x9000c0s0b0": {FQDN: "x"}}})
	assert.ErrorContains(t, err, "not a BMC of the topology")
}

func TestSetBMCEndpoints(t *testing.T) {
	s, _ := MustServer(t)
	s.SetBMCEndpoints(map[string]BMCEndpoint{
		"x1000c0s0b1": {FQDN: "127.1.0.7:9443", User: "u", Password: "p"},
		"x9999c0s0b0": {FQDN: "ignored"},
	})
	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b1", ""))
	assert.Equal(t, "127.1.0.7:9443", ep.FQDN)
	assert.Equal(t, "u", ep.User)
	ces := decode[hsmapi.ComponentEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints?redfish_ep=x1000c0s0b1", "")).ComponentEndpoints
	require.Len(t, ces, 3)
	for _, ce := range ces {
		assert.Equal(t, "127.1.0.7:9443", ce.RedfishEndpointFQDN)
		assert.Equal(t, "127.1.0.7:9443"+ce.OdataID, ce.RedfishURL)
	}
	// A deleted endpoint is recreated (rediscovered) by SetBMCEndpoints.
	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s1b0", "").status)
	s.SetBMCEndpoints(map[string]BMCEndpoint{"x1000c0s1b0": {FQDN: "127.1.0.8:443"}})
	assert.Equal(t, "127.1.0.8:443", decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s1b0n0", "")).RedfishEndpointFQDN)
}

func TestComponentEndpointsFilters(t *testing.T) {
	s, _ := MustServer(t)
	get := func(q string) []string {
		r := call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints?"+q, "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		out := []string{}
		for _, ce := range decode[hsmapi.ComponentEndpointArray](t, r).ComponentEndpoints {
			out = append(out, ce.ID)
		}
		return out
	}
	assert.Len(t, get(""), 22)
	assert.Len(t, get("type=Node"), 13)
	assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s1b1n1"}, get("id=x1000c0s1b1n1&id=x1000c0s0b0n0&id=x1999c0s0b0n0"))
	assert.Equal(t, []string{"x1000c0s0b0", "x1000c0s0b0n0", "x1000c0s0b0n1"}, get("redfish_ep=x1000c0s0b0"))
	assert.Equal(t, []string{"x1000c0s0b0"}, get("redfish_ep=x1000c0s0b0&redfish_type=manager"))
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints?id=nope", ""), http.StatusBadRequest, "invalid xname")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints?type=Blob", ""), http.StatusBadRequest, "not a valid HMS Type")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1999c0s0b0n0", ""), http.StatusNotFound, "no such xname.")
}

func TestRedfishEndpointsCRUD(t *testing.T) {
	s, _ := MustServer(t)
	eps := decode[hsmapi.RedfishEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints", "")).RedfishEndpoints
	assert.Len(t, eps, 9)
	r := call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints?fqdn=x3000c0s1b0&type=nodebmc", "")
	assert.Len(t, decode[hsmapi.RedfishEndpointArray](t, r).RedfishEndpoints, 1)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x1999c0s0b0", ""), http.StatusNotFound, "no such xname.")

	// Delete: endpoints go, components behind them become Empty.
	r = call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "Empty", mustGet(t, s, "x1000c0s0b0n0").State)
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b0n0", "").status)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", ""), http.StatusNotFound, "no such xname.")

	// Re-register it: discovery (TestPostRedfishEndpointDiscovers) starts in the background.
	r = call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints", `{"ID":"x1000c0s0b0","FQDN":"127.1.0.2:8443","User":"root","Password":"pw"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	assert.Equal(t, "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", decode[[]hsmapi.ResourceURI](t, r)[0].URI)
	s.WaitDiscoveries()

	// A list, one unknown BMC: registered, discovery fails.
	r = call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints", `{"RedfishEndpoints":[{"ID":"x5000c0s0b0","Hostname":"bmc5","Domain":"local","RediscoverOnUpdate":true}]}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	s.WaitDiscoveries()
	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x5000c0s0b0", ""))
	assert.Equal(t, "bmc5.local", ep.FQDN)
	assert.Equal(t, "HTTPsGetFailed", ep.DiscoveryInfo.LastDiscoveryStatus)
	assert.True(t, ep.Enabled)

	for _, tc := range []struct {
		name, body string
		status     int
		detail     string
	}{
		{"DuplicateID", `{"ID":"x1000c0s0b1"}`, http.StatusConflict, "same ID"},
		{"DuplicateFQDN", `{"ID":"x6000c0s0b0","FQDN":"127.1.0.2:8443"}`, http.StatusConflict, "same FQDN"},
		{"DuplicateInBatch", `{"RedfishEndpoints":[{"ID":"x6000c0s0b0"},{"ID":"x6000c0s0b0"}]}`, http.StatusConflict, "same ID"},
		// hms-smd's NewRedfishEPDescription checks and texts.
		{"BadID", `{"ID":"bmc"}`, http.StatusBadRequest, "couldn't validate endpoint data: bmc is not a valid locational xname ID"},
		{"NoID", `{"Name":"x"}`, http.StatusBadRequest, "couldn't validate endpoint data: No xname ID found"},
		{"NotController", `{"ID":"x6000c0s0b0n0"}`, http.StatusBadRequest, "couldn't validate endpoint data: xname ID x6000c0s0b0n0 has wrong type for RF endpoint: Node"},
		{"BadHostname", `{"ID":"x6000c0s0b0","Hostname":"a.b"}`, http.StatusBadRequest, "couldn't validate endpoint data: Hostname is not a basename or IP address."},
		{"FQDNConflict", `{"ID":"x6000c0s0b0","Hostname":"bmc6","Domain":"one","FQDN":"bmc6.two"}`, http.StatusBadRequest, "couldn't validate endpoint data: host/domain conflicts with FQDN: 'bmc6.one' != 'bmc6.two'"},
		{"BadIP", `{"ID":"x6000c0s0b0","IPAddress":"10.1"}`, http.StatusBadRequest, "couldn't validate endpoint data: IPAddress is not a valid IP address: '10.1'"},
		{"IPConflict", `{"ID":"x6000c0s0b0","FQDN":"10.0.0.6","IPAddress":"10.0.0.7"}`, http.StatusBadRequest, "couldn't validate endpoint data: hostname IP address conflicts with given IP address: '10.0.0.6' != '10.0.0.7'"},
		{"Both", `{"ID":"x6000c0s0b0","RedfishEndpoints":[]}`, http.StatusBadRequest, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints", tc.body), tc.status, tc.detail)
			assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x6000c0s0b0", "").status)
		})
	}

	// PUT replaces; PATCH changes fields; both repoint the ComponentEndpoints.
	r = call(t, s, "PUT", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b1", `{"FQDN":"127.1.0.4:8443","User":"a","Password":"b"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "127.1.0.4:8443", decode[hsmapi.RedfishEndpoint](t, r).FQDN)
	assert.Equal(t, "127.1.0.4:8443", decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b1n1", "")).RedfishEndpointFQDN)
	r = call(t, s, "PATCH", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b1", `{"FQDN":"127.1.0.5:8443"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	ep = decode[hsmapi.RedfishEndpoint](t, r)
	assert.Equal(t, "127.1.0.5", ep.IPAddress)
	assert.Equal(t, "a", ep.User, "PATCH keeps what it does not name")
	assert.Equal(t, "127.1.0.5:8443/redfish/v1/Systems/Node1",
		decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b1n1", "")).RedfishURL)
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b1", `{"ID":"x1000c0s1b1"}`), http.StatusBadRequest, "do not match")
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/Inventory/RedfishEndpoints/x1999c0s0b1", `{}`), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/Inventory/RedfishEndpoints/x1999c0s0b1", `{"User":"x"}`), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b1", `{"Type":"ChassisBMC"}`), http.StatusBadRequest, "does not match")

	r = call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"code":0,"message":"deleted 10 entries"}`, r.body)
	assert.JSONEq(t, `{"ComponentEndpoints":[]}`, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints", "").body)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints", ""), http.StatusNotFound, "no entries to delete")
}

func TestEthernetInterfaces(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces?type=Node", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	all := decode[[]hsmapi.EthernetInterface](t, r)
	require.Len(t, all, 13)
	r = call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces/02:00:00:00:00:05", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"ID":"020000000005","Description":"Node management NIC","MACAddress":"02:00:00:00:00:05",
		"IPAddresses":[{"IPAddress":"10.0.0.5","Network":"NMN"}],"LastUpdate":"2026-01-02T03:04:05Z",
		"ComponentID":"x1000c0s1b0n0","Type":"Node"}`, r.body)
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"componentid=x1000c0s1b0n0", 1}, {"macaddress=02-00-00-00-00-05", 1}, {"ipaddress=10.0.0.5", 1},
		{"network=NMN", 13}, {"network=HMN", 0}, {"type=NodeBMC", 0}, {"id=020000000005&id=020000000006", 2},
	} {
		assert.Len(t, decode[[]hsmapi.EthernetInterface](t, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces?"+tc.query, "")), tc.n, tc.query)
	}
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces/0200", ""), http.StatusBadRequest, "invalid EthernetInterface ID")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces/aabbccddeeff", ""), http.StatusNotFound, "no such EthernetInterface.")

	r = call(t, s, "POST", "/hsm/v2/Inventory/EthernetInterfaces", `{"MACAddress":"AA:BB:CC:DD:EE:FF","ComponentID":"x3000c0s1b0","IPAddresses":[{"IPAddress":"10.1.1.1"}]}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	e := decode[hsmapi.EthernetInterface](t, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces/aabbccddeeff", ""))
	assert.Equal(t, "NodeBMC", e.Type)
	assert.Equal(t, "aa:bb:cc:dd:ee:ff", e.MACAddress)
	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/EthernetInterfaces", `{"MACAddress":"aa:bb:cc:dd:ee:ff"}`), http.StatusConflict, "same MAC")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/EthernetInterfaces", `{"MACAddress":"zz"}`), http.StatusBadRequest, "invalid MACAddress")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/EthernetInterfaces", `{"MACAddress":"aa:bb:cc:dd:ee:00","ComponentID":"q"}`), http.StatusBadRequest, "invalid ComponentID")
	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/Inventory/EthernetInterfaces/aabbccddeeff", "").status)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/EthernetInterfaces/aabbccddeeff", ""), http.StatusNotFound, "no such EthernetInterface.")
}

func TestEmptyServer(t *testing.T) {
	s, err := New(Config{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Components":[]}`, call(t, s, "GET", "/hsm/v2/State/Components", "").body)
	assert.JSONEq(t, `[]`, call(t, s, "GET", "/hsm/v2/groups", "").body)
	assert.JSONEq(t, `{"RedfishEndpoints":[]}`, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints", "").body)
	assert.JSONEq(t, `[]`, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces", "").body)
	// Disabled endpoints are not discovered (hms-smd skips them).
	r := call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints", `{"ID":"x1000c0s0b0","Enabled":false}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", ""))
	assert.Equal(t, "NotYetQueried", ep.DiscoveryInfo.LastDiscoveryStatus)
}

func TestSystemIDsMatchTopology(t *testing.T) {
	topo := testTopology(t)
	s, err := New(Config{Topology: topo})
	require.NoError(t, err)
	for _, n := range topo.Nodes {
		id, ok := topo.SystemID(n.Xname)
		require.True(t, ok)
		ce := decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/"+n.Xname, ""))
		assert.Equal(t, topology.SystemPath(id), ce.OdataID, n.Xname)
		assert.Equal(t, n.BMC(), ce.RedfishEndpointID)
	}
}
