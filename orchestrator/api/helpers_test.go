package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one API server over one store, with a client and a tenant registry holding
// "blue" (x1000c0s0b0n0, x1000c0s1b0n0) and "red" (x2000c0s0b0n0).
type env struct {
	t       *testing.T
	st      *store.Store
	srv     *httptest.Server
	api     *Server
	c       *bosapi.Client
	tenants *tenant.Memory
	clock   *clock
}

var (
	blueNodes = []string{"x1000c0s0b0n0", "x1000c0s1b0n0"}
	redNodes  = []string{"x2000c0s0b0n0"}
)

func newEnv(t *testing.T, backend string, tweak ...func(*Config)) *env {
	t.Helper()
	st := storetest.Open(t, backend, store.Config{})
	e := &env{t: t, st: st, clock: &clock{t: t0},
		tenants: tenant.NewMemory(tenant.New("blue", blueNodes), tenant.New("red", redNodes), tenant.New("empty", nil))}
	cfg := Config{Store: st, Tenants: e.tenants, Now: e.clock.Now,
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})),
		Rollouts: newRollouts(t, st, e.clock.Now)}
	for _, f := range tweak {
		f(&cfg)
	}
	e.api = New(cfg)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	e.c = bosapi.NewClient(e.srv.URL, e.srv.Client())
	return e
}

// testWriter sends log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// response is a raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// unmarshalWire decodes an answer of ours, its timestamps in BOS's form, into v.
func unmarshalWire(raw []byte, v any) error {
	raw, err := bosapi.FromWire(raw)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// json decodes the body into v, which it zeroes first.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	rv.Set(reflect.Zero(rv.Type()))
	body, err := bosapi.FromWire(r.body) // BOS's naive timestamps, as the Client reads them
	require.NoError(t, err, "body: %s", r.body)
	require.NoError(t, json.Unmarshal(body, v), "body: %s", r.body)
}

// problem decodes a problem+json answer, checking its content type and status.
func (r response) problem(t *testing.T) problem.Details {
	t.Helper()
	assert.Equal(t, problem.ContentType, r.header.Get("Content-Type"), "body: %s", r.body)
	var d problem.Details
	r.json(t, &d)
	assert.Equal(t, r.status, d.Status)
	assert.NotEmpty(t, d.Title)
	return d
}

// do sends a raw request; body is sent as is when it is a string, else as JSON.
func (e *env) do(method, path, tenantName string, body any) response {
	e.t.Helper()
	h := http.Header{}
	if tenantName != "" {
		h.Set(bosapi.TenantHeader, tenantName)
	}
	return e.send(method, path, h, body)
}

// send is do with any request headers.
func (e *env) send(method, path string, h http.Header, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	req.Header = h.Clone()
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// expect sends a request and checks the status; error statuses must be problems.
func (e *env) expect(status int, method, path, tenantName string, body any) response {
	e.t.Helper()
	r := e.do(method, path, tenantName, body)
	require.Equal(e.t, status, r.status, "%s %s: %s", method, path, r.body)
	if status >= 400 {
		r.problem(e.t)
	}
	return r
}

// template is a valid template body over the given nodes.
func template(nodes ...string) map[string]any {
	return map[string]any{
		"cfs": map[string]any{"configuration": "compute-config"},
		"boot_sets": map[string]any{
			"compute": map[string]any{"path": "s3://boot-images/abc/manifest.json", "type": "s3", "node_list": nodes},
		},
	}
}

// seed stores components directly (bypassing the API), e.g. with state the API cannot set.
func (e *env) seed(comps ...orchestrator.Component) {
	e.t.Helper()
	_, err := e.st.PutComponents(context.Background(), comps)
	require.NoError(e.t, err)
}

func (e *env) component(id string) orchestrator.Component {
	e.t.Helper()
	c, err := e.st.GetComponent(context.Background(), id)
	require.NoError(e.t, err)
	return c
}

// snapshot captures everything in the store, to prove a request changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	comps, err := e.st.ListComponentsJSON(ctx, store.Filter{})
	require.NoError(e.t, err)
	tpls, err := e.st.ListTemplates(ctx, "", true)
	require.NoError(e.t, err)
	sessions, err := e.st.ListSessions(ctx, "", true, orchestrator.SessionFilter{}, t0)
	require.NoError(e.t, err)
	var statuses []string
	for _, s := range sessions {
		st, ok, err := e.st.GetSessionStatus(ctx, s.Tenant, s.Name)
		require.NoError(e.t, err)
		if ok {
			raw, _ := json.Marshal(st)
			statuses = append(statuses, s.Tenant+"/"+s.Name+":"+string(raw))
		}
	}
	sort.Strings(statuses)
	raw, err := json.Marshal(map[string]any{"components": comps, "templates": tpls, "sessions": sessions, "statuses": statuses})
	require.NoError(e.t, err)
	return string(raw)
}

func idsOf(comps []orchestrator.Component) []string {
	out := make([]string, len(comps))
	for i, c := range comps {
		out[i] = c.ID
	}
	return out
}
