package simulator

import (
	"net"
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
