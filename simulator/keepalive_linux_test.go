//go:build linux

package simulator

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A BMC's accepted connections carry no TCP keep-alive: the server's idle timeout ends an
// idle connection, and each keep-alive option would cost a system call per connection.
func TestAcceptedConnectionsNoKeepAlive(t *testing.T) {
	cfg := Config{Topology: testTopology(t)}
	require.NoError(t, cfg.validate())
	ln, err := cfg.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	c, err := ln.Accept()
	require.NoError(t, err)
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var on int
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	}))
	require.NoError(t, serr)
	require.Zero(t, on, "SO_KEEPALIVE on an accepted connection")
}
