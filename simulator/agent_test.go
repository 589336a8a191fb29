package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// bssScript is a boot script as BSS 1.37 writes it for a configured node.
func bssScript(xname string, nid int, token string) string {
	return `#!ipxe
kernel --name kernel https://rgw-vip.nmn/boot-images/ims-1/kernel?X-Amz-Signature=abc initrd=initrd console=ttyS0,115200 bad_page=panic crashkernel=360M ip=nmn0:dhcp quiet spire_join_token=J0IN root=sbps-s3:s3://boot-images/ims-1/rootfs:etag42:dvs:api-gw-service-nmn.local:300:nmn0 nmd_data=url=s3://boot-images/ims-1/rootfs,etag=etag42 bos_update_frequency=4h xname=` + xname +
		fmt.Sprintf(" nid=%d", nid) + ` bss_referral_token=` + token + ` ds=nocloud-net;s=http://10.92.100.81:8888/ || goto boot_retry
initrd --name initrd https://rgw-vip.nmn/boot-images/ims-1/initrd?X-Amz-Signature=def || goto boot_retry
imgstat || echo Could not show image information.
boot || goto boot_retry
:boot_retry
sleep 30
chain https://api-gw-service-nmn.local/apis/bss/boot/v1/bootscript?mac=02:00:00:00:00:01&retry=1
`
}

// refreshingScript is what BSS answers while it refreshes its HSM cache.
const refreshingScript = "#!ipxe\nsleep 10\nchain https://api-gw-service-nmn.local/apis/bss/boot/v1/bootscript?name=x1000c0s0b0n0&retry=1\n"

// bos-reporter's PATCH body is byte for byte that of the map it once was.
func TestBOSReportBody(t *testing.T) {
	got, err := json.Marshal(bosReport{ID: "x1000c0s0b0n0", ActualState: bosActualState{BSSToken: "t<1>"}})
	require.NoError(t, err)
	want, err := json.Marshal(map[string]any{"id": "x1000c0s0b0n0", "actual_state": map[string]string{"bss_token": "t<1>"}})
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

func TestParseBootScript(t *testing.T) {
	rec, err := parseBootScript(bssScript("x1000c0s0b0n0", 1, "tok-1"))
	require.NoError(t, err)
	assert.Equal(t, "https://rgw-vip.nmn/boot-images/ims-1/kernel?X-Amz-Signature=abc", rec.kernel)
	assert.Equal(t, "https://rgw-vip.nmn/boot-images/ims-1/initrd?X-Amz-Signature=def", rec.initrd)
	assert.True(t, strings.HasPrefix(rec.params, "initrd=initrd console=ttyS0,115200 "), rec.params)
	assert.True(t, strings.HasSuffix(rec.params, " ds=nocloud-net;s=http://10.92.100.81:8888/"), rec.params)
	assert.NotContains(t, rec.params, "||")
	assert.Equal(t, "tok-1", rec.token)

	rec, err = parseBootScript("#!ipxe\r\nkernel --name=kernel -t 5000 http://k/vmlinuz a=1 bss_referral_token=x\r\nboot\r\n")
	require.NoError(t, err)
	assert.Equal(t, bootRecord{kernel: "http://k/vmlinuz", params: "a=1 bss_referral_token=x", token: "x"}, rec)

	// The first kernel and initrd (or module) lines count; the last token of the kernel line.
	rec, err = parseBootScript("\n  #!ipxe\nmodule\t-n i http://k/i1 && echo\ninitrd http://k/i2\n kernel\thttp://k/v  a=1\tbss_referral_token=x bss_referral_token=y || goto r\nkernel http://k/w\n")
	require.NoError(t, err)
	assert.Equal(t, bootRecord{kernel: "http://k/v", initrd: "http://k/i1", params: "a=1 bss_referral_token=x bss_referral_token=y", token: "y"}, rec)

	for name, bad := range map[string]string{
		"refreshing": refreshingScript, "not ipxe": "kernel http://k\n", "empty": "",
		"kernel without url": "#!ipxe\nkernel --name kernel || goto boot_retry\n",
	} {
		_, err := parseBootScript(bad)
		assert.Error(t, err, name)
	}
}

// stack is a BSS, BOS and CFS stand-in for the virtual nodes.
type stack struct {
	bss, bos, cfs *recorder
	tokens        sync.Map // xname -> last token BSS gave
	minted        atomic.Int64
}

func newStack(t *testing.T) *stack {
	st := &stack{}
	st.bss = newRecorder(t, func(r *http.Request, _ []byte) (int, string) {
		name := r.URL.Query().Get("name")
		tok := fmt.Sprintf("tok-%d", st.minted.Add(1))
		st.tokens.Store(name, tok)
		return http.StatusOK, bssScript(name, 1, tok)
	})
	st.bos = newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "{}" })
	st.cfs = newRecorder(t, func(*http.Request, []byte) (int, string) { return http.StatusOK, "{}" })
	return st
}

func (st *stack) services() Services {
	return Services{BSS: st.bss.srv.URL, BOS: st.bos.srv.URL + "/", CFS: st.cfs.srv.URL}
}

func (st *stack) token(xname string) string {
	v, _ := st.tokens.Load(xname)
	s, _ := v.(string)
	return s
}

// bosReports decodes the BOS PATCHes for a node.
func (st *stack) bosReports(t *testing.T, xname string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range st.bos.matching("PATCH", "/v2/components/"+xname) {
		var v map[string]any
		require.NoError(t, json.Unmarshal(r.body, &v))
		out = append(out, v)
	}
	return out
}

func waitNode(t *testing.T, s *Simulator, xname, what string, cond func(NodeState) bool) NodeState {
	t.Helper()
	var last NodeState
	testwait.Until(t, "node "+xname+": "+what, func() bool {
		last, _ = s.Node(xname)
		return cond(last)
	}, func() string { return fmt.Sprintf("last state %+v", last) })
	return last
}

func TestNodeBootsFromBSSAndReports(t *testing.T) {
	st := newStack(t)
	var booted sync.Map
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.OnBooted = func(x string, at time.Time) { booted.Store(x, at) }
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)

	n := waitNode(t, s, bladeNode, "reported to BOS and CFS", func(n NodeState) bool { return n.Reported && n.CFSReported })
	tok := st.token(bladeNode)
	require.NotEmpty(t, tok)

	fetches := st.bss.matching("GET", "/boot/v1/bootscript")
	require.Len(t, fetches, 1)
	q, err := url.ParseQuery(fetches[0].query)
	require.NoError(t, err)
	assert.Equal(t, bladeNode, q.Get("name"))

	assert.Equal(t, "https://rgw-vip.nmn/boot-images/ims-1/kernel?X-Amz-Signature=abc", n.Kernel)
	assert.Equal(t, "https://rgw-vip.nmn/boot-images/ims-1/initrd?X-Amz-Signature=def", n.Initrd)
	assert.Contains(t, n.Params, "bss_referral_token="+tok)
	assert.Equal(t, tok, n.Token)
	assert.Equal(t, tok, n.ReportedToken)
	assert.Equal(t, 1, n.BootCount)
	assert.True(t, n.Booted)
	assert.Equal(t, "OSRunning", n.BootProgress)
	at, ok := booted.Load(bladeNode)
	require.True(t, ok, "OnBooted was called")
	assert.Equal(t, n.LastBoot, at)

	assert.Equal(t, []map[string]any{{"id": bladeNode, "actual_state": map[string]any{"bss_token": tok}}}, st.bosReports(t, bladeNode))
	cfs := st.cfs.matching("PATCH", "/v3/components/"+bladeNode)
	require.Len(t, cfs, 1)
	assert.JSONEq(t, `{"state": [], "enabled": true}`, string(cfs[0].body))
	assert.False(t, cfs[0].at.Before(st.bos.matching("PATCH", "/v2/components/"+bladeNode)[0].at), "CFS is told after BOS")

	// The other node on the BMC stayed off and did nothing.
	other, _ := s.Node("x1000c0s0b0n1")
	assert.Equal(t, 0, other.BootCount)
	assert.Len(t, st.bss.all(), 1)
}

func TestBSSFailuresAreRetried(t *testing.T) {
	st := newStack(t)
	var calls atomic.Int64
	real := st.bss.answer
	st.bss.setAnswer(func(r *http.Request, b []byte) (int, string) {
		switch calls.Add(1) {
		case 1, 2:
			return http.StatusInternalServerError, `{"title":"Internal Server Error"}`
		case 3:
			return http.StatusOK, refreshingScript
		case 4:
			return http.StatusNotFound, `{"title":"Not Found"}`
		}
		return real(r, b)
	})
	s := newSim(t, func(c *Config) { c.Services = st.services() })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n := waitNode(t, s, bladeNode, "reported", func(n NodeState) bool { return n.Reported })
	assert.EqualValues(t, 5, calls.Load())
	assert.Equal(t, st.token(bladeNode), n.ReportedToken)
	assert.EqualValues(t, 5, s.Stats().BootScripts)
}

// A boot script answered in-process (Config.BootScript) is bounded by HTTPTimeout as the
// request is: a BSS stuck on its first answer (say, refreshing its inventory from an HSM
// that does not answer) is given up and asked again, and the node boots.
func TestInProcessBootScriptTimesOut(t *testing.T) {
	st := newStack(t)
	var calls atomic.Int64
	stuck := make(chan struct{}) // the first answer never comes while the test runs
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.Timing.HTTPTimeout = 200 * time.Millisecond
		c.BootScript = func(ctx context.Context, _, _ string) (int, string) {
			if calls.Add(1) > 1 {
				return 0, "" // to HTTP
			}
			select {
			case <-ctx.Done():
			case <-stuck:
			}
			return http.StatusServiceUnavailable, ""
		}
	})
	t.Cleanup(func() { close(stuck) })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitNode(t, s, bladeNode, "reported after giving the stuck answer up", func(n NodeState) bool { return n.Reported })
	assert.EqualValues(t, 2, calls.Load())
}

// A CFS report answered in-process (Config.CFSReport) sends no PATCH, and is retried as
// the PATCH is: a 404 (the component not there yet) again after the backoff; an answer
// of 0 leaves the report to HTTP.
func TestInProcessCFSReport(t *testing.T) {
	st := newStack(t)
	var calls atomic.Int64
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.CFSReport = func(cfs, xname string) int {
			assert.Equal(t, st.services().CFS, cfs)
			assert.Equal(t, bladeNode, xname)
			if calls.Add(1) == 1 {
				return http.StatusNotFound
			}
			return http.StatusOK
		}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitNode(t, s, bladeNode, "reported to CFS", func(n NodeState) bool { return n.CFSReported })
	assert.EqualValues(t, 2, calls.Load(), "the 404 was retried")
	assert.Empty(t, st.cfs.all(), "no PATCH sent")
	assert.EqualValues(t, 2, s.Stats().CFSPatches)
	assert.EqualValues(t, 1, s.Stats().CFSReports)

	st2 := newStack(t)
	s2 := newSim(t, func(c *Config) {
		c.Services = st2.services()
		c.CFSReport = func(string, string) int { return 0 }
	})
	srv2 := bmcServer(t, s2, bladeBMC)
	require.Equal(t, 204, call(t, srv2.URL, "POST", resetPath, resetBody("On"), "basic").status)
	waitNode(t, s2, bladeNode, "reported to CFS over HTTP", func(n NodeState) bool { return n.CFSReported })
	assert.Len(t, st2.cfs.matching("PATCH", "/v3/components/"+bladeNode), 1)
}

func TestReportWaitsForBOS(t *testing.T) {
	st := newStack(t)
	closed := newRecorder(t, nil)
	closed.srv.Close() // connection refused: BOS is not deployed yet
	var bosCalls atomic.Int64
	st.bos.setAnswer(func(*http.Request, []byte) (int, string) {
		switch bosCalls.Add(1) {
		case 1:
			return http.StatusNotFound, `{"title":"Not Found"}` // component not created yet
		case 2:
			return http.StatusConflict, `{}`
		case 3:
			return http.StatusServiceUnavailable, `{}`
		}
		return http.StatusOK, `{}`
	})
	svc := st.services()
	svc.BOS = closed.srv.URL
	s := newSim(t, func(c *Config) { c.Services = svc })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)

	waitNode(t, s, bladeNode, "booted", func(n NodeState) bool { return n.Booted })
	n, _ := s.Node(bladeNode)
	assert.False(t, n.Reported)
	assert.False(t, n.CFSReported, "CFS waits for the BOS report")

	s.SetServices(st.services()) // BOS comes up
	n = waitNode(t, s, bladeNode, "reported", func(n NodeState) bool { return n.Reported && n.CFSReported })
	assert.EqualValues(t, 4, bosCalls.Load(), "404, 409 and 503 were retried")
	reports := st.bosReports(t, bladeNode)
	require.Len(t, reports, 4)
	for _, r := range reports {
		assert.Equal(t, map[string]any{"bss_token": n.Token}, r["actual_state"])
	}
}

func TestBackoffIsLinearAndCapped(t *testing.T) {
	s := newSim(t, func(c *Config) {
		c.Timing.ReportBackoff = time.Second
		c.Timing.ReportBackoffCap = 30 * time.Second
	})
	var got []time.Duration
	for _, a := range []int{1, 2, 3, 29, 30, 31, 100} {
		got = append(got, s.backoff(a))
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 29 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}, got)
}

func TestBOSRefusalGivesUpAndStillTellsCFS(t *testing.T) {
	st := newStack(t)
	st.bos.setAnswer(func(*http.Request, []byte) (int, string) { return http.StatusBadRequest, `{"title":"Bad Request"}` })
	s := newSim(t, func(c *Config) { c.Services = st.services() })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n := waitNode(t, s, bladeNode, "told CFS", func(n NodeState) bool { return n.CFSReported })
	assert.False(t, n.Reported)
	assert.Len(t, st.bosReports(t, bladeNode), 1, "a 400 is not retried")
}

// A reboot while the node is booting cancels that boot: its token is never reported, the
// next power cycle's is.
func TestRebootMidBootNeverReportsStale(t *testing.T) {
	st := newStack(t)
	s := newSim(t, func(c *Config) {
		c.Services = st.services()
		c.Timing.Boot = time.Hour // the first boot cannot finish before the reboot, however slow the machine
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	first := waitNode(t, s, bladeNode, "kernel loaded", func(n NodeState) bool { return n.Token != "" })
	require.False(t, first.Booted)

	// The second power cycle is instant: the node's delay factor drops (read under the BMC
	// lock when each delay is scheduled; the first boot's hour is already on its timer).
	nd := s.nodeByID[bladeNode]
	nd.bmc.mu.Lock()
	nd.slow = 1e-9
	nd.bmc.mu.Unlock()
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceRestart"), "basic").status)
	// Reported is set before the CFS report is sent: wait for both.
	second := waitNode(t, s, bladeNode, "reported after the reboot", func(n NodeState) bool { return n.Reported && n.CFSReported })
	assert.NotEqual(t, first.Token, second.Token)
	assert.Equal(t, second.Token, second.ReportedToken)
	assert.Equal(t, 1, second.BootCount, "the first boot never completed")
	reports := st.bosReports(t, bladeNode)
	require.Len(t, reports, 1)
	assert.Equal(t, map[string]any{"bss_token": second.Token}, reports[0]["actual_state"])
	assert.Len(t, st.cfs.matching("PATCH", "/v3/components/"+bladeNode), 1)
}

// Powering off while a report is being retried stops the retries.
func TestPowerOffStopsReporting(t *testing.T) {
	st := newStack(t)
	st.bos.setAnswer(func(*http.Request, []byte) (int, string) { return http.StatusServiceUnavailable, `{}` })
	s := newSim(t, func(c *Config) { c.Services = st.services() })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	testwait.Until(t, "two reports to BOS", func() bool { return len(st.bosReports(t, bladeNode)) >= 2 },
		func() string { return fmt.Sprintf("%d reports", len(st.bosReports(t, bladeNode))) })
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	waitPower(t, s, bladeNode, "Off")
	// Nothing is left to retry: no boot timer, the power cycle's context is cancelled, and a
	// job already running cannot schedule another (later() checks the generation).
	nd := s.nodeByID[bladeNode]
	nd.bmc.mu.Lock()
	assert.Nil(t, nd.agentTimer)
	assert.Nil(t, nd.bootCancel)
	nd.bmc.mu.Unlock()
	n, _ := s.Node(bladeNode)
	assert.False(t, n.Reported)
	assert.False(t, n.Booted)
}

func TestEmptyServicesSkipSteps(t *testing.T) {
	var boots atomic.Int64
	s := newSim(t, func(c *Config) { c.OnBooted = func(string, time.Time) { boots.Add(1) } })
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n := waitNode(t, s, bladeNode, "booted", func(n NodeState) bool { return n.Booted })
	assert.Empty(t, n.Kernel)
	assert.False(t, n.Reported)
	assert.EqualValues(t, 1, boots.Load())
	assert.Zero(t, s.Stats().BootScripts)
}

// Timing.Scale 0 makes every hardware delay instant: a reset's transitions happen before
// the reset answers.
func TestScaleZeroIsInstant(t *testing.T) {
	var changes []string
	var mu sync.Mutex
	s := newSim(t, func(c *Config) {
		c.Timing = &Timing{PowerOn: time.Hour, PowerOff: time.Hour, GracefulShutdown: time.Hour, POST: time.Hour, Boot: time.Hour, Scale: 0}
		c.OnPowerChange = func(x, st string) {
			mu.Lock()
			changes = append(changes, x+"="+st)
			mu.Unlock()
		}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	n, _ := s.Node(bladeNode)
	assert.Equal(t, "On", n.Power)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceRestart"), "basic").status)
	n, _ = s.Node(bladeNode)
	assert.Equal(t, "On", n.Power)
	mu.Lock()
	defer mu.Unlock()
	p := bladeNode + "="
	assert.Equal(t, []string{p + "PoweringOn", p + "On", p + "PoweringOff", p + "Off", p + "PoweringOn", p + "On"}, changes)
	waitNode(t, s, bladeNode, "booted", func(n NodeState) bool { return n.Booted })
}

func TestJitterIsSeededAndBounded(t *testing.T) {
	mk := func(seed int64) []time.Duration {
		s := newSim(t, func(c *Config) {
			c.Seed = seed
			c.Timing.Jitter = 0.5
			c.Timing.Scale = 2
		})
		var out []time.Duration
		for range 20 {
			d := s.jittered(time.Second)
			require.GreaterOrEqual(t, d, time.Second)
			require.LessOrEqual(t, d, 3*time.Second)
			out = append(out, d)
		}
		return out
	}
	assert.Equal(t, mk(3), mk(3))
	assert.NotEqual(t, mk(3), mk(4))
}

// OnReset sees every accepted Reset with its type, no-ops included, and no refused one.
func TestOnResetCountsAcceptedResetsByType(t *testing.T) {
	var mu sync.Mutex
	var resets []string
	s := newSim(t, func(c *Config) {
		c.Timing.Scale = 0
		c.OnReset = func(x, kind string) {
			mu.Lock()
			resets = append(resets, x+"="+kind)
			mu.Unlock()
		}
	})
	srv := bmcServer(t, s, bladeBMC)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("On"), "basic").status, "On while On: a no-op")
	require.Equal(t, 400, call(t, srv.URL, "POST", resetPath, resetBody("Explode"), "basic").status)
	require.Equal(t, 204, call(t, srv.URL, "POST", resetPath, resetBody("ForceOff"), "basic").status)
	mu.Lock()
	defer mu.Unlock()
	p := bladeNode + "="
	assert.Equal(t, []string{p + "On", p + "On", p + "ForceOff"}, resets)
}

// The agents and the event workers calling one host all at once, twice, open a
// connection each the first time and reuse them the second: none is closed as surplus
// idle and dialled again.
func TestCallsReuseConnections(t *testing.T) {
	const agents, events = 3, 2
	var arrived sync.WaitGroup
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived.Done()
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var dials atomic.Int64
	s, err := New(Config{Topology: testTopology(t), AgentWorkers: agents, EventWorkers: events,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, address)
		}})
	require.NoError(t, err)
	defer s.Close()
	for round := range 2 {
		arrived.Add(agents + events)
		var done sync.WaitGroup
		for range agents + events {
			done.Go(func() {
				status, err := s.send(t.Context(), http.MethodPost, srv.URL+"/r", []byte(`{}`), nil)
				assert.NoError(t, err)
				assert.Equal(t, http.StatusNoContent, status)
			})
		}
		arrived.Wait() // every call holds a connection of its own
		for range agents + events {
			release <- struct{}{}
		}
		done.Wait()
		assert.Equal(t, int64(agents+events), dials.Load(), "round %d", round)
	}
}
