package power

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// bmcTransport is the one HTTP transport every BMC client of a driver shares, so BOS's
// connections to BMCs (each a file descriptor, two goroutines and buffers) are bounded by
// maxConns whatever the number of BMCs: a dial waits for a slot, and a slot is given back
// when its connection closes. At most maxConns/2 connections stay idle for reuse (the
// transport closes the least recently used beyond that), so once the calls in flight
// end, a slot is always free and a waiting dial goes on.
func bmcTransport(maxConns int, timeout time.Duration, dial func(ctx context.Context, network, address string) (net.Conn, error)) *http.Transport {
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	d := &slotDialer{slots: make(chan struct{}, maxConns), dial: dial}
	return &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // BMCs carry self-signed certificates
		DialContext:     d.DialContext,
		MaxIdleConns:    max(1, maxConns/2), MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
}

// slotDialer dials with at most cap(slots) connections open at once.
type slotDialer struct {
	slots chan struct{}
	dial  func(ctx context.Context, network, address string) (net.Conn, error)
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
	return &slotConn{Conn: c, release: sync.OnceFunc(func() { <-d.slots })}, nil
}

// slotConn gives its slot back when closed (once, however often Close is called).
type slotConn struct {
	net.Conn
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
