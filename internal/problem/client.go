package problem

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// MaxReplyBytes bounds a reply DoJSON reads: a misbehaving server cannot exhaust memory.
const MaxReplyBytes = 256 << 20

// DoJSON is the one request function of the clients of services whose errors are
// problem+json (HSM, BSS, CFS, BOS). A non-nil in is sent as JSON. A 2xx reply is read into
// out: JSON into a value, raw text into a *strings.Builder, or discarded when out is nil
// (or the reply is 204). Any other status is returned as a *Details. header, if non-nil,
// is added to the request. The response is returned (its body consumed) for its headers.
func DoJSON(ctx context.Context, hc *http.Client, method, url string, header http.Header, in, out any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp, FromResponse(resp)
	}
	reply := io.LimitReader(resp.Body, MaxReplyBytes)
	switch o := out.(type) {
	case nil:
		_, _ = io.Copy(io.Discard, reply)
	case *strings.Builder:
		if _, err := io.Copy(o, reply); err != nil {
			return resp, fmt.Errorf("read reply: %w", err)
		}
	default:
		if resp.StatusCode == http.StatusNoContent {
			return resp, nil
		}
		// encoding/json's semantics from go-json-experiment's v1 package, on its v2
		// engine: about half the CPU for the large lists BOS reads from HSM and CFS.
		if err := jsonv1.NewDecoder(reply).Decode(out); err != nil {
			return resp, fmt.Errorf("decode reply: %w", err)
		}
	}
	return resp, nil
}

// Service is what every problem+json client holds: the service's base URL (with its path
// prefix) and the HTTP client to reach it.
type Service struct {
	Base string
	HC   *http.Client
}

// NewService returns the Service at baseURL (trailing slashes dropped) plus prefix (e.g.
// "/boot/v1"). A nil hc means http.DefaultClient.
func NewService(baseURL, prefix string, hc *http.Client) Service {
	if hc == nil {
		hc = http.DefaultClient
	}
	return Service{Base: strings.TrimRight(baseURL, "/") + prefix, HC: hc}
}

// Do sends one request to Base+path, with q as its query string when not empty (see
// DoJSON).
func (s Service) Do(ctx context.Context, method, path string, q url.Values, in, out any) (*http.Response, error) {
	u := s.Base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return DoJSON(ctx, s.HC, method, u, nil, in, out)
}
