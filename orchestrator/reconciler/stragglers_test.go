package reconciler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/orchestrator/power"
)

// stuckPower is a PowerControl whose calls for the nodes in stuck block until release
// is closed and then fail; every other call answers at once.
type stuckPower struct {
	stuck   map[string]bool
	release chan struct{}
}

var errStuck = errors.New("BMC unreachable: no answer within 10s")

func (p stuckPower) PowerStates(_ context.Context, ids []string) map[string]power.PowerReading {
	out := map[string]power.PowerReading{}
	for _, id := range ids {
		if p.stuck[id] {
			<-p.release
			out[id] = power.PowerReading{Err: errStuck}
		} else {
			out[id] = power.PowerReading{Power: power.PowerOn}
		}
	}
	return out
}

func (p stuckPower) Reset(_ context.Context, ids []string, _ power.ResetKind) map[string]error {
	out := map[string]error{}
	for _, id := range ids {
		if p.stuck[id] {
			<-p.release
			out[id] = errStuck
		}
	}
	return out
}

func TestAwaitEachLeavesLateCallsBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := stuckPower{stuck: map[string]bool{"b": true, "d": true}, release: make(chan struct{})}
		var bg sync.WaitGroup
		late := make(chan map[string]power.PowerReading, 2)
		start := time.Now()
		got := awaitEach([]string{"a", "b", "c", "d"}, time.Second, &bg,
			func(id string) power.PowerReading { return p.PowerStates(context.Background(), []string{id})[id] },
			func(group map[string]power.PowerReading) { late <- group })
		assert.Equal(t, time.Second, time.Since(start), "waited exactly the patience")
		assert.Equal(t, map[string]power.PowerReading{"a": {Power: power.PowerOn}, "c": {Power: power.PowerOn}}, got)
		time.Sleep(time.Minute)
		assert.Empty(t, late, "late is called when the calls end, not before")
		close(p.release)
		bg.Wait()
		assert.Equal(t, map[string]power.PowerReading{"b": {Err: errStuck}, "d": {Err: errStuck}}, <-late,
			"results arriving within one patience are handed over together")
		assert.Empty(t, late)
	})
}

func TestAwaitEachReturnsAsSoonAsAllAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bg sync.WaitGroup
		start := time.Now()
		got := awaitEach([]string{"a", "b"}, time.Hour, &bg, func(id string) int { return len(id) },
			func(map[string]int) { t.Error("no call is late") })
		assert.Zero(t, time.Since(start))
		assert.Equal(t, map[string]int{"a": 1, "b": 1}, got)
	})
}

func TestPatientResetsRecordsLateFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := stuckPower{stuck: map[string]bool{"hung": true}, release: make(chan struct{})}
		var bg sync.WaitGroup
		var kinds []power.ResetKind
		var failed map[string]error
		pr := patientResets{PowerControl: p, patience: time.Second, background: &bg,
			failedLate: func(_ context.Context, kind power.ResetKind, late map[string]error) {
				kinds, failed = append(kinds, kind), late
			}}
		start := time.Now()
		assert.Empty(t, pr.Reset(context.Background(), []string{"ok", "hung"}, power.ResetForceOff), "a reset still running counts as under way")
		assert.Equal(t, time.Second, time.Since(start))
		close(p.release)
		bg.Wait()
		assert.Equal(t, []power.ResetKind{power.ResetForceOff}, kinds)
		assert.Equal(t, map[string]error{"hung": errStuck}, failed)
		assert.Equal(t, ForcefulOffAction, actionOf(power.ResetForceOff))
	})
}
