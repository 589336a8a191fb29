package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

// TestDecodeAsReal: hms-smd decodes bodies with json.Unmarshal, so unknown fields are
// ignored and JSON that does not parse or fit is 500 "error decoding JSON <error>".
func TestDecodeAsReal(t *testing.T) {
	s, _ := MustServer(t)
	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		// magellan posts Managers and Systems with a RedfishEndpoint; ochami DiscoveryInfo.LastAttempt.
		r := call(t, s, "POST", "/hsm/v2/Inventory/RedfishEndpoints",
			`{"ID":"x6000c0s0b0","FQDN":"10.9.0.1","Managers":[{"ID":"bmc"}],"DiscoveryInfo":{"LastAttempt":"2026-01-01T00:00:00Z"}}`)
		require.Equal(t, http.StatusCreated, r.status, r.body)
		r = call(t, s, "POST", "/hsm/v2/State/Components",
			`{"Components":[{"ID":"x1001c0s0b0n1","State":"On","Colour":"red"}],"Extra":1}`)
		require.Equal(t, http.StatusNoContent, r.status, r.body)
		assert.Equal(t, "On", mustGet(t, s, "x1001c0s0b0n1").State)
	})
	for _, tc := range []struct{ name, method, path, body, detail string }{
		{"Truncated", "POST", "/hsm/v2/locks/status", `{"ComponentIDs":`, "error decoding JSON unexpected end of JSON input"},
		{"NotJSON", "POST", "/hsm/v2/State/Components", `Components`, "error decoding JSON invalid character 'C'"},
		{"TypeError", "PATCH", "/hsm/v2/State/Components/BulkEnabled", `{"ComponentIDs":["x1000c0s0b0n0"],"Enabled":"yes"}`,
			"error decoding JSON json: cannot unmarshal string into Go struct field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, s, tc.method, tc.path, tc.body), http.StatusInternalServerError, tc.detail)
		})
	}
	t.Run("UnknownQueryParametersIgnored", func(t *testing.T) {
		for _, p := range []string{"State/Components?colour=red", "groups?owner=me", "partitions?group=x",
			"Inventory/ComponentEndpoints?fqdn=x", "Inventory/EthernetInterfaces?olderthan=x", "locks/status?owner=me"} {
			r := call(t, s, "GET", "/hsm/v2/"+p, "")
			assert.Equal(t, http.StatusOK, r.status, "%s: %s", p, r.body)
		}
		all := decode[hsmapi.ComponentArray](t, call(t, s, "GET", "/hsm/v2/State/Components", ""))
		some := decode[hsmapi.ComponentArray](t, call(t, s, "GET", "/hsm/v2/State/Components?colour=red", ""))
		assert.Equal(t, ids(all.Components), ids(some.Components), "an unknown filter filters nothing")
	})
}

// TestNIDsAre64Bit: HSM stores NIDs as BIGINT and takes any NID > 0.
func TestNIDsAre64Bit(t *testing.T) {
	s, _ := MustServer(t)
	const big = 1 << 40
	r := call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"x1001c0s0b0n1","State":"On","NID":1099511627776}]}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, big, mustGet(t, s, "x1001c0s0b0n1").NID)
	r = call(t, s, "GET", "/hsm/v2/State/Components/ByNID/1099511627776", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "x1001c0s0b0n1", decode[hsmapi.Component](t, r).ID)
	r = call(t, s, "PATCH", "/hsm/v2/State/Components/x1001c0s0b0n1/NID", `{"NID":4294967296}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	r = call(t, s, "PATCH", "/hsm/v2/State/Components/BulkNID", `{"Components":[{"ID":"x1001c0s0b0n1","NID":4294967297}]}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, 1<<32+1, mustGet(t, s, "x1001c0s0b0n1").NID)
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/x1001c0s0b0n1/NID", `{"NID":0}`), http.StatusBadRequest, "invalid NID")
}

// TestDeviationBodies names the documented deviations of body checking (doc.go): an
// empty, null or non-UTF-8 body is 400 rather than HSM's 500 or empty request, and a
// request with one bad ID changes nothing.
func TestDeviationBodies(t *testing.T) {
	s, _ := MustServer(t)
	for _, body := range []string{"", "null", "{\"ComponentIDs\":[\"\xff\"]}"} {
		requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData", body), http.StatusBadRequest, "request body")
	}
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData",
		`{"ComponentIDs":["x1000c0s0b0n0","bogus"],"State":"On"}`), http.StatusBadRequest, "invalid xname")
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n0").State, "nothing changed")
}
