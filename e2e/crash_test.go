package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// killPoint says where the reconciler dies: at the call-th power call (Reset of any kind,
// counted from the session's start), before it is sent, after half of its nodes were
// sent, or after all were sent but before the reconciler heard back. A kill point with a
// second kill kills the restarted process too.
type killPoint struct {
	call int
	at   string // "before", "half", "after"
	then *killPoint
}

func (k killPoint) String() string {
	s := fmt.Sprintf("%s-call-%d", k.at, k.call)
	if k.then != nil {
		s += "+" + k.then.String()
	}
	return s
}

// killPoints are the crash matrix's ten points. With the batch size crashMatrix sets, each
// operation makes at least four power calls.
var killPoints = []killPoint{
	{call: 1, at: "before"}, {call: 1, at: "half"}, {call: 1, at: "after"},
	{call: 2, at: "before"}, {call: 2, at: "half"}, {call: 2, at: "after"},
	{call: 4, at: "before"}, {call: 4, at: "half"}, {call: 4, at: "after"},
	{call: 1, at: "before", then: &killPoint{call: 1, at: "before"}},
}

// crashingPower is the reconciler's power driver with a kill -9 at a chosen call: it
// kills the reconciler (stack.CrashReconciler) there, and a watcher restarts it a second
// later on the same store. It also counts the forced power-offs BOS asked for.
type crashingPower struct {
	power.PowerControl
	st      func() *stack.Stack
	crashed chan struct{}

	mu     sync.Mutex
	next   *killPoint // nil: no more kills
	calls  int
	kills  int
	forced map[string]int
}

func (p *crashingPower) arm(k *killPoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next, p.calls = k, 0
}

func (p *crashingPower) Reset(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	if ctx.Err() != nil { // a killed process sends nothing more
		return p.PowerControl.Reset(ctx, ids, kind)
	}
	p.mu.Lock()
	if kind == power.ResetForceOff {
		for _, id := range ids {
			p.forced[id]++
		}
	}
	p.calls++
	k := p.next
	if k == nil || p.calls != k.call {
		p.mu.Unlock()
		return p.PowerControl.Reset(ctx, ids, kind)
	}
	p.next, p.calls = k.then, 0
	p.kills++
	p.mu.Unlock()
	switch k.at {
	case "half":
		p.PowerControl.Reset(ctx, ids[:len(ids)/2], kind)
	case "after":
		p.PowerControl.Reset(ctx, ids, kind)
	}
	p.st().CrashReconciler()
	p.crashed <- struct{}{}
	errs := make(map[string]error, len(ids))
	for _, id := range ids {
		errs[id] = context.Canceled // what the dead process's call would have returned
	}
	return errs
}

// crashRun is one operation on a fresh cluster, with or without a kill.
type crashRun struct {
	elapsed time.Duration
	kills   int
	// per node, during the operation: power-ons and power-offs begun, boots, forced offs
	ons, offs, boots, forced map[string]int
}

// runCrashOp boots every compute node (for reboot and shutdown), then runs op with the
// kill armed, restarting the reconciler a second after each kill, and waits for the
// session to complete.
func runCrashOp(t *testing.T, backend string, nodes int, op string, kill *killPoint) crashRun {
	var (
		c        *cluster
		mu       sync.Mutex
		counting bool
		ons      = map[string]int{}
		offs     = map[string]int{}
	)
	driver := &crashingPower{st: func() *stack.Stack { return c.st }, crashed: make(chan struct{}, 4), forced: map[string]int{}}
	c = startCluster(t, backend, clusterOptions{nodes: nodes, tweak: func(o *stack.Options) {
		o.BatchSize = max(nodes/8, 1)
		o.WrapPower = func(inner power.PowerControl) power.PowerControl {
			driver.PowerControl = inner
			return driver
		}
		o.Sim.OnPowerChange = func(xname, state string) {
			mu.Lock()
			defer mu.Unlock()
			if !counting {
				return
			}
			switch state {
			case "PoweringOn":
				ons[xname]++
			case "PoweringOff":
				offs[xname]++
			}
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		for {
			select {
			case <-ctx.Done():
				return
			case <-driver.crashed:
				time.Sleep(time.Second) // the process manager restarts BOS
				c.st.RestartReconciler()
			}
		}
	}()
	if op != bos.OpBoot {
		c.waitComplete(c.session(bos.OpBoot, "", "", false), time.Minute)
		c.requireBooted(c.computes, stack.DefaultConfigurationName)
	}
	before := c.bootCounts(c.computes)
	mu.Lock()
	counting = true
	mu.Unlock()
	driver.arm(kill)
	start := time.Now()
	c.waitComplete(c.session(op, "", "", false), 10*time.Minute)
	run := crashRun{elapsed: time.Since(start), ons: ons, offs: offs, forced: driver.forced, boots: map[string]int{}}
	driver.mu.Lock()
	run.kills = driver.kills
	driver.mu.Unlock()
	for id, n := range c.bootCounts(c.computes) {
		run.boots[id] = n - before[id]
	}
	if op == bos.OpShutdown {
		for _, id := range c.computes {
			assert.Equal(t, "Off", c.node(id).Power, id)
		}
	} else {
		c.requireBooted(c.computes, stack.DefaultConfigurationName)
	}
	cancel()
	<-restarted
	return run
}

// TestCrashMatrix kills the reconciler at each kill point of each operation and checks
// that the operation still finishes within a small multiple of its crash-free time
// (fake time), with every node powered on and off at most once and none forced off. Before
// last_action.in_flight, a lost graceful power-off was forced after
// max_power_off_wait_time and a lost power-on cost max_power_on_wait_time.
//
// BOS_E2E_LONG=1 runs it on 1,000 nodes on the real Redis instead of a few hundred on
// miniredis. With -short (CI's race stage) each kill point runs for one operation only
// (shortMatrix): every point, and before/half/after and each call for every operation.
func TestCrashMatrix(t *testing.T) {
	nodes, backend := size(200), storetest.Mini
	if os.Getenv("BOS_E2E_LONG") != "" {
		nodes, backend = 1000, storetest.Redis
	}
	for o, op := range []string{bos.OpBoot, bos.OpReboot, bos.OpShutdown} {
		t.Run(op, func(t *testing.T) {
			var clean crashRun
			bubble(t, func(t *testing.T) { clean = runCrashOp(t, backend, nodes, op, nil) })
			t.Logf("%s of %d nodes without a crash: %s", op, nodes, clean.elapsed)
			for i, k := range killPoints {
				if testing.Short() && !shortMatrix(o, i) {
					continue
				}
				t.Run(k.String(), func(t *testing.T) {
					bubble(t, func(t *testing.T) {
						run := runCrashOp(t, backend, nodes, op, &k)
						wantKills := 1
						if k.then != nil {
							wantKills = 2
						}
						require.Equal(t, wantKills, run.kills, "the kill point was reached")
						// The restart itself costs a second per kill.
						limit := 3*clean.elapsed + time.Duration(wantKills)*time.Second
						t.Logf("%s of %d nodes: %s (%.1f× the crash-free %s)", op, nodes, run.elapsed,
							float64(run.elapsed)/float64(clean.elapsed), clean.elapsed)
						assert.LessOrEqual(t, run.elapsed, limit, "within 3× the crash-free time plus the restarts")
						checkPoweredOnce(t, op, nodes, run)
					})
				})
			}
		})
	}
}

// shortMatrix says whether operation o (of three) runs kill point i under -short: the
// points go round the operations shifted by their call group, so each operation still
// meets a kill before, half-way through and after a call, at calls 1, 2 and 4.
func shortMatrix(o, i int) bool { return (i+i/3)%3 == o }

// checkPoweredOnce checks that no node was powered on or off twice, booted twice, or
// forced off during the operation.
func checkPoweredOnce(t *testing.T, op string, nodes int, run crashRun) {
	t.Helper()
	assert.Empty(t, run.forced, "nodes forced off")
	wantOn, wantOff := 1, 1
	switch op {
	case bos.OpBoot:
		wantOff = 0
	case bos.OpShutdown:
		wantOn = 0
	}
	var bad []string
	for id, n := range run.boots {
		if n != wantOn || run.ons[id] != wantOn || run.offs[id] != wantOff {
			bad = append(bad, fmt.Sprintf("%s: %d power-ons, %d power-offs, %d boots", id, run.ons[id], run.offs[id], n))
		}
	}
	sort.Strings(bad)
	assert.Empty(t, bad[:min(len(bad), 10)], "%d of %d nodes not powered exactly as %s asks, e.g.", len(bad), nodes, op)
}

// TestShortCrashMatrix: under -short every kill point still runs once, and every
// operation meets each position in a call and each call.
func TestShortCrashMatrix(t *testing.T) {
	runs := make([]int, len(killPoints))
	for o := range 3 {
		at, calls := map[string]bool{}, map[int]bool{}
		for i, k := range killPoints {
			if shortMatrix(o, i) {
				runs[i]++
				at[k.at], calls[k.call] = true, true
			}
		}
		assert.Len(t, at, 3, "operation %d: before, half and after", o)
		assert.Equal(t, map[int]bool{1: true, 2: true, 4: true}, calls, "operation %d", o)
	}
	for i, n := range runs {
		assert.Equal(t, 1, n, "kill point %s", killPoints[i])
	}
}
