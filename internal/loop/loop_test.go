package loop

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffDoublesPerKeyUpToMax(t *testing.T) {
	b := NewBackoff(100*time.Millisecond, time.Second)
	var got []time.Duration
	for range 6 {
		got = append(got, b.Failed("a"))
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}, got)
	assert.Equal(t, 100*time.Millisecond, b.Failed("b"), "keys back off apart")
	b.Forget("a")
	assert.Equal(t, 0, b.Failures("a"))
	assert.Equal(t, 100*time.Millisecond, b.Failed("a"), "a success starts over")
}

// Every runs at once, after each interval and on each wake; a panicking pass does not
// end the loop.
func TestEveryIntervalWakeAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		wake := make(chan struct{}, 1)
		var passes atomic.Int32
		done := make(chan struct{})
		go func() {
			defer close(done)
			Every(ctx, slog.New(slog.DiscardHandler), "test", func() time.Duration { return time.Minute }, wake, func(context.Context) {
				if passes.Add(1) == 2 {
					panic("boom")
				}
			})
		}()
		synctest.Wait()
		require.EqualValues(t, 1, passes.Load(), "at once")
		wake <- struct{}{}
		synctest.Wait()
		require.EqualValues(t, 2, passes.Load(), "on wake (and it panicked)")
		time.Sleep(59 * time.Second)
		synctest.Wait()
		require.EqualValues(t, 2, passes.Load())
		time.Sleep(time.Second)
		synctest.Wait()
		require.EqualValues(t, 3, passes.Load(), "after the interval, despite the panic")
		cancel()
		<-done
	})
}
