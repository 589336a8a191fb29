package hsm

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/testclock"
	"github.com/cray-bos/bos/internal/testhttp"
	"github.com/cray-bos/bos/internal/topology"
)

// newFakeClock is the injected clock of reservation tests.
func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// testTopology is 8 compute nodes (x1000c0s0b0n0..x1000c0s1b1n1, NIDs 1-8), 3 NCNs
// (x3000c0s1..3b0n0) and 2 UANs (x3000c0s4..5b0n0); groups compute, cabinet-x1000
// (exclusiveGroup cabinets) and uan; partition p1 = compute + UANs.
func testTopology(t testing.TB) *topology.Topology {
	t.Helper()
	topo, err := topology.Generate(topology.DefaultOptions(8))
	require.NoError(t, err)
	return topo
}

// MustServer builds a seeded server on a fake clock.
func MustServer(t testing.TB) (*Server, *testclock.Clock) {
	t.Helper()
	clock := newFakeClock()
	// BMCs are unreachable: discovery never leaves the process (discoveryServer has BMCs).
	s, err := New(Config{Topology: testTopology(t), Now: clock.Now, BMCClient: unreachableBMCs()})
	require.NoError(t, err)
	return s, clock
}

// reply is a recorded response.
type reply struct {
	status int
	header http.Header
	body   string
}

// call runs one request through the handler.
func call(t testing.TB, s *Server, method, path, body string) reply {
	t.Helper()
	rec := testhttp.Call(s.Handler(), method, path, body)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// decode unmarshals a reply body.
func decode[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(r.body), &v), "body: %s", r.body)
	return v
}

// ids returns the IDs of components.
func ids(cs []hsmapi.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// mustGet reads one component through the API.
func mustGet(t testing.TB, s *Server, id string) hsmapi.Component {
	t.Helper()
	r := call(t, s, "GET", "/hsm/v2/State/Components/"+id, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	return decode[hsmapi.Component](t, r)
}

// requireProblem checks a problem+json reply with status and a detail fragment.
func requireProblem(t testing.TB, r reply, status int, detail string) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), r.body)
	require.Contains(t, r.body, detail)
}

// unreachableBMCs is a BMC client for which every BMC refuses the connection.
func unreachableBMCs() *http.Client { return &http.Client{Transport: &bmcTransport{}} }
