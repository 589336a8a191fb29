package reconciler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
)

// ReadTimeouts holds the *_read_timeout options as the clients of BSS, CFS, HSM, IMS and
// PCS use them: how long to wait for a response before giving up. Set updates them at run
// time (the reconciler does at every pass); Transport applies them. The zero value waits
// for the defaults (20 s).
type ReadTimeouts struct {
	bss, cfs, hsm, ims, pcs atomic.Int64 // nanoseconds; 0 means the default
}

// The services with a read-timeout option.
const (
	ServiceBSS = "bss"
	ServiceCFS = "cfs"
	ServiceHSM = "hsm"
	ServiceIMS = "ims"
	ServicePCS = "pcs"
)

// Set takes the timeouts from the options.
func (t *ReadTimeouts) Set(o bos.Options) {
	sec := func(v *atomic.Int64, s int) { v.Store(int64(time.Duration(s) * time.Second)) }
	sec(&t.bss, o.BSSReadTimeout)
	sec(&t.cfs, o.CFSReadTimeout)
	sec(&t.hsm, o.HSMReadTimeout)
	sec(&t.ims, o.IMSReadTimeout)
	sec(&t.pcs, o.PCSReadTimeout)
}

func (t *ReadTimeouts) of(service string) time.Duration {
	v := map[string]*atomic.Int64{ServiceBSS: &t.bss, ServiceCFS: &t.cfs, ServiceHSM: &t.hsm, ServiceIMS: &t.ims, ServicePCS: &t.pcs}[service]
	if v == nil {
		panic(fmt.Sprintf("reconciler.ReadTimeouts: unknown service %q", service))
	}
	if d := time.Duration(v.Load()); d > 0 {
		return d
	}
	return time.Duration(bos.DefaultOptions().BSSReadTimeout) * time.Second
}

// Transport wraps base (nil: http.DefaultTransport) so that a request to service fails
// when its response has not begun within the service's current read timeout. The body,
// once the response has begun, is not limited.
func (t *ReadTimeouts) Transport(service string, base http.RoundTripper) http.RoundTripper {
	t.of(service) // an unknown service is a wiring bug: fail at start
	if base == nil {
		base = http.DefaultTransport
	}
	return readTimeoutTransport{t: t, service: service, base: base}
}

type readTimeoutTransport struct {
	t       *ReadTimeouts
	service string
	base    http.RoundTripper
}

func (rt readTimeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	d := rt.t.of(rt.service)
	timer := time.AfterFunc(d, func() {
		cancel(fmt.Errorf("no response from %s within its read timeout (%s_read_timeout %s)", rt.service, rt.service, d))
	})
	resp, err := rt.base.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && req.Context().Err() == nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelOnClose releases the request's context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
