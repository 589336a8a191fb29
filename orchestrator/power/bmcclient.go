package power

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/stmcginnis/gofish/schemas"
)

// bmcClient is a gofish schemas.Client for one BMC, made for each call over the driver's
// shared HTTP client: gofish's schema functions (GetComputerSystem, its errors) read and
// act through it, and nothing is kept per BMC between calls. gofish's own APIClient
// reads the service root to connect and then holds it, about 1.7 KB a BMC for the life
// of the driver (a quarter of BOS's live heap at 10,000 nodes), for nothing BOS uses:
// BMCs are reached by the paths HSM lists, with Basic auth, no session to log into.
type bmcClient struct {
	ctx            context.Context
	hc             *http.Client  // without a Timeout: timeout bounds each call (do)
	timeout        time.Duration // of a call, reading its answer included
	base           string        // scheme://host[:port]
	user, password string
}

var _ schemas.Client = (*bmcClient)(nil)

// errUnsupported answers the calls the driver never makes.
var errUnsupported = errors.New("not supported by BOS's Redfish client")

func (c *bmcClient) do(method, uri string, payload any, headers map[string]string) (*http.Response, error) {
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, err
		}
		body = b
	}
	return c.send(method, uri, body, headers)
}

// send makes one call with a JSON body (nil: none), bounded by the timeout from the
// request to the answer's body closed or read to its end, as http.Client.Timeout bounds
// it. (A deadline on the request's context rather than Client.Timeout: over a wrapped
// transport, Client.Timeout costs every request a timer, a goroutine and two channels.)
func (c *bmcClient) send(method, uri string, payload []byte, headers map[string]string) (*http.Response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	ctx, cancel := c.ctx, context.CancelFunc(nil)
	if c.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	resp, err := c.roundTrip(ctx, method, uri, body, headers)
	if cancel != nil {
		if resp == nil {
			cancel()
		} else {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		}
	}
	return resp, err
}

// cancelBody ends its call's context once the body is closed or read to its end.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.cancel()
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (c *bmcClient) roundTrip(ctx context.Context, method, uri string, body io.Reader, headers map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+uri, body)
	if err != nil {
		return nil, err
	}
	req.Header["Accept"] = jsonType
	if body != nil {
		req.Header["Content-Type"] = jsonType
	}
	req.SetBasicAuth(c.user, c.password)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
		return resp, nil
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, schemas.ConstructError(0, []byte(err.Error()))
	}
	return nil, schemas.ConstructError(resp.StatusCode, msg) // as gofish reports an error answer
}

var jsonType = []string{"application/json"}

func (c *bmcClient) GetSettings() schemas.ClientSettings { return schemas.ClientSettings{} }

func (c *bmcClient) Get(uri string) (*http.Response, error) {
	return c.do(http.MethodGet, uri, nil, nil)
}

func (c *bmcClient) GetWithHeaders(uri string, h map[string]string) (*http.Response, error) {
	return c.do(http.MethodGet, uri, nil, h)
}

func (c *bmcClient) Post(uri string, payload any) (*http.Response, error) {
	return c.do(http.MethodPost, uri, payload, nil)
}

func (c *bmcClient) PostWithHeaders(uri string, payload any, h map[string]string) (*http.Response, error) {
	return c.do(http.MethodPost, uri, payload, h)
}

func (c *bmcClient) PostMultipart(string, map[string]io.Reader) (*http.Response, error) {
	return nil, errUnsupported
}

func (c *bmcClient) PostMultipartWithHeaders(string, map[string]io.Reader, map[string]string) (*http.Response, error) {
	return nil, errUnsupported
}

func (c *bmcClient) Patch(uri string, payload any) (*http.Response, error) {
	return c.do(http.MethodPatch, uri, payload, nil)
}

func (c *bmcClient) PatchWithHeaders(uri string, payload any, h map[string]string) (*http.Response, error) {
	return c.do(http.MethodPatch, uri, payload, h)
}

func (c *bmcClient) Put(uri string, payload any) (*http.Response, error) {
	return c.do(http.MethodPut, uri, payload, nil)
}

func (c *bmcClient) PutWithHeaders(uri string, payload any, h map[string]string) (*http.Response, error) {
	return c.do(http.MethodPut, uri, payload, h)
}

func (c *bmcClient) Delete(uri string) (*http.Response, error) {
	return c.do(http.MethodDelete, uri, nil, nil)
}

func (c *bmcClient) DeleteWithHeaders(uri string, h map[string]string) (*http.Response, error) {
	return c.do(http.MethodDelete, uri, nil, h)
}
