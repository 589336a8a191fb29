package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/internal/topology"
)

func TestFaultReset5xx(t *testing.T) {
	for _, tt := range []struct {
		fault   Fault
		status  int
		message string
	}{
		{FaultReset503, 503, "ServiceTemporarilyUnavailable"},
		{FaultReset500, 500, "InternalError"},
	} {
		t.Run(string(tt.fault), func(t *testing.T) {
			s := newSim(t, func(c *Config) { c.Faults.Set = map[string][]Fault{bladeNode: {tt.fault}} })
			srv := bmcServer(t, s, bladeBMC)
			got := call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic")
			require.Equal(t, tt.status, got.status)
			assert.Equal(t, tt.message, got.messageID(t))
			if tt.status == 503 {
				assert.Equal(t, "7", got.header.Get("Retry-After"))
			}
			n, _ := s.Node(bladeNode)
			assert.Equal(t, "Off", n.Power)
			assert.Equal(t, []Fault{tt.fault}, n.Faults)
			assert.Equal(t, 200, call(t, srv.URL, "GET", "/redfish/v1/Systems/Node0", "", "basic").status, "reads still work")
			// The node's neighbour on the same BMC is fine.
			assert.Equal(t, 204, call(t, srv.URL, "POST", "/redfish/v1/Systems/Node1/Actions/ComputerSystem.Reset", resetBody("On"), "basic").status)

			require.NoError(t, s.ClearFault(bladeNode, tt.fault))
			assert.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
			waitPower(t, s, bladeNode, "On")
		})
	}
}

func TestFaultHang(t *testing.T) {
	s := startSim(t, func(c *Config) { c.Faults.Set = map[string][]Fault{bladeBMC: {FaultHang}} })
	urls := s.BMCURLs()
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := hc.Get(urls[bladeBMC] + "/redfish/v1/")
	require.Error(t, err, "a hung BMC never answers")
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	resp, err := hc.Get(urls["x1000c0s0b1"] + "/redfish/v1/")
	require.NoError(t, err, "other BMCs answer")
	resp.Body.Close()

	require.NoError(t, s.ClearFault(bladeBMC, FaultHang))
	resp, err = hc.Get(urls[bladeBMC] + "/redfish/v1/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

// Close ends requests a hung BMC holds.
func TestCloseEndsHungRequests(t *testing.T) {
	s := startSim(t, func(c *Config) { c.Faults.Set = map[string][]Fault{bladeBMC: {FaultHang}} })
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.BMCURLs()[bladeBMC] + "/redfish/v1/")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	testwait.Until(t, "the request reaches the hung handler", func() bool { return s.hanging.Load() == 1 }, nil)
	require.NoError(t, s.Close())
	assert.Error(t, testwait.Receive(t, done, "Close ends the hung request", nil))
}

func TestFaultUnreachable(t *testing.T) {
	s := startSim(t, nil)
	url := s.BMCURLs()[bladeBMC]
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	get := func() error {
		resp, err := hc.Get(url + "/redfish/v1/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	require.NoError(t, get(), "the kept-alive connection is open")

	require.NoError(t, s.SetFault(bladeBMC, FaultUnreachable))
	err := get()
	require.Error(t, err, "kept-alive connection cut, new ones refused")
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "err %v", err)
	assert.Equal(t, map[string][]Fault{bladeBMC: {FaultUnreachable}}, s.Faults())

	require.NoError(t, s.ClearFault(bladeBMC, FaultUnreachable))
	require.NoError(t, get())
}

func TestFaultUnreachableFromStart(t *testing.T) {
	s := startSim(t, func(c *Config) { c.Faults.Set = map[string][]Fault{bladeBMC: {FaultUnreachable}} })
	urls := s.BMCURLs()
	assert.Equal(t, urls["x1000c0s0b1"][len("http://127.1.0.2"):], urls[rackBMC][len("http://127.1.0.3"):], "one port for all")
	resp, err := http.Get(urls[rackBMC] + "/redfish/v1/")
	require.NoError(t, err)
	resp.Body.Close()
	_, err = net.DialTimeout("tcp", s.BMCURLs()[bladeBMC][len("http://"):], time.Second)
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "err %v", err)
	require.NoError(t, s.ClearFault(bladeBMC, FaultUnreachable))
	c, err := net.DialTimeout("tcp", s.BMCURLs()[bladeBMC][len("http://"):], time.Second)
	require.NoError(t, err)
	c.Close()
}

// In a synctest bubble, handlers called directly: the durations asserted are fake time,
// so load cannot make the fast BMC look slow.
func TestFaultSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, func(c *Config) { c.Faults.Set = map[string][]Fault{bladeBMC: {FaultSlow}} })
		get := func(bmc string) int {
			req := httptest.NewRequest(http.MethodGet, "/redfish/v1/Systems", nil)
			req.SetBasicAuth("root", "initial0")
			rec := httptest.NewRecorder()
			s.Handler(bmc).ServeHTTP(rec, req)
			return rec.Code
		}
		start := time.Now()
		assert.Equal(t, 200, get(bladeBMC))
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		start = time.Now()
		assert.Equal(t, 200, get("x1000c0s0b1"))
		assert.Less(t, time.Since(start), 300*time.Millisecond)
	})
}

func TestFaultPowerStuck(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Faults.Set = map[string][]Fault{bladeNode: {FaultPowerStuck}} })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n, _ := s.Node(bladeNode)
	assert.Equal(t, "PoweringOn", n.Power)
	nd := s.nodeByID[bladeNode]
	nd.bmc.mu.Lock()
	assert.Nil(t, nd.timer, "no transition is scheduled: the node stays PoweringOn")
	nd.bmc.mu.Unlock()

	require.NoError(t, s.ClearFault(bladeNode, FaultPowerStuck))
	waitPower(t, s, bladeNode, "On")

	require.NoError(t, s.SetFault(bladeNode, FaultPowerStuck))
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	n, _ = s.Node(bladeNode)
	assert.Equal(t, "PoweringOff", n.Power, "stuck on the way down too")
	require.NoError(t, s.ClearFault(bladeNode, FaultPowerStuck))
	waitPower(t, s, bladeNode, "Off")
}

func TestFaultGracefulHang(t *testing.T) {
	s := newSim(t, func(c *Config) {
		c.InitialPower = "On"
		c.Faults.Set = map[string][]Fault{bladeNode: {FaultGracefulHang}}
	})
	srv := bmcServer(t, s, bladeBMC)
	for _, rt := range []string{"GracefulShutdown", "GracefulRestart", "PushPowerButton"} {
		require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody(rt), "basic").status, rt)
		n, _ := s.Node(bladeNode)
		assert.Equal(t, "On", n.Power, "%s is ignored by the hung OS", rt)
		nd := s.nodeByID[bladeNode]
		nd.bmc.mu.Lock()
		assert.Nil(t, nd.timer, "nothing is pending")
		nd.bmc.mu.Unlock()
	}
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	waitPower(t, s, bladeNode, "Off")

	// Without the fault a graceful shutdown completes.
	require.Equal(t, 204, call(t, srv.URL, "POST", "/redfish/v1/Systems/Node1/Actions/ComputerSystem.Reset", resetBody("GracefulShutdown"), "basic").status)
	waitPower(t, s, "x1000c0s0b0n1", "Off")
}

func TestFaultNoReport(t *testing.T) {
	st := newStack(t)
	var boots atomic.Int64
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.OnBooted = func(string, time.Time) { boots.Add(1) }
		c.Faults.Set = map[string][]Fault{bladeNode: {FaultNoReport}}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n := waitNode(t, s, bladeNode, "told CFS", func(n NodeState) bool { return n.CFSReported })
	// BOS would have been told before CFS: its absence is final.
	assert.Empty(t, st.bosReports(t, bladeNode))
	assert.False(t, n.Reported)
	assert.True(t, n.Booted)
	assert.EqualValues(t, 1, boots.Load())
}

func TestFaultWrongImage(t *testing.T) {
	st := newStack(t)
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.Faults.Set = map[string][]Fault{bladeNode: {FaultWrongImage}}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n := waitNode(t, s, bladeNode, "reported", func(n NodeState) bool { return n.Reported })
	assert.NotEqual(t, n.Token, n.ReportedToken)
	assert.Equal(t, st.token(bladeNode), n.Token)
	reports := st.bosReports(t, bladeNode)
	require.Len(t, reports, 1)
	assert.Equal(t, map[string]any{"bss_token": n.ReportedToken}, reports[0]["actual_state"])
}

func TestFaultKernelPanic(t *testing.T) {
	st := newStack(t)
	var boots atomic.Int64
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.OnBooted = func(string, time.Time) { boots.Add(1) }
		c.Faults.Set = map[string][]Fault{bladeNode: {FaultKernelPanic}}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitNode(t, s, bladeNode, "kernel loaded", func(n NodeState) bool { return n.Kernel != "" })
	n := waitNode(t, s, bladeNode, "panicked and powered off", func(n NodeState) bool { return n.Power == "Off" })
	assert.Zero(t, n.BootCount)
	assert.False(t, n.Reported)
	assert.Zero(t, boots.Load())
	assert.Empty(t, st.bos.all())
	assert.Empty(t, st.cfs.all())
}

func TestFaultRatesAreReproducible(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(200))
	require.NoError(t, err)
	mk := func(seed int64) *Simulator {
		return newSim(t, func(c *Config) {
			c.Topology = topo
			c.Seed = seed
			c.Faults.Rates = map[Fault]float64{FaultNoReport: 0.1, FaultKernelPanic: 0.05, FaultSlow: 0.02}
		})
	}
	a, b, other := mk(7), mk(7), mk(8)
	assert.Equal(t, a.Faults(), b.Faults())
	assert.NotEqual(t, a.Faults(), other.Faults())
	assert.Len(t, a.FaultyNodes(FaultNoReport), 21, "round(0.1 × 205 nodes)")
	assert.Len(t, a.FaultyNodes(FaultKernelPanic), 10, "round(0.05 × 205 nodes)")
	assert.Len(t, a.FaultyNodes(FaultSlow), 2, "round(0.02 × 105 BMCs)")
	for _, id := range a.FaultyNodes(FaultSlow) {
		_, isNode := a.Node(id)
		assert.False(t, isNode, "BMC faults go to BMCs")
	}
	for _, id := range a.FaultyNodes(FaultNoReport) {
		n, ok := a.Node(id)
		require.True(t, ok)
		assert.Contains(t, n.Faults, FaultNoReport)
	}

	// The run-time call picks the same set from the same seed.
	c := newSim(t, func(c *Config) { c.Topology = topo })
	picked, err := c.SetFaultRate(FaultNoReport, 0.1, 7)
	require.NoError(t, err)
	assert.Equal(t, a.FaultyNodes(FaultNoReport), picked)
}

func TestSetFaultErrors(t *testing.T) {
	s := newSim(t, nil)
	assert.Error(t, s.SetFault(bladeBMC, FaultKernelPanic), "node fault on a BMC")
	assert.Error(t, s.SetFault(bladeNode, FaultHang), "BMC fault on a node")
	assert.Error(t, s.SetFault("x9c0s0b0n0", FaultNoReport), "unknown node")
	assert.Error(t, s.SetFault(bladeNode, "melt"), "unknown fault")
	_, err := s.SetFaultRate(FaultNoReport, -0.1, 1)
	assert.Error(t, err)
	require.NoError(t, s.SetFault(bladeNode, FaultNoReport))
	require.NoError(t, s.SetFault("X1000C0S0B0N00", FaultWrongImage), "xnames are normalized")
	assert.Equal(t, map[string][]Fault{bladeNode: {FaultNoReport, FaultWrongImage}}, s.Faults())
	require.NoError(t, s.ClearFault(bladeNode, FaultNoReport))
	n, _ := s.Node(bladeNode)
	assert.Equal(t, []Fault{FaultWrongImage}, n.Faults)
}

// Close leaves nothing running: listeners, connections, timers, agents and event workers.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	st := newStack(t)
	sub := newRecorder(t, nil)
	cfg := Config{Topology: testTopology(t), Timing: fastTiming(), Services: st.services(),
		Subscriptions: []Subscription{{Destination: sub.srv.URL}}}
	cfg.Timing.Boot = time.Hour // leave boots pending at Close
	s, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	for _, b := range s.BMCs() {
		for _, sys := range b.Systems {
			require.Equal(t, 204, call(t, b.URL, "POST", "/redfish/v1/Systems/"+sys+"/Actions/ComputerSystem.Reset", resetBody("On"), "basic").status)
		}
	}
	waitNode(t, s, bladeNode, "kernel loaded", func(n NodeState) bool { return n.Kernel != "" })
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice is fine")
	assert.Error(t, s.Start(context.Background()), "no restart after Close")
	_, err = net.DialTimeout("tcp", s.BMCURLs()[bladeBMC][len("http://"):], time.Second)
	assert.Error(t, err)
	http.DefaultClient.CloseIdleConnections()
	// The stand-in servers keep their 4 accept goroutines until the test ends.
	testwait.Until(t, "goroutines end after Close", func() bool { return runtime.NumGoroutine() <= before+4 }, func() string {
		return fmt.Sprintf("%d before, %d now\n%s", before, runtime.NumGoroutine(), goroutineDump())
	})
}

func goroutineDump() string {
	buf := make([]byte, 1<<16)
	return string(buf[:runtime.Stack(buf, true)])
}
