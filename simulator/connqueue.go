package simulator

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// connQueue is a net.Listener whose connections were accepted elsewhere (each BMC's
// accept loop), so one http.Server serves the BMCs of every address.
type connQueue struct {
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{})}
}

// put hands c to the server, waiting for it to take it; false once the queue is closed.
func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.closed.Do(func() { close(q.done) })
	return nil
}

// Addr is no one address: the queue holds connections to every BMC's.
func (q *connQueue) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero} }

// resetAfterPeerClose wraps a BMC's accepted TCP connection so that, once its client
// has closed it (a read saw EOF), closing it sends a reset instead of the FIN
// handshake. The client reads nothing more, data already sent still reaches it, and the
// client's end skips TIME_WAIT. BOS closes each BMC connection after the boot that
// opened it, a connection per BMC per boot: the FIN, its acknowledgement and the
// TIME_WAIT were loopback work in the kernel for nobody (5% of a simulator's CPU at
// 10,000 nodes). A connection the server closes first closes as before.
func resetAfterPeerClose(c net.Conn) net.Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		return &peerClosedConn{TCPConn: tc}
	}
	return c
}

type peerClosedConn struct {
	*net.TCPConn
	eof atomic.Bool
}

func (c *peerClosedConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if err == io.EOF {
		c.eof.Store(true)
	}
	return n, err
}

func (c *peerClosedConn) Close() error {
	if c.eof.Load() {
		_ = c.SetLinger(0) // a plain close is as correct
	}
	return c.TCPConn.Close()
}
