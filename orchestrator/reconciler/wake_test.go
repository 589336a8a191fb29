package reconciler

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/store"
)

// TestWakeRule: which power events wake a node, and which nodes go first in the queue.
// Where an event does not wake the node, Decide given that event must decide as it did on
// the power seen (the same phase, action and enabled): the event could not change the
// decision.
func TestWakeRule(t *testing.T) {
	const self = "me"
	onCalled := last(bos.ActionPoweringOn, 5*time.Second, false)
	inFlight := func(who string) func(*bos.Component) {
		return func(c *bos.Component) { c.LastAction.InFlight = who }
	}
	disabled := func(c *bos.Component) { c.Enabled = false }
	reported := func(c *bos.Component) {
		c.ActualState.BootArtifacts, c.DesiredState.BSSToken, c.ActualState.BSSToken = image, "t1", "t1"
	}
	for _, tc := range []struct {
		name        string
		c           bos.Component
		seen, event power.Power
		wakes       bool
		first       bool
	}{
		{"disabled: no event", comp(disabled), power.PowerOff, power.PowerOn, false, false},
		{"power-on sent, not reported: not On (it waits for the report)", comp(phase(bos.PhasePoweringOn), onCalled), power.PowerOff, power.PowerOn, false, true},
		{"power-on sent: the power it was decided on", comp(phase(bos.PhasePoweringOn), onCalled), power.PowerOff, power.PowerOff, false, true},
		{"power-on sent, seen on: off (it crashed booting)", comp(phase(bos.PhasePoweringOn), onCalled), power.PowerOn, power.PowerOff, true, true},
		{"reported before the On event: On", comp(phase(bos.PhasePoweringOn), onCalled, reported), power.PowerOff, power.PowerOn, true, true},
		{"this process's call in flight: as sent", comp(phase(bos.PhasePoweringOn), onCalled, inFlight(self)), power.PowerOff, power.PowerOn, false, true},
		{"this process's call in flight, reported: On", comp(phase(bos.PhasePoweringOn), onCalled, inFlight(self), reported), power.PowerOff, power.PowerOn, true, true},
		{"reported an older boot: not On", comp(phase(bos.PhasePoweringOn), onCalled, reported, func(c *bos.Component) { c.ActualState.BSSToken = "t0" }), power.PowerOff, power.PowerOn, false, true},
		{"another process's call in flight: any", comp(phase(bos.PhasePoweringOn), onCalled, inFlight("other")), power.PowerOff, power.PowerOn, true, false},
		{"graceful off sent: Off", comp(phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, false)), power.PowerOn, power.PowerOff, true, false},
		{"graceful off sent, BMC unreadable: On is not news", comp(phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, false)), power.PowerUnknown, power.PowerOn, false, false},
		{"forceful off sent: Off", comp(phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffForcefully, time.Second, false)), power.PowerOn, power.PowerOff, true, false},
		{"configuring: Off", comp(phase(bos.PhaseConfiguring), booted(image)), power.PowerOn, power.PowerOff, true, true},
		{"configuring, BMC unreadable: On is not news", comp(phase(bos.PhaseConfiguring), booted(image)), power.PowerUnknown, power.PowerOn, false, true},
		{"power-on pending: any", comp(phase(bos.PhasePoweringOn)), power.PowerOff, power.PowerOn, true, false},
		{"power-on failed: any", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, true)), power.PowerOff, power.PowerOn, true, false},
		{"stable: any", comp(booted(image)), power.PowerOn, power.PowerOff, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := MemoOf(tc.c, tc.seen, self)
			assert.Equal(t, tc.wakes, m.Wakes(tc.event), "wakes")
			assert.Equal(t, tc.first, FirstInQueue(m, true), "first in the queue")
			if tc.wakes {
				return
			}
			was := Decide(tc.c, Observation{Power: tc.seen, CFS: cfsOK, Self: self}, opts, t0)
			now := Decide(tc.c, Observation{Power: tc.event, CFS: cfsOK, Self: self}, opts, t0)
			assert.Equal(t, was.Action, now.Action, "action")
			assert.Equal(t, was.Component.Status.Phase, now.Component.Status.Phase, "phase")
			assert.Equal(t, was.Component.Enabled, now.Component.Enabled, "enabled")
		})
	}
	assert.True(t, Memo{}.Wakes(power.PowerNotReported), "a state that is neither on nor off always wakes")
	assert.False(t, FirstInQueue(Memo{Finishing: true}, false), "a node never looked at keeps its place")
}

// A node whose report came before its On event waits for that event, which wakes it at
// once. If the event is lost, the node still converges on its own timer (the look Decide
// scheduled at max_power_on_wait_time; the resync every polling_frequency also queues it).
// In a synctest bubble: the times asserted are the fake clock's.
func TestLostPowerEventStillConverges(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(map[bool]string{false: "event", true: "lost event"}[lost], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testLostPowerEvent(t, lost) })
		})
	}
}

func testLostPowerEvent(t *testing.T, lost bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
	require.NoError(t, err)
	defer st.Close()
	c := bos.NewComponent(raceNode, time.Now())
	c.Enabled, c.Status.Phase = true, bos.PhasePoweringOn
	c.DesiredState = bos.DesiredState{BootArtifacts: image, Configuration: "cfg", BSSToken: "tok"}
	c.ActualState = bos.ActualState{BootArtifacts: image, BSSToken: "tok", LastUpdated: time.Now()}
	c.LastAction = bos.LastAction{Action: bos.ActionPoweringOn, LastUpdated: time.Now()}
	_, err = st.AddComponents(ctx, []bos.Component{c})
	require.NoError(t, err)
	w := &raceWorld{t: t, bss: map[string]string{}, power: power.PowerOff, cfs: CFSView{DesiredConfig: "cfg", Status: "configured", Enabled: true}}
	r := New(Config{Store: st, BSS: w, CFS: w, Power: w, Workers: 1})
	var wg sync.WaitGroup
	wg.Go(func() { r.worker(ctx) })
	defer func() { cancel(); r.queue.ShutDown(); wg.Wait() }()
	enabled := func() bool {
		got, err := st.GetComponent(ctx, raceNode)
		require.NoError(t, err)
		return got.Enabled
	}

	r.Wake(raceNode) // the report: booted, but the power still reads off
	synctest.Wait()
	require.True(t, enabled(), "waits for the node to be seen on")
	assert.False(t, r.WakePower(raceNode, power.PowerOff), "off: what it was decided on")

	w.mu.Lock()
	w.power = power.PowerOn
	w.mu.Unlock()
	start := time.Now()
	if !lost {
		assert.True(t, r.WakePower(raceNode, power.PowerOn))
	}
	synctest.Wait()
	for enabled() && time.Since(start) < 10*time.Minute {
		time.Sleep(time.Second)
		synctest.Wait()
	}
	took := time.Since(start)
	require.False(t, enabled(), "never converged")
	if lost {
		assert.InDelta(t, 120, took.Seconds(), 1, "converged on the max_power_on_wait_time look")
	} else {
		assert.Zero(t, took, "woken by the event")
	}
}

// A boot costs two looks a node, the power-on decision and the report, when the On event
// comes before the report (it cannot change the decision of a node that has not
// reported). When the report comes first, its look sees the node off and the On event is
// what completes the node, at once, also when it arrives while the report's look runs
// (then it is judged by the memo that look leaves, not the one it replaces: judged by
// the old one it was dropped and the node waited for a timer). A node this process has
// no memo of (a restart) is woken by every event. In a synctest bubble: no time passes.
func TestBootLooks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order string
		looks int
	}{
		{"On before the report", "on, report", 2},
		{"report before On", "report, on", 3},
		{"On during the report's look", "report+on", 3},
		{"no memo: On wakes", "restart, on, report", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testBootLooks(t, tc.order, tc.looks) })
		})
	}
}

func testBootLooks(t *testing.T, order string, wantLooks int) {
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
	w := &raceWorld{t: t, bss: map[string]string{}, power: power.PowerOff, cfs: CFSView{DesiredConfig: "cfg", Status: "configured", Enabled: true}}
	var mu sync.Mutex
	looks := 0
	var duringDecide func() // runs once inside the next decision, after the power was read
	cfg := Config{Store: st, BSS: w, CFS: w, Power: w, Workers: 1, OnPass: func(_ time.Duration, n int) {
		mu.Lock()
		looks += n
		mu.Unlock()
	}}
	var wg sync.WaitGroup
	start := func() *Reconciler {
		r := New(cfg)
		r.decide = func(c bos.Component, obs Observation, opts bos.Options, now time.Time) Decision {
			mu.Lock()
			f := duringDecide
			duringDecide = nil
			mu.Unlock()
			if f != nil {
				f()
			}
			return Decide(c, obs, opts, now)
		}
		wg.Go(func() { r.worker(ctx) })
		return r
	}
	r := start()
	defer func() { cancel(); r.queue.ShutDown(); wg.Wait() }()
	powerOn := func() {
		w.mu.Lock()
		w.power = power.PowerOn
		w.mu.Unlock()
	}
	report := func() {
		_, err := st.UpdateComponent(ctx, raceNode, func(c *bos.Component) error {
			c.ActualState = bos.ActualState{BootArtifacts: image, BSSToken: "tok", LastUpdated: time.Now()}
			return nil
		})
		require.NoError(t, err)
		r.Wake(raceNode) // the store hook
	}

	r.Wake(raceNode) // the power-on decision's look, as it leaves the node
	synctest.Wait()
	start0 := time.Now()
	switch order {
	case "on, report":
		powerOn()
		assert.False(t, r.WakePower(raceNode, power.PowerOn), "not reported: On cannot change the decision")
		synctest.Wait()
		report()
	case "report, on":
		report()
		synctest.Wait()
		powerOn()
		assert.True(t, r.WakePower(raceNode, power.PowerOn), "reported while seen off: On completes it")
	case "report+on":
		mu.Lock()
		duringDecide = func() {
			powerOn()
			r.WakePower(raceNode, power.PowerOn)
		}
		mu.Unlock()
		report()
	case "restart, on, report":
		cancel()
		r.queue.ShutDown()
		wg.Wait()
		var cancelRestarted context.CancelFunc
		ctx, cancelRestarted = context.WithCancel(context.Background())
		defer cancelRestarted()
		mu.Lock()
		looks = 0
		mu.Unlock()
		cfg.Queue = NewQueue(nil)
		r = start()
		powerOn()
		assert.True(t, r.WakePower(raceNode, power.PowerOn), "no memo: every event wakes")
		synctest.Wait()
		report()
	}
	synctest.Wait()
	got, err := st.GetComponent(ctx, raceNode)
	require.NoError(t, err)
	assert.False(t, got.Enabled, "done: %s", got.Status.Status)
	assert.Equal(t, bos.StatusStable, got.Status.Status)
	assert.Zero(t, time.Since(start0), "done without waiting for a timer")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, wantLooks, looks, "looks")
}
