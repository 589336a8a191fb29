package hsm

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/topology"
)

// registerAndApply is what HSM does under its lock for one BMC a simulator shard
// registers (PATCH of its RedfishEndpoint, then the discovery's reading applied): the
// part of a 100,000-node start-up that must not grow with the cluster.
func registerAndApply(s *Server, bmc topology.BMC, fqdn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, _, _ := s.updateRedfishEndpoint(bmc.Xname, func(ep *hsmapi.RedfishEndpoint) { ep.FQDN = fqdn })
	rd := bmcReading{status: discOK, redfishVersion: simRedfishVersion, uuid: ep.UUID,
		managers: []rfResource{{ID: "BMC", ODataID: "/redfish/v1/Managers/BMC", ManagerType: "BMC"}}}
	for i := range bmc.Nodes {
		rd.systems = append(rd.systems, rfResource{ID: fmt.Sprintf("Node%d", i), ODataID: fmt.Sprintf("/redfish/v1/Systems/Node%d", i), PowerState: "Off"})
	}
	for _, svc := range redfishServices {
		rd.services = append(rd.services, ServiceEndpoint{RedfishType: svc.redfishType, OdataID: "/redfish/v1/" + svc.rootKey})
	}
	s.applyReading(s.rfeps[bmc.Xname], rd)
}

// registerCost is the time per BMC of registerAndApply over a sample of the BMCs of a
// cluster of nodes, the best of three rounds (the least disturbed by other work).
func registerCost(tb testing.TB, nodes, sample int) time.Duration {
	topo, err := topology.Generate(topology.DefaultOptions(nodes))
	require.NoError(tb, err)
	s, err := New(Config{Topology: topo})
	require.NoError(tb, err)
	runtime.GC() // the seed's garbage, not the registrations', is collected here
	best := time.Duration(1 << 62)
	for round := range 3 {
		start := time.Now()
		for i := range sample {
			bmc := topo.BMCs[(i*len(topo.BMCs))/sample]
			registerAndApply(s, bmc, fmt.Sprintf("127.2.%d.%d:443", round, i))
		}
		best = min(best, time.Since(start)/time.Duration(sample))
	}
	return best
}

// A BMC's registration and discovery cost HSM the same at 40,000 nodes as at 1,000:
// they once walked every ComponentEndpoint and ServiceEndpoint of the cluster under
// HSM's lock, 50,000 times over at 100,000 nodes (a shard's start-up took minutes).
func TestRegisterCostFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 40,000-node HSM")
	}
	small := registerCost(t, 1000, 200)
	large := registerCost(t, 40000, 200)
	t.Logf("per BMC: %s at 1,000 nodes, %s at 40,000 (%.1f×)", small, large, float64(large)/float64(small))
	// Walking the cluster would be ~40×; a map and a sorted slice grow a little.
	require.Less(t, float64(large)/float64(small), 6.0, "per-BMC cost %s at 40,000 nodes against %s at 1,000", large, small)
}

func BenchmarkRegisterBMC(b *testing.B) {
	for _, nodes := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			topo, err := topology.Generate(topology.DefaultOptions(nodes))
			require.NoError(b, err)
			s, err := New(Config{Topology: topo})
			require.NoError(b, err)
			i := 0
			for b.Loop() {
				registerAndApply(s, topo.BMCs[i%len(topo.BMCs)], fmt.Sprintf("127.2.0.%d:443", i))
				i++
			}
		})
	}
}
