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

// TestHosts: a request to a known host is served by its handler, any other goes to Next,
// and a handler's panic fails its request instead of the caller.
func TestHosts(t *testing.T) {
	var next []string
	hosts := &Hosts{Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		next = append(next, r.URL.String())
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})}
	hosts.Handle("127.0.0.1:8080", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write([]byte("here " + r.URL.Path))
	}))
	c := &http.Client{Transport: hosts}

	resp, err := c.Get("http://127.0.0.1:8080/a")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "here /a", string(body))

	for _, u := range []string{"http://127.0.0.1:8081/b", "https://127.0.0.1:8080/c"} {
		resp, err = c.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode, u)
	}
	assert.Equal(t, []string{"http://127.0.0.1:8081/b", "https://127.0.0.1:8080/c"}, next)

	_, err = c.Get("http://127.0.0.1:8080/panic")
	require.ErrorContains(t, err, "the in-process handler failed")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestHostsRoute: a routed host's requests go to the handler its pick returns, and to
// Next when it returns none.
func TestHostsRoute(t *testing.T) {
	var next []string
	hosts := &Hosts{Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		next = append(next, r.URL.Path)
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})}
	here := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("here")) })
	hosts.Route("127.0.0.1:8080", func(r *http.Request) http.Handler {
		if r.URL.Path == "/local" {
			return here
		}
		return nil
	})
	c := &http.Client{Transport: hosts}
	for _, p := range []string{"/local", "/remote"} {
		resp, err := c.Get("http://127.0.0.1:8080" + p)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if p == "/local" {
			assert.Equal(t, "here", string(body))
		}
	}
	assert.Equal(t, []string{"/remote"}, next)
}
