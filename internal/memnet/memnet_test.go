package memnet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPOverPipesAndAddresses(t *testing.T) {
	n := New()
	ln, err := n.Listen("tcp", "127.1.0.7:0")
	require.NoError(t, err)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.Context().Value(http.LocalAddrContextKey).(net.Addr).String())
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	port := ln.Addr().(*net.TCPAddr).Port
	assert.NotZero(t, port, "a port was assigned")
	resp, err := n.HTTPClient(0).Get("http://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, ln.Addr().String(), string(body), "the server sees the address that was dialled")

	_, err = n.Listen("tcp", ln.Addr().String())
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
	_, err = n.DialContext(context.Background(), "tcp", "127.1.0.8:1")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "nobody listens there")

	require.NoError(t, ln.Close())
	assert.ErrorIs(t, ln.Close(), net.ErrClosed)
	_, err = n.DialContext(context.Background(), "tcp", ln.Addr().String())
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "a closed listener refuses")
}

// In a synctest bubble, a server that answers after an hour of fake time answers at once,
// and a client timeout fires exactly: what the end-to-end tests rely on.
func TestFakeClockAdvancesOverThePipes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		ln, err := n.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ := time.ParseDuration(r.URL.Query().Get("after"))
			select {
			case <-time.After(d):
				_, _ = io.WriteString(w, "ok")
			case <-r.Context().Done(): // the client gave up
			}
		})}
		go func() { _ = srv.Serve(ln) }()
		hc := n.HTTPClient(2 * time.Hour)

		start := time.Now()
		resp, err := hc.Get("http://" + ln.Addr().String() + "/?after=1h")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, time.Hour, time.Since(start), "fake time: exactly the server's delay")

		start = time.Now()
		_, err = hc.Get("http://" + ln.Addr().String() + "/?after=3h")
		var ne net.Error
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "the client's timeout fired: %v", err)
		assert.Equal(t, 2*time.Hour, time.Since(start))

		hc.CloseIdleConnections()
		require.NoError(t, srv.Close())
	})
}

// Both ends write a megabyte before either reads: a Redis client sending a pipeline while
// the server answers each command. Over unbuffered pipes (net.Pipe) this deadlocks.
func TestPipeWritesDoNotWaitForTheReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		payload := make([]byte, 1<<20)
		for _, c := range []net.Conn{a, b} {
			n, err := c.Write(payload)
			require.NoError(t, err)
			require.Equal(t, len(payload), n)
		}
		got, err := io.ReadAll(io.LimitReader(b, int64(len(payload))))
		require.NoError(t, err)
		assert.Len(t, got, len(payload))

		require.NoError(t, a.SetReadDeadline(time.Now().Add(time.Minute)))
		start := time.Now()
		got, err = io.ReadAll(io.LimitReader(a, int64(len(payload))))
		require.NoError(t, err, "what b wrote before is there")
		assert.Len(t, got, len(payload))
		_, err = a.Read(make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing more: the deadline passes")
		assert.Equal(t, time.Minute, time.Since(start))

		_, _ = b.Write([]byte("bye"))
		require.NoError(t, b.Close())
		require.NoError(t, a.SetReadDeadline(time.Time{}))
		got, err = io.ReadAll(a)
		require.NoError(t, err, "EOF after the peer's last bytes")
		assert.Equal(t, "bye", string(got))
		_, err = a.Write([]byte("x"))
		assert.ErrorIs(t, err, io.ErrClosedPipe, "the peer is gone")
		require.NoError(t, a.Close())
		assert.ErrorIs(t, a.Close(), net.ErrClosed)
	})
}
