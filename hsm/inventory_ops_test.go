package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

func TestDeleteComponentEndpoints(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "DELETE", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b0n0", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	assert.Equal(t, "Empty", mustGet(t, s, "x1000c0s0b0n0").State, "as DeleteCompEndpointByIDSetEmpty")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/ComponentEndpoints/x1000c0s0b0n0", ""), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/ComponentEndpoints/bad", ""), http.StatusNotFound, "no such xname.")

	r = call(t, s, "DELETE", "/hsm/v2/Inventory/ComponentEndpoints", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 21 entries"}`, r.body)
	assert.JSONEq(t, `{"ComponentEndpoints":[]}`, call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints", "").body)
	assert.Equal(t, "Empty", mustGet(t, s, "x3000c0s1b0").State)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/ComponentEndpoints", ""), http.StatusNotFound, "no entries to delete")
}

func TestQueryRedfishEndpoints(t *testing.T) {
	s, _ := MustServer(t)
	ids := func(x string) []string {
		t.Helper()
		r := call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/Query/"+x, "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		var out []string
		for _, ep := range decode[hsmapi.RedfishEndpointArray](t, r).RedfishEndpoints {
			out = append(out, ep.ID)
		}
		return out
	}
	assert.Equal(t, []string{"x1000c0s0b0"}, ids("x1000c0s0b0"))
	assert.Equal(t, []string{"x1000c0s1b0", "x1000c0s1b1"}, ids("x1000c0s1"))
	assert.Len(t, ids("all"), 9)
	assert.Len(t, ids("s0"), 9)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/Query/x1999c0s0b0", ""), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/Query/bmc", ""), http.StatusBadRequest, "invalid xname")
	assert.NotContains(t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/Query/all", "").body, "Password")
}

func TestEthernetInterfaceUpdates(t *testing.T) {
	s, clock := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/Inventory/EthernetInterfaces", `{"MACAddress":"a4:bf:01:00:00:01","ComponentID":"x3000c0s1b0n0","Description":"eth0"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	assert.JSONEq(t, `{"URI":"/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001"}`, r.body, "a single ResourceURI, as hms-smd")
	clock.Advance(60e9)

	r = call(t, s, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001", `{"IPAddresses":[{"IPAddress":"10.252.1.9","Network":"NMN"}],"Description":"mgmt"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	e := decode[hsmapi.EthernetInterface](t, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001", ""))
	assert.Equal(t, []hsmapi.IPAddress{{IPAddress: "10.252.1.9", Network: "NMN"}}, e.IPAddresses)
	assert.Equal(t, "mgmt", e.Description)
	assert.Equal(t, "x3000c0s1b0n0", e.ComponentID, "omitted fields are not updated")
	assert.Equal(t, "2026-01-02T03:05:05Z", e.LastUpdate)
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001", `{"ComponentID":"nope"}`), http.StatusBadRequest, "invalid ComponentID")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001", `{"IPAddresses":[{"IPAddress":"10.1"}]}`), http.StatusBadRequest, "invalid IP address")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000009", `{"Description":"x"}`), http.StatusNotFound, "no such EthernetInterface.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001", `{}`), http.StatusBadRequest, "at least one")

	// IPAddresses sub-resources.
	base := "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000001/IPAddresses"
	r = call(t, s, "POST", base, `{"IPAddress":"10.254.1.9","Network":"HMN"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	assert.JSONEq(t, `{"URI":"`+base+`/10.254.1.9"}`, r.body)
	requireProblem(t, call(t, s, "POST", base, `{"IPAddress":"10.254.1.9"}`), http.StatusConflict, "conflict")
	requireProblem(t, call(t, s, "POST", base, `{"Network":"HMN"}`), http.StatusBadRequest, "invalid IP address")
	assert.JSONEq(t, `[{"IPAddress":"10.252.1.9","Network":"NMN"},{"IPAddress":"10.254.1.9","Network":"HMN"}]`, call(t, s, "GET", base, "").body)
	r = call(t, s, "PATCH", base+"/10.254.1.9", `{"Network":"CAN"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"IPAddress":"10.254.1.9","Network":"CAN"}`, r.body)
	requireProblem(t, call(t, s, "PATCH", base+"/10.9.9.9", `{"Network":"CAN"}`), http.StatusNotFound, "no such IP address.")
	r = call(t, s, "DELETE", base+"/10.252.1.9", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	requireProblem(t, call(t, s, "DELETE", base+"/10.252.1.9", ""), http.StatusNotFound, "no such IP address.")
	assert.JSONEq(t, `[{"IPAddress":"10.254.1.9","Network":"CAN"}]`, call(t, s, "GET", base, "").body)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces/a4bf01000009/IPAddresses", ""), http.StatusNotFound, "no such EthernetInterface.")

	// Collection DELETE.
	r = call(t, s, "DELETE", "/hsm/v2/Inventory/EthernetInterfaces", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 14 entries"}`, r.body)
	assert.JSONEq(t, `[]`, call(t, s, "GET", "/hsm/v2/Inventory/EthernetInterfaces", "").body)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Inventory/EthernetInterfaces", ""), http.StatusNotFound, "no entries to delete")
}

func TestRedfishEndpointDerivedFieldsAsReal(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct{ body, id, host, domain, fqdn, ip string }{
		{`{"Hostname":"x6000c0s0b0","Domain":"hmn"}`, "x6000c0s0b0", "x6000c0s0b0", "hmn", "x6000c0s0b0.hmn", ""},
		{`{"ID":"x6000c0s1b0","FQDN":"x6000c0s1b0.hmn"}`, "x6000c0s1b0", "x6000c0s1b0", "hmn", "x6000c0s1b0.hmn", ""},
		{`{"ID":"x6000c0s2b0","FQDN":"10.0.0.2","Domain":"hmn"}`, "x6000c0s2b0", "10.0.0.2", "hmn", "10.0.0.2", "10.0.0.2"},
		{`{"ID":"X6000C0S3B0"}`, "x6000c0s3b0", "", "", "x6000c0s3b0", ""},
	} {
		r := call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints", tc.body)
		require.Equal(t, http.StatusCreated, r.status, r.body)
		ep := decode[hsmapi.RedfishEndpoint](t, call(t, s, "GET", "/hsm/v2/Inventory/RedfishEndpoints/"+tc.id, ""))
		assert.Equal(t, []string{tc.host, tc.domain, tc.fqdn, tc.ip}, []string{ep.Hostname, ep.Domain, ep.FQDN, ep.IPAddress}, tc.body)
		assert.False(t, ep.RediscoverOnUpdate, "hms-smd's default")
		assert.Equal(t, "NotYetQueried", ep.DiscoveryInfo.LastDiscoveryStatus)
	}
}
