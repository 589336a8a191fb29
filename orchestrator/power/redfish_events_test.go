package power

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/simulator"
)

// bosSink serves a driver's EventsHandler at /operator/redfish-events, as the stack does,
// and counts the power events it accepted per node.
type bosSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newBOSSink(t *testing.T, eps staticEndpoints) (*Redfish, *bosSink) {
	t.Helper()
	sink := &bosSink{got: map[string]int{}}
	var rf *Redfish
	mux := http.NewServeMux()
	mux.Handle("/operator/redfish-events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rf.EventsHandler().ServeHTTP(w, r) }))
	sink.srv = httptest.NewServer(mux)
	t.Cleanup(sink.srv.Close)
	rf = NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 2 * time.Second,
		EventDestination: sink.srv.URL + "/operator/redfish-events",
		OnPowerChange:    func(n string, _ Power) { sink.mu.Lock(); sink.got[n]++; sink.mu.Unlock() }})
	return rf, sink
}

func (s *bosSink) count(node string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.got[node] }

// bmcSubscriptions lists the EventDestinations of a BMC (Destination and Context).
func bmcSubscriptions(t *testing.T, ep Endpoint) []map[string]any {
	t.Helper()
	get := func(path string) map[string]any {
		req, err := http.NewRequest(http.MethodGet, "http://"+ep.FQDN+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth(ep.User, ep.Password)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		var v map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		return v
	}
	var out []map[string]any
	for _, m := range get("/redfish/v1/EventService/Subscriptions")["Members"].([]any) {
		out = append(out, get(m.(map[string]any)["@odata.id"].(string)))
	}
	return out
}

// bosSubscriptions counts a BMC's subscriptions that POST to a BOS.
func bosSubscriptions(t *testing.T, ep Endpoint) int {
	n := 0
	for _, s := range bmcSubscriptions(t, ep) {
		if strings.HasSuffix(s["Destination"].(string), "/operator/redfish-events") {
			n++
		}
	}
	return n
}

func oneEndpointPerBMC(eps staticEndpoints) map[string]Endpoint {
	out := map[string]Endpoint{}
	for _, ep := range eps {
		out[ep.BMC] = ep
	}
	return out
}

// Five starts of BOS on the same BMCs, each on a new address and none stopped cleanly
// (a crash): each BMC ends with one BOS subscription, the latest's, and a power change
// reaches BOS once, with no delivery to the dead ones.
func TestRedfishSubscriptionsAreOwnedAcrossRestarts(t *testing.T) {
	sim, eps := startBMCs(t, 4, simulator.Faults{})
	ctx := context.Background()
	var rf *Redfish
	var sink *bosSink
	for range 5 {
		if sink != nil {
			sink.srv.Close() // the previous BOS died without unsubscribing
			rf.Close()
		}
		rf, sink = newBOSSink(t, eps)
		n, err := rf.Subscribe(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
	}
	defer rf.Close()
	for bmc, ep := range oneEndpointPerBMC(eps) {
		assert.Equal(t, 1, bosSubscriptions(t, ep), bmc)
	}

	node := "x1000c0s0b0n0"
	require.Empty(t, rf.Reset(ctx, []string{node}, ResetOn))
	// Every event the BMCs queued is settled (delivered or given up), so duplicates, if
	// any, have arrived.
	testwait.Until(t, "PoweringOn and On delivered", func() bool {
		st := sim.Stats()
		return sink.count(node) >= 2 && st.EventsDelivered+st.EventsFailed+st.EventsDropped >= st.EventsQueued
	}, func() string { return fmt.Sprintf("%d events accepted, simulator %+v", sink.count(node), sim.Stats()) })
	assert.Equal(t, 2, sink.count(node), "each change delivered once")
	st := sim.Stats()
	assert.EqualValues(t, 2, st.EventsDelivered)
	assert.Zero(t, st.EventsFailed+st.EventsQueued-st.EventsDelivered, "nothing sent to the dead BOSes")
}

// A start with the same secret and destination keeps its subscription; a clean stop
// deletes it.
func TestRedfishSubscriptionReusedAndRemovedOnStop(t *testing.T) {
	_, eps := startBMCs(t, 2, simulator.Faults{})
	ctx := context.Background()
	sink := httptest.NewServer(http.NotFoundHandler())
	defer sink.Close()
	start := func() *Redfish {
		rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", EventDestination: sink.URL + "/operator/redfish-events", EventSecret: "s"})
		n, err := rf.Subscribe(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		return rf
	}
	ep := eps[0]
	first := start()
	before := bmcSubscriptions(t, ep)
	require.Len(t, before, 1)
	assert.Regexp(t, `^x1000c0s0b0:bos:[0-9a-f]{12}$`, before[0]["Context"])
	assert.Equal(t, "TerminateAfterRetries", before[0]["DeliveryRetryPolicy"])
	first.Close()
	second := start()
	assert.Equal(t, before, bmcSubscriptions(t, ep), "found and reused")

	assert.Zero(t, second.Unsubscribe(ctx))
	second.Close()
	assert.Empty(t, bmcSubscriptions(t, ep))
}

// Only events of BOS's own subscriptions are taken: a forged Off (no token, a wrong one,
// or the token with a Context that is not our subscription's) is refused with a problem
// and changes nothing; the BMC's real event is accepted.
func TestRedfishForgedEventsAreRefused(t *testing.T) {
	_, eps := startBMCs(t, 4, simulator.Faults{})
	rf, sink := newBOSSink(t, eps)
	defer rf.Close()
	ctx := context.Background()
	_, err := rf.Subscribe(ctx)
	require.NoError(t, err)
	node := "x1000c0s0b0n0"
	require.Empty(t, rf.Reset(ctx, []string{node}, ResetOn))
	testwait.Until(t, "the real events are accepted", func() bool { return sink.count(node) == 2 },
		func() string { return fmt.Sprintf("%d events accepted", sink.count(node)) })
	require.Equal(t, PowerOn, rf.PowerStates(ctx, []string{node})[node].Power)

	forge := func(context, token string) *http.Response {
		body := `{"Context":"` + context + `","Events":[{"MessageId":"ResourceEvent.1.0.ResourcePowerStateChanged",` +
			`"MessageArgs":["/redfish/v1/Systems/Node0","Off"],"OriginOfCondition":{"@odata.id":"/redfish/v1/Systems/Node0"}}]}`
		req, err := http.NewRequest(http.MethodPost, sink.srv.URL+"/operator/redfish-events", bytes.NewBufferString(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set(EventTokenHeader, token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		name, context, token string
		want                 int
	}{
		{"no token", "x1000c0s0b0", "", http.StatusUnauthorized},
		{"a wrong token", "x1000c0s0b0", "guess", http.StatusUnauthorized},
		{"the token, the BMC xname as Context", "x1000c0s0b0", rf.secret, http.StatusForbidden},
		{"the token, another owner's Context", "x1000c0s0b0:other:0123456789ab", rf.secret, http.StatusForbidden},
	} {
		resp := forge(c.context, c.token)
		assert.Equal(t, c.want, resp.StatusCode, c.name)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), c.name)
	}
	assert.Equal(t, 2, sink.count(node), "no wake-up from forged events")
	assert.Equal(t, PowerOn, rf.PowerStates(ctx, []string{node})[node].Power, "the cache still says On")
}

// After a restart every BMC's events on the old subscriptions are refused until it is
// subscribed again: the refusals are logged once per refusalLogEvery with their count, not
// a line each.
func TestRefusedEventsAreLoggedInSummary(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	rf := NewRedfish(RedfishConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
	refuse := func(n int) {
		for range n {
			w := httptest.NewRecorder()
			rf.EventsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/operator/redfish-events", strings.NewReader(`{}`)))
			require.Equal(t, http.StatusUnauthorized, w.Code)
		}
	}
	lines := func() []string { return strings.Split(strings.TrimSpace(logs.String()), "\n") }

	refuse(500)
	require.Len(t, lines(), 1, "the first refusal is logged, the next 499 within %s are not", refusalLogEvery)
	assert.Contains(t, lines()[0], "refused_since_last_line=1")
	now = now.Add(refusalLogEvery)
	refuse(1)
	require.Len(t, lines(), 2)
	assert.Contains(t, lines()[1], "refused_since_last_line=500", "499 held back and this one")
}

// A BMC that does not answer at start is subscribed to once it does: KeepSubscribed tries
// the BMCs without a subscription again, backing off, and leaves the others alone. In a
// synctest bubble on memnet, so the backoff is the fake clock's.
func TestRedfishKeepSubscribedRetriesMissingBMCs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := memnet.New()
		sim, eps := startBMCsOn(t, mn, 4, simulator.Faults{Set: map[string][]simulator.Fault{"x1000c0s0b1": {simulator.FaultUnreachable}}})
		defer sim.Close()
		rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: time.Second, Dial: mn.DialContext,
			EventDestination: "http://bos.test/operator/redfish-events"})
		defer rf.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		go func() { done <- rf.KeepSubscribed(ctx, nil) }()
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		rf.mu.RLock()
		assert.Len(t, rf.subs, 1, "the answering BMC only")
		first := rf.subs["x1000c0s0b0"]
		rf.mu.RUnlock()

		require.NoError(t, sim.ClearFault("x1000c0s0b1", simulator.FaultUnreachable))
		select {
		case n := <-done:
			assert.Equal(t, 2, n)
		case <-time.After(time.Minute):
			t.Fatal("the BMC was not subscribed to once it answered")
		}
		rf.mu.RLock()
		defer rf.mu.RUnlock()
		assert.Equal(t, first, rf.subs["x1000c0s0b0"], "the first BMC's subscription was left alone")
		assert.Len(t, rf.subs, 2)
	})
}

// Event bodies are read as encoding/json reads them: member names in any case, the first
// JSON value of the body (what follows it is not looked at); a body that is no JSON
// object of that shape is a 400 problem.
func TestRedfishEventBodiesAreReadAsEncodingJSONReadsThem(t *testing.T) {
	eps := staticEndpoints{{Node: "x1000c0s0b0n0", BMC: "x1000c0s0b0", FQDN: "x1000c0s0b0", SystemPath: "/redfish/v1/Systems/Node0"}}
	var got []Power
	rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", EventSecret: "s3cret", OnPowerChange: func(_ string, p Power) { got = append(got, p) }})
	require.NoError(t, rf.Refresh(context.Background()))
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/operator/redfish-events", strings.NewReader(body))
		req.Header.Set(EventTokenHeader, "s3cret")
		w := httptest.NewRecorder()
		rf.EventsHandler().ServeHTTP(w, req)
		return w
	}
	ctx := `"x1000c0s0b0` + rf.context + `"`
	w := post(`{"context":` + ctx + `,"EVENTS":[{"messageid":"ResourceEvent.1.0.ResourcePowerStateChanged","MessageArgs":["/redfish/v1/Systems/Node0","Off"]}]} trailing`)
	assert.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, []Power{PowerOff}, got)
	for _, body := range []string{`{"Context":` + ctx + `,"Events":{}}`, `{"Context":` + ctx + `,"Events":[`, `[]`, `"x"`} {
		w := post(body)
		assert.Equal(t, http.StatusBadRequest, w.Code, body)
		assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), body)
		assert.Contains(t, w.Body.String(), "not a Redfish event", body)
	}
	assert.Equal(t, []Power{PowerOff}, got, "no event taken from a refused body")
}
