package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
)

// raceWorld drives one node through the reconciler step by step, with the orderings the
// e2e tests hit only under load made explicit: a session taking the node over between the
// power-on decision and its effects (the BSS hook), a Redfish event cache that still says
// Off after the node powered on (reading), and a reset the BMC performed although the call
// failed (resetErr). The node boots the token BSS holds for it at the moment it powers on,
// and reports it through the real API handler, as bos-reporter does.
type raceWorld struct {
	t   *testing.T
	st  *store.Store
	api http.Handler
	r   *Reconciler
	now time.Time

	mu       sync.Mutex
	bss      map[string]string // host → token of the last PUT naming it
	puts     int
	onPut    func()       // runs inside the next BSS PUT, after the token is minted
	power    power.Power  // the node's real power
	reading  *power.Power // what PowerStates answers; nil = the real power
	resetErr error        // the next Reset On is performed but reported failed
	cfsErr   error        // the next CFS request fails
	booted   string       // the token the node booted in this power cycle
	boots    int
	reported bool
	cfs      CFSView

	// Crash tests (crash_test.go): ctx is what reconcile runs under; crash, when it
	// returns true at a point, cancels ctx there as a kill -9 would stop the process.
	ctx         context.Context
	cancel      context.CancelFunc
	crash       func(point string) bool
	forced      int // ForceOff resets performed on a node that was on
	transitions int // power changes the resets caused
}

const raceNode = "x1000c0s0b0n0"

func newRaceWorld(t *testing.T) *raceWorld { return newRaceWorldOn(t, store.Config{}) }

// newRaceWorldOn is newRaceWorld on a store opened with cfg (its hooks, say).
func newRaceWorldOn(t *testing.T, cfg store.Config) *raceWorld {
	st, err := store.Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	w := &raceWorld{t: t, st: st, now: t0, bss: map[string]string{}, power: power.PowerOff, cfs: CFSView{Status: "unconfigured"}}
	w.api = api.New(api.Config{Store: st, Now: w.clock}).Handler()
	w.r = New(Config{Store: st, BSS: w, CFS: w, Power: w, Now: w.clock})
	w.ctx, w.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { w.cancel() })
	_, err = st.AddComponents(context.Background(), []bos.Component{bos.NewComponent(raceNode, t0)})
	require.NoError(t, err)
	return w
}

func (w *raceWorld) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// setup writes a session's setup patch as Setup.Run does (at the world's clock).
func (w *raceWorld) setup(name, op string, target sessions.Target) {
	sess := bos.Session{Name: name, Operation: op}
	now := w.clock()
	_, err := w.st.UpdateComponents(context.Background(), []string{raceNode}, func(c *bos.Component) error {
		sessions.ApplySetup(c, sess, target, now)
		return nil
	})
	require.NoError(w.t, err)
}

// step advances the clock, lets the node report and CFS configure, and reconciles once.
func (w *raceWorld) step() {
	w.mu.Lock()
	w.now = w.now.Add(time.Second)
	report := w.power == power.PowerOn && w.booted != "" && !w.reported
	if w.cfs.Enabled && w.cfs.Status == "pending" {
		w.cfs.Status = "configured"
	}
	w.mu.Unlock()
	if report {
		req := httptest.NewRequest(http.MethodPatch, "/v2/components/"+raceNode,
			strings.NewReader(fmt.Sprintf(`{"actual_state": {"bss_token": %q}}`, w.booted)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		w.api.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK { // 409 (a change in progress): the reporter tries again
			w.mu.Lock()
			w.reported, w.cfs.Enabled = true, true // cfs-state-reporter follows
			w.mu.Unlock()
		}
	}
	w.r.reconcile(w.ctx, []string{raceNode})
}

// crashed reports whether the crash hook kills the process at point (and cancels ctx).
func (w *raceWorld) crashed(point string) bool {
	if w.crash == nil || !w.crash(point) {
		return false
	}
	w.crash = nil
	w.cancel()
	return true
}

func (w *raceWorld) component() bos.Component {
	c, err := w.st.GetComponent(context.Background(), raceNode)
	require.NoError(w.t, err)
	return c
}

func (w *raceWorld) Put(_ context.Context, hosts []string, _ bos.BootArtifacts) (string, error) {
	if w.crashed("bss") {
		return "", context.Canceled
	}
	w.mu.Lock()
	w.puts++
	tok := fmt.Sprintf("tok-%d", w.puts)
	for _, h := range hosts {
		w.bss[h] = tok
	}
	hook := w.onPut
	w.onPut = nil
	w.mu.Unlock()
	if hook != nil {
		hook()
	}
	return tok, nil
}

func (w *raceWorld) Components(_ context.Context, ids []string) (map[string]CFSView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return map[string]CFSView{raceNode: w.cfs}, nil
}

func (w *raceWorld) SetDesired(_ context.Context, ids []string, configuration string, enabled, clearState bool, _ string) error {
	if len(ids) == 0 {
		return nil
	}
	if w.crashed("cfs") {
		return context.Canceled
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.cfsErr; err != nil {
		w.cfsErr = nil
		return err
	}
	w.cfs.DesiredConfig, w.cfs.Enabled = configuration, enabled
	if clearState || w.cfs.Status != "configured" {
		w.cfs.Status = "pending"
	}
	return nil
}

func (w *raceWorld) PowerStates(_ context.Context, ids []string) map[string]power.PowerReading {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.power
	if w.reading != nil {
		p = *w.reading
	}
	return map[string]power.PowerReading{raceNode: {Power: p}}
}

func (w *raceWorld) Reset(_ context.Context, ids []string, kind power.ResetKind) map[string]error {
	if len(ids) == 0 {
		return nil
	}
	if w.crashed("before " + resetNames[kind][0]) {
		return map[string]error{raceNode: context.Canceled}
	}
	w.mu.Lock()
	if kind == power.ResetForceOff && w.power == power.PowerOn {
		w.forced++
	}
	switch {
	case kind != power.ResetOn:
		if w.power == power.PowerOn {
			w.transitions++
		}
		w.power, w.booted, w.reported = power.PowerOff, "", false
	case w.power == power.PowerOff: // iPXE fetches the boot script as the node comes up
		w.power, w.booted = power.PowerOn, w.bss[raceNode]
		w.boots++
		w.transitions++
	}
	w.mu.Unlock()
	if w.crashed("after " + resetNames[kind][0]) {
		return map[string]error{raceNode: context.Canceled}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.resetErr; err != nil {
		w.resetErr = nil
		return map[string]error{raceNode: err}
	}
	return nil
}

// settle steps until the node is done (or gives up) and checks it booted once, on the
// token BOS recorded as desired and actual, under session s with configuration cfg.
func (w *raceWorld) settle(s, cfg, token string) {
	w.t.Helper()
	for i := 0; i < 30 && w.component().Enabled; i++ {
		w.step()
	}
	c := w.component()
	assert.False(w.t, c.Enabled, "done")
	assert.Equal(w.t, bos.StatusStable, c.Status.Status)
	assert.Equal(w.t, s, c.Session)
	assert.Equal(w.t, cfg, w.cfs.DesiredConfig, "CFS configuration")
	assert.Equal(w.t, token, w.booted, "token the node booted")
	assert.Equal(w.t, w.booted, c.ActualState.BSSToken, "token BOS recorded as booted")
	assert.Equal(w.t, w.booted, c.DesiredState.BSSToken, "token BOS gave BSS")
	assert.Equal(w.t, 1, w.boots, "booted once")
}

// A session takes the node over while session A's power-on runs: after A's decision is
// stored, before its BSS PUT returns. The Redfish event cache keeps saying Off until the
// node's report. (TestOverlappingSessions, under load: nodes counted done on A's token
// while BOS had given BSS B's, or booted twice.)
func TestTakeoverDuringPowerOn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		op       string
		image    bos.BootArtifacts
		token    string
		bssCalls int
	}{
		{"boot, same image: A's power-on goes on for B", bos.OpBoot, image, "tok-1", 1},
		{"boot, another image: A's power-on is dropped, B powers on", bos.OpBoot, other, "tok-2", 2},
		{"reboot, same image: A's power-on is dropped, B powers on", bos.OpReboot, image, "tok-2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newRaceWorld(t)
			off := power.PowerOff
			w.reading = &off
			w.setup("A", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg-a"})
			w.onPut = func() { w.setup("B", tc.op, sessions.Target{BootArtifacts: tc.image, Configuration: "cfg-b"}) }
			w.step() // A decides the power-on; B takes over during it
			require.Equal(t, "B", w.component().Session)
			w.step() // B's first look, on a stale Off
			w.reading = nil
			w.settle("B", "cfg-b", tc.token)
			assert.Equal(t, tc.bssCalls, w.puts, "BSS PUTs")
		})
	}
}

// A power-on is retried while the first one is under way: the reset went through but the
// call failed (a timeout), or the On event lagged past max_power_on_wait_time. The retry
// must not hand BSS a new token the booting node never sees. (TestBootRebootShutdown under
// -race: nodes booted on a token other than the one BOS recorded.)
func TestRetriedPowerOnKeepsToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prep  func(w *raceWorld)
		after func(w *raceWorld) // between the first and the second look
	}{
		{"reset performed, call failed", func(w *raceWorld) { w.resetErr = errors.New("context deadline exceeded") }, func(*raceWorld) {}},
		{"On event later than max_power_on_wait_time", func(*raceWorld) {}, func(w *raceWorld) { w.mu.Lock(); w.now = w.now.Add(121 * time.Second); w.mu.Unlock() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newRaceWorld(t)
			off := power.PowerOff
			w.reading = &off
			w.setup("A", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg-a"})
			tc.prep(w)
			w.step() // power-on
			tc.after(w)
			w.step() // the retry, on a stale Off
			require.Equal(t, 2, w.component().EventStats.PowerOnAttempts, "the power-on was retried")
			w.reading = nil
			w.settle("A", "cfg-a", "tok-1")
			assert.Equal(t, 1, w.puts, "BSS PUTs")
		})
	}
}

// The node is deleted while its decision is being stored: the first compare-and-set
// conflicts with the delete and the retry finds no record. Nothing was written, so
// nothing may be done: no reset of a node BOS no longer manages.
func TestNodeDeletedWhileDecisionIsStored(t *testing.T) {
	w := newRaceWorld(t)
	w.power = power.PowerOn
	w.setup("A", bos.OpShutdown, sessions.Target{})
	deleted := false
	w.r.decide = func(c bos.Component, obs Observation, opts bos.Options, now time.Time) Decision {
		if !deleted {
			deleted = true // from another client: the running transaction's WATCH fails
			require.NoError(t, w.st.DeleteComponent(context.Background(), raceNode))
		}
		return Decide(c, obs, opts, now)
	}
	w.r.reconcile(w.ctx, []string{raceNode})
	require.True(t, deleted)
	assert.Equal(t, power.PowerOn, w.power, "no reset for a decision never stored")
	assert.Zero(t, w.transitions)
}

// resetNames name the race world's crash points after the Redfish ResetType of each kind.
var resetNames = map[power.ResetKind][]string{
	power.ResetOn:          {"On"},
	power.ResetGracefulOff: {"GracefulShutdown"},
	power.ResetForceOff:    {"ForceOff"},
}
