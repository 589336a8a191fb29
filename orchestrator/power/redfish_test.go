package power

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stmcginnis/gofish/schemas"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/simulator"
)

// staticEndpoints is an EndpointSource over a fixed list.
type staticEndpoints []Endpoint

func (s staticEndpoints) Endpoints(context.Context) ([]Endpoint, error) { return s, nil }

// startBMCs runs a simulator for n compute nodes and returns it with the endpoints HSM
// would list for it.
func startBMCs(t *testing.T, n int, faults simulator.Faults) (*simulator.Simulator, staticEndpoints) {
	return startBMCsOn(t, nil, n, faults)
}

// startBMCsOn is startBMCs on mn (nil: the host's TCP); a test in a synctest bubble needs
// one, and a driver with Dial: mn.DialContext.
func startBMCsOn(t testing.TB, mn *memnet.Network, n int, faults simulator.Faults) (*simulator.Simulator, staticEndpoints) {
	t.Helper()
	topo, err := topology.Generate(topology.Options{Compute: n})
	require.NoError(t, err)
	timing := simulator.DefaultTiming()
	timing.Scale = 0
	cfg := simulator.Config{Topology: topo, Timing: &timing, Faults: faults}
	if mn != nil {
		cfg.Listen, cfg.Dial = mn.Listen, mn.DialContext
	}
	sim, err := simulator.New(cfg)
	require.NoError(t, err)
	require.NoError(t, sim.Start(context.Background()))
	t.Cleanup(func() { _ = sim.Close() })
	var eps staticEndpoints
	for _, b := range sim.BMCs() {
		for node, sys := range b.Systems {
			path := topology.SystemPath(sys)
			eps = append(eps, Endpoint{Node: node, BMC: b.Xname, FQDN: b.URL[len("http://"):], SystemPath: path,
				ResetTarget: path + "/Actions/ComputerSystem.Reset", ResetTypes: topology.ResetTypes,
				User: b.Username, Password: b.Password})
		}
	}
	return sim, eps
}

func TestRedfishReadsAndResets(t *testing.T) {
	sim, eps := startBMCs(t, 4, simulator.Faults{})
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 2 * time.Second})
	defer rf.Close()
	ctx := context.Background()
	ids := []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b1n0"}

	for id, r := range rf.PowerStates(ctx, ids) {
		require.NoError(t, r.Err, id)
		assert.Equal(t, PowerOff, r.Power, id)
	}
	assert.Empty(t, rf.Reset(ctx, ids[:2], ResetOn))
	var st map[string]PowerReading
	testwait.Until(t, "two nodes on, one off", func() bool {
		st = rf.PowerStates(ctx, ids)
		return st[ids[0]].Power == PowerOn && st[ids[1]].Power == PowerOn && st[ids[2]].Power == PowerOff
	}, func() string { return fmt.Sprintf("%+v", st) })
	assert.Empty(t, rf.Reset(ctx, ids[:1], ResetForceOff))
	testwait.Until(t, ids[0]+" off", func() bool { n, _ := sim.Node(ids[0]); return n.Power == "Off" },
		func() string { n, _ := sim.Node(ids[0]); return n.Power })

	errs := rf.Reset(ctx, []string{"x9999c0s0b0n0"}, ResetOn)
	assert.ErrorContains(t, errs["x9999c0s0b0n0"], "no Redfish endpoint")
}

func TestRedfishEventsFeedThePowerCache(t *testing.T) {
	_, eps := startBMCs(t, 2, simulator.Faults{})
	var mu sync.Mutex
	woken := map[string]int{}
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", OnPowerChange: func(n string, _ Power) { mu.Lock(); woken[n]++; mu.Unlock() }})
	defer rf.Close()
	sink := httptest.NewServer(rf.EventsHandler())
	defer sink.Close()
	rf.cfg.EventDestination = sink.URL
	ctx := context.Background()
	n, err := rf.Subscribe(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "one BMC for two blade nodes")

	assert.Empty(t, rf.Reset(ctx, []string{"x1000c0s0b0n1"}, ResetOn))
	testwait.Until(t, "x1000c0s0b0n1's power change noticed", func() bool { mu.Lock(); defer mu.Unlock(); return woken["x1000c0s0b0n1"] > 0 }, nil)
	cached := func() Power { rf.mu.RLock(); defer rf.mu.RUnlock(); return rf.cache["x1000c0s0b0n1"].power }
	testwait.Until(t, "the On event is cached", func() bool { return cached() == PowerOn },
		func() string { return "cached power " + cached().String() })
	mu.Lock()
	assert.Zero(t, woken["x1000c0s0b0n0"], "the other node's power did not change")
	mu.Unlock()

	// A stale event in the cache misleads PowerStates until CacheTTL; the polled view asks the BMC.
	rf.remember("x1000c0s0b0n1", PowerOff)
	assert.Equal(t, PowerOff, rf.PowerStates(ctx, []string{"x1000c0s0b0n1"})["x1000c0s0b0n1"].Power)
	assert.Equal(t, PowerOn, rf.Polled().PowerStates(ctx, []string{"x1000c0s0b0n1"})["x1000c0s0b0n1"].Power)
}

// In a synctest bubble on memnet, so the timings asserted are exact: a loaded machine
// cannot stretch "at once" or make the healthy BMC miss the timeout.
func TestRedfishCircuitBreakerOnAHungBMC(t *testing.T) {
	synctest.Test(t, testRedfishCircuitBreakerOnAHungBMC)
}

func testRedfishCircuitBreakerOnAHungBMC(t *testing.T) {
	mn := memnet.New()
	_, eps := startBMCsOn(t, mn, 4, simulator.Faults{Set: map[string][]simulator.Fault{"x1000c0s0b0": {simulator.FaultHang}}})
	now := time.Now()
	var clockMu sync.Mutex
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 200 * time.Millisecond, Dial: mn.DialContext,
		Now: func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }})
	defer rf.Close()
	ctx := context.Background()

	start := time.Now()
	st := rf.PowerStates(ctx, []string{"x1000c0s0b0n0", "x1000c0s0b1n0"})
	assert.Equal(t, PowerUnknown, st["x1000c0s0b0n0"].Power)
	assert.Error(t, st["x1000c0s0b0n0"].Err)
	assert.Equal(t, PowerOff, st["x1000c0s0b1n0"].Power, "a healthy BMC is unaffected")
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "the first call waits out the timeout")

	start = time.Now()
	errs := rf.Reset(ctx, []string{"x1000c0s0b0n1"}, ResetOn)
	assert.ErrorContains(t, errs["x1000c0s0b0n1"], "unreachable")
	assert.Less(t, time.Since(start), 100*time.Millisecond, "within the outage calls fail at once")

	clockMu.Lock()
	now = now.Add(2 * time.Second) // past the first 1 s outage: the BMC is tried again
	clockMu.Unlock()
	start = time.Now()
	errs = rf.Reset(ctx, []string{"x1000c0s0b0n1"}, ResetOn)
	assert.Error(t, errs["x1000c0s0b0n1"])
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "tried again after the outage")
	rf.mu.RLock()
	assert.Equal(t, 2, rf.down["x1000c0s0b0"].failures)
	rf.mu.RUnlock()
}

func TestPickResetType(t *testing.T) {
	assert.Equal(t, "On", pickResetType(ResetOn, topology.ResetTypes))
	assert.Equal(t, "ForceOn", pickResetType(ResetOn, []string{"ForceOn", "ForceOff"}))
	assert.Equal(t, "forceoff", pickResetType(ResetForceOff, []string{"forceoff"}), "the BMC's spelling is sent")
	assert.Equal(t, "Off", pickResetType(ResetForceOff, []string{"On", "Off"}))
	assert.Equal(t, "", pickResetType(ResetGracefulOff, []string{"On", "ForceOff"}), "not offered")
	assert.Equal(t, "GracefulShutdown", pickResetType(ResetGracefulOff, nil), "nothing listed: the standard name")
}

func TestRedfishErrorsAreShortAndTheSameForEveryNode(t *testing.T) {
	_, eps := startBMCs(t, 4, simulator.Faults{Set: map[string][]simulator.Fault{
		"x1000c0s0b0n0": {simulator.FaultReset503}, "x1000c0s0b1n1": {simulator.FaultReset503}, "x1000c0s0b1n0": {simulator.FaultReset500},
	}})
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 2 * time.Second})
	defer rf.Close()
	errs := rf.Reset(context.Background(), []string{"x1000c0s0b0n0", "x1000c0s0b1n1", "x1000c0s0b1n0"}, ResetOn)
	// The sentence quoting the Retry-After countdown is left out: it is timing, not cause.
	want503 := "BMC answered 503 Service Unavailable: The service is temporarily unavailable."
	assert.EqualError(t, errs["x1000c0s0b0n0"], want503)
	assert.EqualError(t, errs["x1000c0s0b1n1"], want503, "another node on another BMC: the same text")
	assert.EqualError(t, errs["x1000c0s0b1n0"], "BMC answered 500 Internal Server Error: The request failed due to an internal service error. The service is still operational.")
	var re *schemas.Error
	assert.ErrorAs(t, errs["x1000c0s0b0n0"], &re, "the Redfish error is still there to inspect")
}

func TestRedfishMessage(t *testing.T) {
	body := func(raw string) *schemas.Error {
		var re *schemas.Error
		require.ErrorAs(t, schemas.ConstructError(502, []byte(raw)), &re)
		return re
	}
	assert.Equal(t, "The service is busy.", redfishMessage(body(`{"error":{"code":"Base.1.0.GeneralError","message":"A general error has occurred. See ExtendedInfo for more information.","@Message.ExtendedInfo":[{"MessageId":"Base.1.0.ServiceBusy","Message":"The  service\nis busy."}]}}`)))
	assert.Equal(t, "The value 7 for the property Boot is not valid.", redfishMessage(body(`{"error":{"code":"X","message":"x","@Message.ExtendedInfo":[{"MessageId":"Base.1.0.PropertyValueNotInList","Message":"The value 7 for the property Boot is not valid.","MessageArgs":["7","Boot"]}]}}`)),
		"a message that is all numbers is kept whole")
	assert.Equal(t, "The service is busy.", redfishMessage(body(`{"error":{"code":"X","message":"x","@Message.ExtendedInfo":[{"MessageId":"Base.1.0.ServiceBusy","Message":"The service is busy. Retry in 12 seconds. Try again.","MessageArgs":["12"]}]}}`)),
		"a sentence quoting a numeric argument is dropped, with what follows it")
	assert.Equal(t, "Bad gateway", redfishMessage(body(`{"error":{"code":"X","message":"Bad gateway"}}`)), "no ExtendedInfo: the error's message")
	long := redfishMessage(body("<html><body>" + strings.Repeat("proxy error ", 100) + "</body></html>"))
	assert.Len(t, []rune(long), maxBMCMessage+1, "a body that is not a Redfish error is cut")
	assert.True(t, strings.HasPrefix(long, "<html><body>proxy error"), long)
}

// The BMC's name and address stay out of the text (the node's xname names its BMC, and
// the log names it when its outage starts), so all nodes behind dead BMCs share one cause.
func TestRedfishUnreachableBMCErrorIsTheSameForEveryBMC(t *testing.T) {
	_, eps := startBMCs(t, 4, simulator.Faults{Set: map[string][]simulator.Fault{
		"x1000c0s0b0": {simulator.FaultUnreachable}, "x1000c0s0b1": {simulator.FaultUnreachable}}})
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 2 * time.Second})
	defer rf.Close()
	ctx := context.Background()
	first := rf.Reset(ctx, []string{"x1000c0s0b0n0"}, ResetOn)["x1000c0s0b0n0"]
	require.Error(t, first)
	assert.Equal(t, "BMC unreachable: connection refused", first.Error())
	again := rf.Reset(ctx, []string{"x1000c0s0b0n1"}, ResetOn)["x1000c0s0b0n1"]
	assert.Equal(t, first.Error(), again.Error(), "within the outage: the same cause, no countdown")
	other := rf.Reset(ctx, []string{"x1000c0s0b1n0"}, ResetOn)["x1000c0s0b1n0"]
	assert.Equal(t, first.Error(), other.Error(), "another dead BMC: the same cause")
}

// Two nodes of a hung BMC read at once cost one timeout, not one each: the second caller,
// queued behind the first's connect, sees the outage the first started.
func TestRedfishNodesOfAHungBMCWaitOneTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := memnet.New()
		_, eps := startBMCsOn(t, mn, 4, simulator.Faults{Set: map[string][]simulator.Fault{"x1000c0s0b0": {simulator.FaultHang}}})
		rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 200 * time.Millisecond, Dial: mn.DialContext})
		defer rf.Close()
		start := time.Now()
		st := rf.PowerStates(context.Background(), []string{"x1000c0s0b0n0", "x1000c0s0b0n1"})
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		assert.EqualError(t, st["x1000c0s0b0n0"].Err, "BMC unreachable: no answer within 200ms")
		assert.EqualError(t, st["x1000c0s0b0n1"].Err, "BMC unreachable: no answer within 200ms")
	})
}

// Calls a hung BMC holds do not count against Parallel once they have run a tenth of the
// timeout: they put no load on anything, and healthy BMCs must not queue behind them.
func TestRedfishHungCallsDoNotFillTheParallelBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := memnet.New()
		_, eps := startBMCsOn(t, mn, 4, simulator.Faults{Set: map[string][]simulator.Fault{"x1000c0s0b0": {simulator.FaultHang}}})
		rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 10 * time.Second, Parallel: 1, Dial: mn.DialContext})
		defer rf.Close()
		ctx := context.Background()
		hung := make(chan PowerReading, 1)
		go func() { hung <- rf.PowerStates(ctx, []string{"x1000c0s0b0n0"})["x1000c0s0b0n0"] }()
		synctest.Wait() // the hung call holds the only slot
		start := time.Now()
		st := rf.PowerStates(ctx, []string{"x1000c0s0b1n0"})
		assert.NoError(t, st["x1000c0s0b1n0"].Err)
		assert.Equal(t, time.Second, time.Since(start), "the healthy BMC waited a tenth of the timeout, not all of it")
		assert.Error(t, (<-hung).Err)
	})
}

// A call the caller cancelled (BOS stopping, or a reconciler killed and restarted in the
// same process) says nothing about the BMC: it must not open the circuit breaker, or the
// next caller's calls to that BMC fail at once with "context canceled".
func TestRedfishCancelledCallLeavesTheBMCUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := memnet.New()
		sim, eps := startBMCsOn(t, mn, 2, simulator.Faults{Set: map[string][]simulator.Fault{"x1000c0s0b0": {simulator.FaultHang}}})
		rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 10 * time.Second, Dial: mn.DialContext})
		defer rf.Close()
		cancelled, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel) // mid-call: the BMC does not answer
		require.ErrorIs(t, rf.Reset(cancelled, []string{"x1000c0s0b0n0"}, ResetOn)["x1000c0s0b0n0"], context.Canceled)
		require.NoError(t, sim.ClearFault("x1000c0s0b0", simulator.FaultHang))
		assert.NoError(t, rf.Reset(context.Background(), []string{"x1000c0s0b0n0"}, ResetOn)["x1000c0s0b0n0"])
	})
}

type failingEndpoints struct{}

func (failingEndpoints) Endpoints(context.Context) ([]Endpoint, error) {
	return nil, errors.New("hsm: 503 Service Unavailable")
}

// TestRedfishNodeNotReported: a node HSM (read successfully) has no Redfish endpoint for
// is not reported, as PCS leaves it out (BOS holds it); HSM failing to answer is an error
// for the node, which BOS takes as "not off".
func TestRedfishNodeNotReported(t *testing.T) {
	ctx := context.Background()
	rf := NewRedfish(RedfishConfig{Endpoints: staticEndpoints{}, Scheme: "http", Timeout: time.Second})
	defer rf.Close()
	got := rf.PowerStates(ctx, []string{"x9999c0s0b0n0"})["x9999c0s0b0n0"]
	assert.Equal(t, PowerNotReported, got.Power)
	assert.ErrorContains(t, got.Err, "no Redfish endpoint for x9999c0s0b0n0 in HSM")

	down := NewRedfish(RedfishConfig{Endpoints: failingEndpoints{}, Scheme: "http", Timeout: time.Second})
	defer down.Close()
	got = down.PowerStates(ctx, []string{"x9999c0s0b0n0"})["x9999c0s0b0n0"]
	assert.Equal(t, PowerUnknown, got.Power)
	assert.ErrorContains(t, got.Err, "503")
}

func TestPowerOfRedfishStates(t *testing.T) {
	for state, want := range map[string]Power{"On": PowerOn, "PoweringOff": PowerOn, "Off": PowerOff, "PoweringOn": PowerOff, "Paused": PowerUnknown, "": PowerUnknown} {
		assert.Equal(t, want, powerOf(state), state)
	}
}

// fakeStates is HSM's view of power for KnownStates.
type fakeStates struct {
	mu    sync.Mutex
	power map[string]Power
	err   error
	calls int
}

func (f *fakeStates) States(_ context.Context, ids []string) (map[string]Power, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]Power{}
	for _, id := range ids {
		if p, ok := f.power[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// Without fresh events, power comes from HSM's states in one read, not a GET per node;
// a node this driver reset, a node HSM leaves out, a BMC in an outage and an unreadable
// HSM are read from the BMCs.
func TestRedfishPowerFromHSMStates(t *testing.T) {
	_, eps := startBMCs(t, 4, simulator.Faults{})
	var gets atomic.Int64
	countGETs := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/redfish/v1/Systems/") {
				gets.Add(1)
			}
			return next.RoundTrip(req)
		})
	}
	totalGETs := func() int { return int(gets.Load()) }
	ids := []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b1n0", "x1000c0s0b1n1"}
	hsm := &fakeStates{power: map[string]Power{ids[0]: PowerOff, ids[1]: PowerOff, ids[2]: PowerOff}}
	rf := NewRedfish(RedfishConfig{Endpoints: eps, States: hsm, Scheme: "http", Timeout: 2 * time.Second, WrapTransport: countGETs})
	defer rf.Close()
	ctx := context.Background()
	require.NoError(t, rf.Refresh(ctx))
	known, missing := rf.KnownStates(ctx, ids)
	assert.Empty(t, known)
	assert.Equal(t, ids, missing, "BMCs that never answered are read first-hand")
	assert.Zero(t, hsm.calls)
	assert.Len(t, rf.PowerStates(ctx, ids), 4)
	require.Equal(t, 4, totalGETs())
	for _, bmc := range []string{"x1000c0s0b0", "x1000c0s0b1"} {
		rf.subs[bmc] = subscription{uri: subscriptionsPath + "/1"} // as Subscribe leaves it: events count
	}

	known, missing = rf.KnownStates(ctx, ids)
	assert.Equal(t, map[string]PowerReading{ids[0]: {Power: PowerOff}, ids[1]: {Power: PowerOff}, ids[2]: {Power: PowerOff}}, known)
	assert.Equal(t, []string{ids[3]}, missing, "HSM does not know it")
	assert.Equal(t, 1, hsm.calls, "one read for the batch")
	assert.Equal(t, PowerOff, rf.PowerStates(ctx, ids)[ids[3]].Power)
	assert.Equal(t, 5, totalGETs(), "a GET for the node HSM left out only")

	// After a reset, HSM may not have heard: the node is read first-hand until an event.
	assert.Empty(t, rf.Reset(ctx, ids[:1], ResetOn))
	_, missing = rf.KnownStates(ctx, ids)
	assert.Equal(t, []string{ids[0], ids[3]}, missing)
	rf.remember(ids[0], PowerOn)
	_, missing = rf.KnownStates(ctx, ids)
	assert.Equal(t, []string{ids[3]}, missing, "an event came: HSM's state counts again")

	// A BMC that stopped answering: its nodes fail fast with its error, not HSM's word.
	rf.observe("x1000c0s0b1", errors.New("connection refused"))
	_, missing = rf.KnownStates(ctx, ids)
	assert.Equal(t, []string{ids[2], ids[3]}, missing)
	assert.EqualError(t, rf.PowerStates(ctx, ids)[ids[2]].Err, "BMC unreachable: connection refused")

	// HSM unreadable: every node from its BMC.
	hsm.mu.Lock()
	hsm.err = errors.New("hsm down")
	hsm.mu.Unlock()
	known, missing = rf.KnownStates(ctx, ids[:2])
	assert.Equal(t, map[string]PowerReading{ids[0]: {Power: PowerOn}}, known, "the fresh event")
	assert.Equal(t, ids[1:2], missing)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// HSMEndpoints.States maps HSM's Component State: Off is off, On/Ready/Standby/Halt on,
// anything else (Empty, Populated, Unknown) left out.
func TestHSMStates(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ComponentIDs []string }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		asked = append(asked, r.Method+" "+r.URL.Path)
		states := []string{"Off", "On", "Ready", "Standby", "Halt", "Empty", "Unknown"}
		var comps []map[string]string
		for i, id := range body.ComponentIDs {
			comps = append(comps, map[string]string{"ID": id, "Type": "Node", "State": states[i%len(states)]})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Components": comps})
	}))
	defer srv.Close()
	h := HSMEndpoints{Client: hsmapi.NewClient(srv.URL, srv.Client())}
	ids := []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6"}
	got, err := h.States(context.Background(), ids)
	require.NoError(t, err)
	assert.Equal(t, map[string]Power{"n0": PowerOff, "n1": PowerOn, "n2": PowerOn, "n3": PowerOn, "n4": PowerOn}, got)
	assert.Equal(t, []string{"POST /hsm/v2/State/Components/Query"}, asked)
}
