package simulator

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// A PATCH shows on the next GET with a new ETag; a Once override is used up by the next
// power-on, a Continuous one is kept.
func TestPatchSystemBootOverride(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	boot := func() map[string]any {
		return call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic").json(t)["Boot"].(map[string]any)
	}
	before := call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic")
	assert.Equal(t, false, before.json(t)["LocationIndicatorActive"])
	assert.NotContains(t, before.json(t), "IndicatorLED", "deprecated")

	r := call(t, srv.URL, "PATCH", "/redfish/v1/Systems/Node0", `{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"},"IndicatorLED":"Lit"}`,
		"basic", "If-Match: "+before.header.Get("ETag"))
	require.Equal(t, 204, r.status, "%s", r.body)
	after := call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic")
	assert.NotEqual(t, before.header.Get("ETag"), after.header.Get("ETag"))
	assert.Equal(t, r.header.Get("ETag"), after.header.Get("ETag"))
	assert.Equal(t, true, after.json(t)["LocationIndicatorActive"])
	assert.Equal(t, map[string]any{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI",
		"BootSourceOverrideTarget@Redfish.AllowableValues": []any{"None", "Pxe", "Hdd", "BiosSetup", "UefiHttp"},
		"BootSourceOverrideMode@Redfish.AllowableValues":   []any{"Legacy", "UEFI"}}, boot())

	// The old ETag no longer matches: nothing changes.
	assert.Equal(t, 412, call(t, srv.URL, "PATCH", "/redfish/v1/Systems/Node0", `{"LocationIndicatorActive":false}`,
		"basic", "If-Match: "+before.header.Get("ETag")).status)
	// A bad value anywhere in the body changes nothing either.
	assert.Equal(t, 400, call(t, srv.URL, "PATCH", "/redfish/v1/Systems/Node0", `{"LocationIndicatorActive":false,"Boot":{"BootSourceOverrideMode":"x"}}`, "basic").status)
	assert.Equal(t, true, call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic").json(t)["LocationIndicatorActive"])

	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitPower(t, s, bladeNode, "On")
	assert.Equal(t, "None", boot()["BootSourceOverrideTarget"], "Once is used up by the power-on")
	assert.Equal(t, "Disabled", boot()["BootSourceOverrideEnabled"])

	require.Equal(t, 204, call(t, srv.URL, "PATCH", "/redfish/v1/Systems/Node0", `{"Boot":{"BootSourceOverrideTarget":"Hdd","BootSourceOverrideEnabled":"Continuous"}}`, "basic").status)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceRestart"), "basic").status)
	waitPower(t, s, bladeNode, "On") // the restart entered PoweringOff before answering
	assert.Equal(t, "Hdd", boot()["BootSourceOverrideTarget"], "Continuous is kept")
}

// The node chassis' Reset drives the node's power, like the system's.
func TestChassisResetPowersTheNode(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", "/redfish/v1/Chassis/Node1/Actions/Chassis.Reset", resetBody("On"), "basic").status)
	waitPower(t, s, "x1000c0s0b0n1", "On")
	n, _ := s.Node(bladeNode)
	assert.Equal(t, "Off", n.Power, "only Node1's chassis was reset")
}

// A BMC restart ends its sessions; the nodes keep their power.
func TestManagerResetEndsSessions(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	login := call(t, srv.URL, "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"initial0"}`, "")
	require.Equal(t, 201, login.status)
	token := "X-Auth-Token: " + login.header.Get("X-Auth-Token")
	require.Equal(t, 200, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", token).status)
	require.Equal(t, 204, call(t, srv.URL, "POST", "/redfish/v1/Managers/BMC/Actions/Manager.Reset", resetBody("ForceRestart"), token).status)
	assert.Equal(t, 401, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", token).status)
}

// SubmitTestEvent reaches every subscriber, whatever its filters.
func TestSubmitTestEvent(t *testing.T) {
	sub := newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"`+sub.srv.URL+`/t","Context":"ctx","RegistryPrefixes":["CrayTelemetry"]}`, "basic").status)
	require.Equal(t, 204, call(t, srv.URL, "POST", "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
		`{"MessageId":"TaskEvent.1.0.TaskStarted","MessageArgs":["7"],"OriginOfCondition":{"@odata.id":"/redfish/v1/TaskService/Tasks/7"}}`, "basic").status)
	testwait.Until(t, "the test event is delivered", func() bool { return s.Stats().EventsDelivered == 1 }, stats(s))
	evs := decodeEvents(t, sub)
	require.Len(t, evs, 1)
	assert.Equal(t, "ctx", evs[0].Context)
	assert.Equal(t, "TaskEvent.1.0.TaskStarted", evs[0].Events[0].MessageID)
	assert.Equal(t, []string{"7"}, evs[0].Events[0].MessageArgs)
	assert.Equal(t, "/redfish/v1/TaskService/Tasks/7", evs[0].Events[0].OriginOfCondition.ID)
	validateEvent(t, sub.all()[0].body)
}

// Every message the BMCs send is the Base registry's they serve: same id, text, severity
// and resolution (the GeneralError with a size text excepted).
func TestErrorMessagesAreTheServedBaseRegistry(t *testing.T) {
	raw, err := registryFiles.ReadFile("registries/Base.1.22.1.json")
	require.NoError(t, err)
	var reg struct {
		Messages map[string]struct {
			Message, MessageSeverity, Resolution string
		}
	}
	require.NoError(t, json.Unmarshal(raw, &reg))
	arg := regexp.MustCompile(`%\d`)
	for _, m := range []rfMessage{msgMalformedJSON, msgActionParameterMissing, msgActionParameterUnknown,
		msgActionParameterValueNotInList, msgActionParameterValueTypeError, msgPropertyMissing, msgPropertyValueFormatError,
		msgPropertyValueNotInList, msgPropertyValueTypeError, msgPropertyUnknown, msgPropertyNotWritable, msgNoValidSession,
		msgResourceNotFound, msgResourceMissingAtURI, msgOperationNotAllowed, msgResourceInUse, msgHeaderInvalid,
		msgPreconditionFailed, msgServiceTemporarilyUnavailable, msgInternalError, msgSessionLimitExceeded} {
		want, ok := reg.Messages[m.id]
		if !assert.True(t, ok, "%s is not in Base.1.22.1", m.id) {
			continue
		}
		assert.Equal(t, arg.ReplaceAllString(want.Message, "%s"), m.format, m.id)
		assert.Equal(t, want.MessageSeverity, m.severity, m.id)
		assert.Equal(t, want.Resolution, m.resolution, m.id)
	}
}

// The static inventory is built once per BMC model and shared: 5,000 blade BMCs hold
// one tree between them.
func TestInventoryIsSharedPerModel(t *testing.T) {
	s := newSim(t, nil)
	trees := map[uintptr]int{}
	for _, b := range s.bmcs {
		trees[reflect.ValueOf(b.tree).Pointer()]++
	}
	assert.Len(t, trees, 2, "one tree for the blade BMCs, one for the rack servers")
	assert.Equal(t, reflect.ValueOf(s.bmcByID[bladeBMC].tree).Pointer(), reflect.ValueOf(s.bmcByID["x1000c0s0b1"].tree).Pointer())
}
