package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoutesAnswersUnroutedRequestsWithProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/things/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.PathValue("id"))) })
	mux.HandleFunc("PATCH /v3/things/{id}", func(w http.ResponseWriter, _ *http.Request) {})
	h := Routes(mux)

	for _, tc := range []struct {
		method, target string
		status         int
		detail, allow  string
	}{
		{"GET", "/v3/nothing", 404, NoRouteDetail, ""},
		{"POST", "/v3/things/a", 405, NoMethodDetail, "GET, HEAD, PATCH"},
		{"DELETE", "/", 404, NoRouteDetail, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.target, nil))
		require.Equal(t, tc.status, w.Code, "%s %s", tc.method, tc.target)
		assert.Equal(t, ContentType, w.Header().Get("Content-Type"))
		assert.Equal(t, tc.allow, w.Header().Get("Allow"))
		var d Details
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d), w.Body.String())
		assert.Equal(t, Details{Type: "about:blank", Title: http.StatusText(tc.status), Status: tc.status, Detail: tc.detail}, d)
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v3/things/x1", nil))
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, "x1", w.Body.String(), "routed requests reach their handler with path values")
}
