package testhttp

import (
	"io"
	"net/http"
	"testing"
)

func TestCallSendsJSONBodyOrNone(t *testing.T) {
	var gotType, gotBody string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotType, gotBody = r.Header.Get("Content-Type"), string(b)
		w.WriteHeader(http.StatusTeapot)
	})
	if w := Call(h, http.MethodPost, "/x", `{"a":1}`); w.Code != http.StatusTeapot || gotType != "application/json" || gotBody != `{"a":1}` {
		t.Fatalf("with body: code %d, type %q, body %q", w.Code, gotType, gotBody)
	}
	if Call(h, http.MethodGet, "/x", ""); gotType != "" || gotBody != "" {
		t.Fatalf("without body: type %q, body %q", gotType, gotBody)
	}
}
