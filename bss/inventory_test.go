package bss

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/topology"
)

// hsmStub serves the three HSM collections BSS reads, in HSM's documented JSON shapes, and
// insists on the type=Node filter BSS sends.
type hsmStub struct {
	components, endpoints, ethernet string
	fail                            atomic.Bool
}

func (h *hsmStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.fail.Load() {
		http.Error(w, `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"db down"}`, 500)
		return
	}
	if r.URL.Query().Get("type") != "Node" {
		http.Error(w, "type=Node expected", http.StatusBadRequest)
		return
	}
	body := map[string]string{
		"/hsm/v2/State/Components":             h.components,
		"/hsm/v2/Inventory/ComponentEndpoints": h.endpoints,
		"/hsm/v2/Inventory/EthernetInterfaces": h.ethernet,
	}[r.URL.Path]
	if body == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func newHSMStub() *hsmStub {
	return &hsmStub{
		components: `{"Components":[
			{"ID":"x1000c0s0b0n0","Type":"Node","State":"Ready","Flag":"OK","Enabled":true,"Role":"Compute","NID":1,"NetType":"Sling","Arch":"X86","Class":"Mountain"},
			{"ID":"x1000c0s0b0n1","Type":"Node","State":"Off","Flag":"OK","Enabled":true,"Role":"Compute","NID":2,"Arch":"X86"},
			{"ID":"x3000c0s1b0n0","Type":"Node","State":"On","Role":"Management","SubRole":"Worker","NID":100001,"Arch":"X86"},
			{"ID":"x3000c0s9b0n0","Type":"Node","State":"Empty","Role":"Compute","NID":7},
			{"ID":"x1000c0s0b0","Type":"NodeBMC","State":"Ready"}
		]}`,
		endpoints: `{"ComponentEndpoints":[
			{"ID":"x1000c0s0b0n0","Type":"Node","FQDN":"x1000c0s0b0n0.hmn","RedfishType":"ComputerSystem","MACAddr":"02:00:00:00:00:01",
			 "Enabled":true,"ComponentEndpointType":"ComponentEndpointComputerSystem",
			 "RedfishSystemInfo":{"Name":"Node0","EthernetNICInfo":[{"RedfishId":"1","MACAddress":"02:00:00:00:00:01"},{"RedfishId":"2","MACAddress":"02:00:00:00:01:01"},{"MACAddress":"Not Available"}]}},
			{"ID":"x1000c0s0b0n1","Type":"Node","FQDN":"x1000c0s0b0n1.hmn","MACAddr":"ff:ff:ff:ff:ff:ff","Enabled":false},
			{"ID":"x3000c0s1b0n0","Type":"Node","FQDN":"x3000c0s1b0n0.hmn","MACAddr":"02:00:00:01:86:A1"},
			{"ID":"x9999c0s0b0n0","Type":"Node","FQDN":"ghost","MACAddr":"02:00:00:00:99:99"}
		]}`,
		ethernet: `[
			{"ID":"020000000201","MACAddress":"020000000201","IPAddresses":[{"IPAddress":"10.252.1.5"}],"ComponentID":"x1000c0s0b0n1","Type":"Node"},
			{"ID":"020000000001","MACAddress":"02:00:00:00:00:01","IPAddress":"10.252.1.4","ComponentID":"x1000c0s0b0n0","Type":"Node"},
			{"ID":"0200000009ff","MACAddress":"02:00:00:00:09:ff","ComponentID":"x3000c0s9b0n0","Type":"Node"}
		]`,
	}
}

func TestHTTPInventory(t *testing.T) {
	stub := newHSMStub()
	srv := httptest.NewServer(stub)
	defer srv.Close()
	inv := NewHTTPInventory(srv.URL+"/", srv.Client())

	hosts, err := inv.Hosts(context.Background())
	require.NoError(t, err)
	yes := true
	want := []bssapi.Host{
		{ID: "x1000c0s0b0n0", Type: "Node", State: "Ready", Flag: "OK", Enabled: &yes, Role: "Compute", NID: 1, NetType: "Sling",
			Arch: "X86", Class: "Mountain", FQDN: "x1000c0s0b0n0.hmn", MAC: []string{"02:00:00:00:00:01", "02:00:00:00:01:01"}, EndpointEnabled: true,
			IPs: []string{"10.252.1.4"}}, // HSM v1 IPAddress
		{ID: "x1000c0s0b0n1", Type: "Node", State: "Off", Flag: "OK", Enabled: &yes, Role: "Compute", NID: 2, Arch: "X86",
			FQDN: "x1000c0s0b0n1.hmn", MAC: []string{"02:00:00:00:02:01"}, EndpointEnabled: false, IPs: []string{"10.252.1.5"}}, // v2 IPAddresses
		{ID: "x3000c0s1b0n0", Type: "Node", State: "On", Role: "Management", SubRole: "Worker", NID: 100001, Arch: "X86",
			FQDN: "x3000c0s1b0n0.hmn", MAC: []string{"02:00:00:01:86:a1"}, EndpointEnabled: true},
		{ID: "x3000c0s9b0n0", Type: "Node", State: "Empty", Role: "Compute", NID: 7, MAC: []string{"02:00:00:00:09:ff"}},
	}
	assert.Equal(t, want, hosts)

	stub.fail.Store(true)
	_, err = inv.Hosts(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read HSM components")
	assert.Contains(t, err.Error(), "db down")
}

func TestHostsEndpoints(t *testing.T) {
	stub := newHSMStub()
	srv := httptest.NewServer(stub)
	defer srv.Close()
	stub.fail.Store(true)
	s := mustServer(t, Config{Inventory: NewHTTPInventory(srv.URL, srv.Client())})
	h := s.Handler()

	// HSM was down at start: no hosts, status error.
	w := call(t, h, http.MethodGet, "/boot/v1/hosts", "")
	require.Equal(t, 200, w.Code)
	assert.JSONEq(t, `[]`, w.Body.String())
	w = call(t, h, http.MethodGet, "/boot/v1/service/hsm", "")
	assert.Equal(t, http.StatusInternalServerError, w.Code, "an unhealthy check is a 500, as real")
	assert.JSONEq(t, `{"bss-status-hsm":"error"}`, w.Body.String())
	w = call(t, h, http.MethodGet, "/boot/v1/service/status/all", "")
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"bss-status":"running","bss-version":"`+Version+`","bss-status-hsm":"error","bss-status-etcd":"connected"}`, w.Body.String())
	require.Equal(t, http.StatusNoContent, call(t, h, http.MethodPost, "/boot/v1/hosts", "").Code, "204 even when HSM fails")

	stub.fail.Store(false)
	require.Equal(t, http.StatusNoContent, call(t, h, http.MethodPost, "/boot/v1/hosts", "").Code)
	assert.JSONEq(t, `{"bss-status-hsm":"connected"}`, call(t, h, http.MethodGet, "/boot/v1/service/hsm", "").Body.String())

	ids := func(w *httptest.ResponseRecorder) []string {
		var hosts []bssapi.Host
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &hosts))
		var out []string
		for _, h := range hosts {
			out = append(out, h.ID)
		}
		return out
	}
	for _, tc := range []struct {
		query  string
		status int
		want   []string
		detail string
	}{
		{"", 200, []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x3000c0s1b0n0", "x3000c0s9b0n0"}, ""},
		{"?name=x3000c0s1b0n0,x1000c0s0b0n0", 200, []string{"x3000c0s1b0n0", "x1000c0s0b0n0"}, ""},
		{"?name=x1000c0s0b0n1.hmn", 200, []string{"x1000c0s0b0n1"}, ""},
		{"?mac=02:00:00:00:01:01&nid=100001", 200, []string{"x1000c0s0b0n0", "x3000c0s1b0n0"}, ""},
		{"?mac=02:00:00:00:02:01", 200, []string{"x1000c0s0b0n1"}, ""},
		{"?name=x1c0s0b0n0", 404, nil, "Unknown host name 'x1c0s0b0n0'"},
		{"?mac=02:00:00:00:09:ff", 404, nil, "Unknown MAC address"}, // MACs of Empty components are ignored
		{"?nid=77", 404, nil, "Unknown NID '77'"},
		{"?nid=seven", 400, nil, "Invalid nid 'seven'"},
	} {
		w := call(t, h, http.MethodGet, "/boot/v1/hosts"+tc.query, "")
		require.Equal(t, tc.status, w.Code, tc.query)
		if tc.status == 200 {
			assert.Equal(t, tc.want, ids(w), tc.query)
		} else {
			assert.Contains(t, problemDetail(t, w), tc.detail, tc.query)
		}
	}

	// The disabled endpoint sends x1000c0s0b0n1 down the unknown path even with boot data.
	mustPut(t, h, `{"hosts":["x1000c0s0b0n0","x1000c0s0b0n1"],"kernel":"k"}`)
	w = call(t, h, http.MethodGet, "/boot/v1/bootscript?mac=02:00:00:00:01:01", "")
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), "xname=x1000c0s0b0n0 nid=1 ")

	// dumpstate carries both halves.
	var st bssapi.State
	require.NoError(t, json.Unmarshal(call(t, h, http.MethodGet, "/boot/v1/dumpstate", "").Body.Bytes(), &st))
	assert.Len(t, st.Components, 4)
	assert.Len(t, st.Params, 3) // kernel image + two hosts
}

func TestServiceEndpoints(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	for path, want := range map[string]string{
		"status":  `{"bss-status":"running"}`,
		"version": `{"bss-version":"` + Version + `"}`,
		"hsm":     `{"bss-status-hsm":"connected"}`,
		"etcd":    `{"bss-status-etcd":"connected"}`,
		"all":     `{"bss-status":"running","bss-version":"` + Version + `","bss-status-hsm":"connected","bss-status-etcd":"connected"}`,
		// hms-bss routes /service/status/all (the readiness probe) to the all-keys check.
		"status/all": `{"bss-status":"running","bss-version":"` + Version + `","bss-status-hsm":"connected","bss-status-etcd":"connected"}`,
	} {
		w := call(t, h, http.MethodGet, "/boot/v1/service/"+path, "")
		require.Equal(t, 200, w.Code, path)
		assert.JSONEq(t, want, w.Body.String(), path)
	}
}

func TestFromTopology(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(4))
	require.NoError(t, err)
	inv := FromTopology(topo)
	require.Len(t, inv, len(topo.Nodes))
	n := topo.Nodes[0]
	assert.Equal(t, n.Xname, inv[0].ID)
	assert.Equal(t, n.NID, inv[0].NID)
	assert.Equal(t, []string{n.MAC}, inv[0].MAC)
	assert.True(t, inv[0].EndpointEnabled)

	h := mustServer(t, Config{Inventory: inv}).Handler()
	mustPut(t, h, `{"hosts":["Compute"],"kernel":"kc"}`)
	w := call(t, h, http.MethodGet, "/boot/v1/bootscript?mac="+n.MAC, "")
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "kernel --name kernel kc xname="+n.Xname+" nid=1 ")
}
