package reconciler

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/store"
)

func TestResyncLooks(t *testing.T) {
	waiting := Memo{Seen: power.PowerOn, WakeOff: true, Stored: 7} // power-off sent: only Off can change it
	for _, tc := range []struct {
		name       string
		m          Memo
		known      bool
		stored     uint64
		p          power.Power
		powerKnown bool
		want       bool
	}{
		{"never looked at here", Memo{}, false, 7, power.PowerOn, true, true},
		{"digest unknown (its power read failed)", Memo{Seen: power.PowerOn, WakeOff: true}, true, 7, power.PowerOn, true, true},
		{"written since (a lost wake)", waiting, true, 8, power.PowerOn, true, true},
		{"deleted since", waiting, true, 0, power.PowerOn, true, true},
		{"power unknown without its BMC", waiting, true, 7, power.PowerNotReported, false, true},
		{"power changed in a way that matters (a lost event)", waiting, true, 7, power.PowerOff, true, true},
		{"power changed in a way that does not matter", Memo{Seen: power.PowerOff, WakeOff: true, Stored: 7}, true, 7, power.PowerOn, true, false},
		{"nothing changed", waiting, true, 7, power.PowerOn, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ResyncLooks(tc.m, tc.known, tc.stored, tc.p, tc.powerKnown))
		})
	}
}

// A node waiting for its report is not looked at again by every resync (a long boot
// cost 4 to 6 looks a node), but it is as soon as its record changed without a wake, or
// its power as known changed in a way that matters without an event, or at a full resync.
func TestResyncLooksOnlyWhereSomethingChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		c := bos.NewComponent(raceNode, time.Now())
		c.Enabled, c.Status.Phase = true, bos.PhasePoweringOn
		c.DesiredState = bos.DesiredState{BootArtifacts: image, Configuration: "cfg", BSSToken: "tok"}
		c.LastAction = bos.LastAction{Action: bos.ActionPoweringOn, LastUpdated: time.Now()}
		_, err = st.AddComponents(ctx, []bos.Component{c})
		require.NoError(t, err)
		w := &raceWorld{t: t, bss: map[string]string{}, power: power.PowerOn, cfs: CFSView{DesiredConfig: "cfg", Status: "pending", Enabled: true}}
		var looks atomic.Int64
		known := func(ctx context.Context, ids []string) (map[string]power.PowerReading, []string) {
			return w.PowerStates(ctx, ids), nil
		}
		r := New(Config{Store: st, BSS: w, CFS: w, Power: w, KnownPower: known, Workers: 1,
			OnPass: func(_ time.Duration, nodes int) { looks.Add(int64(nodes)) }})
		var wg sync.WaitGroup
		wg.Go(func() { r.worker(ctx) })
		defer func() { cancel(); r.queue.ShutDown(); wg.Wait() }()
		looksAt := func(full bool) int64 {
			before := looks.Load()
			r.resync(ctx, full)
			synctest.Wait()
			return looks.Load() - before
		}

		r.Wake(raceNode)
		synctest.Wait()
		require.Equal(t, int64(0), looksAt(false), "booting, nothing changed: no look")

		_, err = st.UpdateComponents(ctx, []string{raceNode}, func(c *bos.Component) error {
			c.Error = "edited"
			return nil
		}, store.NoWake)
		require.NoError(t, err)
		assert.Equal(t, int64(1), looksAt(false), "written without a wake")
		assert.Equal(t, int64(0), looksAt(false), "looked at since")

		w.mu.Lock()
		w.power = power.PowerOff
		w.mu.Unlock()
		assert.Equal(t, int64(1), looksAt(false), "seen off while booting, the event lost")
		// That look decided a power-on; its writes (the decision, then the BSS token)
		// leave the memo stamped with what they stored: no look for them.
		require.Equal(t, int64(0), looksAt(false), "the look's own writes")

		assert.Equal(t, int64(1), looksAt(true), "a full resync looks at every node")
	})
}

// A node powered on by this process is left to its report by the resync: neither the BSS
// token written after the decision (the memo is restamped with it) nor the On the node
// is now known to be (it cannot change the decision of a node that has not reported)
// makes it look again. Once the node reported, its record changed: it is looked at.
func TestResyncLeavesAPoweredOnNodeToItsReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		c := bos.NewComponent(raceNode, time.Now())
		c.Enabled, c.Status.Phase = true, bos.PhasePoweringOn
		c.DesiredState = bos.DesiredState{BootArtifacts: image, Configuration: "cfg"}
		_, err = st.AddComponents(ctx, []bos.Component{c})
		require.NoError(t, err)
		w := &raceWorld{t: t, bss: map[string]string{}, power: power.PowerOff, cfs: CFSView{DesiredConfig: "cfg", Status: "configured", Enabled: true}}
		var looks atomic.Int64
		known := func(ctx context.Context, ids []string) (map[string]power.PowerReading, []string) {
			return w.PowerStates(ctx, ids), nil
		}
		r := New(Config{Store: st, BSS: w, CFS: w, Power: w, KnownPower: known, Workers: 1,
			OnPass: func(_ time.Duration, nodes int) { looks.Add(int64(nodes)) }})
		var wg sync.WaitGroup
		wg.Go(func() { r.worker(ctx) })
		defer func() { cancel(); r.queue.ShutDown(); wg.Wait() }()
		looksAt := func() int64 {
			before := looks.Load()
			r.resync(ctx, false)
			synctest.Wait()
			return looks.Load() - before
		}

		r.Wake(raceNode)
		synctest.Wait()
		got, err := st.GetComponent(ctx, raceNode)
		require.NoError(t, err)
		require.Equal(t, bos.StatusPowerOnCalled, got.Status.Status)
		require.Equal(t, "tok-1", got.DesiredState.BSSToken, "the token written after the decision")
		require.Equal(t, power.PowerOn, w.PowerStates(ctx, nil)[raceNode].Power)
		assert.Equal(t, int64(0), looksAt(), "powered on, not reported: no look")

		_, err = st.UpdateComponents(ctx, []string{raceNode}, func(c *bos.Component) error {
			c.ActualState = bos.ActualState{BootArtifacts: image, BSSToken: "tok-1", LastUpdated: time.Now()}
			return nil
		}, store.NoWake) // the report's wake lost
		require.NoError(t, err)
		assert.Equal(t, int64(1), looksAt(), "reported: looked at")
		got, err = st.GetComponent(ctx, raceNode)
		require.NoError(t, err)
		assert.Equal(t, bos.StatusConfiguring, got.Status.Status, "the report taken")
	})
}
