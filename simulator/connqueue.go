package simulator

import (
	"net"
	"sync"
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
