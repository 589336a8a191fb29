// Package testwait is how tests outside a synctest bubble wait on real time. A test on a
// busy machine (CI: two cores, load 8 and more) may run many times slower than on an idle
// one, so no wait here is sized for an idle machine: each polls or blocks until its
// condition holds and fails only after Backstop, a generous bound that exists to end a
// hung test, not to measure speed. On failure it says what was awaited and, when the
// caller can tell, what is still pending.
//
// Prefer a fake clock (testing/synctest with internal/memnet) where a test can have one;
// use this package where it cannot.
package testwait

import (
	"context"
	"os"
	"testing"
	"time"
)

// Backstop bounds every wait: two minutes, or BOS_TEST_WAIT (a Go duration) when set.
var Backstop = backstop()

func backstop() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BOS_TEST_WAIT")); err == nil && d > 0 {
		return d
	}
	return 2 * time.Minute
}

// Until polls cond until it holds. After Backstop it fails the test with what and, if
// pending is not nil, pending's account of what is still not done.
func Until(tb testing.TB, what string, cond func() bool, pending func() string) {
	tb.Helper()
	deadline := time.Now().Add(Backstop)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			fail(tb, what, pending)
			return
		}
		time.Sleep(wait) // polling: the deadline is only a backstop
	}
}

// Receive waits for a value on ch and returns it, failing the test like Until after
// Backstop.
func Receive[T any](tb testing.TB, ch <-chan T, what string, pending func() string) T {
	tb.Helper()
	timer := time.NewTimer(Backstop)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		fail(tb, what, pending)
		var zero T
		return zero
	}
}

// Context is a context for a test's requests, done after Backstop or when the test ends.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Backstop)
	tb.Cleanup(cancel)
	return ctx
}

func fail(tb testing.TB, what string, pending func() string) {
	tb.Helper()
	if pending != nil {
		tb.Fatalf("%s: not done after %s; pending: %s", what, Backstop, pending())
	}
	tb.Fatalf("%s: not done after %s", what, Backstop)
}
