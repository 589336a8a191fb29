package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNodeMapsCRUD: /Defaults/NodeMaps with hms-smd's replies and error texts.
func TestNodeMapsCRUD(t *testing.T) {
	s, _ := MustServer(t)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/Defaults/NodeMaps", ""), http.StatusNotFound, "no entries to delete")
	assert.JSONEq(t, `{"NodeMaps":[]}`, call(t, s, "GET", "/hsm/v2/Defaults/NodeMaps", "").body)

	r := call(t, s, "POST", "/hsm/v2/Defaults/NodeMaps", `{"NodeMaps":[{"ID":"X2000C0S0B0N0","NID":7,"Role":"compute"},{"ID":"x2000c0s0b0n1","NID":8}]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"Created or modified 2 entries"}`, r.body)
	r = call(t, s, "POST", "/hsm/v2/Defaults/NodeMaps", `{"ID":"x2000c0s0b1n0","NID":9,"SubRole":"worker","Role":"Management"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"Created or modified 1 entries"}`, r.body)
	assert.JSONEq(t, `{"ID":"x2000c0s0b0n0","NID":7,"Role":"Compute"}`, call(t, s, "GET", "/hsm/v2/Defaults/NodeMaps/x2000c0s0b0n0", "").body)
	assert.Len(t, decode[NodeMapArray](t, call(t, s, "GET", "/hsm/v2/Defaults/NodeMaps", "")).NodeMaps, 3)

	for _, tc := range []struct {
		method, path, body string
		status             int
		detail             string
	}{
		{"POST", "", `{"NodeMaps":[{"ID":"x2000c0s0b0n2","NID":1},{"ID":"x2000c0s0b0","NID":2}]}`, 400,
			"couldn't validate map data at idx 1: xname ID 'x2000c0s0b0' is invalid or not a node"},
		{"POST", "", `{"ID":"x2000c0s0b0n2","NID":0}`, 400, "couldn't validate mapping data: NID '0' is out of range"},
		{"POST", "", `{"ID":"x2000c0s0b0n2","NID":3,"Role":"Chef"}`, 400, "couldn't validate mapping data: Role 'Chef' is not valid."},
		{"POST", "", `{"ID":"x2000c0s0b0n2","NID":7}`, 409, "operation would conflict with an existing xname ID that has the same NID."},
		{"PUT", "/x2000c0s0b0n0", `{"ID":"x2000c0s0b0n1","NID":7}`, 400, "xname in URL and PUT body do not match"},
		{"PUT", "/x2000c0s0b0n0", `{"NID":8}`, 409, "same NID"},
		{"GET", "/x9c0s0b0n0", "", 404, "no such xname."},
		{"DELETE", "/x9c0s0b0n0", "", 404, "no such xname."},
	} {
		requireProblem(t, call(t, s, tc.method, "/hsm/v2/Defaults/NodeMaps"+tc.path, tc.body), tc.status, tc.detail)
	}
	r = call(t, s, "PUT", "/hsm/v2/Defaults/NodeMaps/x2000c0s0b0n0", `{"NID":70}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"ID":"x2000c0s0b0n0","NID":70}`, r.body)

	// A new node takes its NodeMap's NID and roles.
	require.Equal(t, http.StatusNoContent, call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"x2000c0s0b1n0","State":"On"}]}`).status)
	n := mustGet(t, s, "x2000c0s0b1n0")
	assert.Equal(t, 9, n.NID)
	assert.Equal(t, "Management", n.Role)
	assert.Equal(t, "Worker", n.SubRole)

	r = call(t, s, "DELETE", "/hsm/v2/Defaults/NodeMaps/x2000c0s0b0n1", "")
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	r = call(t, s, "DELETE", "/hsm/v2/Defaults/NodeMaps", "")
	assert.JSONEq(t, `{"code":0,"message":"deleted 2 entries"}`, r.body)
}
