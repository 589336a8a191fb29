package loop

import (
	"context"
	"time"
)

// WhileHeld returns a context that ends with ctx or once the time until returns has
// passed: until says how long a renewable right (a lease) lasts, zero once it has ended,
// and is asked again each time that moment comes, so a renewal moves the end on. It runs
// by this process's own clock, so work under it stops when the right ends even if the
// process was paused meanwhile and never saw a renewal fail. until must read the clock
// this package's timers run on (time.Now); an end it still calls held but the timers find
// past is asked again a millisecond later, not in a spin. Call cancel when done.
func WhileHeld(ctx context.Context, until func() time.Time) (context.Context, context.CancelFunc) {
	held, cancel := context.WithCancel(ctx)
	end := until()
	if end.IsZero() {
		cancel()
		return held, cancel
	}
	var timer *time.Timer
	check := make(chan struct{}, 1)
	timer = time.AfterFunc(wait(end), func() { check <- struct{}{} })
	go func() {
		defer timer.Stop()
		for {
			select {
			case <-held.Done():
				return
			case <-check:
				end := until()
				if end.IsZero() {
					cancel()
					return
				}
				timer.Reset(wait(end))
			}
		}
	}()
	return held, cancel
}

// wait is the time left until end, at least a millisecond.
func wait(end time.Time) time.Duration { return max(time.Until(end), time.Millisecond) }
