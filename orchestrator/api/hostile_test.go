package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// rawDo sends body as is with the given Content-Type ("" for none).
func (e *env) rawDo(method, path, contentType string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(e.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: out.Bytes()}
}

// TestAgeOverflow: an age too large for a duration is a 400, not a negative age that
// selects (and deletes) sessions seconds old, nor an option that wraps to 1h10m.
func TestAgeOverflow(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s1", "operation": "boot", "template_name": "compute"})
	_, err := e.st.UpdateSession(t.Context(), "", "s1", func(s *orchestrator.Session) error {
		s.Status.Status = orchestrator.SessionComplete
		return nil
	})
	require.NoError(t, err)
	e.clock.Advance(5 * time.Second)
	for _, q := range []string{"min_age=107000w", "max_age=107000w", "min_age=99999999999999999999m"} {
		d := e.expect(400, "DELETE", "/v2/sessions?status=complete&"+q, "", nil).problem(t)
		assert.Contains(t, d.Detail, "out of range", q)
		e.expect(400, "GET", "/v2/sessions?"+q, "", nil)
	}
	e.expect(200, "GET", "/v2/sessions/s1", "", nil)

	d := e.expect(400, "PATCH", "/v2/options", "", map[string]any{"cleanup_completed_session_ttl": "3538066w"}).problem(t)
	assert.Contains(t, d.Detail, "cleanup_completed_session_ttl")
	assert.Contains(t, d.Detail, "out of range")
	var o orchestrator.Options
	e.expect(200, "GET", "/v2/options", "", nil).json(t, &o)
	assert.Equal(t, orchestrator.DefaultOptions().CleanupCompletedSessionTTL, o.CleanupCompletedSessionTTL)
}

// TestNullBody: null is not {} on any BOS body; nothing is written.
func TestNullBody(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.expect(200, "PUT", "/v2/components/x1000c0s0b0n0", "", map[string]any{"enabled": true,
		"desired_state": map[string]any{"boot_artifacts": map[string]any{"kernel": "k"}}})
	e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s1", "operation": "boot", "template_name": "compute"})
	before := e.snapshot()
	for _, ep := range [][2]string{
		{"PUT", "/v2/components/x1000c0s0b0n0"}, {"PATCH", "/v2/components/x1000c0s0b0n0"},
		{"PUT", "/v2/components"}, {"PATCH", "/v2/components"}, {"POST", "/v2/applystaged"},
		{"PATCH", "/v2/options"}, {"PUT", "/v2/sessiontemplates/compute"}, {"PATCH", "/v2/sessiontemplates/compute"},
		{"POST", "/v2/sessions"}, {"PATCH", "/v2/sessions/s1"},
		{"POST", "/v1/session"}, {"POST", "/v1/sessiontemplate"},
	} {
		d := e.expect(400, ep[0], ep[1], "", " null ").problem(t)
		assert.Contains(t, d.Detail, "request body is null", ep)
	}
	// A null inside a list is refused too (it panicked: 500).
	for _, m := range []string{"PUT", "PATCH"} {
		d := e.expect(400, m, "/v2/components", "", `[{"id":"x1000c0s0b0n0"},null]`).problem(t)
		assert.Contains(t, d.Detail, "component #2 is null")
	}
	assert.Equal(t, before, e.snapshot())
}

// TestBodyChecks: Content-Type, UTF-8, and type errors in JSON terms.
func TestBodyChecks(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.expect(200, "PUT", "/v2/components/x1000c0s0b0n0", "", map[string]any{"enabled": true})
	e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
	before := e.snapshot()
	body := []byte(`{"enabled":false}`)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		r := e.rawDo("PATCH", "/v2/components/x1000c0s0b0n0", ct, body)
		require.Equal(t, http.StatusUnsupportedMediaType, r.status, "%q: %s", ct, r.body)
		assert.Contains(t, r.problem(t).Detail, "expected JSON data")
	}
	for _, ct := range []string{"application/json; charset=utf-8", "application/merge-patch+json"} {
		r := e.rawDo("PATCH", "/v2/components/x1000c0s0b0n0", ct, []byte(`{"enabled":true}`))
		require.Equal(t, http.StatusOK, r.status, "%q: %s", ct, r.body)
	}
	r := e.rawDo("PATCH", "/v2/components/x1000c0s0b0n0", "application/json", []byte("{\"error\":\"a\xffb\"}"))
	require.Equal(t, http.StatusBadRequest, r.status, string(r.body))
	assert.Contains(t, r.problem(t).Detail, "not valid UTF-8")
	assert.Equal(t, before, e.snapshot())

	for _, tc := range []struct{ path, body, want string }{
		{"/v2/components/x1000c0s0b0n0", `{"enabled":"yes"}`, "field enabled must be a JSON boolean, not string"},
		{"/v2/components/x1000c0s0b0n0", `{"retry_policy":"3"}`, "field retry_policy must be a JSON integer, not string"},
		{"/v2/components/x1000c0s0b0n0", `[1]`, "must be a JSON object, not array"},
		{"/v2/options", `{"polling_frequency":"5"}`, "polling_frequency must be a JSON integer, not string"},
		{"/v2/options", `[1]`, "options must be a JSON object, not array"},
		{"/v2/sessiontemplates/compute", `{"enable_cfs":1}`, "field enable_cfs must be a JSON boolean, not number"},
	} {
		d := e.expect(400, "PATCH", tc.path, "", tc.body).problem(t)
		assert.Contains(t, d.Detail, tc.want, tc.body)
		for _, leak := range []string{"Go ", "json:", "struct", "orchestrator."} {
			assert.NotContains(t, d.Detail, leak, tc.body)
		}
	}
}

// TestComponentIDChars: ids with control characters, white space or non-ASCII are 400.
func TestComponentIDChars(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	for _, id := range []string{"x1%00", "x1%0Ax2", "x1%20x2", "x1%09", "%F0%9F%98%80", "x1,x2"} {
		d := e.expect(400, "PUT", "/v2/components/"+id, "", map[string]any{"enabled": true}).problem(t)
		assert.Contains(t, d.Detail, "id", id)
	}
	for _, id := range []string{"x1\u0000", "x1\nx2", "\U0001F600"} {
		e.expect(400, "PUT", "/v2/components", "", []map[string]any{{"id": id}})
		e.expect(400, "POST", "/v2/applystaged", "", map[string]any{"xnames": []string{id}})
	}
	e.expect(200, "PUT", "/v2/components/x1000c0s0b0n0", "", map[string]any{"enabled": true})
	e.expect(200, "PUT", "/v2/components/ncn-w001", "", map[string]any{"enabled": true})
	var list []orchestrator.Component
	e.expect(200, "GET", "/v2/components", "", nil).json(t, &list)
	assert.Len(t, list, 2)
}

// TestComponentStatusFilter: an unknown status is a 400 naming the allowed ones.
func TestComponentStatusFilter(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.expect(200, "PUT", "/v2/components/x1000c0s0b0n0", "", map[string]any{"enabled": true})
	d := e.expect(400, "GET", "/v2/components?status=stabel", "", nil).problem(t)
	assert.Contains(t, d.Detail, `"stabel"`)
	assert.Contains(t, d.Detail, strings.Join(orchestrator.Statuses, ", "))
	e.expect(400, "GET", "/v2/components?status=stable,bogus", "", nil)
	var list []orchestrator.Component
	e.expect(200, "GET", "/v2/components?status=stable,on_hold", "", nil).json(t, &list)
	assert.Len(t, list, 1)
}
