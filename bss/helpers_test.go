package bss

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/testclock"
	"github.com/cray-bos/bos/internal/testhttp"
)

// Three nodes: a compute node, an application node, and a compute node whose
// ComponentEndpoint is disabled.
const (
	n1, n2, n3       = "x3000c0s1b0n0", "x3000c0s2b0n0", "x3000c0s3b0n0"
	mac1, mac2, mac3 = "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"
)

func testInventory() StaticInventory {
	return StaticInventory{
		{ID: n1, Type: "Node", State: "On", Role: "Compute", NID: 1, Arch: "X86", FQDN: n1 + ".hmn", MAC: []string{mac1}, EndpointEnabled: true},
		{ID: n2, Type: "Node", State: "On", Role: "Application", NID: 2, Arch: "X86", FQDN: n2 + ".hmn", MAC: []string{mac2}, EndpointEnabled: true},
		{ID: n3, Type: "Node", State: "On", Role: "Compute", NID: 3, Arch: "X86", FQDN: n3 + ".hmn", MAC: []string{mac3}, EndpointEnabled: false},
	}
}

// newFakeClock is a settable clock for refresh rate limiting and timestamps.
func newFakeClock() *testclock.Clock { return testclock.New(time.Unix(1_700_000_000, 0)) }

// mutableInventory serves whatever hosts it currently holds, counting calls.
type mutableInventory struct {
	mu    sync.Mutex
	hosts []bssapi.Host
	err   error
	calls atomic.Int32
}

func (m *mutableInventory) Hosts(ctx context.Context) ([]bssapi.Host, error) {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	return StaticInventory(m.hosts).Hosts(ctx)
}

func (m *mutableInventory) set(hosts []bssapi.Host, err error) {
	m.mu.Lock()
	m.hosts, m.err = hosts, err
	m.mu.Unlock()
}

func mustServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Inventory == nil {
		cfg.Inventory = testInventory()
	}
	if cfg.AdvertiseAddress == "" {
		cfg.AdvertiseAddress = "http://10.0.0.1:8888"
	}
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}

// call sends one request to h and returns the recorder.
func call(t testing.TB, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return testhttp.Call(h, method, target, body)
}

// mustPut stores a body with PUT and returns the referral token.
func mustPut(t testing.TB, h http.Handler, body string) string {
	t.Helper()
	w := call(t, h, http.MethodPut, "/boot/v1/bootparameters", body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	tok := w.Header().Get(bssapi.ReferralTokenHeader)
	require.NotEmpty(t, tok)
	return tok
}

// params returns the stored entries as GET reports them, by host key.
func params(t testing.TB, h http.Handler) map[string]bssapi.BootParams {
	t.Helper()
	w := call(t, h, http.MethodGet, "/boot/v1/bootparameters", "")
	require.Equal(t, http.StatusOK, w.Code)
	var all []bssapi.BootParams
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &all))
	out := map[string]bssapi.BootParams{}
	for _, bp := range all {
		switch {
		case len(bp.Hosts) == 1:
			out[bp.Hosts[0]] = bp
		case bp.Kernel != "":
			out["kernel:"+bp.Kernel] = bp
		default:
			out["initrd:"+bp.Initrd] = bp
		}
	}
	return out
}

func problemDetail(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var d struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d), w.Body.String())
	require.Equal(t, w.Code, d.Status)
	return d.Detail
}
