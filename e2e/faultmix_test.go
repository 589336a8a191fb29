package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/internal/xname"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/simulator"
)

// longE2E reports whether BOS_E2E_LONG=1 asks for the full-size variants (10,000 nodes).
func longE2E() bool { return os.Getenv("BOS_E2E_LONG") == "1" }

// TestFaultMix boots a cluster with every fault of a bad day at once: resets answering
// 503, nodes that never report, hung BMCs (behind a 10 s Redfish timeout, as deployed) and
// failing CFS runs. Exactly the faulty nodes fail, each with the error of its fault, one
// error_summary entry per cause; every other node boots, and does so while the hung BMCs'
// nodes are still being tried. 200 nodes (40 under -short) with raised rates so each
// fault hits some; BOS_E2E_LONG=1 runs 10,000 nodes at the rates of the issue that
// prompted it (1% reset-503, 1% no-report, 0.5% of BMCs hung, 1% of CFS runs failing).
func TestFaultMix(t *testing.T) {
	nodes, rates := size(200), map[simulator.Fault]float64{
		simulator.FaultReset503: 0.03, simulator.FaultNoReport: 0.03, simulator.FaultHang: 0.04}
	if longE2E() {
		nodes, rates = 10000, map[simulator.Fault]float64{
			simulator.FaultReset503: 0.01, simulator.FaultNoReport: 0.01, simulator.FaultHang: 0.005}
	}
	if !longE2E() {
		bubble(t, func(t *testing.T) { testFaultMix(t, nodes, rates) })
		return
	}
	floor := loopbackRoundTrip(t)
	wall, cpu := time.Now(), cpuTime()
	bubble(t, func(t *testing.T) { testFaultMix(t, nodes, rates) })
	w, c := time.Since(wall), cpuTime()-cpu
	t.Logf("%d nodes: wall %s, CPU %s; per node %.0f and %.0f floors (floor: one keep-alive loopback HTTP round trip, %s)",
		nodes, w.Round(time.Millisecond), c.Round(time.Millisecond), float64(w)/float64(nodes)/float64(floor), float64(c)/float64(nodes)/float64(floor), floor)
}

// loopbackRoundTrip is the mean time of a bare keep-alive HTTP round trip on loopback TCP.
func loopbackRoundTrip(t *testing.T) time.Duration {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	client := srv.Client()
	get := func() {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get() // connect
	const n = 2000
	start := time.Now()
	for range n {
		get()
	}
	return time.Since(start) / n
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The error each fault ends its nodes with (the options below: 5 s boot wait, 10 s timeout).
const (
	causeReset503 = "power_on failed: BMC answered 503 Service Unavailable: The service is temporarily unavailable."
	causeNoReport = "node did not report booting the desired image within max_boot_wait_time (5s)"
	causeHung     = "power_off_forcefully failed: BMC unreachable: no answer within 10s"
	causeCFS      = "cfs configuration failed"
)

func testFaultMix(t *testing.T, nodes int, rates map[simulator.Fault]float64) {
	topo, err := topology.Generate(topology.DefaultOptions(nodes))
	require.NoError(t, err)
	computes := topo.ByRole(topology.RoleCompute)
	var cfsFail []string // every 100th compute from the 50th, at least one
	for i := min(50, len(computes)/2); i < len(computes); i += 100 {
		cfsFail = append(cfsFail, computes[i])
	}
	c := startCluster(t, storetest.Mini, clusterOptions{nodes: nodes, cfsFail: cfsFail,
		faults: simulator.Faults{Rates: rates},
		tweak:  func(o *stack.Options) { o.RedfishTimeout = 10 * time.Second }})

	// Each node's expected cause; a node with two faults fails by the first to strike.
	want := map[string]string{}
	faults := c.st.Sim.Faults()
	for _, id := range cfsFail {
		want[id] = causeCFS
	}
	for _, id := range c.computes {
		bmc, err := xname.BMCOf(id)
		require.NoError(t, err)
		switch {
		case slices.Contains(faults[bmc], simulator.FaultHang):
			want[id] = causeHung
		case slices.Contains(faults[id], simulator.FaultReset503):
			want[id] = causeReset503
		case slices.Contains(faults[id], simulator.FaultNoReport):
			want[id] = causeNoReport
		}
	}
	byCause := map[string][]string{}
	for id, cause := range want {
		byCause[cause] = append(byCause[cause], id)
	}
	for _, cause := range []string{causeReset503, causeNoReport, causeHung, causeCFS} {
		require.NotEmpty(t, byCause[cause], "no node has the fault of %q: raise its rate", cause)
	}
	var healthy []string
	for _, id := range c.computes {
		if want[id] == "" {
			healthy = append(healthy, id)
		}
	}

	start := time.Now()
	name := c.session(bos.OpBoot, "", "", false)
	c.waitBooted(healthy, 5*time.Minute)
	healthyDone := time.Since(start)
	comps := c.components()
	for _, id := range byCause[causeHung] {
		assert.True(t, comps[id].Enabled, "%s behind a hung BMC is still being tried when the healthy nodes are done", id)
	}
	st := c.waitComplete(name, 10*time.Minute)
	complete := time.Since(start)
	t.Logf("%d nodes (%d failing: %d reset-503, %d no-report, %d behind hung BMCs, %d CFS): healthy nodes booted in %s, session complete in %s of fake time",
		len(c.computes), len(want), len(byCause[causeReset503]), len(byCause[causeNoReport]), len(byCause[causeHung]), len(byCause[causeCFS]),
		healthyDone, complete)

	comps = c.components()
	for _, id := range c.computes {
		comp := comps[id]
		if want[id] == "" {
			assert.NotEqual(t, bos.StatusFailed, comp.Status.Status, "%s has no fault: %s", id, comp.Error)
			continue
		}
		assert.Equal(t, bos.StatusFailed, comp.Status.Status, id)
		assert.False(t, comp.Enabled, id)
		assert.Equal(t, want[id], comp.Error, id)
	}
	assert.Empty(t, c.notBooted(healthy, ""), "every healthy node booted")

	summary := map[string]int{}
	for cause, e := range st.ErrorSummary {
		summary[cause] = e.Count
	}
	wantSummary := map[string]int{}
	for cause, ids := range byCause {
		wantSummary[cause] = len(ids)
	}
	assert.Equal(t, wantSummary, summary, "one error_summary entry per cause")
	assert.InDelta(t, 100*float64(len(want))/float64(len(c.computes)), st.PercentFailed, 0.01,
		fmt.Sprintf("failed %d of %d", len(want), len(c.computes)))
}
