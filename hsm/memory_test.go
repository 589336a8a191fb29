//go:build !race

// A heap measurement, not built with the race detector: it checks no concurrency, and it
// was the hsm race run's slowest test; the plain run (go test ./...) measures it.

package hsm

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
)

// TestInventoryHeapPerNode bounds what a seeded HSM keeps per node: its inventory is most
// of a simulator process's live heap at scale (issue 14). Component endpoints and
// Ethernet interfaces are encoded when asked for, not kept encoded (1.7 KB a node).
func TestInventoryHeapPerNode(t *testing.T) {
	const nodes = 4000
	topo, err := topology.Generate(topology.DefaultOptions(nodes))
	require.NoError(t, err)
	eps := map[string]BMCEndpoint{}
	for i, bmc := range topo.BMCs {
		eps[bmc.Xname] = BMCEndpoint{FQDN: fmt.Sprintf("127.1.%d.%d:443", i>>8, i&0xff)}
	}
	before := liveHeap()
	s, err := New(Config{Topology: topo, BMCs: eps})
	require.NoError(t, err)
	perNode := float64(liveHeap()-before) / float64(len(topo.Nodes))
	runtime.KeepAlive(s)
	t.Logf("HSM keeps %.0f bytes a node (%d nodes)", perNode, len(topo.Nodes))
	require.Less(t, perNode, 4000.0, "bytes a node")
}

func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
