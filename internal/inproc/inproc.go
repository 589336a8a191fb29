// Package inproc serves HTTP requests on a handler in the same process: a client of a
// service's API that talks to the service it runs in, with no network between.
package inproc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
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
