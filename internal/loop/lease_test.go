package loop

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lease is a renewable right: valid until end, by the bubble's clock.
type lease struct {
	mu  sync.Mutex
	end time.Time
}

func (l *lease) renew(d time.Duration) { l.mu.Lock(); l.end = time.Now().Add(d); l.mu.Unlock() }

func (l *lease) until() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Now().Before(l.end) {
		return l.end
	}
	return time.Time{}
}

// The context lives while the lease is renewed in time and ends the moment it runs out.
func TestWhileHeldEndsWithTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lease{}
		l.renew(3 * time.Second)
		ctx, cancel := WhileHeld(t.Context(), l.until)
		defer cancel()
		for range 5 {
			time.Sleep(time.Second)
			l.renew(3 * time.Second)
		}
		synctest.Wait()
		require.NoError(t, ctx.Err(), "renewed in time")
		end := l.until()
		<-ctx.Done()
		assert.Equal(t, end, time.Now(), "ended with the lease, to the nanosecond")
	})
}

// No lease: ended from the start. The parent's end or cancel ends it too, and leaves no
// goroutine behind (the bubble would not end).
func TestWhileHeldWithoutALeaseOrCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := WhileHeld(t.Context(), func() time.Time { return time.Time{} })
		defer cancel()
		assert.Error(t, ctx.Err(), "no lease held")

		l := &lease{}
		l.renew(time.Hour)
		parent, stop := context.WithCancel(t.Context())
		ctx, cancel = WhileHeld(parent, l.until)
		defer cancel()
		stop()
		synctest.Wait()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)

		ctx, cancel = WhileHeld(t.Context(), l.until)
		cancel()
		synctest.Wait()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
	})
}
