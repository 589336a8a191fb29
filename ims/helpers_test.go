package ims

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testNow is the fixed clock of most tests.
var testNow = time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)

// mustServer builds a Server on the fixed clock with the default seed unless images is
// given.
func mustServer(tb testing.TB, images ...ImageSpec) *Server {
	tb.Helper()
	cfg := Config{Now: func() time.Time { return testNow }}
	if images != nil {
		cfg.Images = images
	}
	s, err := New(cfg)
	require.NoError(tb, err)
	return s
}

// call sends one request to h and returns the recorded response.
func call(tb testing.TB, h http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// s3Code decodes an S3 XML error body and returns its Code.
func s3Code(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	var e s3Error
	require.NoError(tb, xml.Unmarshal(rec.Body.Bytes(), &e), "body: %s", rec.Body.String())
	return e.Code
}

func newRequest(tb testing.TB, method, target, body string) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return httptest.NewRequest(method, target, rd)
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
