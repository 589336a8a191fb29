package hsm

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/memnet"
)

const scnPath = "/hsm/v2/Subscriptions/SCN"

// The subscription API answers as hms-smd's doPostSCNSubscription and friends: ids
// from 1, the same Subscriber and Url replace their subscription under its ID, and
// the detail texts are hms-smd's.
func TestSCNSubscriptionsAsReal(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", scnPath, "")
	require.Equal(t, 200, r.status)
	assert.JSONEq(t, `{"SubscriptionList":[]}`, r.body)

	r = call(t, s, "POST", scnPath, `{"Subscriber":"hmnfd@sms1","States":["On","off"],"Url":"http://hmnfd/scn"}`)
	require.Equal(t, 200, r.status, r.body)
	assert.JSONEq(t, `{"ID":1,"Subscriber":"hmnfd@sms1","States":["On","off"],"Url":"http://hmnfd/scn"}`, r.body)
	r = call(t, s, "POST", scnPath, `{"Subscriber":"bos","Enabled":true,"Roles":["Compute"],"Url":"http://bos/scn"}`)
	require.Equal(t, 200, r.status, r.body)
	assert.Contains(t, r.body, `"ID":2`)
	// Same Subscriber and Url: replaced, same ID.
	r = call(t, s, "POST", scnPath, `{"Subscriber":"hmnfd@sms1","States":["Ready"],"Url":"http://hmnfd/scn"}`)
	assert.JSONEq(t, `{"ID":1,"Subscriber":"hmnfd@sms1","States":["Ready"],"Url":"http://hmnfd/scn"}`, r.body)
	assert.Len(t, decode[SCNSubscriptionArray](t, call(t, s, "GET", scnPath, "")).SubscriptionList, 2)

	for body, detail := range map[string]string{
		`{"States":["On"],"Url":"u"}`:                        "Missing name of subscriber",
		`{"Subscriber":"a","States":["On"]}`:                 "Missing url",
		`{"Subscriber":"a","Url":"u"}`:                       missingTriggerPost,
		`{"Subscriber":"a","Url":"u","Enabled":false}`:       missingTriggerPost,
		`{"Subscriber":"a","Url":"u","States":["Sleepy"]}`:   "Invalid state 'Sleepy'",
		`{"Subscriber":"a","Url":"u","Roles":["Chef"]}`:      "Invalid role 'Chef'",
		`{"Subscriber":"a","Url":"u","SubRoles":["Sous"]}`:   "Invalid subRole 'Sous'",
		`{"Subscriber":"a","Url":"u","SoftwareStatus":[""]}`: "SoftwareStatus can not be an empty string",
		`{"Subscriber":"a","Url":"u","States":"On"}`:         "error decoding JSON",
	} {
		r := call(t, s, "POST", scnPath, body)
		want := http.StatusBadRequest
		if detail == "error decoding JSON" {
			want = http.StatusInternalServerError
		}
		requireProblem(t, r, want, detail)
	}

	r = call(t, s, "GET", scnPath+"/2", "")
	assert.JSONEq(t, `{"ID":2,"Subscriber":"bos","Enabled":true,"Roles":["Compute"],"Url":"http://bos/scn"}`, r.body)
	requireProblem(t, call(t, s, "GET", scnPath+"/9", ""), 404, "Subscription not found")
	requireProblem(t, call(t, s, "GET", scnPath+"/0", ""), 400, "Invalid id - 0")
	requireProblem(t, call(t, s, "GET", scnPath+"/x", ""), 400, "Invalid id - x")

	r = call(t, s, "PUT", scnPath+"/2", `{"Subscriber":"bos","SoftwareStatus":["AdminDown"],"Url":"http://bos/scn2"}`)
	require.Equal(t, 204, r.status, r.body)
	assert.JSONEq(t, `{"ID":2,"Subscriber":"bos","SoftwareStatus":["AdminDown"],"Url":"http://bos/scn2"}`, call(t, s, "GET", scnPath+"/2", "").body)
	requireProblem(t, call(t, s, "PUT", scnPath+"/9", `{"Subscriber":"b","States":["On"],"Url":"u"}`), 404, "Subscription not found")

	for _, step := range []struct{ body, want string }{
		{`{"Op":"add","States":["On","Ready"],"Enabled":true}`, `{"ID":2,"Subscriber":"bos","Enabled":true,"SoftwareStatus":["AdminDown"],"States":["On","Ready"],"Url":"http://bos/scn2"}`},
		{`{"Op":"Remove","States":["Ready"],"Enabled":true}`, `{"ID":2,"Subscriber":"bos","Enabled":false,"SoftwareStatus":["AdminDown"],"States":["On"],"Url":"http://bos/scn2"}`},
		{`{"Op":"replace","SoftwareStatus":["DvsAvailable"]}`, `{"ID":2,"Subscriber":"bos","Enabled":false,"SoftwareStatus":["DvsAvailable"],"States":["On"],"Url":"http://bos/scn2"}`},
	} {
		r := call(t, s, "PATCH", scnPath+"/2", step.body)
		require.Equal(t, 204, r.status, r.body)
		assert.JSONEq(t, step.want, call(t, s, "GET", scnPath+"/2", "").body, step.body)
	}
	requireProblem(t, call(t, s, "PATCH", scnPath+"/2", `{"States":["On"]}`), 400, "Missing Patch Op")
	requireProblem(t, call(t, s, "PATCH", scnPath+"/2", `{"Op":"merge","States":["On"]}`), 400, "Invalid Patch Op - merge")
	requireProblem(t, call(t, s, "PATCH", scnPath+"/2", `{"Op":"add"}`), 400, missingTriggerPatch)
	requireProblem(t, call(t, s, "PATCH", scnPath+"/9", `{"Op":"add","States":["On"]}`), 404, "Subscription not found")

	r = call(t, s, "DELETE", scnPath+"/2", "")
	assert.JSONEq(t, `{"code":0,"message":"Subscription deleted"}`, r.body)
	requireProblem(t, call(t, s, "DELETE", scnPath+"/2", ""), 404, "Subscription not found")
	r = call(t, s, "DELETE", scnPath, "")
	assert.JSONEq(t, `{"code":0,"message":"1 Subscriptions deleted"}`, r.body)
	assert.Nil(t, s.scn.index.Load(), "no subscription: the change paths skip SCNs entirely")
}

// subscriber is an SCN consumer on a memnet address.
type subscriber struct {
	mu       sync.Mutex
	got      []SCNPayload
	answer   func(n int) int // status for the n-th POST (from 0); nil: 200
	attempts int
}

func (sub *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	sub.mu.Lock()
	n := sub.attempts
	sub.attempts++
	status := http.StatusOK
	if sub.answer != nil {
		status = sub.answer(n)
	}
	if status == http.StatusOK {
		var p SCNPayload
		if json.Unmarshal(raw, &p) == nil {
			sub.got = append(sub.got, p)
		}
	}
	sub.mu.Unlock()
	w.WriteHeader(status)
}

func (sub *subscriber) payloads() []SCNPayload {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return append([]SCNPayload(nil), sub.got...)
}

// scnWorld is an HSM whose SCNs go over memnet to sub at http://sub.test/scn.
func scnWorld(t *testing.T, sub *subscriber, queue int) *Server {
	t.Helper()
	mn := memnet.New()
	l, err := mn.Listen("tcp", "sub.test:80")
	require.NoError(t, err)
	srv := &http.Server{Handler: sub}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	s, err := New(Config{Topology: testTopology(t), SCNClient: mn.HTTPClient(scnTimeout), SCNQueueLimit: queue})
	require.NoError(t, err)
	return s
}

// A consumer of HSM's events sees a power-on sequence in order, one message per change
// set: the Redfish power events (On), BOS-style StateData to Ready, the SoftwareStatus
// and Enabled changes; FlagOnly and NID patches send nothing, as in hms-smd.
func TestSCNPowerOnSequenceArrivesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sub := &subscriber{}
		s := scnWorld(t, sub, 0)
		r := call(t, s, "POST", scnPath, `{"Subscriber":"bos","States":["On","Ready","Off"],"SoftwareStatus":["booted"],"Enabled":true,"Url":"http://sub.test/scn"}`)
		require.Equal(t, 200, r.status, r.body)

		n0, n1 := "x1000c0s0b0n0", "x1000c0s0b0n1"
		ev := `{"Context":"x1000c0s0b0","Events":[` +
			`{"MessageId":"ResourceEvent.1.0.ResourcePowerStateChanged","MessageArgs":["/redfish/v1/Systems/Node0","On"]},` +
			`{"MessageId":"ResourceEvent.1.0.ResourcePowerStateChanged","MessageArgs":["/redfish/v1/Systems/Node1","On"]}]}`
		require.Equal(t, 200, call(t, s, "POST", "/hsm/v2/RedfishEvents", ev).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData",
			`{"ComponentIDs":["`+n0+`","`+n1+`"],"State":"Ready"}`).status)
		// Unchanged components send nothing: n0 is already Ready.
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/StateData", `{"State":"Ready"}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/SoftwareStatus", `{"SoftwareStatus":"booted"}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/FlagOnly", `{"Flag":"Warning"}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n1+"/NID", `{"NID":9001}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkEnabled",
			`{"ComponentIDs":["`+n1+`"],"Enabled":false}`).status)
		require.Equal(t, 200, call(t, s, "POST", "/hsm/v2/RedfishEvents", powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node1", "Off")).status)
		synctest.Wait()

		assert.Equal(t, []SCNPayload{
			{Components: []string{n0, n1}, State: "On", Flag: "OK"},
			{Components: []string{n0, n1}, State: "Ready", Flag: "OK"},
			{Components: []string{n0}, SoftwareStatus: "booted"},
			{Components: []string{n1}, Enabled: boolPtr(false)},
			{Components: []string{n1}, State: "Off", Flag: "OK"},
		}, sub.payloads())
		assert.Equal(t, SCNStats{Delivered: 5}, s.SCNStats())
	})
}

// Only subscribed triggers are sent, matched without regard to case; a State trigger
// wins over the others as in hms-smd (Role patches go to Role subscribers).
func TestSCNMatchesTriggers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sub := &subscriber{}
		s := scnWorld(t, sub, 0)
		require.Equal(t, 200, call(t, s, "POST", scnPath, `{"Subscriber":"a","States":["ready"],"Roles":["application"],"Url":"http://sub.test/scn"}`).status)
		n0 := "x1000c0s0b0n0"
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/StateData", `{"State":"On"}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/StateData", `{"State":"Ready"}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/Role", `{"Role":"Application","SubRole":"UAN"}`).status)
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/"+n0+"/Enabled", `{"Enabled":false}`).status)
		synctest.Wait()
		assert.Equal(t, []SCNPayload{
			{Components: []string{n0}, State: "Ready", Flag: "OK"},
			{Components: []string{n0}, Role: "Application", SubRole: "UAN"},
		}, sub.payloads())
	})
}

// A failing subscriber gets hms-smd's 3 attempts 5 s apart; only 200 counts.
func TestSCNRetriedAsReal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sub := &subscriber{answer: func(n int) int {
			if n < 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}}
		s := scnWorld(t, sub, 0)
		require.Equal(t, 200, call(t, s, "POST", scnPath, `{"Subscriber":"a","States":["On"],"Url":"http://sub.test/scn"}`).status)
		start := time.Now()
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/x1000c0s0b0n0/StateData", `{"State":"On"}`).status)
		assert.Zero(t, time.Since(start), "the request does not wait for delivery")
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Len(t, sub.payloads(), 1)
		assert.Equal(t, 3, sub.attempts)
		assert.Equal(t, SCNStats{Delivered: 1}, s.SCNStats())

		// Three refusals: given up.
		sub.answer = func(int) int { return http.StatusInternalServerError }
		require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/x1000c0s0b0n1/StateData", `{"State":"On"}`).status)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, SCNStats{Delivered: 1, Failed: 1}, s.SCNStats())
		assert.Equal(t, 6, sub.attempts)
	})
}

// A dead subscriber never slows the requests that change components, and its queue is
// bounded: past the limit the oldest notifications are dropped and counted.
func TestSCNDeadSubscriberIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scnWorld(t, &subscriber{}, 4)
		require.Equal(t, 200, call(t, s, "POST", scnPath, `{"Subscriber":"a","States":["On","Off"],"Url":"http://dead.test/scn"}`).status)
		start := time.Now()
		for i := range 20 {
			state := map[int]string{0: "On", 1: "Off"}[i%2]
			require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData",
				`{"ComponentIDs":["x1000c0s0b0n0"],"State":"`+state+`"}`).status)
		}
		assert.Zero(t, time.Since(start), "requests never wait for a subscriber")
		s.scnOut.mu.Lock()
		queued := len(s.scnOut.queues["http://dead.test/scn"].pending)
		s.scnOut.mu.Unlock()
		assert.LessOrEqual(t, queued, 4)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		st := s.SCNStats()
		assert.Equal(t, int64(20), st.Failed+st.Dropped, "%+v", st)
		assert.Positive(t, st.Dropped)
		assert.Zero(t, st.Delivered)
	})
}

// With no subscription, changes start no delivery work at all.
func TestSCNNothingWithoutSubscribers(t *testing.T) {
	s, _ := MustServer(t)
	require.Equal(t, 204, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData",
		`{"ComponentIDs":["x1000c0s0b0n0"],"State":"On"}`).status)
	s.scnOut.mu.Lock()
	defer s.scnOut.mu.Unlock()
	assert.Empty(t, s.scnOut.queues)
}

// POST and PUT /State/Components notify as hms-smd's doComponentsPost: one SCN per kind
// of change and new value (a new component's State, Enabled and Role; an existing one's
// forced State and its Role), State without Flag.
func TestSCNFromComponentUpserts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sub := &subscriber{}
		s := scnWorld(t, sub, 0)
		require.Equal(t, 200, call(t, s, "POST", scnPath, `{"Subscriber":"a","States":["On","Off"],"Roles":["Application"],"Enabled":true,"Url":"http://sub.test/scn"}`).status)
		a, b, n0, n1 := "x1000c0s7b0n0", "x1000c0s7b0n1", "x1000c0s0b0n0", "x1000c0s0b0n1"
		r := call(t, s, "POST", "/hsm/v2/State/Components", `{"Force":true,"Components":[`+
			`{"ID":"`+a+`","State":"On"},{"ID":"`+n0+`","State":"Off"},{"ID":"`+b+`","State":"On"}]}`)
		require.Equal(t, 204, r.status, r.body)
		r = call(t, s, "PUT", "/hsm/v2/State/Components/"+n1, `{"component":{"ID":"`+n1+`","State":"Off","Role":"Application"}}`)
		require.Equal(t, 204, r.status, r.body)
		synctest.Wait()
		assert.Equal(t, []SCNPayload{
			{Components: []string{a, b}, State: "On"},
			{Components: []string{a, b}, Enabled: boolPtr(true)},
			{Components: []string{n1}, Role: "Application"},
		}, sub.payloads(), "n0 was already Off; Compute is not subscribed")
	})
}
