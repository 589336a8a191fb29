package hsm

import (
	"net/http"
	"strings"
	"testing"
)

// snapshot reads everything a body-taking endpoint could change.
func snapshot(t *testing.T, s *Server) string {
	t.Helper()
	out := ""
	for _, p := range []string{"/State/Components", "/locks/status", "/groups", "/partitions",
		"/Inventory/RedfishEndpoints", "/Inventory/EthernetInterfaces", "/locks/reservations/check"} {
		out += call(t, s, "GET", BasePath+p, "").body
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
			requireProblem(t, call(t, s, method, BasePath+path, "null"), http.StatusBadRequest, "request body is null")
		})
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("a null body changed state")
	}
}
