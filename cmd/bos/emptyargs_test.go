package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmptyArgumentsAreRefused: every client command whose positional arguments are path
// segments refuses an empty one before sending anything. `bos v2 sessions delete ""` used
// to send DELETE /v2/sessions/, which BOS redirected to the bulk delete of every complete
// session, and exit 0.
func TestEmptyArgumentsAreRefused(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		t.Errorf("request sent: %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t.Setenv(envURL, srv.URL)
	t.Setenv(envHSMURL, srv.URL)

	positional := regexp.MustCompile(`\[?[A-Z][A-Z_]*(\.\.\.)?\]?`)
	var tried []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		names := positional.FindAllString(strings.TrimPrefix(c.Use, c.Name()), -1)
		path := strings.TrimPrefix(c.CommandPath(), "bos ")
		if c.HasSubCommands() || len(names) == 0 || !regexp.MustCompile(`^(v1|v2|crus|hsm) `).MatchString(path) {
			return
		}
		args := append(strings.Fields(path), "") // the first argument empty, the others not
		required := 0
		for _, n := range names {
			if !strings.HasPrefix(n, "[") {
				required++
			}
		}
		for range required - 1 {
			args = append(args, "x")
		}
		r := bosCmd(t, "", args...)
		if assert.Error(t, r.fail, "%q", args) {
			assert.Contains(t, r.fail.Error(), "argument 1 is empty; usage: "+c.CommandPath(), "%q", args)
		}
		tried = append(tried, path)
	}
	walk(newRootCommand(nil, nil))
	assert.Zero(t, requests.Load())
	for _, want := range []string{"v2 sessions delete", "v2 sessions describe", "v2 sessiontemplates delete", "v2 components update",
		"v1 session delete", "v1 session status describe", "crus delete", "hsm groups delete", "hsm groups members remove"} {
		require.Contains(t, tried, want)
	}
}
