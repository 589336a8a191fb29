package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/auth"
	"github.com/cray-bos/bos/orchestrator/server"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/simulator"
)

// composed lists the goroutines running code of BOS's agents, or started by it: the
// reconciler, the v1 agent, CRUS, the rollouts, the Redfish driver, this package.
func composed() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	ours := regexp.MustCompile(`cray-bos/bos/orchestrator/(operator|lockstep|crus|rollout|server)\.`)
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if ours.MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// running is a BOS served on a memnet listener and run until shutdown.
type running struct {
	b    *server.BOS
	srv  *http.Server
	stop context.CancelFunc
	ran  chan error
}

// start serves a BOS of cfg at addr on net and runs it: on an embedded Redis of its own
// unless cfg.Store names one.
func start(t *testing.T, net *memnet.Network, addr string, cfg server.Config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	cfg.URL = "http://" + ln.Addr().String()
	if cfg.Store.URL == "" {
		cfg.Store = store.Config{EmbeddedOverPipes: true}
	}
	b, err := server.New(t.Context(), cfg)
	require.NoError(t, err)
	r := &running{b: b, srv: &http.Server{Handler: b.Handler()}, ran: make(chan error, 1)}
	go func() { _ = r.srv.Serve(ln) }()
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() { r.ran <- b.Run(ctx) }()
	return r
}

// shutdown stops r as `bos serve` does: HTTP first (a grace on the bubble's clock, then
// Close), then Run; it returns once Run has. Not t.Context(): in a Cleanup it is already
// cancelled, so Shutdown would fail on any connection not idle at that instant and leave
// Run running. Run is stopped whatever Shutdown returned.
func (r *running) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	if err != nil {
		_ = r.srv.Close()
	}
	r.stop()
	assert.NoError(t, <-r.ran)
	require.NoError(t, err, "HTTP shutdown")
}

// bosAddr is where the tests' BOS listens on their memnet.
const bosAddr = "127.0.0.1:8000"

// startSims starts the simulators and Slurm of four nodes on net, for a BOS at bosAddr.
func startSims(t *testing.T, net *memnet.Network) (*stack.Stack, *topology.Topology) {
	t.Helper()
	topo, err := topology.Generate(topology.DefaultOptions(4))
	require.NoError(t, err)
	timing := simulator.DefaultTiming()
	timing.Scale = 0
	services := append(slices.Clone(stack.Simulators), stack.Slurm)
	sims, err := stack.Start(t.Context(), stack.Options{Topology: topo, Services: services, Net: net,
		External: stack.URLs{BOS: "http://" + bosAddr}, Sim: simulator.Config{Timing: &timing, Seed: 3}})
	require.NoError(t, err)
	return sims, topo
}

// TestRunStopsEverythingItStarted: BOS with its reconciler, v1 agent, CRUS and Redfish
// event subscriptions, its reconciler restarted once; when Run's context ends Run
// returns, and by then no goroutine of BOS's agents is left.
func TestRunStopsEverythingItStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New()
		sims, topo := startSims(t, net)
		defer sims.Close()
		synctest.Wait()
		require.Empty(t, composed(), "no BOS yet")

		u := sims.URLs
		r := start(t, net, bosAddr, server.Config{
			Services:   server.Services{HSM: u.HSM, BSS: u.BSS, CFS: u.CFS, S3: u.S3, IMS: u.IMS, Slurm: u.Slurm},
			HTTPClient: net.HTTPClient(0), Dial: net.DialContext,
			Reconcile: true,
		})
		defer r.b.Close()
		client := bosapi.NewClient("http://"+bosAddr, net.HTTPClient(0))
		testwait.Until(t, "the reconciler discovers HSM's nodes", func() bool {
			comps, err := client.ListComponents(t.Context(), bosapi.ComponentQuery{})
			return err == nil && len(comps) == len(topo.Nodes)
		}, nil)
		r.b.RestartReconciler()
		time.Sleep(time.Minute) // the restarted reconciler's passes, on the bubble's clock
		synctest.Wait()
		require.NotEmpty(t, composed(), "BOS's agents run")

		r.shutdown(t)
		synctest.Wait() // goroutines that were ending have ended
		assert.Empty(t, composed(), "Run returned with goroutines of BOS still running")
	})
}

// TestRunAPIOnly: without services BOS only serves its API; Run waits for its context.
func TestRunAPIOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New()
		r := start(t, net, "127.0.0.1:8000", server.Config{})
		defer r.b.Close()
		client := bosapi.NewClient("http://127.0.0.1:8000", net.HTTPClient(0))
		_, err := client.ListComponents(t.Context(), bosapi.ComponentQuery{})
		require.NoError(t, err)
		r.shutdown(t)
		synctest.Wait()
		assert.Empty(t, composed())
	})
}

// TestWebViewServed: BOS's handler serves the web view at /ui/ and under the gateway
// prefix, and a component written through the API reaches its event stream.
func TestWebViewServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New()
		r := start(t, net, "127.0.0.1:8000", server.Config{})
		defer r.b.Close()
		hc := net.HTTPClient(0)
		for _, path := range []string{"/ui/", "/apis/bos/ui/", "/ui/api/snapshot"} {
			resp, err := hc.Get("http://127.0.0.1:8000" + path)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		}
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:8000/apis/bos/ui/events", nil)
		require.NoError(t, err)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		events := bufio.NewReader(resp.Body)
		line, err := events.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "event: snapshot\n", line)

		client := bosapi.NewClient("http://127.0.0.1:8000", hc)
		_, err = client.PutComponent(t.Context(), "x1000c0s0b0n0", bos.ComponentPatch{ID: "x1000c0s0b0n0"})
		require.NoError(t, err)
		for {
			line, err = events.ReadString('\n')
			require.NoError(t, err)
			if line == "event: changes\n" {
				break
			}
		}
		line, err = events.ReadString('\n')
		require.NoError(t, err)
		assert.Contains(t, line, `"ids":["x1000c0s0b0n0"]`)
		cancel()
		resp.Body.Close()
		r.shutdown(t)
	})
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"reconciler without services", server.Config{Reconcile: true, Services: server.Services{HSM: "http://h"}},
			"the reconciler needs hsm, bss, cfs, s3 and ims URLs"},
		{"pcs without its URL", server.Config{Reconcile: true, Power: server.PowerPCS,
			Services: server.Services{HSM: "http://h", BSS: "http://b", CFS: "http://c", S3: "http://s", IMS: "http://i"}},
			"power through pcs needs a pcs URL"},
		{"unknown power", server.Config{Power: "capmc"}, `power must be redfish or pcs, not "capmc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.New(t.Context(), tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestShutdownInCleanup: shutdown from a Cleanup (t.Context() already cancelled) with a
// connection still open waits for it, then stops Run (it failed with "context canceled"
// and left Run running: a deadlock of the bubble).
func TestShutdownInCleanup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New()
		r := start(t, net, bosAddr, server.Config{})
		t.Cleanup(r.b.Close)
		conn, err := net.DialContext(t.Context(), "tcp", bosAddr) // accepted, no request yet: not idle
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() }) // after shutdown (cleanups run last first)
		t.Cleanup(func() {
			r.shutdown(t)
			synctest.Wait()
			assert.Empty(t, composed(), "Run returned with goroutines of BOS still running")
		})
		synctest.Wait()
	})
}

// tokenAuth accepts one token, the administrator's.
type tokenAuth struct{}

func (tokenAuth) Authenticate(_ context.Context, token string) (auth.Identity, error) {
	if token != "admin-token" {
		return auth.Identity{}, errors.New("unknown token")
	}
	return auth.Identity{Subject: "admin", Admin: true}, nil
}

// TestRolloutWithAuth: with authentication on, the rollout controller's own calls to BOS
// (creating and reading its staged session) are authorized, while a request from the
// network without a token is still refused.
func TestRolloutWithAuth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New()
		sims, _ := startSims(t, net)
		t.Cleanup(sims.Close)

		u := sims.URLs
		r := start(t, net, bosAddr, server.Config{
			Services:   server.Services{HSM: u.HSM, BSS: u.BSS, CFS: u.CFS, S3: u.S3, IMS: u.IMS, Slurm: u.Slurm},
			HTTPClient: net.HTTPClient(0), Dial: net.DialContext,
			Auth: tokenAuth{}, RolloutPoll: time.Second,
		})
		t.Cleanup(r.b.Close)
		t.Cleanup(func() { r.shutdown(t) })
		anonymous := bosapi.NewClient("http://"+bosAddr, net.HTTPClient(0))
		_, err := anonymous.ListSessions(t.Context(), bosapi.SessionQuery{})
		require.Equal(t, http.StatusUnauthorized, problem.StatusOf(err), "no token: refused")

		admin := anonymous.WithToken("admin-token")
		path, err := sims.ImagePath(ims.ImageComputeNext)
		require.NoError(t, err)
		_, err = admin.PutTemplate(t.Context(), "next", stack.DefaultTemplate(path, ""))
		require.NoError(t, err)
		ro, err := admin.CreateRollout(t.Context(), bos.RolloutCreate{Name: "up", TemplateName: "next",
			Policy: bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: 1}}})
		require.NoError(t, err)
		testwait.Until(t, "the controller creates the staged session", func() bool {
			_, err := admin.GetSession(t.Context(), ro.StageSession)
			return err == nil
		}, func() string {
			got, err := admin.GetRollout(t.Context(), "up")
			return fmt.Sprintf("rollout %s (%s), err %v", got.State, got.Reason, err)
		})
	})
}
