package hsm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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

// A BMC's registration and discovery walk none of the cluster's ComponentEndpoints and
// ServiceEndpoints: they once walked every one of them under HSM's lock, 50,000 times
// over at 100,000 nodes (a shard's start-up took minutes). Counted, not timed: walks
// over them all go through allCEPs and allSEPs, which count what they hand out
// (TestEndpointWalksCounted keeps it so); BenchmarkRegisterBMC has the timings.
func TestRegisterCostFlat(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(1000))
	require.NoError(t, err)
	s, err := New(Config{Topology: topo})
	require.NoError(t, err)
	s.mu.RLock()
	ceps := len(s.ceps)
	s.mu.RUnlock()
	require.Greater(t, ceps, len(topo.BMCs), "the seeded endpoints a walk would visit")

	for round := range 2 { // the first discovery of each BMC, then a rediscovery
		before := s.walked.Load()
		for i, bmc := range topo.BMCs {
			registerAndApply(s, bmc, fmt.Sprintf("127.2.%d.%d:443", round, i))
		}
		assert.Zero(t, s.walked.Load()-before, "round %d: records of the whole cluster walked registering %d BMCs", round, len(topo.BMCs))
	}

	// The counter counts: a list of every ServiceEndpoint walks them all.
	before := s.walked.Load()
	s.mu.RLock()
	seps := len(s.seps)
	s.listServiceEndpoints(nil, nil)
	s.mu.RUnlock()
	require.Greater(t, seps, len(topo.BMCs), "each BMC's services")
	assert.Equal(t, int64(seps), s.walked.Load()-before)
}

// Every walk over all the ComponentEndpoints or ServiceEndpoints goes through allCEPs or
// allSEPs, so TestRegisterCostFlat sees it.
func TestEndpointWalksCounted(t *testing.T) {
	direct := regexp.MustCompile(`range\s+[\w.]*\(?\s*s\.(ceps|seps|cepSorted)\b|(\]\*cepRec|Clone|Keys|Values|All|Collect)\(s\.(ceps|seps|cepSorted)\)`)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(src), "\n") {
			assert.False(t, direct.MatchString(line), "%s:%d walks the cluster's endpoints uncounted (use allCEPs, allSEPs): %s", f, i+1, strings.TrimSpace(line))
		}
	}
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
