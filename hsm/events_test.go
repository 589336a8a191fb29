package hsm

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

// powerEvent builds a ResourcePowerStateChanged event from bmc about path.
func powerEvent(bmc, path, state string) string {
	ev := hsmapi.RedfishEvent{Context: bmc, Events: []hsmapi.RedfishEventRecord{{
		MessageID:         "ResourceEvent.1.0.ResourcePowerStateChanged",
		MessageArgs:       []string{path, state},
		OriginOfCondition: &hsmapi.ODataID{ID: path},
	}}}
	raw, _ := json.Marshal(ev)
	return string(raw)
}

func postEvent(t *testing.T, s *Server, body string) hsmapi.EventResult {
	t.Helper()
	r := call(t, s, "POST", "/hsm/v2/RedfishEvents", body)
	require.Equal(t, http.StatusOK, r.status, r.body)
	return decode[hsmapi.EventResult](t, r)
}

func TestPowerEventsMoveState(t *testing.T) {
	s, _ := MustServer(t)
	assert.Equal(t, hsmapi.EventResult{Applied: 1}, postEvent(t, s, powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node1", "On")))
	assert.Equal(t, "On", mustGet(t, s, "x1000c0s0b0n1").State)
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n0").State, "only the named system")

	// River BMC, Self system, context with labels, state in lower case, args reversed.
	body := `{"Context":"x3000c0s4b0:node-events","Events":[{"MessageId":"CrayAlerts.1.0.ResourcePowerStateChanged",
		"MessageArgs":["on","/redfish/v1/Systems/Self"],"Severity":"OK","EventType":"Alert","EventTimestamp":"2026-01-01T00:00:00Z"}]}`
	assert.Equal(t, hsmapi.EventResult{Applied: 1}, postEvent(t, s, body))
	assert.Equal(t, "On", mustGet(t, s, "x3000c0s4b0n0").State)

	// Off, from the OriginOfCondition when no path argument is given.
	body = `{"Context":"x1000c0s0b0","Events":[{"MessageId":"ResourcePowerStateChanged","MessageArgs":["Off"],
		"OriginOfCondition":{"@odata.id":"/redfish/v1/Systems/Node1/"}}]}`
	assert.Equal(t, hsmapi.EventResult{Applied: 1}, postEvent(t, s, body))
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n1").State)
}

func TestPowerEventsFollowTransitionRule(t *testing.T) {
	s, _ := MustServer(t)
	require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/x1000c0s0b0n0/StateData", `{"State":"Ready"}`).status)
	// Ready → On is not an allowed transition: a booted node stays Ready.
	assert.Equal(t, hsmapi.EventResult{Ignored: 1}, postEvent(t, s, powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node0", "On")))
	assert.Equal(t, "Ready", mustGet(t, s, "x1000c0s0b0n0").State)
	assert.Equal(t, hsmapi.EventResult{Applied: 1}, postEvent(t, s, powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node0", "Off")))
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n0").State)
}

func TestPowerEventsIgnored(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct{ name, body string }{
		{"PoweringOn", powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node0", "PoweringOn")},
		{"PoweringOff", powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node0", "PoweringOff")},
		{"OtherMessage", `{"Context":"x1000c0s0b0","Events":[{"MessageId":"Alert.1.0.LanDisconnect","MessageArgs":["/redfish/v1/Systems/Node0","On"]}]}`},
		{"UnknownBMC", powerEvent("x1999c0s0b0", "/redfish/v1/Systems/Node0", "On")},
		{"UnknownSystem", powerEvent("x1000c0s0b0", "/redfish/v1/Systems/Node7", "On")},
		{"WrongBMCForSystem", powerEvent("x3000c0s4b0", "/redfish/v1/Systems/Node0", "On")},
		{"NoContext", `{"Events":[{"MessageId":"ResourcePowerStateChanged","MessageArgs":["/redfish/v1/Systems/Node0","On"]}]}`},
		{"NodeAsContext", powerEvent("x1000c0s0b0n0", "/redfish/v1/Systems/Node0", "On")},
		{"NoPath", `{"Context":"x1000c0s0b0","Events":[{"MessageId":"ResourcePowerStateChanged","MessageArgs":["On"]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, hsmapi.EventResult{Ignored: 1}, postEvent(t, s, tc.body))
			assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n0").State)
		})
	}
	// The record's own Context is used when the event has none.
	body := `{"Events":[{"Context":"x1000c0s0b0","MessageId":"ResourcePowerStateChanged","MessageArgs":["/redfish/v1/Systems/Node0","On"]}]}`
	assert.Equal(t, hsmapi.EventResult{Applied: 1}, postEvent(t, s, body))
	assert.Equal(t, hsmapi.EventResult{}, postEvent(t, s, `{"Context":"x1000c0s0b0","Events":[]}`))
}

func TestPowerEventsBatch(t *testing.T) {
	s, _ := MustServer(t)
	var recs []string
	for _, sys := range []string{"Node0", "Node1", "Node2"} {
		recs = append(recs, `{"MessageId":"ResourcePowerStateChanged","MessageArgs":["/redfish/v1/Systems/`+sys+`","On"]}`)
	}
	res := postEvent(t, s, `{"Context":"x1000c0s1b1","Events":[`+strings.Join(recs, ",")+`]}`)
	assert.Equal(t, hsmapi.EventResult{Applied: 2, Ignored: 1}, res)
	assert.Equal(t, "On", mustGet(t, s, "x1000c0s1b1n0").State)
	assert.Equal(t, "On", mustGet(t, s, "x1000c0s1b1n1").State)
}

func TestPowerEventsBadBody(t *testing.T) {
	s, err := New(Config{Topology: testTopology(t), MaxBodyBytes: 256})
	require.NoError(t, err)
	requireProblem(t, call(t, s, "POST", "/hsm/v2/RedfishEvents", ""), http.StatusBadRequest, "empty")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/RedfishEvents", `{"Events":[`), http.StatusBadRequest, "not a valid Redfish event")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/RedfishEvents", `{"Events":"On"}`), http.StatusBadRequest, "not a valid Redfish event")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/RedfishEvents", `{"Context":"`+strings.Repeat("x", 300)+`"}`), http.StatusRequestEntityTooLarge, "larger than 256")
}

func TestHandleRedfishEventInProcess(t *testing.T) {
	s, _ := MustServer(t)
	res := s.HandleRedfishEvent(hsmapi.RedfishEvent{Context: "x1000c0s1b0", Events: []hsmapi.RedfishEventRecord{
		{MessageID: "ResourcePowerStateChanged", MessageArgs: []string{"/redfish/v1/Systems/Node0", "On"}},
		{MessageID: "ResourcePowerStateChanged", MessageArgs: []string{"/redfish/v1/Systems/Node1", "PoweringOn"}},
	}})
	assert.Equal(t, hsmapi.EventResult{Applied: 1, Ignored: 1}, res)
	assert.Equal(t, "On", mustGet(t, s, "x1000c0s1b0n0").State)
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s1b0n1").State)
}

// A bad event is refused with the problem encoding/json's decoding gives, word for word,
// whatever engine decodes the events that are good.
func TestPowerEventsBadBodyProblemIsEncodingJSONs(t *testing.T) {
	s, err := New(Config{Topology: testTopology(t), MaxBodyBytes: 256})
	require.NoError(t, err)
	for _, body := range []string{
		`{"Events":[1]}`, `{"Events":[{"MessageId":1}]}`, `{"Events":[{"MessageArgs":"x"}]}`,
		`{"Events":[{"MessageArgs":["a",2]}]}`, `{"Events":[{"OriginOfCondition":"x"}]}`, `{"Context":1}`,
		`{"Events":[`, `{"Events":"On"}`, `{"Context":"a",}`, `[]`, `"x"`,
	} {
		var ev hsmapi.RedfishEvent
		want := json.NewDecoder(strings.NewReader(body)).Decode(&ev)
		require.Error(t, want, body)
		r := call(t, s, "POST", "/hsm/v2/RedfishEvents", body)
		requireProblem(t, r, http.StatusBadRequest, "")
		assert.Equal(t, "request body is not a valid Redfish event: "+want.Error(), decode[map[string]any](t, r)["detail"], body)
	}
}
