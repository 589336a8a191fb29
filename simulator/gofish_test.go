package simulator

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// connect opens one kept-alive gofish client on a BMC (the pattern the Redfish reference
// recommends: one client per BMC, ReuseConnections, no per-operation login).
func connect(t *testing.T, s *Simulator, bmcXname string, basic bool, password string) (*gofish.APIClient, error) {
	t.Helper()
	c, err := gofish.ConnectContext(testwait.Context(t), gofish.ClientConfig{
		Endpoint: s.BMCURLs()[bmcXname], Username: "root", Password: password,
		BasicAuth: basic, ReuseConnections: true, Insecure: true,
		HTTPClient: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
	})
	if err == nil {
		t.Cleanup(c.Logout)
	}
	return c, err
}

func TestGofish(t *testing.T) {
	for _, tls := range []bool{false, true} {
		for _, basic := range []bool{false, true} {
			name := map[bool]string{false: "session", true: "basic"}[basic] + map[bool]string{false: "/http", true: "/https"}[tls]
			t.Run(name, func(t *testing.T) {
				s := startSim(t, func(c *Config) {
					c.TLS = tls
					c.Timing.PowerOn = 200 * time.Millisecond
					c.Timing.PowerOff = 100 * time.Millisecond
				})
				c, err := connect(t, s, bladeBMC, basic, "initial0")
				require.NoError(t, err)

				systems, err := c.Service.Systems()
				require.NoError(t, err)
				require.Len(t, systems, 2)
				sys := systems[0]
				assert.Equal(t, "Node0", sys.ID)
				assert.Equal(t, schemas.OffPowerState, sys.PowerState)
				assert.Equal(t, "HPE", sys.Manufacturer)
				require.NotNil(t, sys.ProcessorSummary.Count)
				assert.Positive(t, *sys.ProcessorSummary.Count)

				// Each transition is held (power-stuck) until gofish has seen it, so a
				// slow poll on a loaded machine cannot skip it. Once released, the
				// transition may end before the next poll: what is seen after the release
				// continues what was seen before it.
				reset := func(rt schemas.ResetType, via, want schemas.PowerState) {
					t.Helper()
					require.NoError(t, s.SetFault(bladeNode, FaultPowerStuck))
					sys, err := schemas.GetObject[schemas.ComputerSystem](c, sys.ODataID)
					require.NoError(t, err)
					_, err = sys.Reset(rt)
					require.NoError(t, err)
					seen := observePower(t, c, sys.ODataID, via, nil)
					assert.Equal(t, []schemas.PowerState{via}, seen)
					require.NoError(t, s.ClearFault(bladeNode, FaultPowerStuck))
					assert.Equal(t, []schemas.PowerState{via, want}, observePower(t, c, sys.ODataID, want, seen))
				}
				reset(schemas.OnResetType, schemas.PoweringOnPowerState, schemas.OnPowerState)
				reset(schemas.ForceOffResetType, schemas.PoweringOffPowerState, schemas.OffPowerState)
			})
		}
	}
}

// observePower polls the system until it shows want and returns seen followed by the
// distinct states it saw.
func observePower(t *testing.T, c *gofish.APIClient, uri string, want schemas.PowerState, seen []schemas.PowerState) []schemas.PowerState {
	t.Helper()
	seen = slices.Clone(seen)
	testwait.Until(t, fmt.Sprintf("system reaches %s", want), func() bool {
		sys, err := schemas.GetObject[schemas.ComputerSystem](c, uri)
		require.NoError(t, err)
		if len(seen) == 0 || seen[len(seen)-1] != sys.PowerState {
			seen = append(seen, sys.PowerState)
		}
		return sys.PowerState == want
	}, func() string { return fmt.Sprintf("saw %v", seen) })
	return seen
}

func TestGofishErrors(t *testing.T) {
	s := startSim(t, nil)

	_, err := connect(t, s, bladeBMC, false, "wrong")
	require.Error(t, err, "session login with a bad password")

	bad, err := connect(t, s, bladeBMC, true, "wrong")
	require.NoError(t, err, "Basic auth is not checked until the first authenticated request")
	_, err = bad.Service.Systems()
	assert.ErrorContains(t, err, "NoValidSession")
	_, err = bad.Get("/redfish/v1/Systems")
	var rfErr *schemas.Error
	require.ErrorAs(t, err, &rfErr)
	assert.Equal(t, http.StatusUnauthorized, rfErr.HTTPReturnedStatusCode)

	c, err := connect(t, s, bladeBMC, false, "initial0")
	require.NoError(t, err)
	systems, err := c.Service.Systems()
	require.NoError(t, err)

	// gofish refuses a ResetType outside AllowableValues itself; send the raw action.
	_, err = c.Post(systems[0].ODataID+"/Actions/ComputerSystem.Reset", map[string]string{"ResetType": "Bogus"})
	require.ErrorAs(t, err, &rfErr)
	assert.Equal(t, http.StatusBadRequest, rfErr.HTTPReturnedStatusCode)
	require.NotEmpty(t, rfErr.ExtendedInfos)
	assert.Equal(t, "Base.1.22.ActionParameterValueNotInList", rfErr.ExtendedInfos[0].MessageID)
	_, err = systems[0].Reset("Bogus")
	assert.ErrorContains(t, err, "not supported")

	_, err = c.Get("/redfish/v1/Systems/Node7")
	require.ErrorAs(t, err, &rfErr)
	assert.Equal(t, http.StatusNotFound, rfErr.HTTPReturnedStatusCode)
}

// gofish sends If-Match with the ETag it last saw; the BMC answers 412 when the system
// changed since, and gofish retries once without If-Match.
func TestGofishETag(t *testing.T) {
	s := startSim(t, nil)
	c, err := connect(t, s, bladeBMC, true, "initial0")
	require.NoError(t, err)
	systems, err := c.Service.Systems()
	require.NoError(t, err)
	stale := systems[0]
	require.Equal(t, `W/"1"`, stale.ODataEtag)

	fresh, err := schemas.GetObject[schemas.ComputerSystem](c, stale.ODataID)
	require.NoError(t, err)
	_, err = fresh.Reset(schemas.OnResetType)
	require.NoError(t, err)
	waitPower(t, s, bladeNode, "On")

	_, err = c.PostWithHeaders(stale.ODataID+"/Actions/ComputerSystem.Reset", map[string]string{"ResetType": "ForceOff"},
		map[string]string{"If-Match": stale.ODataEtag})
	var rfErr *schemas.Error
	require.True(t, errors.As(err, &rfErr), "err %v", err)
	assert.Equal(t, http.StatusPreconditionFailed, rfErr.HTTPReturnedStatusCode)
	n, _ := s.Node(bladeNode)
	assert.Equal(t, "On", n.Power)

	// The entity's Reset falls back to no If-Match after the 412, so it still works.
	_, err = stale.Reset(schemas.ForceOffResetType)
	require.NoError(t, err)
	waitPower(t, s, bladeNode, "Off")
}

// gofish decodes every other resource the BMC serves, and manages subscriptions.
func TestGofishResources(t *testing.T) {
	s := startSim(t, nil)
	c, err := connect(t, s, bladeBMC, false, "initial0")
	require.NoError(t, err)

	chassis, err := c.Service.Chassis()
	require.NoError(t, err)
	require.Len(t, chassis, 3)
	assert.Equal(t, "Enclosure", chassis[0].ID)
	assert.Equal(t, schemas.BladeChassisType, chassis[1].ChassisType)

	managers, err := c.Service.Managers()
	require.NoError(t, err)
	require.Len(t, managers, 1)
	assert.Equal(t, "BMC", managers[0].ID)
	assert.Equal(t, schemas.BMCManagerType, managers[0].ManagerType)

	ss, err := c.Service.SessionService()
	require.NoError(t, err)
	assert.True(t, ss.ServiceEnabled)

	es, err := c.Service.EventService()
	require.NoError(t, err)
	uri, err := es.CreateEventSubscriptionInstance("https://collector.local/"+bladeBMC, []string{"ResourceEvent"}, nil,
		map[string]string{"X-Token": "t"}, schemas.RedfishEventDestinationProtocol, bladeBMC, schemas.RetryForeverDeliveryRetryPolicy, nil)
	require.NoError(t, err)
	assert.Equal(t, "/redfish/v1/EventService/Subscriptions/1", uri)
	subs, err := es.Subscriptions()
	require.NoError(t, err)
	require.Len(t, subs, 1)
	assert.Equal(t, bladeBMC, subs[0].Context)
	assert.Equal(t, "https://collector.local/"+bladeBMC, subs[0].Destination)
	require.NoError(t, es.DeleteEventSubscription(uri))
	subs, err = es.Subscriptions()
	require.NoError(t, err)
	assert.Empty(t, subs)
}
