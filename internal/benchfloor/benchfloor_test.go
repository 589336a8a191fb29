package benchfloor

import (
	"context"
	"io"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkFloor is the floor itself as a Go benchmark: ns/op is one request's wall time.
func BenchmarkFloor(b *testing.B) {
	p, err := Start()
	require.NoError(b, err)
	defer p.Close()
	ctx := context.Background()
	require.NoError(b, p.Do(ctx)) // the connection, before the clock
	cpu0, err := processCPU()
	require.NoError(b, err)
	n := 0
	for b.Loop() {
		if err := p.Do(ctx); err != nil {
			b.Fatal(err)
		}
		n++
	}
	cpu1, err := processCPU()
	require.NoError(b, err)
	b.ReportMetric(micros(cpu1-cpu0)/float64(n), "CPU-µs/req")
}

// Every request reaches the server over one kept-alive connection, and Measure counts
// what it sent.
func TestMeasureCountsServedRequests(t *testing.T) {
	p, err := Start()
	require.NoError(t, err)
	defer p.Close()
	for range 50 {
		require.NoError(t, p.Do(context.Background()))
	}
	assert.Equal(t, int64(50), p.Served())
	assert.Equal(t, int64(1), p.conns.Load(), "one kept-alive connection")

	f, err := Measure(context.Background(), 0, 300)
	require.NoError(t, err)
	assert.Equal(t, 300/Windows, f.Requests, "the fastest of Windows windows, each its share")
	assert.Positive(t, f.Wall)
	assert.Positive(t, f.PerRequest())
}

func TestBootAndRatio(t *testing.T) {
	f := Floor{Requests: 1000, Wall: 50 * time.Millisecond, CPU: 80 * time.Millisecond}
	assert.Equal(t, 50*time.Microsecond, f.PerRequest())
	assert.Equal(t, 80*time.Microsecond, f.CPUPerRequest())
	assert.Equal(t, 2*time.Second, f.Boot(10000))            // 4 × 10,000 × 50 µs
	assert.Equal(t, 3200*time.Millisecond, f.BootCPU(10000)) // 4 × 10,000 × 80 µs
	assert.InDelta(t, 3.0, f.Ratio(6*time.Second, 10000), 1e-9)
	assert.Contains(t, f.String(), "50.0 µs/request, 80.0 CPU-µs/request")
	assert.Zero(t, Floor{}.PerRequest(), "no requests: no division by zero")
	pooled := f.Add(Floor{Requests: 1000, Wall: 150 * time.Millisecond, CPU: 80 * time.Millisecond})
	assert.Equal(t, 100*time.Microsecond, pooled.PerRequest())
	assert.Equal(t, 80*time.Microsecond, pooled.CPUPerRequest())
}

// The faster of two measurements is the floor; a measurement of no requests is none.
func TestFaster(t *testing.T) {
	quick := Floor{Requests: 1000, Wall: 40 * time.Millisecond, CPU: 45 * time.Millisecond}
	slowed := Floor{Requests: 3000, Wall: 180 * time.Millisecond, CPU: 150 * time.Millisecond}
	assert.Equal(t, quick, quick.Faster(slowed))
	assert.Equal(t, quick, slowed.Faster(quick))
	assert.Equal(t, quick, Floor{}.Faster(quick))
	assert.Equal(t, quick, quick.Faster(Floor{}))
	assert.Equal(t, Floor{}, Floor{}.Faster(Floor{}))
}

func TestMeasureFailsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Measure(ctx, time.Second, 10)
	assert.Error(t, err)
}

// A request that asks for a connection while the last one's is not yet back in the
// client's idle pool waits for it rather than dialing another: the pool gets the
// connection back only after the body is read, from the transport's read loop, which a
// loaded machine runs late (the floor once saw two connections).
func TestOneConnectionWhenPreviousNotYetIdle(t *testing.T) {
	p, err := Start()
	require.NoError(t, err)
	defer p.Close()
	first, err := p.client.Get(p.url)
	require.NoError(t, err)
	// The first connection stays busy until first's body is read: the second request
	// asks for a connection (GetConn) while none is idle.
	asking := make(chan struct{})
	var dials atomic.Int64
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GetConn:      func(string) { close(asking) },
		ConnectStart: func(string, string) { dials.Add(1) },
	})
	done := make(chan error, 1)
	go func() { done <- p.Do(ctx) }()
	<-asking
	_, err = io.Copy(io.Discard, first.Body)
	require.NoError(t, err)
	require.NoError(t, first.Body.Close())
	require.NoError(t, <-done)
	assert.Zero(t, dials.Load(), "the second request dialed")
	assert.Equal(t, int64(1), p.conns.Load(), "one kept-alive connection")
	assert.Equal(t, int64(2), p.Served())
}
