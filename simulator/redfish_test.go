package simulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
)

// One row per endpoint and outcome, each on a fresh BMC.
func TestRedfishEndpoints(t *testing.T) {
	tests := []struct {
		name         string
		bmc          string
		method, path string
		body, auth   string
		headers      []string
		want         int
		wantMsg      string // ExtendedInfo MessageId without the registry, for errors
		wantHeader   [2]string
	}{
		{name: "versions without auth", method: "GET", path: "/redfish", want: 200},
		{name: "service root without auth", method: "GET", path: "/redfish/v1/", want: 200},
		{name: "service root without slash", method: "GET", path: "/redfish/v1", want: 200},
		{name: "systems without credentials", method: "GET", path: "/redfish/v1/Systems", want: 401, wantMsg: "NoValidSession",
			wantHeader: [2]string{"WWW-Authenticate", `Basic realm="Redfish"`}},
		{name: "systems with a bad password", method: "GET", path: "/redfish/v1/Systems", auth: "Authorization: Basic cm9vdDp3cm9uZw==", want: 401, wantMsg: "NoValidSession"},
		{name: "systems with a bad token", method: "GET", path: "/redfish/v1/Systems", auth: "X-Auth-Token: nope", want: 401, wantMsg: "NoValidSession"},
		{name: "systems", method: "GET", path: "/redfish/v1/Systems", auth: "basic", want: 200},
		{name: "systems with a trailing slash", method: "GET", path: "/redfish/v1/Systems/", auth: "basic", want: 200},
		{name: "system", method: "GET", path: "/redfish/v1/Systems/Node1", auth: "basic", want: 200, wantHeader: [2]string{"ETag", `W/"1"`}},
		{name: "rack system", bmc: rackBMC, method: "GET", path: "/redfish/v1/Systems/Self", auth: "basic", want: 200},
		{name: "unknown system", method: "GET", path: "/redfish/v1/Systems/Node7", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "unknown resource", method: "GET", path: "/redfish/v1/Bogus/1", auth: "basic", want: 404, wantMsg: "ResourceMissingAtURI"},
		{name: "unknown resource needs auth first", method: "GET", path: "/redfish/v1/Bogus", want: 401, wantMsg: "NoValidSession"},
		{name: "DELETE a system", method: "DELETE", path: "/redfish/v1/Systems/Node0", auth: "basic", want: 405, wantMsg: "OperationNotAllowed",
			wantHeader: [2]string{"Allow", "GET, HEAD, PATCH"}},
		{name: "GET the reset action", method: "GET", path: resetPath, auth: "basic", want: 405, wantMsg: "OperationNotAllowed",
			wantHeader: [2]string{"Allow", "POST"}},
		{name: "reset On", method: "POST", path: resetPath, body: resetBody("On"), auth: "basic", want: 204},
		{name: "reset without credentials", method: "POST", path: resetPath, body: resetBody("On"), want: 401, wantMsg: "NoValidSession"},
		{name: "reset malformed JSON", method: "POST", path: resetPath, body: `{"ResetType":`, auth: "basic", want: 400, wantMsg: "MalformedJSON"},
		{name: "reset not an object", method: "POST", path: resetPath, body: `["On"]`, auth: "basic", want: 400, wantMsg: "PropertyValueTypeError"},
		{name: "reset empty body", method: "POST", path: resetPath, auth: "basic", want: 400, wantMsg: "MalformedJSON"},
		{name: "reset without ResetType", method: "POST", path: resetPath, body: `{}`, auth: "basic", want: 400, wantMsg: "ActionParameterMissing"},
		{name: "reset unknown ResetType", method: "POST", path: resetPath, body: resetBody("Bogus"), auth: "basic", want: 400, wantMsg: "ActionParameterValueNotInList"},
		{name: "reset ResetType not allowed here", method: "POST", path: resetPath, body: resetBody("Suspend"), auth: "basic", want: 400, wantMsg: "ActionParameterValueNotInList"},
		{name: "reset ResetType of the wrong type", method: "POST", path: resetPath, body: `{"ResetType":5}`, auth: "basic", want: 400, wantMsg: "ActionParameterValueTypeError"},
		{name: "reset with an unknown parameter", method: "POST", path: resetPath, body: `{"ResetType":"On","Force":true}`, auth: "basic", want: 400, wantMsg: "ActionParameterUnknown"},
		{name: "reset an unknown system", method: "POST", path: "/redfish/v1/Systems/Node9/Actions/ComputerSystem.Reset", body: resetBody("On"), auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "reset with an oversized body", method: "POST", path: resetPath, body: `{"ResetType":"` + strings.Repeat("x", 70<<10) + `"}`, auth: "basic", want: 413, wantMsg: "GeneralError"},
		{name: "reset with a stale If-Match", method: "POST", path: resetPath, body: resetBody("On"), auth: "basic", headers: []string{`If-Match: W/"99"`}, want: 412, wantMsg: "PreconditionFailed"},
		{name: "reset with the current If-Match", method: "POST", path: resetPath, body: resetBody("On"), auth: "basic", headers: []string{`If-Match: W/"1"`}, want: 204},
		{name: "reset with If-Match *", method: "POST", path: resetPath, body: resetBody("On"), auth: "basic", headers: []string{`If-Match: *`}, want: 204},
		{name: "system If-None-Match current", method: "GET", path: "/redfish/v1/Systems/Node0", auth: "basic", headers: []string{`If-None-Match: W/"1"`}, want: 304},
		{name: "chassis", method: "GET", path: "/redfish/v1/Chassis", auth: "basic", want: 200},
		{name: "enclosure chassis", method: "GET", path: "/redfish/v1/Chassis/Enclosure", auth: "basic", want: 200},
		{name: "node chassis", method: "GET", path: "/redfish/v1/Chassis/Node0", auth: "basic", want: 200},
		{name: "unknown chassis", method: "GET", path: "/redfish/v1/Chassis/Self", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "managers", method: "GET", path: "/redfish/v1/Managers", auth: "basic", want: 200},
		{name: "manager", method: "GET", path: "/redfish/v1/Managers/BMC", auth: "basic", want: 200},
		{name: "rack manager", bmc: rackBMC, method: "GET", path: "/redfish/v1/Managers/Self", auth: "basic", want: 200},
		{name: "unknown manager", method: "GET", path: "/redfish/v1/Managers/Self", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "session service", method: "GET", path: "/redfish/v1/SessionService", auth: "basic", want: 200},
		{name: "sessions", method: "GET", path: "/redfish/v1/SessionService/Sessions", auth: "basic", want: 200},
		{name: "login", method: "POST", path: "/redfish/v1/SessionService/Sessions", body: `{"UserName":"root","Password":"initial0"}`, want: 201},
		{name: "login with a bad password", method: "POST", path: "/redfish/v1/SessionService/Sessions", body: `{"UserName":"root","Password":"x"}`, want: 401, wantMsg: "NoValidSession"},
		{name: "login without a password", method: "POST", path: "/redfish/v1/SessionService/Sessions", body: `{"UserName":"root"}`, want: 400, wantMsg: "PropertyMissing"},
		{name: "login malformed", method: "POST", path: "/redfish/v1/SessionService/Sessions", body: `{`, want: 400, wantMsg: "MalformedJSON"},
		{name: "login with an unknown property", method: "POST", path: "/redfish/v1/SessionService/Sessions", body: `{"UserName":"root","Password":"initial0","Role":"x"}`, want: 400, wantMsg: "PropertyUnknown"},
		{name: "unknown session", method: "GET", path: "/redfish/v1/SessionService/Sessions/9", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "delete an unknown session", method: "DELETE", path: "/redfish/v1/SessionService/Sessions/9", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "event service", method: "GET", path: "/redfish/v1/EventService", auth: "basic", want: 200},
		{name: "subscriptions", method: "GET", path: "/redfish/v1/EventService/Subscriptions", auth: "basic", want: 200},
		{name: "subscribe", method: "POST", path: "/redfish/v1/EventService/Subscriptions", body: `{"Destination":"http://127.0.0.1:9/e","Context":"x","Protocol":"Redfish","EventTypes":["Alert"]}`, auth: "basic", want: 201},
		{name: "subscribe without Destination", method: "POST", path: "/redfish/v1/EventService/Subscriptions", body: `{"Context":"x"}`, auth: "basic", want: 400, wantMsg: "PropertyMissing"},
		{name: "subscribe to a relative Destination", method: "POST", path: "/redfish/v1/EventService/Subscriptions", body: `{"Destination":"/e"}`, auth: "basic", want: 400, wantMsg: "PropertyValueFormatError"},
		{name: "subscribe with a bad EventType", method: "POST", path: "/redfish/v1/EventService/Subscriptions", body: `{"Destination":"http://h/e","EventTypes":["Nope"]}`, auth: "basic", want: 400, wantMsg: "PropertyValueNotInList"},
		{name: "subscribe with a bad Protocol", method: "POST", path: "/redfish/v1/EventService/Subscriptions", body: `{"Destination":"http://h/e","Protocol":"SNMPv2c"}`, auth: "basic", want: 400, wantMsg: "PropertyValueNotInList"},
		{name: "unknown subscription", method: "GET", path: "/redfish/v1/EventService/Subscriptions/7", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "delete an unknown subscription", method: "DELETE", path: "/redfish/v1/EventService/Subscriptions/7", auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "patch an unknown subscription", method: "PATCH", path: "/redfish/v1/EventService/Subscriptions/7", body: `{"Context":"y"}`, auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		// OData documents, readable without credentials.
		{name: "$metadata without auth", method: "GET", path: "/redfish/v1/$metadata", want: 200, wantHeader: [2]string{"Content-Type", "application/xml"}},
		{name: "odata without auth", method: "GET", path: "/redfish/v1/odata", want: 200},
		// Protocol headers.
		{name: "GET shows Allow", method: "GET", path: "/redfish/v1/Systems/Node0", auth: "basic", want: 200, wantHeader: [2]string{"Allow", "GET, HEAD, PATCH"}},
		{name: "GET of a collection one can POST to", method: "GET", path: "/redfish/v1/SessionService/Sessions", auth: "basic", want: 200, wantHeader: [2]string{"Allow", "GET, HEAD, POST"}},
		{name: "GET of a static resource shows Allow", method: "GET", path: "/redfish/v1/Systems/Node0/Processors", auth: "basic", want: 200, wantHeader: [2]string{"Allow", "GET, HEAD"}},
		{name: "GET shows Cache-Control", method: "GET", path: "/redfish/v1/Chassis", auth: "basic", want: 200, wantHeader: [2]string{"Cache-Control", "no-cache"}},
		{name: "GET links the schema", method: "GET", path: "/redfish/v1/Systems/Node0", auth: "basic", want: 200,
			wantHeader: [2]string{"Link", "<http://redfish.dmtf.org/schemas/v1/ComputerSystem.v1_27_0.json>; rel=describedby"}},
		{name: "OData-Version 4.0", method: "GET", path: "/redfish/v1/Systems", auth: "basic", headers: []string{"OData-Version: 4.0"}, want: 200},
		{name: "unsupported OData-Version", method: "GET", path: "/redfish/v1/Systems", auth: "basic", headers: []string{"OData-Version: 4.01"}, want: 412, wantMsg: "HeaderInvalid"},
		{name: "login at Sessions/Members", method: "POST", path: "/redfish/v1/SessionService/Sessions/Members", body: `{"UserName":"root","Password":"initial0"}`, want: 201},
		{name: "login at Sessions/Members with a bad password", method: "POST", path: "/redfish/v1/SessionService/Sessions/Members", body: `{"UserName":"root","Password":"x"}`, want: 401, wantMsg: "NoValidSession"},
		{name: "unknown static path", method: "GET", path: "/redfish/v1/Systems/Node0/Processors/CPU9", auth: "basic", want: 404, wantMsg: "ResourceMissingAtURI"},
		{name: "POST to a static resource", method: "POST", path: "/redfish/v1/Systems/Node0/Bios", body: `{}`, auth: "basic", want: 405, wantMsg: "OperationNotAllowed", wantHeader: [2]string{"Allow", "GET, HEAD"}},
		{name: "registry file", method: "GET", path: "/redfish/v1/Registries/Base/Base.1.22.1", auth: "basic", want: 200},
		{name: "unknown registry file", method: "GET", path: "/redfish/v1/Registries/Base/Base.1.0.0", auth: "basic", want: 404, wantMsg: "ResourceMissingAtURI"},
		// System PATCH.
		{name: "patch the boot override", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once","BootSourceOverrideMode":"UEFI"}}`, auth: "basic", want: 204, wantHeader: [2]string{"ETag", `W/"2"`}},
		{name: "patch the locator", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"LocationIndicatorActive":true}`, auth: "basic", want: 204},
		{name: "patch the deprecated IndicatorLED", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"IndicatorLED":"Blinking"}`, auth: "basic", want: 204},
		{name: "patch without credentials", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"LocationIndicatorActive":true}`, want: 401, wantMsg: "NoValidSession"},
		{name: "patch a target not in the list", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":{"BootSourceOverrideTarget":"Floppy"}}`, auth: "basic", want: 400, wantMsg: "PropertyValueNotInList"},
		{name: "patch Enabled not in the list", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":{"BootSourceOverrideEnabled":"Always"}}`, auth: "basic", want: 400, wantMsg: "PropertyValueNotInList"},
		{name: "patch Mode not in the list", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":{"BootSourceOverrideMode":"BIOS"}}`, auth: "basic", want: 400, wantMsg: "PropertyValueNotInList"},
		{name: "patch IndicatorLED not in the list", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"IndicatorLED":"On"}`, auth: "basic", want: 400, wantMsg: "PropertyValueNotInList"},
		{name: "patch a locator of the wrong type", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"LocationIndicatorActive":"yes"}`, auth: "basic", want: 400, wantMsg: "PropertyValueTypeError"},
		{name: "patch a target of the wrong type", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":{"BootSourceOverrideTarget":1}}`, auth: "basic", want: 400, wantMsg: "PropertyValueTypeError"},
		{name: "patch Boot of the wrong type", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":"Pxe"}`, auth: "basic", want: 400, wantMsg: "PropertyValueTypeError"},
		{name: "patch an unknown Boot property", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":{"BootNext":"x"}}`, auth: "basic", want: 400, wantMsg: "PropertyUnknown"},
		{name: "patch a read-only property", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"PowerState":"On"}`, auth: "basic", want: 400, wantMsg: "PropertyNotWritable"},
		{name: "patch an unknown property", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Colour":"red"}`, auth: "basic", want: 400, wantMsg: "PropertyUnknown"},
		{name: "patch malformed", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"Boot":`, auth: "basic", want: 400, wantMsg: "MalformedJSON"},
		{name: "patch with a stale If-Match", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"LocationIndicatorActive":true}`, auth: "basic", headers: []string{`If-Match: W/"9"`}, want: 412, wantMsg: "PreconditionFailed"},
		{name: "patch with the current If-Match", method: "PATCH", path: "/redfish/v1/Systems/Node0", body: `{"LocationIndicatorActive":true}`, auth: "basic", headers: []string{`If-Match: W/"1"`}, want: 204},
		{name: "patch an unknown system", method: "PATCH", path: "/redfish/v1/Systems/Node7", body: `{"LocationIndicatorActive":true}`, auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		// Other actions.
		{name: "chassis reset", method: "POST", path: "/redfish/v1/Chassis/Node0/Actions/Chassis.Reset", body: resetBody("On"), auth: "basic", want: 204},
		{name: "chassis reset type not allowed", method: "POST", path: "/redfish/v1/Chassis/Node0/Actions/Chassis.Reset", body: resetBody("Nmi"), auth: "basic", want: 400, wantMsg: "ActionParameterValueNotInList"},
		{name: "enclosure has no reset", method: "POST", path: "/redfish/v1/Chassis/Enclosure/Actions/Chassis.Reset", body: resetBody("On"), auth: "basic", want: 404, wantMsg: "ResourceNotFound"},
		{name: "manager reset", method: "POST", path: "/redfish/v1/Managers/BMC/Actions/Manager.Reset", body: resetBody("GracefulRestart"), auth: "basic", want: 204},
		{name: "manager reset type not allowed", method: "POST", path: "/redfish/v1/Managers/BMC/Actions/Manager.Reset", body: resetBody("On"), auth: "basic", want: 400, wantMsg: "ActionParameterValueNotInList"},
		{name: "submit a test event", method: "POST", path: "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", body: `{"MessageId":"Base.1.22.Success"}`, auth: "basic", want: 204},
		{name: "submit a test event with an unknown parameter", method: "POST", path: "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", body: `{"Bogus":1}`, auth: "basic", want: 400, wantMsg: "PropertyUnknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, nil)
			bmc := tt.bmc
			if bmc == "" {
				bmc = bladeBMC
			}
			srv := bmcServer(t, s, bmc)
			got := call(t, srv.URL, tt.method, tt.path, tt.body, tt.auth, tt.headers...)
			require.Equal(t, tt.want, got.status, "body %s", got.body)
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, got.messageID(t))
				assert.Equal(t, "application/json; charset=utf-8", got.header.Get("Content-Type"))
			}
			if tt.wantHeader[0] != "" {
				assert.Equal(t, tt.wantHeader[1], got.header.Get(tt.wantHeader[0]))
			}
		})
	}
}

func TestServiceRootAndSystemShape(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)

	root := call(t, srv.URL, "GET", "/redfish/v1/", "", "").json(t)
	assert.Equal(t, "RootService", root["Id"])
	assert.NotEmpty(t, root["UUID"])
	assert.Equal(t, map[string]any{"Sessions": map[string]any{"@odata.id": "/redfish/v1/SessionService/Sessions"}}, root["Links"])
	for _, link := range []string{"Systems", "Chassis", "Managers", "SessionService", "EventService"} {
		assert.Equal(t, map[string]any{"@odata.id": "/redfish/v1/" + link}, root[link])
	}

	systems := call(t, srv.URL, "GET", "/redfish/v1/Systems", "", "basic").json(t)
	assert.Equal(t, []any{map[string]any{"@odata.id": "/redfish/v1/Systems/Node0"}, map[string]any{"@odata.id": "/redfish/v1/Systems/Node1"}}, systems["Members"])
	assert.EqualValues(t, 2, systems["Members@odata.count"])

	sys := call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic").json(t)
	assert.Equal(t, "Node0", sys["Id"])
	assert.Equal(t, "Off", sys["PowerState"])
	assert.Equal(t, "HPE", sys["Manufacturer"])
	assert.Equal(t, "EX425", sys["Model"])
	assert.Equal(t, "nid000001", sys["HostName"])
	assert.Equal(t, `W/"1"`, sys["@odata.etag"])
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, sys["UUID"])
	assert.NotEmpty(t, sys["SerialNumber"])
	assert.NotEmpty(t, sys["BiosVersion"])
	assert.EqualValues(t, 2, sys["ProcessorSummary"].(map[string]any)["Count"])
	assert.EqualValues(t, 256, sys["MemorySummary"].(map[string]any)["TotalSystemMemoryGiB"])
	assert.EqualValues(t, 623, sys["SerialConsole"].(map[string]any)["IPMI"].(map[string]any)["Port"])
	assert.Contains(t, sys, "Boot")
	reset := sys["Actions"].(map[string]any)["#ComputerSystem.Reset"].(map[string]any)
	assert.Equal(t, "/redfish/v1/Systems/Node0/Actions/ComputerSystem.Reset", reset["target"])
	var allowed []string
	for _, v := range reset["ResetType@Redfish.AllowableValues"].([]any) {
		allowed = append(allowed, v.(string))
	}
	assert.Equal(t, topology.ResetTypes, allowed)
	links := sys["Links"].(map[string]any)
	assert.Equal(t, []any{map[string]any{"@odata.id": "/redfish/v1/Managers/BMC"}}, links["ManagedBy"])
	assert.Equal(t, []any{map[string]any{"@odata.id": "/redfish/v1/Chassis/Node0"}}, links["Chassis"])

	// The UUID is stable: another simulator of the same cluster gives the same one.
	other := bmcServer(t, newSim(t, nil), bladeBMC)
	assert.Equal(t, sys["UUID"], call(t, other.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic").json(t)["UUID"])
	assert.NotEqual(t, sys["UUID"], call(t, srv.URL, "GET", "/redfish/v1/Systems/Node1", "", "basic").json(t)["UUID"])
}

func TestPerBMCCredentials(t *testing.T) {
	s := newSim(t, func(c *Config) {
		c.Username, c.Password = "admin", "global"
		c.Topology.BMCs[1].Username, c.Topology.BMCs[1].Password = "ops", "special"
	})
	first, second := bmcServer(t, s, bladeBMC), bmcServer(t, s, "x1000c0s0b1")
	assert.Equal(t, 200, call(t, first.URL, "GET", "/redfish/v1/Systems", "", "Authorization: Basic YWRtaW46Z2xvYmFs").status) // admin:global
	assert.Equal(t, 401, call(t, first.URL, "GET", "/redfish/v1/Systems", "", "basic").status)
	assert.Equal(t, 200, call(t, second.URL, "GET", "/redfish/v1/Systems", "", "Authorization: Basic b3BzOnNwZWNpYWw=").status) // ops:special
	assert.Equal(t, 401, call(t, second.URL, "GET", "/redfish/v1/Systems", "", "Authorization: Basic YWRtaW46Z2xvYmFs").status)
}

func TestSessionLifecycle(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)

	login := call(t, srv.URL, "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"initial0"}`, "")
	require.Equal(t, 201, login.status)
	token, location := login.header.Get("X-Auth-Token"), login.header.Get("Location")
	require.NotEmpty(t, token)
	body := login.json(t)
	assert.Equal(t, "/redfish/v1/SessionService/Sessions/"+body["Id"].(string), location)
	assert.Equal(t, "root", body["UserName"])
	assert.Nil(t, body["Password"])

	auth := "X-Auth-Token: " + token
	assert.Equal(t, 200, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", auth).status)
	list := call(t, srv.URL, "GET", "/redfish/v1/SessionService/Sessions", "", auth).json(t)
	assert.Equal(t, []any{map[string]any{"@odata.id": location}}, list["Members"])
	assert.Equal(t, 200, call(t, srv.URL, "GET", location, "", auth).status)

	assert.Equal(t, 204, call(t, srv.URL, "DELETE", location, "", auth).status)
	assert.Equal(t, 401, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", auth).status, "a deleted session's token is dead")
	assert.Equal(t, 404, call(t, srv.URL, "DELETE", location, "", "basic").status, "deleting twice is 404")
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	var clock fakeClock
	clock.set(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newSim(t, func(c *Config) {
		c.Now = clock.now
		c.Timing.SessionTimeout = time.Minute
	})
	srv := bmcServer(t, s, bladeBMC)
	token := call(t, srv.URL, "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"initial0"}`, "").header.Get("X-Auth-Token")
	auth := "X-Auth-Token: " + token

	clock.add(50 * time.Second)
	assert.Equal(t, 200, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", auth).status, "use refreshes the idle timer")
	clock.add(50 * time.Second)
	assert.Equal(t, 200, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", auth).status)
	clock.add(61 * time.Second)
	assert.Equal(t, 401, call(t, srv.URL, "GET", "/redfish/v1/Systems", "", auth).status, "idle past SessionTimeout")
	sessions := call(t, srv.URL, "GET", "/redfish/v1/SessionService/Sessions", "", "basic").json(t)
	assert.Empty(t, sessions["Members"])
	assert.EqualValues(t, 60, call(t, srv.URL, "GET", "/redfish/v1/SessionService", "", "basic").json(t)["SessionTimeout"])
}

func TestMaxSessions(t *testing.T) {
	s := newSim(t, func(c *Config) { c.MaxSessions = 2 })
	srv := bmcServer(t, s, bladeBMC)
	for i := 0; i < 2; i++ {
		require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"initial0"}`, "").status)
	}
	third := call(t, srv.URL, "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"initial0"}`, "")
	assert.Equal(t, 503, third.status)
	assert.Equal(t, "SessionLimitExceeded", third.messageID(t))
}

func TestETagFollowsPowerState(t *testing.T) {
	s := newSim(t, nil)
	srv := bmcServer(t, s, bladeBMC)
	first := call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic")
	etag := first.header.Get("ETag")
	require.Equal(t, etag, first.json(t)["@odata.etag"])

	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic", "If-Match: "+etag).status)
	waitPower(t, s, bladeNode, "On")
	now := call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic")
	assert.NotEqual(t, etag, now.header.Get("ETag"))
	assert.Equal(t, 200, call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic", "If-None-Match: "+etag).status)

	stale := call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic", "If-Match: "+etag)
	assert.Equal(t, 412, stale.status)
	n, _ := s.Node(bladeNode)
	assert.Equal(t, "On", n.Power, "a 412 changes nothing")
	assert.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic", "If-Match: "+now.header.Get("ETag")).status)
	waitPower(t, s, bladeNode, "Off")
}

func TestResetTransitionsAndConflicts(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Timing.PowerOn = 300 * time.Millisecond })
	srv := bmcServer(t, s, bladeBMC)
	var seen []string
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	seen = append(seen, call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic").json(t)["PowerState"].(string))
	assert.Equal(t, []string{"PoweringOn"}, seen)

	assert.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status, "On while powering on is a no-op")
	conflict := call(t, srv.URL, "POST", resetPath, resetBody("GracefulShutdown"), "basic")
	assert.Equal(t, 409, conflict.status)
	assert.Equal(t, "ResourceInUse", conflict.messageID(t))
	waitPower(t, s, bladeNode, "On")
	assert.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("Nmi"), "basic").status)
	n, _ := s.Node(bladeNode)
	assert.Equal(t, "On", n.Power, "Nmi changes no power state")
	assert.False(t, n.LastResetTime.IsZero())

	// The other node of the BMC was never touched.
	other, _ := s.Node("x1000c0s0b0n1")
	assert.Equal(t, "Off", other.Power)
}

func TestInitialPowerOn(t *testing.T) {
	s := newSim(t, func(c *Config) { c.InitialPower = "On" })
	n, ok := s.Node(rackNode)
	require.True(t, ok)
	assert.Equal(t, "On", n.Power)
	assert.True(t, n.Booted)
	assert.Equal(t, "OSRunning", n.BootProgress)
}

func TestSubscriptionLifecycle(t *testing.T) {
	s := newSim(t, func(c *Config) {
		c.Subscriptions = []Subscription{{Destination: "http://127.0.0.1:9/events/{bmc}"}}
	})
	srv := bmcServer(t, s, bladeBMC)
	list := call(t, srv.URL, "GET", "/redfish/v1/EventService/Subscriptions", "", "basic").json(t)
	require.Len(t, list["Members"], 1, "the pre-seeded subscription")
	seeded := call(t, srv.URL, "GET", "/redfish/v1/EventService/Subscriptions/1", "", "basic").json(t)
	assert.Equal(t, bladeBMC, seeded["Context"])
	assert.Equal(t, "http://127.0.0.1:9/events/"+bladeBMC, seeded["Destination"])

	created := call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
		`{"Destination":"https://collector/x","Context":"old","EventTypes":["Alert"],"RegistryPrefixes":["ResourceEvent"],"DeliveryRetryPolicy":"RetryForever"}`, "basic")
	require.Equal(t, 201, created.status, "%s", created.body)
	loc := created.header.Get("Location")
	assert.Equal(t, "/redfish/v1/EventService/Subscriptions/2", loc)
	assert.Equal(t, "old", created.json(t)["Context"])

	patched := call(t, srv.URL, "PATCH", loc, `{"Context":"`+bladeBMC+`"}`, "basic")
	require.Equal(t, 200, patched.status)
	assert.Equal(t, bladeBMC, call(t, srv.URL, "GET", loc, "", "basic").json(t)["Context"])
	assert.Equal(t, 400, call(t, srv.URL, "PATCH", loc, `{"Destination":"http://other/"}`, "basic").status)

	assert.Equal(t, 204, call(t, srv.URL, "DELETE", loc, "", "basic").status)
	assert.Equal(t, 404, call(t, srv.URL, "GET", loc, "", "basic").status)
	list = call(t, srv.URL, "GET", "/redfish/v1/EventService/Subscriptions", "", "basic").json(t)
	assert.Len(t, list["Members"], 1)
}

func TestConfigValidation(t *testing.T) {
	topo := testTopology(t)
	bad := []Config{
		{},
		{Topology: topo, FirstAddress: "10.0.0.1"},
		{Topology: topo, FirstAddress: "::1"},
		{Topology: topo, Port: 70000},
		{Topology: topo, InitialPower: "Paused"},
		{Topology: topo, Timing: &Timing{Jitter: 2}},
		{Topology: topo, Timing: &Timing{PowerOn: -1}},
		{Topology: topo, Subscriptions: []Subscription{{Destination: "nope"}}},
		{Topology: topo, Faults: Faults{Set: map[string][]Fault{bladeNode: {"melt"}}}},
		{Topology: topo, Faults: Faults{Set: map[string][]Fault{bladeNode: {FaultHang}}}},
		{Topology: topo, Faults: Faults{Rates: map[Fault]float64{FaultSlow: 1.5}}},
	}
	for i, cfg := range bad {
		_, err := New(cfg)
		assert.Error(t, err, "config %d", i)
	}
}

func TestAddressAssignment(t *testing.T) {
	topo := testTopology(t)
	topo.BMCs[1].Address = "127.1.1.1" // the slot the counter would give the third BMC
	s := newSim(t, func(c *Config) { c.Topology = topo; c.FirstAddress = "127.1.0.254" })
	got := map[string]string{}
	for _, b := range s.BMCs() {
		got[b.Xname] = b.Address
	}
	assert.Equal(t, "127.1.0.254", got[bladeBMC])
	assert.Equal(t, "127.1.1.1", got["x1000c0s0b1"])
	assert.Equal(t, "127.1.1.2", got[rackBMC], "skips .255, .0 and the address given explicitly")
}

// fakeClock is a settable clock for session expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A Reset's body read by the fast path answers as encoding/json's decoding does: the
// same ResetType, or the same Redfish error; only the plain one-member form takes it.
func TestResetTypeFastAnswersAsTheDecoder(t *testing.T) {
	bodies := []struct {
		body string
		fast bool // read by resetTypeFast
	}{
		{`{"ResetType":"On"}`, true},
		{" {\n\t\"ResetType\" :  \"ForceOff\" \r\n} ", true},
		{`{"ResetType":"Off"}`, true}, // not an allowed value
		{`{"ResetType":""}`, false},
		{`{"ResetType":"O\u006e"}`, false},
		{`{"ResetType":"On","Extra":1}`, false},
		{`{"ResetType":"On","ResetType":"ForceOff"}`, false},
		{`{"resettype":"On"}`, false},
		{`{"ResetType":1}`, false},
		{`{"ResetType":"On"} {}`, false},
		{`{"ResetType":"On"`, false},
		{`{"ResetType":"On-1"}`, false},
		{`{}`, false},
		{`[]`, false},
		{`{"ResetType":"` + strings.Repeat("A", maxFastResetBody) + `"}`, true}, // but longer than parseResetType tries it on
	}
	for _, tc := range bodies {
		_, fast := resetTypeFast([]byte(tc.body))
		assert.Equal(t, tc.fast, fast, tc.body)
		answer := func(contentLength int64) (string, bool, int, string) {
			r := httptest.NewRequest(http.MethodPost, resetPath, strings.NewReader(tc.body))
			r.ContentLength = contentLength // -1: unknown, never the fast path
			w := httptest.NewRecorder()
			rt, ok := parseResetType(w, r, "ComputerSystem.Reset", topology.ResetTypes)
			return rt, ok, w.Code, w.Body.String()
		}
		rt, ok, code, body := answer(int64(len(tc.body)))
		wantRT, wantOK, wantCode, wantBody := answer(-1)
		assert.Equal(t, wantRT, rt, tc.body)
		assert.Equal(t, wantOK, ok, tc.body)
		assert.Equal(t, wantCode, code, tc.body)
		assert.Equal(t, wantBody, body, tc.body)
	}
}
