package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/orchestrator/operator"
	"github.com/cray-bos/bos/simulator"
)

// bmcCall makes one Basic-auth request of a simulated BMC and decodes its JSON answer.
func bmcCall(t *testing.T, b simulator.BMCInfo, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, b.URL+path, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.SetBasicAuth(b.Username, b.Password)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s", method, path)
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// subscriptionsOf lists "Context Destination-path" of every subscription of the BMC.
func subscriptionsOf(t *testing.T, b simulator.BMCInfo) []string {
	t.Helper()
	var out []string
	for _, m := range bmcCall(t, b, http.MethodGet, "/redfish/v1/EventService/Subscriptions", "")["Members"].([]any) {
		s := bmcCall(t, b, http.MethodGet, m.(map[string]any)["@odata.id"].(string), "")
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
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
			require.Eventually(t, func() bool { return bosSubscriptions(t, b) == 1 }, 10*time.Second, 10*time.Millisecond,
				"start %d, %s: %v", i, b.Xname, subscriptionsOf(t, b))
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
	require.Empty(t, bos.Redfish.Reset(ctx, []string{node}, operator.ResetOn))
	require.Eventually(t, func() bool {
		st := sims.Sim.Stats()
		return st.EventsDelivered-before.EventsDelivered == 4
	}, 10*time.Second, 10*time.Millisecond, "PoweringOn and On, to HSM and to BOS: %+v", sims.Sim.Stats())
	time.Sleep(100 * time.Millisecond)
	st := sims.Sim.Stats()
	assert.EqualValues(t, 4, st.EventsDelivered-before.EventsDelivered)
	assert.Equal(t, before.EventsFailed, st.EventsFailed, "nothing sent to a dead BOS")

	bos.Close()
	for _, b := range bmcs {
		assert.Zero(t, bosSubscriptions(t, b), "a clean stop unsubscribes: %v", subscriptionsOf(t, b))
	}
}
