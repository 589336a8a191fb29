package hsm

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

// snapshot reads everything a body-taking endpoint could change.
func snapshot(t *testing.T, s *Server) string {
	t.Helper()
	out := ""
	for _, p := range []string{"/State/Components", "/locks/status", "/groups", "/partitions",
		"/Inventory/RedfishEndpoints", "/Inventory/EthernetInterfaces", "/locks/reservations/check"} {
		out += call(t, s, "GET", hsmapi.BasePath+p, "").body
	}
	return out
}

// TestNullBodyRefused sends JSON null to every endpoint that takes a body: null is not {}
// (it must not lock every component, wipe a record or select everything).
func TestNullBodyRefused(t *testing.T) {
	s, _ := MustServer(t)
	before := snapshot(t, s)
	x := "x1000c0s0b0n0"
	for _, ep := range []string{
		"POST /State/Components", "POST /State/Components/Query", "POST /State/Components/ByNID/Query",
		"PUT /State/Components/" + x,
		"PATCH /State/Components/BulkStateData", "PATCH /State/Components/BulkFlagOnly",
		"PATCH /State/Components/BulkEnabled", "PATCH /State/Components/BulkSoftwareStatus",
		"PATCH /State/Components/BulkRole", "PATCH /State/Components/BulkNID",
		"PATCH /State/Components/" + x + "/StateData", "PATCH /State/Components/" + x + "/Enabled",
		"PATCH /State/Components/" + x + "/NID", "PATCH /State/Components/" + x + "/Role",
		"POST /Inventory/RedfishEndpoints", "PUT /Inventory/RedfishEndpoints/x1000c0s0b0",
		"PATCH /Inventory/RedfishEndpoints/x1000c0s0b0", "POST /Inventory/EthernetInterfaces",
		"POST /groups", "PATCH /groups/compute", "POST /groups/compute/members",
		"POST /partitions", "PATCH /partitions/p1", "POST /partitions/p1/members",
		"POST /locks/status", "POST /locks/lock", "POST /locks/unlock", "POST /locks/repair",
		"POST /locks/disable", "POST /locks/reservations", "POST /locks/reservations/remove",
		"POST /locks/reservations/release", "POST /locks/service/reservations",
		"POST /locks/service/reservations/renew", "POST /locks/service/reservations/release",
		"POST /locks/service/reservations/check",
	} {
		method, path, _ := strings.Cut(ep, " ")
		t.Run(ep, func(t *testing.T) {
			requireProblem(t, call(t, s, method, hsmapi.BasePath+path, "null"), http.StatusBadRequest, "request body is null")
		})
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("a null body changed state")
	}
}

// TestRedfishEndpointsHidePasswords: HSM keeps BMC passwords (as in Vault) and never
// returns them, whichever way they came in.
func TestRedfishEndpointsHidePasswords(t *testing.T) {
	var logs strings.Builder
	s, err := New(Config{Topology: testTopology(t), Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BMCs: map[string]BMCEndpoint{"x1000c0s0b0": {FQDN: "127.1.0.3:8443", User: "root", Password: "s3cret-topo"}}, BMCClient: unreachableBMCs()})
	require.NoError(t, err)
	s.SetBMCEndpoints(map[string]BMCEndpoint{"x1000c0s0b1": {FQDN: "127.1.0.4:8443", User: "root", Password: "s3cret-set"}})
	requireStatus := func(r reply, want int) {
		t.Helper()
		require.Equal(t, want, r.status, r.body)
	}
	requireStatus(call(t, s, "POST", hsmapi.BasePath+"/Inventory/RedfishEndpoints", `{"ID":"x9000c0s0b0","FQDN":"10.0.0.9","User":"root","Password":"s3cret-post"}`), http.StatusCreated)
	requireStatus(call(t, s, "PUT", hsmapi.BasePath+"/Inventory/RedfishEndpoints/x1000c0s1b0", `{"FQDN":"127.1.0.5:8443","User":"root","Password":"s3cret-put"}`), http.StatusOK)
	requireStatus(call(t, s, "PATCH", hsmapi.BasePath+"/Inventory/RedfishEndpoints/x1000c0s1b1", `{"Password":"s3cret-patch"}`), http.StatusOK)

	var bodies []string
	for _, p := range []string{"/Inventory/RedfishEndpoints", "/Inventory/RedfishEndpoints/x1000c0s0b0",
		"/Inventory/RedfishEndpoints/x1000c0s0b1", "/Inventory/RedfishEndpoints/x9000c0s0b0",
		"/Inventory/RedfishEndpoints/x1000c0s1b0", "/Inventory/RedfishEndpoints/x1000c0s1b1",
		"/Inventory/ComponentEndpoints"} {
		r := call(t, s, "GET", hsmapi.BasePath+p, "")
		requireStatus(r, http.StatusOK)
		bodies = append(bodies, r.body)
		assert.NotContains(t, r.body, `"Password"`, p)
	}
	all := strings.Join(bodies, "\n") + logs.String()
	assert.NotContains(t, all, "s3cret")
	assert.Contains(t, bodies[0], `"User":"root"`)

	// A PUT of what GET returned keeps the stored password.
	requireStatus(call(t, s, "PUT", hsmapi.BasePath+"/Inventory/RedfishEndpoints/x1000c0s0b0", `{"FQDN":"127.1.0.3:8443","User":"root"}`), http.StatusOK)
	s.mu.RLock()
	assert.Equal(t, "s3cret-topo", s.rfeps["x1000c0s0b0"].Password)
	s.mu.RUnlock()
}
