package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShardsCoverTheClusterOnceWithWholeBMCs(t *testing.T) {
	topo, err := Generate(DefaultOptions(600)) // 300 compute BMCs + 5 air-cooled
	require.NoError(t, err)
	for _, count := range []int{1, 2, 3, 7, 305} {
		seenNode, seenBMC := map[string]int{}, map[string]int{}
		next := 0
		for i := range count {
			s, err := topo.Shard(i, count)
			require.NoError(t, err)
			assert.Equal(t, next, s.FirstBMC, "shards are contiguous")
			assert.Equal(t, len(topo.BMCs), s.WholeBMCs, "the whole cluster's BMC count")
			next += len(s.Topology.BMCs)
			n := len(topo.BMCs) / count
			assert.Contains(t, []int{n, n + 1}, len(s.Topology.BMCs), "even shards")
			for _, b := range s.Topology.BMCs {
				seenBMC[b.Xname]++
				whole, ok := find(topo.BMCs, b.Xname)
				require.True(t, ok)
				assert.Equal(t, whole.Nodes, b.Nodes, "a BMC is whole in its shard")
			}
			for _, n := range s.Topology.Nodes {
				seenNode[n.Xname]++
				assert.Contains(t, s.Topology.BMCs[indexOf(s.Topology.BMCs, n.BMC())].Nodes, n.Xname)
			}
			for _, g := range s.Topology.Groups {
				assert.NotEmpty(t, g.Members, g.Label)
			}
			// The shard is a topology of its own.
			require.NoError(t, s.Topology.Normalize())
		}
		assert.Len(t, seenBMC, len(topo.BMCs), "count %d", count)
		assert.Len(t, seenNode, len(topo.Nodes), "count %d", count)
		for id, n := range seenNode {
			assert.Equal(t, 1, n, id)
		}
	}
	again, err := topo.Shard(1, 3)
	require.NoError(t, err)
	first, _ := topo.Shard(1, 3)
	assert.Equal(t, first, again, "deterministic")
}

func TestShardRejects(t *testing.T) {
	topo, err := Generate(Options{Compute: 4})
	require.NoError(t, err)
	for _, c := range []struct{ index, count int }{{0, 0}, {-1, 2}, {2, 2}, {0, 3}} {
		_, err := topo.Shard(c.index, c.count)
		assert.Error(t, err, "%d/%d", c.index, c.count)
	}
}

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in           string
		index, count int
		ok           bool
	}{{"1/1", 0, 1, true}, {"2/3", 1, 3, true}, {"3/3", 2, 3, true}, {"0/3", 0, 0, false}, {"4/3", 0, 0, false},
		{"1/0", 0, 0, false}, {"2", 0, 0, false}, {"a/b", 0, 0, false}, {"", 0, 0, false}} {
		i, n, err := ParseShard(c.in)
		if !c.ok {
			assert.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, []int{c.index, c.count}, []int{i, n}, c.in)
	}
}

func find(bmcs []BMC, id string) (BMC, bool) {
	i := indexOf(bmcs, id)
	if i < 0 {
		return BMC{}, false
	}
	return bmcs[i], true
}

func indexOf(bmcs []BMC, id string) int {
	for i, b := range bmcs {
		if b.Xname == id {
			return i
		}
	}
	return -1
}
