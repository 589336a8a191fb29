package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

// TestEveryHMSTypeIsAComponent: HSM takes components of every HMS type, with the type
// it derives from the xname, and filters by each.
func TestEveryHMSTypeIsAComponent(t *testing.T) {
	s, _ := MustServer(t)
	for id, typ := range map[string]string{
		"x9999c5s17b0n0v0": "VirtualNode", "x9999c7r9e9": "HSNBoard", "x9999m3": "CabinetPDUController",
		"x9999c7t9": "CMMRectifier", "x9999c7s1b0n9p3": "Processor", "x9999c7s1b0n9d9": "Memory",
		"x9999c7s1b0n9h3": "NodeHsnNic", "x9999m3p0": "CabinetPDU", "d1": "CDU",
	} {
		r := call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"`+id+`","State":"Populated"}],"Force":true}`)
		require.Equal(t, http.StatusNoContent, r.status, "%s: %s", id, r.body)
		assert.Equal(t, typ, mustGet(t, s, id).Type, id)
		got := decode[hsmapi.ComponentArray](t, call(t, s, "GET", "/hsm/v2/State/Components?type="+typ, ""))
		assert.Equal(t, []string{id}, ids(got.Components), typ)
	}
	requireProblem(t, call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"x9999c8s0b0n0","State":"On"}]}`),
		http.StatusBadRequest, `invalid xname \"x9999c8s0b0n0\"`)
}

// TestInvalidXnameNotFound: HSM looks single resources up without validating the
// name, so an invalid one is 404 "no such xname.".
func TestInvalidXnameNotFound(t *testing.T) {
	s, _ := MustServer(t)
	for _, rq := range []struct{ method, path string }{
		{"GET", "/hsm/v2/State/Components/notanxname"}, {"DELETE", "/hsm/v2/State/Components/bad"},
		{"GET", "/hsm/v2/Inventory/ComponentEndpoints/oops"}, {"GET", "/hsm/v2/Inventory/RedfishEndpoints/x1c0s0"},
		{"DELETE", "/hsm/v2/Inventory/RedfishEndpoints/junk"},
	} {
		requireProblem(t, call(t, s, rq.method, rq.path, ""), http.StatusNotFound, "no such xname.")
	}
}
