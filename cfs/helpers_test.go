package cfs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/testhttp"
	"github.com/cray-bos/bos/internal/testwait"
)

const (
	repoA = "https://api-gw-service-nmn.local/vcs/cray/csm-config-management.git"
	repoB = "https://api-gw-service-nmn.local/vcs/cray/cos-config-management.git"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func nodeIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("x1000c0s%db0n%d", i/2, i%2)
	}
	return out
}

func call(t testing.TB, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return testhttp.Call(h, method, target, body)
}

// mustCall sends a request that must succeed with want and decodes the reply into out.
func mustCall(t testing.TB, h http.Handler, method, target, body string, want int, out any) {
	t.Helper()
	w := call(t, h, method, target, body)
	require.Equal(t, want, w.Code, "%s %s: %s", method, target, w.Body.String())
	if out != nil {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), out))
	}
}

func problemOf(t testing.TB, w *httptest.ResponseRecorder) (title, detail string) {
	t.Helper()
	var d struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d), w.Body.String())
	require.Equal(t, w.Code, d.Status)
	return d.Title, d.Detail
}

func getComponent(t testing.TB, h http.Handler, id string) cfsapi.Component {
	t.Helper()
	var c cfsapi.Component
	mustCall(t, h, http.MethodGet, "/v3/components/"+id+"?state_details=true", "", 200, &c)
	return c
}

// putConfig stores a two-layer configuration (repoA site.yml commit1, repoB cos.yml commit2).
func putConfig(t testing.TB, h http.Handler, name string) {
	t.Helper()
	mustCall(t, h, http.MethodPut, "/v3/configurations/"+name,
		`{"layers":[{"name":"csm","clone_url":"`+repoA+`","playbook":"site.yml","commit":"`+commit1+`"},`+
			`{"name":"cos","clone_url":"`+repoB+`","playbook":"cos.yml","commit":"`+commit2+`"}]}`, 200, nil)
}

// waitIdle waits until no batch is open or running.
func waitIdle(t testing.TB, s *Server) {
	t.Helper()
	state := func() (open bool, running int) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.open != nil, len(s.running)
	}
	testwait.Until(t, "the batcher goes idle", func() bool { open, running := state(); return !open && running == 0 },
		func() string {
			open, running := state()
			return fmt.Sprintf("batch open: %v, %d running", open, running)
		})
}

func ids(cs []cfsapi.Component) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// Commits of the test configurations: full git SHA-1s, as CFS requires of a layer.
const (
	commit1 = "c100000000000000000000000000000000000001"
	commit2 = "c200000000000000000000000000000000000002"
	commit3 = "c300000000000000000000000000000000000003"
	commit9 = "c900000000000000000000000000000000000009"
	commitC = "cccccccccccccccccccccccccccccccccccccccc"
	commitD = "dddddddddddddddddddddddddddddddddddddddd"
)
