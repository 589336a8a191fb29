// Package loop is the one shape of BOS's long-running loops: Every runs a pass now, then
// after each interval or wake-up, until its context ends; Backoff is the per-key
// exponential retry delay (client-go's ItemExponentialFailureRateLimiter: base·2^failures,
// capped); Safely turns a panic in one pass or one key's handling into a logged error, so
// one bad key never stops the process.
package loop

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Every runs pass at once and then again after interval() (read before each wait, so a
// changed option takes effect at the next wait) or as soon as wake receives, until ctx
// is done. A panic in pass is logged under name and the loop goes on. A nil wake only
// waits out the interval; an interval <= 0 waits one second.
func Every(ctx context.Context, log *slog.Logger, name string, interval func() time.Duration, wake <-chan struct{}, pass func(context.Context)) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		if ctx.Err() != nil {
			return
		}
		_ = Safely(log, name, func() { pass(ctx) })
		d := interval()
		if d <= 0 {
			d = time.Second
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-wake:
			timer.Stop() // Go 1.23+ timers: no stale tick survives Stop or Reset
		case <-timer.C:
		}
	}
}

// Safely runs fn; a panic in it is logged with what it was doing (the key, the loop) and
// its stack, and returned as an error.
func Safely(log *slog.Logger, what string, fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			if log != nil {
				log.Error("recovered from a panic; retrying later", "in", what, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}
	}()
	fn()
	return nil
}

// Backoff counts consecutive failures per key and spaces their retries: the n-th
// failure in a row waits Base·2^(n-1), at most Max. Forget resets a key after a success.
// Safe for concurrent use; the zero value is not (use NewBackoff).
type Backoff struct {
	base, max time.Duration

	mu       sync.Mutex
	failures map[string]int
}

// NewBackoff returns a Backoff starting at base and capped at max.
func NewBackoff(base, max time.Duration) *Backoff {
	return &Backoff{base: base, max: max, failures: map[string]int{}}
}

// Failed counts one more failure of key and returns how long to wait before retrying it.
func (b *Backoff) Failed(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.failures[key] + 1
	b.failures[key] = n
	return Delay(b.base, b.max, n)
}

// Delay is the wait after the n-th failure in a row (n >= 1): base·2^(n-1), at most max.
func Delay(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Failures is how many times in a row key failed.
func (b *Backoff) Failures(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures[key]
}

// Forget clears the failures of keys (after a success).
func (b *Backoff) Forget(keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.failures, k)
	}
}
