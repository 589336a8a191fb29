// Package fuzzcheck holds the properties every HTTP fuzz target checks on a reply to a
// fuzzed request, whatever the service: no 5xx, an error status carries the service's
// error body, and no secret shows anywhere in the reply. It is imported by tests only.
package fuzzcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cray-bos/bos/internal/problem"
)

// Kind is the error body a service sends.
type Kind int

const (
	// Problem is RFC 7807 problem+json (BOS, HSM, BSS, CFS).
	Problem Kind = iota
	// Redfish is a Redfish error object with @Message.ExtendedInfo (the BMCs).
	Redfish
)

// Do serves one request through h in process and returns the recorded reply.
func Do(h http.Handler, method, target, contentType string, body []byte, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(string(body)))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Reply fails t when the reply is a server error, when an error status lacks a
// well-formed error body of kind, or when a secret appears in the body or a header.
func Reply(t testing.TB, kind Kind, w *httptest.ResponseRecorder, secrets ...string) {
	t.Helper()
	body := w.Body.Bytes()
	if w.Code >= 500 {
		t.Fatalf("status %d: a request can be refused, never crash the service: %s", w.Code, body)
	}
	if w.Code >= 400 {
		switch kind {
		case Problem:
			var d problem.Details
			if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("status %d with Content-Type %q, want %s: %s", w.Code, ct, problem.ContentType, body)
			}
			if err := json.Unmarshal(body, &d); err != nil || d.Status != w.Code || d.Title == "" {
				t.Fatalf("status %d: not a problem body for that status (%v): %s", w.Code, err, body)
			}
		case Redfish:
			var e struct {
				Error struct {
					Code string `json:"code"`
					Info []struct {
						MessageID string `json:"MessageId"`
					} `json:"@Message.ExtendedInfo"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || len(e.Error.Info) == 0 || e.Error.Info[0].MessageID == "" {
				t.Fatalf("status %d: not a Redfish error body (%v): %s", w.Code, err, body)
			}
		}
	}
	NoSecret(t, w, secrets...)
}

// NoSecret fails t when any non-empty secret appears in the reply's body or headers.
func NoSecret(t testing.TB, w *httptest.ResponseRecorder, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(w.Body.String(), s) {
			t.Fatalf("the reply body holds the secret %q: %s", s, w.Body.String())
		}
		for k, vs := range w.Header() {
			for _, v := range vs {
				if strings.Contains(v, s) {
					t.Fatalf("reply header %s holds the secret %q", k, s)
				}
			}
		}
	}
}
