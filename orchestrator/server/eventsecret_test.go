package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/orchestrator/server"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/simulator"
)

// A BOS restarted on the same Redis takes back the event subscription it left on a BMC
// (one that did not answer when it stopped, as every BMC after a crash) instead of
// replacing it: the secret the subscription carries is kept in Redis. Before, each start
// had a new secret, refused the old subscriptions' events and replaced them all.
func TestRestartKeepsTheEventSubscriptionsItLeft(t *testing.T) {
	net := memnet.New()
	sims, _ := startSims(t, net)
	defer sims.Close()
	redis := miniredis.RunT(t)
	u := sims.URLs
	cfg := server.Config{
		Services:   server.Services{HSM: u.HSM, BSS: u.BSS, CFS: u.CFS, S3: u.S3, IMS: u.IMS, Slurm: u.Slurm},
		HTTPClient: net.HTTPClient(0), Dial: net.DialContext,
		Reconcile: true,
		Store:     store.Config{URL: "redis://" + redis.Addr()},
	}
	bmcs := sims.Sim.BMCs()
	run := func() *running {
		r := start(t, net, bosAddr, cfg)
		n, err := r.b.Subscribed(t.Context())
		require.NoError(t, err)
		require.Equal(t, len(bmcs), n, "every BMC took a subscription")
		return r
	}
	stop := func(r *running) {
		r.shutdown(t)
		r.b.Close()
	}

	first := run()
	bmc := bmcs[0].Xname
	left := bmcSubscriptions(t, sims.Sim, bmc)
	require.Len(t, left, 1)
	require.NoError(t, sims.Sim.SetFault(bmc, simulator.FaultUnreachable))
	stop(first) // deletes its subscriptions, but on the BMCs that answer only
	require.NoError(t, sims.Sim.ClearFault(bmc, simulator.FaultUnreachable))
	require.Equal(t, left, bmcSubscriptions(t, sims.Sim, bmc), "left behind")
	assert.Empty(t, bmcSubscriptions(t, sims.Sim, bmcs[1].Xname), "deleted where the BMC answered")

	second := run()
	defer stop(second)
	assert.Equal(t, left, bmcSubscriptions(t, sims.Sim, bmc), "taken back as it was, not replaced")
	assert.Len(t, bmcSubscriptions(t, sims.Sim, bmcs[1].Xname), 1)
}

// bmcSubscriptions reads the Id, Context and Destination of each event subscription on a
// simulated BMC whose events go to the BOS at bosAddr (HSM has its own).
func bmcSubscriptions(t *testing.T, sim *simulator.Simulator, bmc string) []map[string]any {
	t.Helper()
	h := sim.Handler(bmc)
	require.NotNil(t, h, bmc)
	get := func(path string) map[string]any {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth("root", "initial0")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "GET %s on %s: %s", path, bmc, rec.Body)
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		return body
	}
	var out []map[string]any
	for _, m := range get("/redfish/v1/EventService/Subscriptions")["Members"].([]any) {
		sub := get(m.(map[string]any)["@odata.id"].(string))
		if dest, _ := sub["Destination"].(string); !strings.HasPrefix(dest, "http://"+bosAddr+"/") {
			continue
		}
		out = append(out, map[string]any{"Id": sub["Id"], "Context": sub["Context"], "Destination": sub["Destination"]})
	}
	return out
}
