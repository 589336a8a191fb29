package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
	"github.com/cray-bos/bos/simulator"
)

// bmcCall makes one Basic-auth request of a simulated BMC and decodes its JSON answer.
func bmcCall(t *testing.T, b simulator.BMCInfo, method, path, body string) map[string]any {
	t.Helper()
	v, status := bmcTry(t, b, method, path, body)
	require.Less(t, status, 300, "%s %s", method, path)
	return v
}

// bmcTry is bmcCall that returns the status instead of requiring a success.
func bmcTry(t *testing.T, b simulator.BMCInfo, method, path, body string) (map[string]any, int) {
	t.Helper()
	req, err := http.NewRequest(method, b.URL+path, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.SetBasicAuth(b.Username, b.Password)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, resp.StatusCode
	}
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v, resp.StatusCode
}

// subscriptionsOf lists "Context Destination-path" of every subscription of the BMC.
func subscriptionsOf(t *testing.T, b simulator.BMCInfo) []string {
	t.Helper()
	var out []string
	for _, m := range bmcCall(t, b, http.MethodGet, "/redfish/v1/EventService/Subscriptions", "")["Members"].([]any) {
		path := m.(map[string]any)["@odata.id"].(string)
		s, status := bmcTry(t, b, http.MethodGet, path, "")
		if status == http.StatusNotFound {
			continue // deleted since the list was read (BOS removing a stale one)
		}
		require.Less(t, status, 300, "GET %s", path)
		u, err := url.Parse(s["Destination"].(string))
		require.NoError(t, err)
		out = append(out, s["Context"].(string)+" "+u.Path)
	}
	return out
}

func bosSubscriptions(t *testing.T, b simulator.BMCInfo) int {
	n := 0
	for _, s := range subscriptionsOf(t, b) {
		if strings.HasSuffix(s, " /operator/redfish-events") {
			n++
		}
	}
	return n
}

// BOS started five times on the same BMCs, each time on a new port and with a fresh
// store, after a crashed and a pre-owner BOS left subscriptions behind: each BMC holds one
// BOS subscription while BOS runs (HSM's untouched), a power change reaches BOS once and
// nothing is sent to a dead BOS; a clean stop leaves none.
func TestBOSRestartsKeepOneSubscriptionPerBMC(t *testing.T) {
	ctx := testwait.Context(t)
	topo, err := topology.Generate(topology.Options{Compute: 4})
	require.NoError(t, err)
	timing := simulator.DefaultTiming()
	timing.Scale, timing.ReportBackoff = 0, 20*time.Millisecond
	sims, err := Start(ctx, Options{Topology: topo, Services: Simulators, Sim: simulator.Config{Timing: &timing}})
	require.NoError(t, err)
	defer sims.Close()
	bmcs := sims.Sim.BMCs()
	for _, b := range bmcs { // left by a BOS that crashed, and by one from before owners
		bmcCall(t, b, http.MethodPost, "/redfish/v1/EventService/Subscriptions",
			`{"Destination":"http://127.0.0.1:9/operator/redfish-events","Context":"`+b.Xname+`:bos:0123456789ab","DeliveryRetryPolicy":"RetryForever"}`)
		bmcCall(t, b, http.MethodPost, "/redfish/v1/EventService/Subscriptions",
			`{"Destination":"http://127.0.0.1:9/operator/redfish-events","Context":"`+b.Xname+`","DeliveryRetryPolicy":"RetryForever"}`)
	}

	var bos *Stack
	for i := range 5 {
		bos, err = Start(ctx, Options{Topology: topo, Services: []string{BOS}, External: sims.URLs, Reconcile: true, RedfishTimeout: time.Second})
		require.NoError(t, err)
		for _, b := range bmcs {
			testwait.Until(t, fmt.Sprintf("start %d, %s: one BOS subscription", i, b.Xname), func() bool { return bosSubscriptions(t, b) == 1 },
				func() string { return fmt.Sprint(subscriptionsOf(t, b)) })
			assert.Contains(t, subscriptionsOf(t, b), b.Xname+" /hsm/v2/RedfishEvents", "HSM's subscription is not BOS's to touch")
		}
		if i < 4 {
			bos.Close()
		}
	}

	node := topo.Nodes[0].Xname
	for _, n := range topo.Nodes {
		if n.Role == topology.RoleCompute {
			node = n.Xname
			break
		}
	}
	before := sims.Sim.Stats()
	// Powered on by a Redfish client of its own: the events reach HSM and BOS alike.
	rf := power.NewRedfish(power.RedfishConfig{Scheme: "http", Endpoints: reconciler.NewHSMInventory(sims.URLs.HSM, nil).Endpoints(
		&power.Credentials{Default: power.Credential{Username: "root", Password: "initial0"}})})
	defer rf.Close()
	require.Empty(t, rf.Reset(ctx, []string{node}, power.ResetOn))
	// Once every event queued since is settled (delivered or given up), duplicates and
	// deliveries to a dead BOS, if any, have happened.
	settled := func(s simulator.Stats) int64 { return s.EventsDelivered + s.EventsFailed + s.EventsDropped }
	testwait.Until(t, "PoweringOn and On, to HSM and to BOS", func() bool {
		st := sims.Sim.Stats()
		return st.EventsDelivered-before.EventsDelivered >= 4 && settled(st)-settled(before) >= st.EventsQueued-before.EventsQueued
	}, func() string { return fmt.Sprintf("before %+v, now %+v", before, sims.Sim.Stats()) })
	st := sims.Sim.Stats()
	assert.EqualValues(t, 4, st.EventsDelivered-before.EventsDelivered)
	assert.Equal(t, before.EventsFailed, st.EventsFailed, "nothing sent to a dead BOS")

	bos.Close()
	for _, b := range bmcs {
		assert.Zero(t, bosSubscriptions(t, b), "a clean stop unsubscribes: %v", subscriptionsOf(t, b))
	}
}
