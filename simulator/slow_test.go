package simulator

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// TestSlowNodes: a node named in SlowNodes takes its factor times as long through every
// hardware delay (here power-on, POST and boot: 60 ms, ×8 = 480 ms, no jitter), and the
// other node on the same BMC keeps its pace.
func TestSlowNodes(t *testing.T) {
	slowNode := "x1000c0s0b0n1" // Node1 on bladeBMC
	s := newSim(t, func(c *Config) { c.SlowNodes = map[string]float64{"X1000C0S0B0N1": 8} })
	srv := bmcServer(t, s, bladeBMC)
	start := time.Now()
	for _, sys := range []string{"Node0", "Node1"} {
		r := call(t, srv.URL, http.MethodPost, "/redfish/v1/Systems/"+sys+"/Actions/ComputerSystem.Reset", resetBody("On"), "basic")
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	}
	booted := func(id string) NodeState {
		var n NodeState
		testwait.Until(t, id+" boots", func() bool {
			n, _ = s.Node(id)
			return n.BootCount == 1
		}, func() string { return fmt.Sprintf("%+v", n) })
		return n
	}
	fast, slow := booted(bladeNode), booted(slowNode)
	assert.True(t, fast.LastBoot.Before(slow.LastBoot), "the fast node boots first")
	assert.GreaterOrEqual(t, slow.LastBoot.Sub(start), 8*60*time.Millisecond, "the slow node takes 8× the delays")
	assert.GreaterOrEqual(t, fast.LastBoot.Sub(start), 60*time.Millisecond)
}

func TestSlowNodesValidation(t *testing.T) {
	for name, slow := range map[string]map[string]float64{
		"ZeroFactor":     {bladeNode: 0},
		"NegativeFactor": {bladeNode: -2},
		"UnknownNode":    {"x9000c0s0b0n0": 2},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Config{Topology: testTopology(t), Timing: fastTiming(), SlowNodes: slow})
			assert.ErrorContains(t, err, "SlowNodes")
		})
	}
}
