package power

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// bmcTransport is the one HTTP transport every BMC client of a driver shares, so BOS's
// connections to BMCs (each a file descriptor, two goroutines and buffers) are bounded by
// maxConns whatever the number of BMCs: a dial waits for a slot, and a slot is given back
// when its connection closes. Which idle connections close is the dialer's choice, not the
// transport's (no MaxIdleConns): Go's transport closes the oldest idle connection beyond
// MaxIdleConns at once, and one its read loop has just put back idle, before handing
// its answer to the caller, fails that call ("putIdleConn: too many idle connections")
// though the BMC acted on it. The dialer closes only connections whose calls have ended
// (idleTracker).
func bmcTransport(d *slotDialer) *idleTracker {
	return &idleTracker{d: d, next: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // BMCs carry self-signed certificates
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: d.timeout,
	}}
}

// slotDialer dials with at most cap(slots) connections open at once, and counts them. It
// keeps at most half of them idle (closing the one idle longest beyond that), and a dial
// that finds no free slot closes the connection idle longest, or waits for one to close or
// for a call to end. So once the calls in flight end, a waiting dial goes on.
type slotDialer struct {
	slots   chan struct{}
	timeout time.Duration
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	opened  atomic.Uint64

	mu      sync.Mutex
	idle    idleList // connections with no call on them, the one idle longest first
	waiting int      // dials waiting for a slot
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
	if err := d.takeSlot(ctx); err != nil {
		return nil, err
	}
	c, err := d.dial(ctx, network, address)
	if err != nil {
		<-d.slots
		return nil, err
	}
	d.opened.Add(1)
	return &slotConn{Conn: c, d: d}, nil
}

// takeSlot takes a free slot, else frees one by closing the connection idle longest, else
// waits for a connection to close (a call ending while a dial waits closes its connection).
func (d *slotDialer) takeSlot(ctx context.Context) error {
	for {
		select {
		case d.slots <- struct{}{}:
			return nil
		default:
		}
		d.mu.Lock()
		if oldest := d.idle.head; oldest != nil {
			d.closeLocked(oldest)
			d.mu.Unlock()
			<-d.slots
			continue // another dial may take the slot first: try again
		}
		d.waiting++
		d.mu.Unlock()
		var err error
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
		}
		d.mu.Lock()
		d.waiting--
		d.mu.Unlock()
		return err
	}
}

// closeLocked closes c (not closed yet), under d.mu; its caller gives its slot back. The
// transport may be handing c to a request meanwhile (from its own idle list): the
// request's acquire waits for d.mu, so its write comes after the close and fails before
// a byte went out, which the transport retries on another connection.
func (d *slotDialer) closeLocked(c *slotConn) {
	c.closed = true
	d.idle.remove(c)
	_ = c.Conn.Close()
}

// acquire notes a call on c (a connection the transport took for a request).
func (d *slotDialer) acquire(c *slotConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c.calls++
	d.idle.remove(c)
}

// release notes the end of a call on c: with no other call on it, c is idle, or closed
// if a dial waits for a slot or half the slots are idle already (then the one idle
// longest closes).
func (d *slotDialer) release(c *slotConn) {
	d.mu.Lock()
	c.calls--
	var closing *slotConn
	switch {
	case c.calls > 0 || c.closed:
	case d.waiting > 0:
		closing = c
	default:
		d.idle.pushBack(c)
		if d.idle.n > max(1, cap(d.slots)/2) {
			closing = d.idle.head
		}
	}
	if closing != nil {
		d.closeLocked(closing)
	}
	d.mu.Unlock()
	if closing != nil {
		<-d.slots
	}
}

// slotConn gives its slot back when closed (once, however often Close is called).
type slotConn struct {
	net.Conn
	d *slotDialer

	// under d.mu
	calls      int
	closed     bool
	prev, next *slotConn // in d.idle
	listed     bool
}

func (c *slotConn) Close() error {
	c.d.mu.Lock()
	if c.closed {
		c.d.mu.Unlock()
		return nil
	}
	c.closed = true
	c.d.idle.remove(c)
	c.d.mu.Unlock()
	err := c.Conn.Close()
	<-c.d.slots
	return err
}

// idleList is a doubly linked list of idle connections, oldest first.
type idleList struct {
	head, tail *slotConn
	n          int
}

func (l *idleList) pushBack(c *slotConn) {
	if c.listed {
		return
	}
	c.prev, c.next, c.listed = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *idleList) remove(c *slotConn) {
	if !c.listed {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
	l.n--
}

func (l *idleList) popFront() *slotConn {
	c := l.head
	if c != nil {
		l.remove(c)
	}
	return c
}

// idleTracker tells the dialer which connections carry a call: from the moment the
// transport gives a request its connection (httptrace's GotConn) until the caller has
// the answer and its body is read to its end or closed, or the call failed.
type idleTracker struct {
	d    *slotDialer
	next http.RoundTripper
}

func (t *idleTracker) RoundTrip(req *http.Request) (*http.Response, error) {
	call := &trackedCall{d: t.d}
	trace := &httptrace.ClientTrace{GotConn: call.gotConn}
	resp, err := t.next.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		call.end()
		return resp, err
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body, call: call}
	return resp, nil
}

// CloseIdleConnections closes the transport's idle connections (http.Client's).
func (t *idleTracker) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// trackedCall is one request's hold on the connections it was given (more than one when
// the transport retries it on another).
type trackedCall struct {
	d     *slotDialer
	mu    sync.Mutex
	conns []*slotConn
	ended bool
}

func (c *trackedCall) gotConn(info httptrace.GotConnInfo) {
	conn := info.Conn
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok { // TLS
		conn = tc.NetConn()
	}
	sc, ok := conn.(*slotConn)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.conns = append(c.conns, sc)
	c.d.acquire(sc)
}

func (c *trackedCall) end() {
	c.mu.Lock()
	conns := c.conns
	c.conns, c.ended = nil, true
	c.mu.Unlock()
	for _, sc := range conns {
		c.d.release(sc)
	}
}

// trackedBody ends its call when read to its end or closed.
type trackedBody struct {
	io.ReadCloser
	call *trackedCall
	once sync.Once
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.call.end)
	}
	return n, err
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.call.end)
	return err
}
