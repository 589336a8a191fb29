package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

func TestVersionAndHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		var root []bosapi.Version
		e.expect(200, "GET", "/", "", nil).json(t, &root)
		require.Len(t, root, 2, "v1 and v2")
		for _, v := range root {
			assert.Equal(t, []bosapi.Link{{Rel: "self", Href: e.srv.URL + "/"}}, v.Links)
		}
		for _, path := range []string{"/v2", "/v2/version"} {
			var v bosapi.Version
			e.expect(200, "GET", path, "", nil).json(t, &v)
			assert.Equal(t, bosapi.Version{Major: "2", Minor: "50", Patch: "0", Links: []bosapi.Link{
				{Rel: "self", Href: e.srv.URL + "/"}, {Rel: "versions", Href: e.srv.URL + "/v2"}}}, v)
		}
		var h bosapi.Health
		e.expect(200, "GET", "/v2/healthz", "", nil).json(t, &h)
		assert.Equal(t, bosapi.Health{DBStatus: "ok", APIStatus: "ok"}, h)

		var doc map[string]any
		e.expect(200, "GET", "/v2/openapi.json", "", nil).json(t, &doc)
		assert.Equal(t, "3.0.3", doc["openapi"])

		e.expect(404, "GET", "/v2/nothing", "", nil)
		e.expect(405, "POST", "/v2/version", "", nil)
	})
}

func TestHealthzWithoutRedis(t *testing.T) {
	m := miniredis.NewMiniRedis()
	require.NoError(t, m.Start())
	st, err := store.Open(context.Background(), store.Config{URL: "redis://" + m.Addr()})
	require.NoError(t, err)
	defer st.Close()
	srv := httptest.NewServer(New(Config{Store: st}))
	defer srv.Close()
	m.Close()

	resp, err := http.Get(srv.URL + "/v2/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode)
	var h bosapi.Health
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
	assert.Equal(t, bosapi.Health{DBStatus: "not_available", APIStatus: "ok"}, h)

	resp2, err := http.Get(srv.URL + "/v2/components")
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, 503, resp2.StatusCode)
	var d struct{ Title string }
	require.NoError(t, json.NewDecoder(resp2.Body).Decode(&d))
	assert.Equal(t, "Unable to connect to the Redis database", d.Title)
}

func TestOptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, func(c *Config) { c.MaxBodyBytes = 4096 })
		var got map[string]any
		e.expect(200, "GET", "/v2/options", "", nil).json(t, &got)
		assert.Len(t, got, 21)
		assert.Equal(t, 15.0, got["polling_frequency"])
		assert.Equal(t, "v1", got["reject_overlapping_sessions"])

		tests := []struct {
			name   string
			body   any
			status int
		}{
			{"OK", `{"polling_frequency": 5, "clear_stage": true}`, 200},
			{"OutOfRange", `{"max_power_on_wait_time": -1}`, 400},
			{"WrongType", `{"clear_stage": "yes"}`, 400},
			{"Empty", `{}`, 400},
			{"NotJSON", `polling_frequency=5`, 400},
			{"NoBody", "", 400},
			{"TooLarge", `{"logging_level": "` + strings.Repeat("x", 5000) + `"}`, 413},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.t = t
				e.expect(tt.status, "PATCH", "/v2/options", "", tt.body)
			})
		}
		e.t = t
		// As BOS: a key that names no option is accepted, echoed by the PATCH, never shown
		// by GET; the known keys beside it apply.
		var echoed map[string]any
		e.expect(200, "PATCH", "/v2/options", "", `{"polling_frequency": 5, "colour": {"r": 1}}`).json(t, &echoed)
		assert.Equal(t, map[string]any{"r": 1.0}, echoed["colour"])
		assert.Equal(t, 5.0, echoed["polling_frequency"])
		assert.Len(t, echoed, 22)
		var shown map[string]any
		e.expect(200, "GET", "/v2/options", "", nil).json(t, &shown)
		assert.NotContains(t, shown, "colour")
		assert.Len(t, shown, 21)
		o, err := e.c.Options(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 5, o.PollingFrequency, "the valid PATCH is seen by the next request")
		assert.True(t, o.ClearStage)
		assert.Equal(t, 3, o.DefaultRetryPolicy)
		// The reconciler reads the same store and sees it too.
		so, err := e.st.GetOptions(context.Background())
		require.NoError(t, err)
		assert.Equal(t, o, so)
	})
}

func TestRequestErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, func(c *Config) { c.MaxBodyBytes = 1024 })
		e.expect(413, "PUT", "/v2/components/x1000c0s0b0n0", "", `{"error":"`+strings.Repeat("e", 2000)+`"}`)
		e.expect(400, "PUT", "/v2/components/x1000c0s0b0n0", "", `not json`)
		e.expect(400, "PUT", "/v2/components/x1000c0s0b0n0", "", `{"enabled": true} {"enabled": false}`)
		e.expect(400, "PUT", "/v2/components/x1000c0s0b0n0", "", ``)
		d := e.expect(400, "GET", "/v2/components", "purple", nil).problem(t)
		assert.Equal(t, "Invalid tenant", d.Title)
		e.expect(400, "GET", "/v2/sessions", strings.Repeat("t", 128), nil)
		// Options, version and health ignore tenants.
		e.expect(200, "GET", "/v2/options", "purple", nil)
		e.expect(200, "GET", "/v2/healthz", "purple", nil)

		// No tenant registry: every tenant is unknown.
		bare := newEnv(t, backend, func(c *Config) { c.Tenants = nil })
		bare.expect(400, "GET", "/v2/components", "blue", nil)
		bare.expect(200, "GET", "/v2/components", "", nil)
	})
}

func TestPanicIsInternalError(t *testing.T) {
	e := newEnv(t, storetest.Mini, func(c *Config) { c.BootSets = panicky{} })
	e.expect(200, "PUT", "/v2/sessiontemplates/t", "", template("x1000c0s0b0n0"))
	d := e.expect(500, "GET", "/v2/sessiontemplatesvalid/t", "", nil).problem(t)
	assert.Equal(t, "Internal error", d.Detail)
}

type panicky struct{}

func (panicky) CheckBootSet(context.Context, string, orchestrator.BootSet, orchestrator.Options) ([]string, error) {
	panic("checker bug")
}

// TestLoggingLevelTakesEffect: PATCH /v2/options sets the server's log level at once.
func TestLoggingLevelTakesEffect(t *testing.T) {
	level := new(slog.LevelVar)
	e := newEnv(t, storetest.Mini, func(c *Config) { c.LogLevel = level })
	e.expect(200, "PATCH", "/v2/options", "", map[string]any{"logging_level": "debug"})
	assert.Equal(t, slog.LevelDebug, level.Level())
	e.expect(200, "PATCH", "/v2/options", "", map[string]any{"logging_level": "CRITICAL"})
	assert.Equal(t, slog.LevelError+4, level.Level())
	e.expect(400, "PATCH", "/v2/options", "", map[string]any{"logging_level": "TRACE"})
	assert.Equal(t, slog.LevelError+4, level.Level(), "a refused PATCH changes nothing")
}
