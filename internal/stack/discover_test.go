package stack

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
)

// HSM's discovery reaches the stack's BMCs (their scheme, address and credentials)
// and finds what HSM was seeded with.
func TestHSMDiscoversTheStacksBMCs(t *testing.T) {
	ctx := testwait.Context(t)
	topo, err := topology.Generate(topology.Options{Compute: 4})
	require.NoError(t, err)
	sims, err := Start(ctx, Options{Topology: topo, Services: Simulators})
	require.NoError(t, err)
	defer sims.Close()

	resp, err := http.Post(sims.URLs.HSM+hsmapi.BasePath+"/Inventory/Discover", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sims.HSM.WaitDiscoveries()

	resp, err = http.Get(sims.URLs.HSM + hsmapi.BasePath + "/Inventory/RedfishEndpoints")
	require.NoError(t, err)
	defer resp.Body.Close()
	var eps hsmapi.RedfishEndpointArray
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&eps))
	require.Len(t, eps.RedfishEndpoints, len(topo.BMCs))
	for _, ep := range eps.RedfishEndpoints {
		assert.Equal(t, "DiscoverOK", ep.DiscoveryInfo.LastDiscoveryStatus, ep.ID)
	}
}
