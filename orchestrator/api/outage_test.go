package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/store"
)

// While Redis is down every call that needs it answers 503 problem+json and writes
// nothing; once Redis is back the same server answers again, with the data Redis kept,
// and no restart (docs/guarantees.md, "Redis loss").
func TestStoreOutageAnswers503AndRecovers(t *testing.T) {
	m := miniredis.NewMiniRedis()
	require.NoError(t, m.Start())
	defer m.Close()
	st, err := store.Open(context.Background(), store.Config{URL: "redis://" + m.Addr()})
	require.NoError(t, err)
	defer st.Close()
	srv := httptest.NewServer(New(Config{Store: st}))
	defer srv.Close()
	call := func(method, path, body string) (*http.Response, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var problem struct{ Title string }
		_ = json.NewDecoder(resp.Body).Decode(&problem)
		return resp, problem.Title
	}
	resp, _ := call(http.MethodPut, "/v2/components/x1000c0s0b0n0", `{"enabled": false}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	m.Close()
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/v2/components", ""},
		{http.MethodPatch, "/v2/components/x1000c0s0b0n0", `{"enabled": true}`},
		{http.MethodPost, "/v2/sessions", `{"operation": "boot", "template_name": "t"}`},
	} {
		resp, title := call(c.method, c.path, c.body)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, c.method+" "+c.path)
		assert.Equal(t, "Unable to connect to the Redis database", title, c.method+" "+c.path)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), c.method+" "+c.path)
	}

	require.NoError(t, m.Restart())
	resp, _ = call(http.MethodGet, "/v2/components/x1000c0s0b0n0", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "answers again once Redis is back")
	c, err := st.GetComponent(context.Background(), "x1000c0s0b0n0")
	require.NoError(t, err)
	assert.False(t, c.Enabled, "the PATCH made during the outage wrote nothing")
}
