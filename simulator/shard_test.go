package simulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
)

// A shard's BMCs, skipping the addresses of the BMCs before it, get the addresses they
// have in the whole cluster, across the x.y.z.255/x.y.(z+1).0 gap too.
func TestShardBMCsKeepTheirAddressInTheWhole(t *testing.T) {
	topo, err := topology.Generate(topology.Options{Compute: 1200}) // 600 BMCs
	require.NoError(t, err)
	addresses := func(cfg Config) map[string]string {
		sim, err := New(cfg)
		require.NoError(t, err)
		defer sim.Close()
		out := map[string]string{}
		for _, b := range sim.BMCs() {
			out[b.Xname] = b.Address
		}
		return out
	}
	whole := addresses(Config{Topology: topo, FirstAddress: "127.1.0.200"})
	assert.Equal(t, "127.1.1.1", whole[topo.BMCs[55].Xname], ".255 and .0 are skipped")
	got := map[string]string{}
	for i := range 3 {
		s, err := topo.Shard(i, 3)
		require.NoError(t, err)
		for id, a := range addresses(Config{Topology: s.Topology, FirstAddress: "127.1.0.200", SkipAddresses: s.FirstBMC}) {
			got[id] = a
		}
	}
	assert.Equal(t, whole, got)

	_, err = New(Config{Topology: topo, SkipAddresses: -1})
	assert.ErrorContains(t, err, "SkipAddresses")
}
