package power

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gate is a call that runs until released, recording that it started.
type gate struct {
	started, release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan struct{}), release: make(chan struct{})} }

func (g *gate) work(t *turn) { t.call(func() { close(g.started); <-g.release }) }

func (g *gate) hasStarted() bool {
	select {
	case <-g.started:
		return true
	default:
		return false
	}
}

// A call queued behind another to the same address gets its turn, and the slot, as soon
// as that one ends: before a call to another address that waited for a slot earlier.
func TestLanesHandTheTurnAndTheSlotToTheNextCallOfTheAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLanes(1, time.Minute)
		ctx := context.Background()
		var wg sync.WaitGroup
		a1, a2, b := newGate(), newGate(), newGate()

		wg.Add(2)
		l.do(ctx, "a", a1.work, wg.Done)
		l.do(ctx, "a", a2.work, wg.Done) // queued: returns at once, holding no slot
		synctest.Wait()
		require.True(t, a1.hasStarted())
		require.False(t, a2.hasStarted(), "a second call to one address waits for the first")

		wg.Add(1)
		go l.do(ctx, "b", b.work, wg.Done) // waits for the one slot
		synctest.Wait()
		require.False(t, b.hasStarted())

		close(a1.release)
		synctest.Wait()
		assert.True(t, a2.hasStarted(), "a's next call goes on at once")
		assert.False(t, b.hasStarted(), "the slot stayed with a's calls")

		close(a2.release)
		synctest.Wait()
		assert.True(t, b.hasStarted(), "the slot is free once a's calls are done")
		close(b.release)
		wg.Wait()
		assert.Empty(t, l.busy, "no lane left")
		assert.Empty(t, l.sem, "no slot left taken")
	})
}

// A call queued behind a hung one gives up when its context ends, without a turn, and the
// lane goes on for the others.
func TestLanesQueuedCallGivesUpWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLanes(4, time.Minute)
		hung, after := newGate(), newGate()
		var wg sync.WaitGroup
		wg.Add(1)
		l.do(context.Background(), "a", hung.work, wg.Done)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		gaveUp := make(chan *turn, 1)
		l.do(ctx, "a", func(t *turn) { gaveUp <- t }, func() {})
		wg.Add(1)
		l.do(context.Background(), "a", after.work, wg.Done)

		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case tn := <-gaveUp:
			assert.Nil(t, tn, "ran without a turn")
		default:
			t.Fatal("the queued call still waits behind the hung one after its context ended")
		}
		assert.False(t, after.hasStarted())
		close(hung.release)
		synctest.Wait()
		assert.True(t, after.hasStarted(), "the lane goes on past the call that gave up")
		close(after.release)
		wg.Wait()
		assert.Empty(t, l.busy)
		assert.Empty(t, l.sem)
	})
}

// A call that runs past the stall time gives its slot back, so calls to other addresses
// do not wait behind a hung BMC; the next call of its own address then takes a slot anew.
func TestLanesStalledCallGivesItsSlotBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLanes(1, time.Second)
		ctx := context.Background()
		hung, next, other := newGate(), newGate(), newGate()
		var wg sync.WaitGroup
		wg.Add(2)
		l.do(ctx, "a", hung.work, wg.Done)
		l.do(ctx, "a", next.work, wg.Done)
		wg.Add(1)
		go l.do(ctx, "b", other.work, wg.Done)
		synctest.Wait()
		require.False(t, other.hasStarted())

		time.Sleep(time.Second)
		synctest.Wait()
		require.True(t, other.hasStarted(), "the stalled call's slot went to another address")

		close(hung.release)
		synctest.Wait()
		assert.False(t, next.hasStarted(), "a's next call waits for a slot of its own")
		close(other.release)
		synctest.Wait()
		assert.True(t, next.hasStarted())
		close(next.release)
		wg.Wait()
		assert.Empty(t, l.busy)
		assert.Empty(t, l.sem)
	})
}

// A caller whose context has ended while it waits for a slot runs its work at once,
// without a slot, and the calls queued behind it on its address still run.
func TestLanesCallerWithEndedContextDoesNotWaitForASlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLanes(1, time.Minute)
		busy := newGate()
		var wg sync.WaitGroup
		wg.Add(1)
		l.do(context.Background(), "b", busy.work, wg.Done)

		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan bool, 1)
		queued := newGate()
		go func() {
			l.do(ctx, "a", func(t *turn) { ran <- t.held.Load() }, func() {})
		}()
		synctest.Wait()
		wg.Add(1)
		l.do(context.Background(), "a", queued.work, wg.Done)
		cancel()
		synctest.Wait()
		assert.False(t, <-ran, "ran without a slot")
		close(busy.release)
		synctest.Wait()
		assert.True(t, queued.hasStarted(), "the call queued behind it got its turn")
		close(queued.release)
		wg.Wait()
		assert.Empty(t, l.busy)
		assert.Empty(t, l.sem)
	})
}
