package rollout

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"

	bos "github.com/cray-bos/bos/orchestrator"
)

func TestRunCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok/x1/nid000001" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	n := bos.RolloutNode{Xname: "x1", Name: "nid000001"}
	ctx := context.Background()

	assert.NoError(t, runCheck(ctx, srv.Client(), bos.HealthCheck{URL: srv.URL + "/ok/{xname}/{name}"}, n))
	assert.EqualError(t, runCheck(ctx, srv.Client(), bos.HealthCheck{URL: srv.URL + "/bad/{xname}"}, n), "HTTP 503")
	err := runCheck(ctx, srv.Client(), bos.HealthCheck{URL: "http://user:secret@127.0.0.1:1/{xname}"}, n)
	assert.EqualError(t, err, "health check URL unreachable", "no URL, so no credentials, in the reason")

	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	assert.NoError(t, runCheck(ctx, nil, bos.HealthCheck{Command: []string{"sh", "-c", `test "$0" = nid000001`, "{name}"}}, n))
	assert.ErrorContains(t, runCheck(ctx, nil, bos.HealthCheck{Command: []string{"sh", "-c", "exit 3"}}, n), "sh: exit status 3")
	assert.EqualError(t, runCheck(ctx, nil, bos.HealthCheck{Command: []string{"sh", "-c", "sleep 5"}, TimeoutSeconds: 1}, n),
		"sh did not finish within 1s")
}
