package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/internal/topology"
)

// The small cluster of most tests: blade BMCs x1000c0s0b0 and x1000c0s0b1 (Node0, Node1
// each) and one rack server x3000c0s1b0 (Self).
const (
	bladeBMC  = "x1000c0s0b0"
	bladeNode = "x1000c0s0b0n0" // Node0 on bladeBMC
	rackBMC   = "x3000c0s1b0"
	rackNode  = "x3000c0s1b0n0"
)

func testTopology(t testing.TB) *topology.Topology {
	t.Helper()
	topo, err := topology.Generate(topology.Options{Compute: 4, Application: 1})
	require.NoError(t, err)
	return topo
}

// fastTiming keeps every delay in tens of milliseconds, without jitter.
func fastTiming() *Timing {
	return &Timing{
		PowerOn: 30 * time.Millisecond, PowerOff: 20 * time.Millisecond, GracefulShutdown: 40 * time.Millisecond,
		POST: 10 * time.Millisecond, Boot: 20 * time.Millisecond, Scale: 1,
		BootScriptRetry: 20 * time.Millisecond, ReportBackoff: 10 * time.Millisecond, ReportBackoffCap: 40 * time.Millisecond,
		HTTPTimeout: 2 * time.Second, RetryAfter: 7 * time.Second, SlowLatency: 300 * time.Millisecond,
	}
}

// newSim builds a simulator on the small cluster; mutate adjusts the config.
func newSim(t testing.TB, mutate func(*Config)) *Simulator {
	t.Helper()
	cfg := Config{Topology: testTopology(t), Timing: fastTiming(), Seed: 1}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startSim is newSim listening on loopback addresses and a free port.
func startSim(t testing.TB, mutate func(*Config)) *Simulator {
	t.Helper()
	s := newSim(t, mutate)
	require.NoError(t, s.Start(testwait.Context(t)))
	return s
}

// bmcServer serves one BMC through httptest.
func bmcServer(t testing.TB, s *Simulator, bmcXname string) *httptest.Server {
	t.Helper()
	h := s.Handler(bmcXname)
	require.NotNil(t, h)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the reply body.
func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.body, &v), "body %s", r.body)
	return v
}

// messageID is the first @Message.ExtendedInfo MessageId of a Redfish error body.
func (r reply) messageID(t testing.TB) string {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal(r.body, &e), "body %s", r.body)
	require.NotEmpty(t, e.Error.ExtendedInfo, "body %s", r.body)
	require.Equal(t, baseRegistry+"GeneralError", e.Error.Code)
	return strings.TrimPrefix(e.Error.ExtendedInfo[0].MessageID, baseRegistry)
}

// call sends one request; auth is "basic" (root/initial0), "" (none), or a header line
// "Name: value".
func call(t testing.TB, base, method, path, body, auth string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	switch {
	case auth == "basic":
		req.SetBasicAuth("root", "initial0")
	case auth != "":
		k, v, _ := strings.Cut(auth, ": ")
		req.Header.Set(k, v)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

func resetBody(rt string) string { return `{"ResetType":"` + rt + `"}` }

const resetPath = "/redfish/v1/Systems/Node0/Actions/ComputerSystem.Reset"

// waitPower waits until the node shows the power state.
func waitPower(t testing.TB, s *Simulator, xname, want string) {
	t.Helper()
	var n NodeState
	testwait.Until(t, fmt.Sprintf("node %s reaches %s", xname, want), func() bool {
		n, _ = s.Node(xname)
		return n.Power == want
	}, func() string { return "power " + n.Power })
}

// stats describes the simulator's counters, for a wait's failure.
func stats(s *Simulator) func() string {
	return func() string { return fmt.Sprintf("stats %+v", s.Stats()) }
}

// recorder is a test HTTP endpoint (a BSS, BOS, CFS or event subscriber stand-in) that
// records requests and answers with a function.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
	answer   func(r *http.Request, body []byte) (int, string)
	srv      *httptest.Server
}

type recorded struct {
	method, path, query string
	body                []byte
	at                  time.Time
}

func newRecorder(t testing.TB, answer func(r *http.Request, body []byte) (int, string)) *recorder {
	t.Helper()
	rec := &recorder{answer: answer}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.requests = append(rec.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, body, time.Now()})
		answer := rec.answer
		rec.mu.Unlock()
		status, text := http.StatusNoContent, ""
		if answer != nil {
			status, text = answer(r, body)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) setAnswer(a func(r *http.Request, body []byte) (int, string)) {
	rec.mu.Lock()
	rec.answer = a
	rec.mu.Unlock()
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.requests...)
}

// matching returns the recorded requests with this method and path.
func (rec *recorder) matching(method, path string) []recorded {
	var out []recorded
	for _, r := range rec.all() {
		if r.method == method && r.path == path {
			out = append(out, r)
		}
	}
	return out
}
