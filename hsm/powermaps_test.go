package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPowerMapsCRUD: /sysinfo/powermaps with hms-smd's replies and error texts.
func TestPowerMapsCRUD(t *testing.T) {
	s, _ := MustServer(t)
	assert.JSONEq(t, `[]`, call(t, s, "GET", "/hsm/v2/sysinfo/powermaps", "").body)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/sysinfo/powermaps", ""), http.StatusNotFound, "no entries to delete")
	r := call(t, s, "POST", "/hsm/v2/sysinfo/powermaps",
		`[{"id":"X3000C0S1B0N0","poweredBy":["x3000m0p0v1","x3000m1p0v1"]},{"id":"x3000c0s2b0n0","poweredBy":["x3000m0p0v2"]}]`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"Created or modified 2 entries"}`, r.body)
	assert.JSONEq(t, `{"id":"x3000c0s1b0n0","poweredBy":["x3000m0p0v1","x3000m1p0v1"]}`,
		call(t, s, "GET", "/hsm/v2/sysinfo/powermaps/x3000c0s1b0n0", "").body)
	for _, tc := range []struct {
		method, path, body string
		status             int
		detail             string
	}{
		{"POST", "", `[{"id":"x3000c0s3b0n0"}]`, 400, "poweredby is required for PowerMaps"},
		{"POST", "", `[{"id":"x3000c0s3b0n0","poweredBy":["x3000m0p0v3"]},{"id":"bogus","poweredBy":["x3000m0p0v3"]}]`, 400,
			"couldn't validate map data at idx 1: xname ID 'bogus' is invalid"},
		{"POST", "", `{"id":"x3000c0s3b0n0"}`, 500, "error decoding JSON json: cannot unmarshal object"},
		{"PUT", "/x3000c0s1b0n0", `{"id":"x3000c0s2b0n0","poweredBy":["x3000m0p0v1"]}`, 400, "xname in URL and PUT body do not match"},
		{"PUT", "/x3000c0s1b0n0", `{}`, 400, "poweredby is required in PUT body"},
		{"PUT", "/x3000c0s1b0n0", `{"poweredBy":["nope"]}`, 400, "couldn't validate PowerMap data: Power supply xname ID 'nope' is invalid"},
		{"GET", "/bogus", "", 400, "invalid xname"},
		{"GET", "/x3000c0s9b0n0", "", 404, "no such xname."},
		{"DELETE", "/x3000c0s9b0n0", "", 404, "no such xname."},
	} {
		requireProblem(t, call(t, s, tc.method, "/hsm/v2/sysinfo/powermaps"+tc.path, tc.body), tc.status, tc.detail)
	}
	assert.Len(t, decode[[]PowerMap](t, call(t, s, "GET", "/hsm/v2/sysinfo/powermaps", "")), 2, "refused requests changed nothing")
	r = call(t, s, "PUT", "/hsm/v2/sysinfo/powermaps/x3000c0s1b0n0", `{"poweredBy":["x3000m0p0v4"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"id":"x3000c0s1b0n0","poweredBy":["x3000m0p0v4"]}`, r.body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, call(t, s, "DELETE", "/hsm/v2/sysinfo/powermaps/x3000c0s2b0n0", "").body)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entries"}`, call(t, s, "DELETE", "/hsm/v2/sysinfo/powermaps", "").body)
}
