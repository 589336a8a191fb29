package simulator

import (
	"encoding/json"
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
)

// receivedEvent is one Event POST as a subscriber decodes it.
type receivedEvent struct {
	Path    string
	Context string
	Events  []struct {
		MessageID         string   `json:"MessageId"`
		MessageArgs       []string `json:"MessageArgs"`
		EventType         string   `json:"EventType"`
		EventTimestamp    string   `json:"EventTimestamp"`
		OriginOfCondition struct {
			ID string `json:"@odata.id"`
		} `json:"OriginOfCondition"`
	}
}

func decodeEvents(t *testing.T, rec *recorder) []receivedEvent {
	t.Helper()
	var out []receivedEvent
	for _, r := range rec.all() {
		var e receivedEvent
		require.NoError(t, json.Unmarshal(r.body, &e), "%s", r.body)
		e.Path = r.path
		out = append(out, e)
	}
	return out
}

// stateSeq lists "Context path state" for each event, in arrival order.
func stateSeq(evs []receivedEvent, path string) []string {
	var out []string
	for _, e := range evs {
		if e.Path != path {
			continue
		}
		for _, r := range e.Events {
			out = append(out, e.Context+" "+r.MessageArgs[0]+" "+r.MessageArgs[1])
		}
	}
	return out
}

func TestPowerEventsReachSubscribers(t *testing.T) {
	sub := newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	s := newSim(t, func(c *Config) {
		c.Subscriptions = []Subscription{{Destination: sub.srv.URL + "/hsm/{bmc}"}}
	})
	srv := bmcServer(t, s, bladeBMC)
	// hmcollector's own subscription, with its Context.
	require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"`+sub.srv.URL+`/collector","Context":"`+bladeBMC+`:collector","Protocol":"Redfish","EventTypes":["Alert"],"RegistryPrefixes":["ResourceEvent","CrayAlerts"]}`, "basic").status)
	// A subscriber that filters power events out.
	require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"`+sub.srv.URL+`/telemetry","Context":"t","RegistryPrefixes":["CrayTelemetry"]}`, "basic").status)

	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitPower(t, s, bladeNode, "On")
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	waitPower(t, s, bladeNode, "Off")
	testwait.Until(t, "4 changes × 2 subscribers delivered", func() bool { return s.Stats().EventsDelivered == 8 }, stats(s))

	evs := decodeEvents(t, sub)
	uri := "/redfish/v1/Systems/Node0"
	assert.Equal(t, []string{bladeBMC + " " + uri + " PoweringOn", bladeBMC + " " + uri + " On",
		bladeBMC + " " + uri + " PoweringOff", bladeBMC + " " + uri + " Off"}, stateSeq(evs, "/hsm/"+bladeBMC),
		"the pre-seeded subscription carries the BMC xname as Context, in order")
	assert.Len(t, stateSeq(evs, "/collector"), 4)
	assert.Empty(t, stateSeq(evs, "/telemetry"))
	for _, e := range evs {
		require.NotEmpty(t, e.Events)
		for _, r := range e.Events {
			assert.Equal(t, "ResourceEvent.1.0.ResourcePowerStateChanged", r.MessageID)
			assert.Equal(t, "Alert", r.EventType)
			assert.Equal(t, uri, r.OriginOfCondition.ID)
			_, err := time.Parse(time.RFC3339, r.EventTimestamp)
			assert.NoError(t, err)
		}
	}
	assert.Equal(t, bladeBMC+":collector", evs[len(evs)-1].Context)
	for _, r := range sub.all() {
		validateEvent(t, r.body)
	}
}

// Events queued while a subscriber's delivery is under way leave together, in order, as
// the records of one Event POST: one POST per subscriber for many transitions.
func TestEventsQueuedMeanwhileShareOnePost(t *testing.T) {
	release := make(chan struct{})
	var first sync.Once
	sub := newRecorder(t, func(*http.Request, []byte) (int, string) {
		first.Do(func() { <-release }) // the first POST waits while the rest queue up
		return http.StatusOK, ""
	})
	s := newSim(t, func(c *Config) {
		c.Subscriptions = []Subscription{{Destination: sub.srv.URL + "/hsm/{bmc}"}}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	testwait.Until(t, "the first POST is under way", func() bool { return len(sub.all()) == 1 }, stats(s))
	waitPower(t, s, bladeNode, "On")
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	waitPower(t, s, bladeNode, "Off")
	close(release)
	testwait.Until(t, "4 events delivered", func() bool { return s.Stats().EventsDelivered == 4 }, stats(s))

	evs := decodeEvents(t, sub)
	require.Len(t, evs, 2, "one POST under way, one for everything queued meanwhile")
	uri := "/redfish/v1/Systems/Node0"
	assert.Equal(t, []string{bladeBMC + " " + uri + " PoweringOn", bladeBMC + " " + uri + " On",
		bladeBMC + " " + uri + " PoweringOff", bladeBMC + " " + uri + " Off"}, stateSeq(evs, "/hsm/"+bladeBMC))
	assert.GreaterOrEqual(t, len(evs[1].Events), 2, "at least the power-off's two transitions")
	assert.EqualValues(t, 2, s.Stats().EventPosts)
	for _, r := range sub.all() {
		validateEvent(t, r.body)
	}
}

// A collected subscription (Subscription.Collect, as hmcollector forwards) sends the
// events of several BMCs queued meanwhile in one POST, each record naming its BMC in its
// Context, each BMC's events in the order of its changes.
func TestCollectedEventsOfSeveralBMCsShareOnePost(t *testing.T) {
	release := make(chan struct{})
	var first sync.Once
	sub := newRecorder(t, func(*http.Request, []byte) (int, string) {
		first.Do(func() { <-release }) // the first POST waits while the rest queue up
		return http.StatusOK, ""
	})
	s := newSim(t, func(c *Config) {
		c.Subscriptions = []Subscription{{Destination: sub.srv.URL + "/collector", Collect: true}}
	})
	const otherBlade, otherNode = "x1000c0s0b1", "x1000c0s0b1n0"
	require.Equal(t, 204, call(t, bmcServer(t, s, bladeBMC).URL, "POST", resetPath, resetBody("On"), "basic").status)
	testwait.Until(t, "the first POST is under way", func() bool { return len(sub.all()) == 1 }, stats(s))
	require.Equal(t, 204, call(t, bmcServer(t, s, otherBlade).URL, "POST", resetPath, resetBody("On"), "basic").status)
	require.Equal(t, 204, call(t, bmcServer(t, s, rackBMC).URL, "POST", "/redfish/v1/Systems/Self/Actions/ComputerSystem.Reset", resetBody("On"), "basic").status)
	for _, n := range []string{bladeNode, otherNode, rackNode} {
		waitPower(t, s, n, "On")
	}
	close(release)
	testwait.Until(t, "3 nodes × 2 changes delivered", func() bool { return s.Stats().EventsDelivered == 6 }, stats(s))

	require.EqualValues(t, 2, s.Stats().EventPosts, "one POST under way, one for every BMC's events queued meanwhile")
	var seq []string
	bmcs := map[string]bool{}
	for i, r := range sub.all() { // not validateEvent: the schema deprecates a record's Context
		var ev struct {
			Context string
			Events  []struct {
				Context     string
				MessageArgs []string
			}
		}
		require.NoError(t, json.Unmarshal(r.body, &ev))
		assert.Empty(t, ev.Context, "the records name their BMCs")
		for _, rec := range ev.Events {
			seq = append(seq, rec.Context+" "+rec.MessageArgs[1])
			if i == 1 {
				bmcs[rec.Context] = true
			}
		}
	}
	assert.Len(t, bmcs, 3, "the second POST carries the events of the three BMCs: %v", seq)
	for _, b := range []string{bladeBMC, otherBlade, rackBMC} {
		var mine []string
		for _, e := range seq {
			if strings.HasPrefix(e, b+" ") {
				mine = append(mine, e)
			}
		}
		assert.Equal(t, []string{b + " PoweringOn", b + " On"}, mine, "%s's events in order", b)
	}
	// Each BMC still lists the subscription as its own, with its Context.
	got := call(t, bmcServer(t, s, otherBlade).URL, "GET", "/redfish/v1/EventService/Subscriptions/1", "", "basic").json(t)
	assert.Equal(t, otherBlade, got["Context"])
}

// A collected subscription with Local hands its events to it, records as a POST would
// carry them and in the order of the changes, and POSTs nothing; while Local refuses
// them, they are POSTed.
func TestCollectedEventsGoToLocal(t *testing.T) {
	sub := newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	var mu sync.Mutex
	var got []EventRecord
	take := false
	s := newSim(t, func(c *Config) {
		c.Subscriptions = []Subscription{{Destination: sub.srv.URL + "/collector", Collect: true, Local: func(evs []EventRecord) bool {
			mu.Lock()
			defer mu.Unlock()
			if take {
				got = append(got, evs...)
			}
			return take
		}}}
	})
	require.Equal(t, 204, call(t, bmcServer(t, s, bladeBMC).URL, "POST", resetPath, resetBody("On"), "basic").status)
	testwait.Until(t, "the power-on's events POSTed", func() bool { return s.Stats().EventsDelivered == 2 }, stats(s))
	posts := len(sub.all())
	require.Positive(t, posts, "Local refused them")

	mu.Lock()
	take = true
	mu.Unlock()
	require.Equal(t, 204, call(t, bmcServer(t, s, bladeBMC).URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	testwait.Until(t, "the power-off's events taken", func() bool { return s.Stats().EventsDelivered == 4 }, stats(s))
	assert.Len(t, sub.all(), posts, "no POST once Local takes them")
	uri := "/redfish/v1/Systems/Node0"
	mu.Lock()
	defer mu.Unlock()
	want := []EventRecord{
		{Context: bladeBMC, MessageID: "ResourceEvent.1.0.ResourcePowerStateChanged", MessageArgs: []string{uri, "PoweringOff"}, OriginOfCondition: uri},
		{Context: bladeBMC, MessageID: "ResourceEvent.1.0.ResourcePowerStateChanged", MessageArgs: []string{uri, "Off"}, OriginOfCondition: uri},
	}
	assert.Equal(t, want, got)
}

// A dead subscriber costs retries on the delivery pool, never the BMC's answers.
// In a synctest bubble on memnet (the subscriber's address refuses connections), so the
// bound on the resets' time is fake time, not the machine's load.
func TestDeadSubscriberDoesNotBlockTheBMC(t *testing.T) {
	synctest.Test(t, testDeadSubscriberDoesNotBlockTheBMC)
}

func testDeadSubscriberDoesNotBlockTheBMC(t *testing.T) {
	mn := memnet.New() // nothing listens on dead.test
	s := newSim(t, func(c *Config) {
		c.Subscriptions = []Subscription{{Destination: "http://dead.test:80/events"}}
		c.EventWorkers, c.EventQueue = 1, 2
		c.Timing.ReportBackoff = 50 * time.Millisecond
		c.Listen, c.Dial = mn.Listen, mn.DialContext
	})
	reset := func(rt string) int {
		req := httptest.NewRequest(http.MethodPost, resetPath, strings.NewReader(resetBody(rt)))
		req.SetBasicAuth("root", "initial0")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler(bladeBMC).ServeHTTP(rec, req)
		return rec.Code
	}
	start := time.Now()
	for _, rt := range []string{"On", "ForceOff", "On", "ForceOff"} {
		require.Equal(t, 204, reset(rt))
		waitPower(t, s, bladeNode, map[string]string{"On": "On", "ForceOff": "Off"}[rt])
	}
	assert.Less(t, time.Since(start), 2*time.Second, "resets answered while deliveries fail")
	testwait.Until(t, "every event failed or dropped", func() bool {
		st := s.Stats()
		return st.EventsFailed+st.EventsDropped == 8 && st.EventsFailed >= 1
	}, stats(s))
	st := s.Stats()
	assert.Positive(t, st.EventsDropped, "the shard queue (2) overflowed")
	assert.Zero(t, st.EventsDelivered)
}

func TestEventServiceShape(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	es := call(t, srv.URL, "GET", "/redfish/v1/EventService", "", "basic").json(t)
	assert.Equal(t, true, es["ServiceEnabled"])
	assert.NotContains(t, es, "EventTypesForSubscription", "deprecated")
	assert.Equal(t, []any{"Base", "ResourceEvent"}, es["RegistryPrefixes"])
	assert.Equal(t, map[string]any{"@odata.id": "/redfish/v1/EventService/Subscriptions"}, es["Subscriptions"])
	assert.EqualValues(t, eventRetries, es["DeliveryRetryAttempts"])
}

// HttpHeaders given on subscribe come back on every event POST and are never read back.
func TestSubscriptionHeadersAreSentWithEvents(t *testing.T) {
	var mu sync.Mutex
	var got []string
	sub := newRecorder(t, func(r *http.Request, _ []byte) (int, string) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Token")+"|"+r.Header.Get("X-Other"))
		mu.Unlock()
		return http.StatusNoContent, ""
	})
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	r := call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"`+sub.srv.URL+`/e","Context":"c","HttpHeaders":[{"X-Token":"s3cret"},{"X-Other":"o"}]}`, "basic")
	require.Equal(t, 201, r.status)
	body := r.json(t)
	assert.Equal(t, []any{}, body["HttpHeaders"], "never returned on reads")
	assert.Equal(t, "TerminateAfterRetries", body["DeliveryRetryPolicy"], "the default, as bmcweb's")
	assert.NotContains(t, string(call(t, srv.URL, "GET", "/redfish/v1/EventService/Subscriptions/1", "", "basic").body), "s3cret")

	require.Equal(t, 400, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"`+sub.srv.URL+`/e","HttpHeaders":[{"Bad: name":"v"}]}`, "basic").status)
	require.Equal(t, 400, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"`+sub.srv.URL+`/e","DeliveryRetryPolicy":"SuspendRetries"}`, "basic").status)

	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitPower(t, s, bladeNode, "On")
	testwait.Until(t, "2 events delivered", func() bool { return s.Stats().EventsDelivered == 2 }, stats(s))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"s3cret|o", "s3cret|o"}, got)
}

// A subscription under TerminateAfterRetries is deleted once an event fails all its
// retries (its subscriber is gone); a RetryForever one stays.
func TestSubscriptionTerminatedAfterFailedDeliveries(t *testing.T) {
	dead := newRecorder(t, nil)
	dead.srv.Close()
	live := newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	for _, b := range []string{
		`{"Destination":"` + dead.srv.URL + `/gone","Context":"terminate"}`,
		`{"Destination":"` + dead.srv.URL + `/gone","Context":"forever","DeliveryRetryPolicy":"RetryForever"}`,
		`{"Destination":"` + live.srv.URL + `/live","Context":"live"}`,
	} {
		require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions", b, "basic").status)
	}
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitPower(t, s, bladeNode, "On")
	testwait.Until(t, "one subscription terminated", func() bool { return s.Stats().SubscriptionsTerminated == 1 }, stats(s))
	members := call(t, srv.URL, "GET", "/redfish/v1/EventService/Subscriptions", "", "basic").json(t)["Members"].([]any)
	var ids []string
	for _, m := range members {
		ids = append(ids, m.(map[string]any)["@odata.id"].(string))
	}
	assert.Equal(t, []string{"/redfish/v1/EventService/Subscriptions/2", "/redfish/v1/EventService/Subscriptions/3"}, ids)
	assert.Equal(t, 404, call(t, srv.URL, "GET", "/redfish/v1/EventService/Subscriptions/1", "", "basic").status)
}

// A power change and the events telling of it leave in the same order, whichever
// goroutine announces first: here the node panics (and powers off) at the instant it
// powers on, and the reset's own announcement is held until the panic has been
// announced. Before events were queued under the BMC lock, the subscriber got Off and
// then On: a stale On that BOS trusted for its event cache's lifetime.
func TestEventsFollowPowerChangesWhenAnnouncementsRace(t *testing.T) {
	st := newStack(t)
	sub := newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	panicked := make(chan struct{})
	var once sync.Once
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.Timing.Scale = 0 // the node boots, and panics, at the instant it powers on
		c.Faults.Set = map[string][]Fault{bladeNode: {FaultKernelPanic}}
		c.Subscriptions = []Subscription{{Destination: sub.srv.URL + "/events"}}
		c.OnPowerChange = func(xname, state string) {
			if xname == bladeNode && state == "Off" {
				once.Do(func() { close(panicked) })
			}
		}
		c.OnReset = func(string, string) {
			testwait.Receive(t, panicked, "the kernel panic announced", func() string { return "no Off yet" })
		}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	testwait.Until(t, "3 events delivered", func() bool { return s.Stats().EventsDelivered == 3 }, stats(s))
	uri := "/redfish/v1/Systems/Node0"
	assert.Equal(t, []string{bladeBMC + " " + uri + " PoweringOn", bladeBMC + " " + uri + " On", bladeBMC + " " + uri + " Off"},
		stateSeq(decodeEvents(t, sub), "/events"))
}
