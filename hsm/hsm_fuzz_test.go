package hsm

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/fuzzcheck"
)

// fuzzRoutes are the body-taking HSM routes a fuzz input picks from.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/State/Components"},
	{"PUT", "/State/Components/x1000c0s0b0n0"},
	{"POST", "/State/Components/Query"},
	{"POST", "/State/Components/ByNID/Query"},
	{"PATCH", "/State/Components/BulkStateData"},
	{"PATCH", "/State/Components/BulkEnabled"},
	{"PATCH", "/State/Components/BulkNID"},
	{"PATCH", "/State/Components/x1000c0s0b0n0/StateData"},
	{"PATCH", "/State/Components/x1000c0s0b0n0/NID"},
	{"POST", "/Inventory/RedfishEndpoints"},
	{"PUT", "/Inventory/RedfishEndpoints/x1000c0s0b0"},
	{"PATCH", "/Inventory/RedfishEndpoints/x1000c0s0b1"},
	{"POST", "/Inventory/EthernetInterfaces"},
	{"POST", "/groups"},
	{"PATCH", "/groups/compute"},
	{"POST", "/groups/compute/members"},
	{"POST", "/partitions"},
	{"POST", "/partitions/p1/members"},
	{"POST", "/locks/status"},
	{"POST", "/locks/lock"},
	{"POST", "/locks/reservations"},
	{"POST", "/locks/service/reservations/renew"},
	{"POST", "/RedfishEvents"},
}

// hsmSecret is the topology BMC password the fuzzed server holds.
const hsmSecret = "s3cret-topo-fuzz"

// FuzzHSMBodies: any body on any body-taking route gets a 2xx, a problem+json 4xx or
// HSM's 500 "error decoding JSON …"; a
// refused body changes nothing; no reply, then or later, holds a BMC password, neither
// the stored one nor one the body sets.
func FuzzHSMBodies(f *testing.F) {
	for i, body := range []string{
		`{"Components":[{"ID":"x1000c0s0b0n0","State":"Ready","Flag":"OK","Enabled":true,"Role":"Compute","NID":1}],"Force":true}`,
		`{"ComponentIDs":["x1000c0s0b0n0"],"State":"Standby"}`, `{"NIDRanges":["1-3"]}`,
		`{"ID":"x9000c0s0b0","FQDN":"10.0.0.9","User":"root","Password":"s3cret-post"}`,
		`{"label":"blue","members":{"ids":["x1000c0s0b0n0"]},"exclusiveGroup":"cabinets"}`,
		`{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":1}`, `{"id":"x1000c0s0b0n0"}`,
		`null`, `[]`, `{"Components":[null]}`, `{"ComponentIDs":["x1\nx2"]}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		s, err := New(Config{Topology: testTopology(t), Now: newFakeClock().Now, Logger: slog.New(slog.DiscardHandler),
			BMCs: map[string]BMCEndpoint{"x1000c0s0b0": {FQDN: "127.1.0.3:8443", User: "root", Password: hsmSecret}}, BMCClient: unreachableBMCs()})
		if err != nil {
			t.Fatal(err)
		}
		h := s.Handler()
		secrets := []string{hsmSecret, bodyPassword(body)}
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		before := hsmState(t, h, secrets)
		w := fuzzcheck.Do(h, rt.method, hsmapi.BasePath+rt.path, "application/json", []byte(body))
		if isDecodeError(w.Code, w.Body.Bytes()) {
			fuzzcheck.NoSecret(t, w, secrets...) // HSM's own answer to JSON it cannot decode
		} else {
			fuzzcheck.Reply(t, fuzzcheck.Problem, w, secrets...)
		}
		after := hsmState(t, h, secrets)
		if w.Code >= 400 && before != after {
			t.Fatalf("%s %s refused (%d: %s) but changed the state", rt.method, rt.path, w.Code, w.Body)
		}
	})
}

// bodyPassword is the Password a body sets, when it is long enough to be told apart from
// other text in a reply.
func bodyPassword(body string) string {
	var v struct{ Password string }
	if json.Unmarshal([]byte(body), &v) != nil || len(v.Password) < 8 || strings.TrimSpace(v.Password) != v.Password {
		return ""
	}
	return v.Password
}

// hsmState is everything a write can change, as the GET routes show it.
func hsmState(t *testing.T, h http.Handler, secrets []string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/State/Components", "/Inventory/RedfishEndpoints", "/Inventory/ComponentEndpoints",
		"/Inventory/EthernetInterfaces", "/groups", "/partitions", "/memberships", "/locks/status"} {
		w := fuzzcheck.Do(h, http.MethodGet, hsmapi.BasePath+p, "", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, w.Code, w.Body)
		}
		fuzzcheck.NoSecret(t, w, secrets...)
		b.WriteString(w.Body.String())
	}
	return b.String()
}

// isDecodeError reports whether a reply is HSM's 500 for a body that is not JSON or does
// not fit the request type, as a well-formed problem.
func isDecodeError(code int, body []byte) bool {
	var d struct {
		Status int
		Detail string
	}
	return code == http.StatusInternalServerError && json.Unmarshal(body, &d) == nil &&
		d.Status == code && strings.HasPrefix(d.Detail, "error decoding JSON ")
}
