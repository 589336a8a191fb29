package power

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// bmcTransport is the one HTTP transport every BMC client of a driver shares, so BOS's
// connections to BMCs (each a file descriptor, two goroutines and buffers) are bounded by
// maxConns whatever the number of BMCs: a dial waits for a slot, and a slot is given back
// when its connection closes. At most maxConns/2 connections stay idle for reuse (the
// transport closes the least recently used beyond that), so once the calls in flight
// end, a slot is always free and a waiting dial goes on.
func bmcTransport(d *slotDialer) *http.Transport {
	maxConns := cap(d.slots)
	return &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // BMCs carry self-signed certificates
		DialContext:     d.DialContext,
		MaxIdleConns:    max(1, maxConns/2), MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: d.timeout,
	}
}

// slotDialer dials with at most cap(slots) connections open at once, and counts them.
type slotDialer struct {
	slots   chan struct{}
	timeout time.Duration
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	opened  atomic.Uint64
}

func newSlotDialer(maxConns int, timeout time.Duration, dial func(ctx context.Context, network, address string) (net.Conn, error)) *slotDialer {
	if dial == nil {
		// No TCP keep-alive probes: a BMC connection lives for a few requests and is
		// closed after IdleConnTimeout at most, and turning them on costs a dial four
		// setsockopt calls (a dial per BMC per boot, thousands).
		dial = (&net.Dialer{Timeout: timeout, KeepAlive: -1}).DialContext
	}
	return &slotDialer{slots: make(chan struct{}, maxConns), timeout: timeout, dial: dial}
}

func (d *slotDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c, err := d.dial(ctx, network, address)
	if err != nil {
		<-d.slots
		return nil, err
	}
	d.opened.Add(1)
	return &slotConn{Conn: c, slots: d.slots}, nil
}

// slotConn gives its slot back when closed (once, however often Close is called).
type slotConn struct {
	net.Conn
	slots    chan struct{}
	released atomic.Bool
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	if c.released.CompareAndSwap(false, true) {
		<-c.slots
	}
	return err
}
