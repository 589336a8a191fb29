// Package memnet is an in-memory network: listeners keyed by "host:port" and a dialer that
// reaches them through net.Pipe. The whole stack (every BMC address, every service, BOS and
// its clients) can run on one, which is what lets the end-to-end tests run inside a
// testing/synctest bubble: a bubble's fake clock advances only when every goroutine in it
// is blocked on something of the bubble's own, and a goroutine waiting on a real socket
// is not. On memnet, a test's timeouts pass when the stack is idle, never because the
// machine was busy.
package memnet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Network holds the listeners. The zero value is not usable; call New.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*listener
	nextPort  int
}

// New returns an empty network; ports it assigns for ":0" start at 20000.
func New() *Network {
	return &Network{listeners: map[string]*listener{}, nextPort: 20000}
}

// Listen binds address ("host:port"; port 0 picks a free one). The network argument is
// accepted for symmetry with net.Listen and must be a TCP one.
func (n *Network) Listen(network, address string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if port == "0" || port == "" {
		for {
			n.nextPort++
			address = net.JoinHostPort(host, strconv.Itoa(n.nextPort))
			if _, taken := n.listeners[address]; !taken {
				break
			}
		}
	}
	if _, taken := n.listeners[address]; taken {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr(address), Err: syscall.EADDRINUSE}
	}
	l := &listener{net: n, addr: addr(address), conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[address] = l
	return l, nil
}

// DialContext connects to a listener of this network; an address nobody listens on is
// refused at once, as loopback TCP would be.
func (n *Network) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[address]
	n.mu.Unlock()
	refused := &net.OpError{Op: "dial", Net: network, Addr: addr(address), Err: syscall.ECONNREFUSED}
	if l == nil {
		return nil, refused
	}
	client, server := newPipe()
	local := addr(fmt.Sprintf("%s:%d", "127.0.0.1", n.ephemeralPort()))
	c := &conn{Conn: client, local: local, remote: l.addr}
	s := &conn{Conn: server, local: l.addr, remote: local}
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		return nil, refused
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: network, Addr: addr(address), Err: ctx.Err()}
	}
}

// ephemeralPort numbers client ends, for logs that print the remote address.
func (n *Network) ephemeralPort() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextPort++
	return n.nextPort
}

// HTTPClient is an HTTP/1.1 client on this network with the given overall timeout (0:
// none).
func (n *Network) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: n.Transport()}
}

// Transport is an HTTP/1.1 transport on this network.
func (n *Network) Transport() *http.Transport {
	return &http.Transport{DialContext: n.DialContext, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
}

type listener struct {
	net   *Network
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
}

func (l *listener) Close() error {
	closed := false
	l.once.Do(func() {
		closed = true
		close(l.done)
		l.net.mu.Lock()
		if l.net.listeners[l.addr.String()] == l {
			delete(l.net.listeners, l.addr.String())
		}
		l.net.mu.Unlock()
	})
	if !closed {
		return net.ErrClosed
	}
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }

// conn is one end of a pipe with the addresses TCP would give it (a BMC tells which of
// its addresses was dialled by the local address).
type conn struct {
	net.Conn
	local, remote net.Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// addr gives the address as TCP would: a *net.TCPAddr for an IP host (code that asks a
// connection which port or IP it is on works unchanged), else a named address.
func addr(hostPort string) net.Addr {
	if ap, err := netip.ParseAddrPort(hostPort); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return namedAddr(hostPort)
}

type namedAddr string

func (a namedAddr) Network() string { return "tcp" }
func (a namedAddr) String() string  { return string(a) }
