package reconciler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
)

// A BOS process is killed at a point between recording a power call and hearing back from
// the BMC; a new process (another Instance) takes over on the same store. The node must
// end as it would without the crash, powered once, never forced off, and soon: within a
// few looks of the crash-free run, not after max_power_on_wait_time (120 s) or
// max_power_off_wait_time (300 s, then forced). Each look is one second of the world's
// clock. Before last_action.in_flight, every "before" point of a power call waited out
// the full timeout (and a lost graceful off was then forced).
func TestCrashBetweenRecordAndSend(t *testing.T) {
	type op struct {
		name   string
		op     string
		target sessions.Target
		on     bool // the node's power before the session
		booted bool // a node that ends booted (not a shutdown)
	}
	boot := op{"boot", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg"}, false, true}
	reboot := op{"reboot", bos.OpReboot, sessions.Target{BootArtifacts: image, Configuration: "cfg"}, true, true}
	shutdown := op{"shutdown", bos.OpShutdown, sessions.Target{}, true, false}
	points := []struct {
		point string
		ops   []op
	}{
		{"bss", []op{boot, reboot}},                         // power-on recorded, BSS PUT under way
		{"cfs", []op{boot, reboot}},                         // token recorded, CFS not told yet
		{"before On", []op{boot, reboot}},                   // power-on recorded, not sent
		{"after On", []op{boot, reboot}},                    // power-on sent, not confirmed
		{"before GracefulShutdown", []op{reboot, shutdown}}, // graceful off recorded, not sent
		{"after GracefulShutdown", []op{reboot, shutdown}},  // graceful off sent, not confirmed
	}
	run := func(t *testing.T, o op, crashAt string) (looks int, w *raceWorld) {
		w = newRaceWorld(t)
		if o.on {
			w.power, w.booted, w.boots = power.PowerOn, "tok-old", 0
		}
		w.setup("S", o.op, o.target)
		w.crash = func(p string) bool { return p == crashAt }
		for looks = 1; looks <= 400 && w.component().Enabled; looks++ {
			if w.ctx.Err() != nil { // the crash: a new process on the same store
				w.r = New(Config{Store: w.st, BSS: w, CFS: w, Power: w, Now: w.clock, Instance: "second"})
				w.ctx, w.cancel = context.WithCancel(context.Background())
			}
			w.step()
		}
		return looks, w
	}
	for _, p := range points {
		for _, o := range p.ops {
			t.Run(o.name+"/"+p.point, func(t *testing.T) {
				clean, _ := run(t, o, "")
				looks, w := run(t, o, p.point)
				require.Nil(t, w.crash, "the crash point was reached")
				c := w.component()
				assert.False(t, c.Enabled, "done: %s %q", c.Status.Status, c.Error)
				assert.Equal(t, bos.StatusStable, c.Status.Status)
				assert.Empty(t, c.LastAction.InFlight)
				assert.LessOrEqual(t, looks, clean+3, "looks with the crash (%d without)", clean)
				assert.Zero(t, w.forced, "forced off")
				wantTransitions, wantBoots := 1, 0
				if o.booted {
					wantBoots = 1
					if o.on {
						wantTransitions = 2 // off, then on
					}
				}
				assert.Equal(t, wantBoots, w.boots, "boots")
				assert.Equal(t, wantTransitions, w.transitions, "power changes")
				if o.booted {
					assert.Equal(t, w.booted, c.ActualState.BSSToken)
					assert.Equal(t, w.booted, c.DesiredState.BSSToken)
				}
			})
		}
	}
}

// A process that sees its own call in flight does not send it again, and one that sees
// another live process's call (a replica) re-sends it only when its effect is missing:
// the BMC then gets the same request twice, which it takes as a no-op.
func TestOwnCallInFlightIsWaitedFor(t *testing.T) {
	w := newRaceWorld(t)
	w.setup("S", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg"})
	w.crash = func(p string) bool { return p == "before On" }
	w.step()
	require.Error(t, w.ctx.Err())
	w.ctx, w.cancel = context.WithCancel(context.Background()) // the same process looks again
	w.step()
	c := w.component()
	assert.Equal(t, bos.StatusPowerOnCalled, c.Status.Status)
	assert.Equal(t, w.r.cfg.Instance, c.LastAction.InFlight)
	assert.Zero(t, w.boots, "not sent by the process that recorded it")
	w.mu.Lock()
	w.now = w.now.Add(time.Minute)
	w.mu.Unlock()
	w.step()
	assert.Zero(t, w.boots, "still within max_power_on_wait_time")
}

// failingInventory is an HSM that cannot be reached.
type failingInventory struct{ selection.Inventory }

func (failingInventory) Nodes(context.Context) ([]selection.Node, error) {
	return nil, errors.New("HSM unreachable")
}

// A reconciler stopped while its first discovery is still retrying (a crash right after a
// restart) leaves nothing running: its queue's timer goroutine ended too. The synctest
// bubble fails with "blocked goroutines remain" otherwise.
func TestRunStoppedDuringFirstDiscoveryLeavesNothingRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := store.Open(context.Background(), store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		r := New(Config{Store: st, Inventory: failingInventory{}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(1500 * time.Millisecond) // two tries of the first discovery
		cancel()
		require.NoError(t, <-done)
	})
}

// A power call that returns is not written down apart: the record keeps the call's
// last_action.in_flight until the node's next write, which the call's effect causes (the
// node's report, the Off it was asked for) and which clears it. A boot then costs the
// node's record six writes: setup, the power-on decision, the BSS token, the report,
// configuring, done (a seventh, in_flight cleared after each call, was dropped). A
// reboot adds the graceful-off decision; its in_flight is cleared by the power-on
// decision the Off leads to.
func TestReturnedCallIsConfirmedByTheNextWrite(t *testing.T) {
	for _, tc := range []struct {
		name       string
		op         string
		on         bool
		wantWrites int
	}{
		{"boot", bos.OpBoot, false, 6},
		{"reboot", bos.OpReboot, true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			writes := 0
			w := newRaceWorldOn(t, store.Config{OnComponentsWritten: func(ids []string) {
				mu.Lock()
				writes += len(ids)
				mu.Unlock()
			}})
			if tc.on {
				w.power, w.booted, w.boots = power.PowerOn, "tok-old", 0
			}
			mu.Lock()
			writes = 0 // the node's creation
			mu.Unlock()
			w.setup("S", tc.op, sessions.Target{BootArtifacts: image, Configuration: "cfg"})
			var called []string // in_flight after each look that made a call
			for i := 0; i < 30 && w.component().Enabled; i++ {
				boots, transitions := w.boots, w.transitions
				w.step()
				if w.boots != boots || w.transitions != transitions {
					called = append(called, w.component().LastAction.InFlight)
				}
			}
			c := w.component()
			require.False(t, c.Enabled, "done: %s %q", c.Status.Status, c.Error)
			assert.Equal(t, bos.StatusStable, c.Status.Status)
			assert.Empty(t, c.LastAction.InFlight, "cleared once the node moved on")
			require.NotEmpty(t, called)
			for _, who := range called {
				assert.Equal(t, w.r.cfg.Instance, who, "a returned call stays this process's until the next write")
			}
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tc.wantWrites, writes, "writes of the node's record")
		})
	}
}
