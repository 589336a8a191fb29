package testwait

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeTB records a failure instead of ending the test.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	if f.msg == "" {
		f.msg = format
	}
}

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	Until(t, "three polls", func() bool { return n.Add(1) == 3 }, nil)
	if n.Load() != 3 {
		t.Fatalf("polled %d times", n.Load())
	}
}

// On a fake clock, a condition that never holds fails after Backstop with what is pending.
func TestUntilFailsAfterTheBackstopWithWhatIsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTB{TB: t}
		start := time.Now()
		Until(f, "never", func() bool { return false }, func() string { return "node x1 in Booting" })
		if f.msg == "" || time.Since(start) < Backstop {
			t.Fatalf("failed with %q after %s", f.msg, time.Since(start))
		}
		ch := make(chan int)
		f.msg = ""
		if v := Receive(f, ch, "a value", nil); v != 0 || f.msg == "" {
			t.Fatalf("got %d, failure %q", v, f.msg)
		}
	})
}
