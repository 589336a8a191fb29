package simulator

import (
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A connection put is the next one accepted; once closed, Accept says net.ErrClosed and
// put refuses (the accept loop then closes the connection itself).
func TestConnQueue(t *testing.T) {
	q := newConnQueue()
	a, b := net.Pipe()
	defer b.Close()
	go func() { assert.True(t, q.put(a)) }()
	got, err := q.Accept()
	require.NoError(t, err)
	assert.Same(t, a, got)

	require.NoError(t, q.Close())
	require.NoError(t, q.Close(), "twice is fine")
	_, err = q.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
	assert.False(t, q.put(a))
}

// tcpPair is a connected loopback TCP client and the server's end of it.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s := <-accepted
	require.NotNil(t, s)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// Once the client has closed its end, the server's close resets the connection: what
// the server wrote still arrives, then the client reads a reset, not the FIN's EOF.
func TestCloseAfterPeerCloseResets(t *testing.T) {
	client, server := tcpPair(t)
	s := resetAfterPeerClose(server)
	require.NoError(t, client.CloseWrite())
	got, err := io.ReadAll(s)
	require.NoError(t, err, "the client's close reads as EOF")
	assert.Empty(t, got)
	_, err = s.Write([]byte("bye"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	buf := make([]byte, 3)
	_, err = io.ReadFull(client, buf)
	require.NoError(t, err, "data sent before the reset arrives")
	assert.Equal(t, "bye", string(buf))
	_, err = client.Read(buf)
	assert.ErrorIs(t, err, syscall.ECONNRESET)
}

// A connection the server closes first closes with a FIN: the client reads EOF.
func TestCloseBeforePeerCloseIsOrderly(t *testing.T) {
	client, server := tcpPair(t)
	s := resetAfterPeerClose(server)
	_, err := s.Write([]byte("bye"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	got, err := io.ReadAll(client)
	require.NoError(t, err, "EOF, not a reset")
	assert.Equal(t, "bye", string(got))
}
