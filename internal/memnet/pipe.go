package memnet

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Pipe returns the two ends of a buffered in-memory connection (see newPipe).
func Pipe() (net.Conn, net.Conn) { return newPipe() }

// newPipe returns the two ends of a buffered in-memory connection. Unlike net.Pipe, a
// write never waits for the reader, as on TCP with its socket buffers: a Redis client
// writes a whole pipeline before it reads a reply, and a server answers each command as
// it reads it, so with unbuffered pipes both would wait on each other forever. Every wait
// is on a channel, which a synctest bubble counts as durably blocked.
func newPipe() (a, b *pipeConn) {
	ab, ba := newQueue(), newQueue()
	a = &pipeConn{rd: ba, wr: ab, done: make(chan struct{})}
	b = &pipeConn{rd: ab, wr: ba, done: make(chan struct{})}
	a.readDeadline.init()
	b.readDeadline.init()
	return a, b
}

// queue is one direction: the bytes written and not yet read.
type queue struct {
	mu       sync.Mutex
	buf      []byte
	eof      bool          // the writer closed: reads drain buf, then io.EOF
	gone     bool          // the reader closed: writes fail
	readable chan struct{} // 1-buffered: poked when buf grows or eof is set
}

func newQueue() *queue { return &queue{readable: make(chan struct{}, 1)} }

func (q *queue) poke() {
	select {
	case q.readable <- struct{}{}:
	default:
	}
}

type pipeConn struct {
	rd, wr       *queue
	once         sync.Once
	done         chan struct{} // closed by Close
	readDeadline deadline
}

func (c *pipeConn) Read(b []byte) (int, error) {
	for {
		select {
		case <-c.done:
			return 0, net.ErrClosed
		default:
		}
		c.rd.mu.Lock()
		if len(c.rd.buf) > 0 {
			n := copy(b, c.rd.buf)
			c.rd.buf = c.rd.buf[n:]
			if len(c.rd.buf) == 0 {
				c.rd.buf = nil
			}
			c.rd.mu.Unlock()
			return n, nil
		}
		eof := c.rd.eof
		c.rd.mu.Unlock()
		if eof {
			return 0, io.EOF
		}
		if len(b) == 0 {
			return 0, nil
		}
		expired := c.readDeadline.wait()
		select {
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		default:
		}
		select {
		case <-c.rd.readable:
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-c.done:
			return 0, net.ErrClosed
		}
	}
}

// Write queues b for the peer; it never waits (write deadlines therefore never expire).
func (c *pipeConn) Write(b []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	c.wr.mu.Lock()
	defer c.wr.mu.Unlock()
	if c.wr.gone {
		return 0, io.ErrClosedPipe
	}
	c.wr.buf = append(c.wr.buf, b...)
	c.wr.poke()
	return len(b), nil
}

// Close ends both directions: the peer reads what was written, then io.EOF, and its
// writes fail.
func (c *pipeConn) Close() error {
	closed := false
	c.once.Do(func() {
		closed = true
		close(c.done)
		c.wr.mu.Lock()
		c.wr.eof = true
		c.wr.poke()
		c.wr.mu.Unlock()
		c.rd.mu.Lock()
		c.rd.gone, c.rd.buf = true, nil
		c.rd.mu.Unlock()
		c.readDeadline.set(time.Time{})
	})
	if !closed {
		return net.ErrClosed
	}
	return nil
}

func (c *pipeConn) SetDeadline(t time.Time) error     { return c.SetReadDeadline(t) }
func (c *pipeConn) SetReadDeadline(t time.Time) error { c.readDeadline.set(t); return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error  { return nil }
func (c *pipeConn) LocalAddr() net.Addr               { return namedAddr("pipe") }
func (c *pipeConn) RemoteAddr() net.Addr              { return namedAddr("pipe") }
func (c *pipeConn) String() string                    { return "memnet pipe" }

// deadline is a channel closed when the deadline passes (net.Pipe's design).
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	expired chan struct{}
}

func (d *deadline) init() { d.expired = make(chan struct{}) }

// set arms the deadline at t; the zero time disarms it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.expired // the timer fired: wait until it closed the channel
	}
	d.timer = nil
	select {
	case <-d.expired:
		d.expired = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		ch := d.expired
		d.timer = time.AfterFunc(dur, func() { close(ch) })
		return
	}
	close(d.expired)
}

// wait is the channel that closes when the current deadline passes.
func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expired
}
