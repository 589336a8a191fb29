// Package testhttp sends test requests straight to an http.Handler.
package testhttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
)

// Call sends one request to h and returns the recorded reply. A non-empty body is sent
// as application/json; an empty one sends no body.
func Call(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
