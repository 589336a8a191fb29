package hsm

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/simulator"
)

// bmcTransport reaches simulated BMCs in process by host; any other host refuses the
// connection. While gate is set, requests wait for it to close.
type bmcTransport struct {
	mu    sync.Mutex
	hosts map[string]http.Handler
	gate  chan struct{}
}

func (b *bmcTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	h, gate := b.hosts[r.URL.Host], b.gate
	b.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if h == nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// discoveryServer is a seeded HSM whose BMCs are simulated: BMC b answers at host b
// (its seeded FQDN) with root / initial0.
func discoveryServer(t *testing.T, onDiscovered func(DiscoveredBMC)) (*Server, *bmcTransport, *simulator.Simulator) {
	t.Helper()
	return discoveryServerOf(t, testTopology(t), onDiscovered)
}

// discoveryServerOf is discoveryServer with topology topo.
func discoveryServerOf(t *testing.T, topo *topology.Topology, onDiscovered func(DiscoveredBMC)) (*Server, *bmcTransport, *simulator.Simulator) {
	t.Helper()
	sim, err := simulator.New(simulator.Config{Topology: topo})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	tr := &bmcTransport{hosts: map[string]http.Handler{}}
	eps := map[string]BMCEndpoint{}
	for _, b := range topo.BMCs {
		tr.hosts[b.Xname] = sim.Handler(b.Xname)
		eps[b.Xname] = BMCEndpoint{FQDN: b.Xname, User: "root", Password: "initial0"}
	}
	clock := newFakeClock()
	s, err := New(Config{Topology: topo, BMCs: eps, Now: clock.Now, BMCClient: &http.Client{Transport: tr},
		BMCScheme: "http", OnDiscovered: onDiscovered})
	require.NoError(t, err)
	return s, tr, sim
}

// redfishGet reads a path of a simulated BMC directly.
func redfishGet(t *testing.T, sim *simulator.Simulator, bmc, path string) map[string]any {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.SetBasicAuth("root", "initial0")
	rec := httptest.NewRecorder()
	sim.Handler(bmc).ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var v map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

func TestDiscoverAgreesWithSeed(t *testing.T) {
	var mu sync.Mutex
	found := map[string][]DiscoveredSystem{}
	s, _, sim := discoveryServer(t, func(d DiscoveredBMC) {
		mu.Lock()
		found[d.ID] = d.Systems
		mu.Unlock()
	})
	st := decode[DiscoveryStatus](t, call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus/0", ""))
	assert.Equal(t, "NotStarted", st.Status)
	seededEPs := decode[hsmapi.RedfishEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints", "")).RedfishEndpoints
	seededCEs := decode[hsmapi.ComponentEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints", "")).ComponentEndpoints
	assert.JSONEq(t, `{"ServiceEndpoints":[]}`, call(t, s, "GET", "/hsm/v2/Inventory/ServiceEndpoints", "").body)

	r := call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":[],"force":false}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `[{"URI":"/hsm/v2/Inventory/DiscoveryStatus/0"}]`, r.body)
	s.WaitDiscoveries()

	st = decode[DiscoveryStatus](t, call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus/0", ""))
	assert.Equal(t, "Complete", st.Status)
	assert.JSONEq(t, `[{"ID":0,"Status":"Complete","LastUpdateTime":"2026-01-02T03:04:05Z"}]`,
		call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus", "").body)

	// What discovery read over Redfish is what the seed said.
	eps := decode[hsmapi.RedfishEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints", "")).RedfishEndpoints
	require.Equal(t, len(seededEPs), len(eps))
	for i, ep := range eps {
		assert.Equal(t, "DiscoverOK", ep.DiscoveryInfo.LastDiscoveryStatus, ep.ID)
		assert.Equal(t, seededEPs[i], ep, "RedfishEndpoint %s", ep.ID)
	}
	ces := decode[hsmapi.ComponentEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints", "")).ComponentEndpoints
	require.Equal(t, len(seededCEs), len(ces))
	for i, ce := range ces {
		want := seededCEs[i]
		assert.Equal(t, want.ID, ce.ID)
		for _, f := range [][2]string{{want.UUID, ce.UUID}, {want.OdataID, ce.OdataID}, {want.RedfishURL, ce.RedfishURL},
			{want.MACAddr, ce.MACAddr}, {want.RedfishType, ce.RedfishType}, {want.RedfishSubtype, ce.RedfishSubtype}} {
			assert.Equal(t, f[0], f[1], ce.ID)
		}
		if want.RedfishSystemInfo != nil {
			require.NotNil(t, ce.RedfishSystemInfo, ce.ID)
			assert.Equal(t, want.RedfishSystemInfo.Actions, ce.RedfishSystemInfo.Actions, ce.ID)
			assert.Equal(t, want.RedfishSystemInfo.Name, ce.RedfishSystemInfo.Name, ce.ID)
			require.Len(t, ce.RedfishSystemInfo.EthernetNICInfo, len(want.RedfishSystemInfo.EthernetNICInfo), ce.ID)
			for j, nic := range ce.RedfishSystemInfo.EthernetNICInfo {
				w := want.RedfishSystemInfo.EthernetNICInfo[j]
				assert.Equal(t, []string{w.ODataID, w.MACAddress, w.RedfishID}, []string{nic.ODataID, nic.MACAddress, nic.RedfishID}, ce.ID)
			}
		} else {
			require.NotNil(t, ce.RedfishManagerInfo, ce.ID)
			assert.Equal(t, want.RedfishManagerInfo.Actions, ce.RedfishManagerInfo.Actions, ce.ID)
		}
	}
	// A rack BMC serves Managers/Self.
	mgr := decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x3000c0s1b0", ""))
	assert.Equal(t, "/redfish/v1/Managers/Self", mgr.OdataID)
	assert.Equal(t, "/redfish/v1/Managers/Self/Actions/Manager.Reset", mgr.RedfishManagerInfo.Actions.Reset.Target)
	// Credentials are never returned.
	assert.NotContains(t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints", "").body, "initial0")

	// Every BMC's services, each with the BMC's own JSON.
	ses := decode[ServiceEndpointArray](t, call(t, s, "GET", "/hsm/v2/Inventory/ServiceEndpoints", "")).ServiceEndpoints
	assert.Len(t, ses, 5*len(eps))
	se := decode[ServiceEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ServiceEndpoints/UpdateService/RedfishEndpoints/x1000c0s0b0", ""))
	assert.Equal(t, "/redfish/v1/UpdateService", se.OdataID)
	assert.Equal(t, "x1000c0s0b0/redfish/v1/UpdateService", se.RedfishURL)
	assert.Equal(t, redfishGet(t, sim, "x1000c0s0b0", "/redfish/v1/")["UUID"], se.UUID)
	var info map[string]any
	require.NoError(t, json.Unmarshal(se.ServiceInfo, &info))
	assert.Equal(t, redfishGet(t, sim, "x1000c0s0b0", "/redfish/v1/UpdateService"), info)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, found["x1000c0s0b0"], 2, "OnDiscovered gets each BMC's systems")
	assert.Equal(t, "x1000c0s0b0n1", found["x1000c0s0b0"][1].ID)
	assert.Equal(t, "/redfish/v1/Systems/Node1", found["x1000c0s0b0"][1].OdataID)
}

func TestServiceEndpointsAPI(t *testing.T) {
	s, _, _ := discoveryServer(t, nil)
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["x1000c0s0b0","x3000c0s1b0"]}`).status)
	s.WaitDiscoveries()
	types := func(path string) []string {
		t.Helper()
		r := call(t, s, "GET", path, "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		var out []string
		for _, se := range decode[ServiceEndpointArray](t, r).ServiceEndpoints {
			out = append(out, se.RedfishEndpointID+"/"+se.RedfishType)
		}
		return out
	}
	assert.Equal(t, []string{"x1000c0s0b0/AccountService", "x1000c0s0b0/EventService", "x1000c0s0b0/SessionService",
		"x1000c0s0b0/TaskService", "x1000c0s0b0/UpdateService"}, types("/hsm/v2/Inventory/ServiceEndpoints?redfish_ep=x1000c0s0b0"))
	assert.Equal(t, []string{"x1000c0s0b0/TaskService", "x3000c0s1b0/TaskService"}, types("/hsm/v2/Inventory/ServiceEndpoints?service=TaskService"))
	assert.Equal(t, []string{"x3000c0s1b0/EventService"}, types("/hsm/v2/Inventory/ServiceEndpoints/EventService?redfish_ep=x3000c0s1b0"))
	assert.Empty(t, types("/hsm/v2/Inventory/ServiceEndpoints?redfish_ep=x1000c0s1b0"), "not discovered")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/ServiceEndpoints?redfish_ep=bad", ""), http.StatusBadRequest, "invalid xname")

	r := call(t, s, "DELETE", "/hsm/v2/Inventory/ServiceEndpoints/EventService/RedfishEndpoints/x3000c0s1b0", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/ServiceEndpoints/EventService/RedfishEndpoints/x3000c0s1b0", ""), http.StatusNotFound, "no such service")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/ServiceEndpoints/EventService/RedfishEndpoints/x3000c0s1b0", ""), http.StatusNotFound, "no such service")

	// Deleting the RedfishEndpoint takes its services with it.
	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints/x3000c0s1b0", "").status)
	assert.Empty(t, types("/hsm/v2/Inventory/ServiceEndpoints?redfish_ep=x3000c0s1b0"))
	r = call(t, s, "DELETE", "/hsm/v2/Inventory/ServiceEndpoints", "")
	assert.JSONEq(t, `{"code":0,"message":"deleted 5 entries"}`, r.body)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/ServiceEndpoints", ""), http.StatusNotFound, "no entries to delete")
}

func TestDiscoverFailuresAsReal(t *testing.T) {
	s, tr, _ := discoveryServer(t, nil)
	// An unreachable BMC, and one that refuses the credentials: HTTPsGetFailed.
	r := call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints",
		`{"RedfishEndpoints":[{"ID":"x5000c0s0b0","FQDN":"10.9.9.9","RediscoverOnUpdate":true},
			{"ID":"x5000c0s1b0","FQDN":"bmc51","User":"root","Password":"wrong","RediscoverOnUpdate":true}]}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	tr.mu.Lock()
	tr.hosts["bmc51"] = tr.hosts["x1000c0s0b0"]
	tr.mu.Unlock()
	s.WaitDiscoveries()
	for _, id := range []string{"x5000c0s0b0", "x5000c0s1b0"} {
		ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/"+id, ""))
		assert.Equal(t, "HTTPsGetFailed", ep.DiscoveryInfo.LastDiscoveryStatus, id)
		assert.Equal(t, "2026-01-02T03:04:05Z", ep.DiscoveryInfo.LastDiscoveryAttempt, id)
	}
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x5000c0s0b0", "").status)

	// Disabled, or RediscoverOnUpdate false (hms-smd's default): not discovered.
	r = call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints",
		`{"RedfishEndpoints":[{"ID":"x5000c0s2b0","Enabled":false,"RediscoverOnUpdate":true},{"ID":"x5000c0s3b0"}]}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	s.WaitDiscoveries()
	for _, id := range []string{"x5000c0s2b0", "x5000c0s3b0"} {
		ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/"+id, ""))
		assert.Equal(t, "NotYetQueried", ep.DiscoveryInfo.LastDiscoveryStatus, id)
	}

	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["x7000c0s0b0"]}`), http.StatusNotFound, "no such xname")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["bmc"]}`), http.StatusBadRequest, "invalid xname")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":"x"}`), http.StatusInternalServerError, "error decoding JSON")

	// While a discovery runs, another is 409 unless forced.
	gate := make(chan struct{})
	tr.mu.Lock()
	tr.gate = gate
	tr.mu.Unlock()
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["x1000c0s0b0"]}`).status)
	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", ""))
	assert.Equal(t, "DiscoveryStarted", ep.DiscoveryInfo.LastDiscoveryStatus)
	assert.Equal(t, "InProgress", decode[DiscoveryStatus](t, call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus/0", "")).Status)
	requireProblem(t, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["x1000c0s1b0"]}`), http.StatusConflict, "in progress")
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["x1000c0s1b0"],"force":true}`).status)
	close(gate)
	s.WaitDiscoveries()
	assert.Equal(t, "Complete", decode[DiscoveryStatus](t, call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus/0", "")).Status)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus/1", ""), http.StatusNotFound, "no such DiscoveryStatus")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/DiscoveryStatus/x", ""), http.StatusBadRequest, "bad id")
}

func TestPostRedfishEndpointDiscovers(t *testing.T) {
	s, _, _ := discoveryServer(t, nil)
	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", "").status)
	assert.Equal(t, "Empty", mustGet(t, s, "x1000c0s0b0n0").State)
	r := call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints", `{"ID":"x1000c0s0b0","FQDN":"x1000c0s0b0","User":"root","Password":"initial0","RediscoverOnUpdate":true}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	s.WaitDiscoveries()
	ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x1000c0s0b0", ""))
	assert.Equal(t, "DiscoverOK", ep.DiscoveryInfo.LastDiscoveryStatus)
	assert.Equal(t, simRedfishVersion, ep.DiscoveryInfo.RedfishVersion)
	assert.Equal(t, simUUID("x1000c0s0b0"), ep.UUID)
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n0").State, "rediscovered: no longer Empty")
	ce := decode[hsmapi.ComponentEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b0n1", ""))
	assert.Equal(t, "x1000c0s0b0/redfish/v1/Systems/Node1", ce.RedfishURL)

	// A new BMC the topology does not know gets HSM's defaults for its nodes.
	s2, tr, _ := discoveryServer(t, nil)
	tr.mu.Lock()
	tr.hosts["bmc9"] = tr.hosts["x3000c0s1b0"]
	tr.mu.Unlock()
	require.Equal(t, http.StatusCreated, call(t, s2, "POST", "/hsm/v2/Inventory/RedfishEndpoints", `{"ID":"x9000c0s1b0","FQDN":"bmc9","User":"root","Password":"initial0","RediscoverOnUpdate":true}`).status)
	s2.WaitDiscoveries()
	c := mustGet(t, s2, "x9000c0s1b0n0")
	assert.Equal(t, "Compute", c.Role)
	assert.Equal(t, syntheticNID("x9000c0s1b0n0"), c.NID)
	assert.Equal(t, "Ready", mustGet(t, s2, "x9000c0s1b0").State)
}

var _ = topology.SystemPath
