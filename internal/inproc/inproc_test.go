package inproc

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type mark struct{}

// TestTransport: the handler sees the request (method, path, body) under the derived
// context, and the client gets its status, headers and body.
func TestTransport(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+" "+string(body)+" "+r.Context().Value(mark{}).(string))
		w.WriteHeader(http.StatusTeapot)
		w.Header().Set("X-Late", "not sent")
		_, _ = w.Write([]byte("answer"))
	})
	c := &http.Client{Transport: Transport{Handler: h, Context: func(ctx context.Context) context.Context {
		return context.WithValue(ctx, mark{}, "marked")
	}}}
	resp, err := c.Post("http://bos/v2/x?y=1", "text/plain", strings.NewReader("question"))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	assert.Equal(t, "418 I'm a teapot", resp.Status)
	assert.Equal(t, "POST /v2/x question marked", resp.Header.Get("X-Seen"))
	assert.Empty(t, resp.Header.Get("X-Late"))
	assert.Equal(t, "answer", string(body))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://bos/", nil)
	_, err = c.Do(req)
	assert.ErrorIs(t, err, context.Canceled)
}
