// Package inproc serves HTTP requests on a handler in the same process: a client of a
// service's API that talks to the service it runs in, with no network between.
package inproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport is an http.RoundTripper that serves every request on Handler. Context, when
// set, derives the context the handler sees (say, to mark the caller as trusted: a value
// no request from the network can carry).
type Transport struct {
	Handler http.Handler
	Context func(context.Context) context.Context
}

// RoundTrip serves req on t.Handler and returns its whole answer.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	ctx := req.Context()
	if t.Context != nil {
		ctx = t.Context(ctx)
	}
	r := req.Clone(ctx)
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RequestURI = r.URL.RequestURI()
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	r.RemoteAddr = "in-process"
	w := &recorder{header: http.Header{}}
	t.Handler.ServeHTTP(w, r)
	w.WriteHeader(http.StatusOK) // when the handler wrote nothing
	return &http.Response{
		Status: strconv.Itoa(w.status) + " " + http.StatusText(w.status), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()),
		Request: req,
	}, nil
}

// recorder keeps a handler's answer.
type recorder struct {
	header http.Header // the handler's
	sent   http.Header // header as it was when the status was written
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.sent = w.header.Clone() // later changes to the map are not sent
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush is a no-op: the answer is returned whole.
func (w *recorder) Flush() {}

// Hosts is an http.RoundTripper that serves a request whose URL names one of its hosts
// (host:port, plain http) on that host's handler in this process, and sends every other
// request to Next. It lets clients in the process of a service skip the loopback socket
// without knowing where the service runs. A handler that panics fails the request, as a
// cut connection would.
type Hosts struct {
	Next   http.RoundTripper
	mu     sync.RWMutex
	routes map[string]func(*http.Request) http.Handler
}

// Handle serves requests to host (host:port, as in a URL) on h from now on.
func (t *Hosts) Handle(host string, h http.Handler) {
	t.Route(host, func(*http.Request) http.Handler { return h })
}

// Route serves each request to host on the handler pick returns for it from now on, or
// sends it to Next when pick returns nil (a service in this process that answers some
// requests, and leaves the others to the one it stands in for).
func (t *Hosts) Route(host string, pick func(*http.Request) http.Handler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.routes == nil {
		t.routes = map[string]func(*http.Request) http.Handler{}
	}
	t.routes[host] = pick
}

func (t *Hosts) handler(req *http.Request) http.Handler {
	if req.URL.Scheme != "http" {
		return nil
	}
	t.mu.RLock()
	pick := t.routes[req.URL.Host]
	t.mu.RUnlock()
	if pick == nil {
		return nil
	}
	return pick(req)
}

// RoundTrip serves req in this process when its host is known, else on Next.
func (t *Hosts) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	h := t.handler(req)
	if h == nil {
		return t.Next.RoundTrip(req)
	}
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("%s %s: the in-process handler failed: %v", req.Method, req.URL, p)
		}
	}()
	return Transport{Handler: h}.RoundTrip(req)
}

// CloseIdleConnections closes Next's idle connections (http.Client.CloseIdleConnections).
func (t *Hosts) CloseIdleConnections() {
	if c, ok := t.Next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
