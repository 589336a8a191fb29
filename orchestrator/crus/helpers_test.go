package crus_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// Group labels and the upgrade template the tests use.
const (
	startLabel  = "crus-start"
	upLabel     = "crus-up"
	failedLabel = "crus-failed"
	nextTmpl    = "compute-next"
)

// world is a running data centre (simulated nodes, HSM, BSS, CFS, IMS, BOS with its
// reconciler, Slurm) with every compute node booted on the seeded image, the three CRUS
// groups (the starting one holding every compute) and a template for the next image.
// It runs on an in-memory network, for tests in a synctest bubble (see bubble).
type world struct {
	t        *testing.T
	st       *stack.Stack
	net      *memnet.Network
	computes []string
	names    map[string]string // xname → Slurm name
	hsm      *hsmapi.Client
	slurm    *slurmapi.Client
}

// bubble runs a test in a testing/synctest bubble, on a fake clock: the world's
// timeouts, polls and the test's own deadlines measure simulated time, so a loaded
// machine slows the test down but cannot make it time out, and waits cost no real time.
func bubble(t *testing.T, fn func(t *testing.T)) {
	t.Parallel()
	synctest.Test(t, fn)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func startWorld(t *testing.T, computes int) *world {
	t.Helper()
	ctx := ctxFor(t, 60*time.Second)
	topo, err := topology.Generate(topology.Options{Compute: computes})
	require.NoError(t, err)
	timing := stacktest.FastFaultTiming()
	mn := memnet.New()
	st, err := stack.Start(ctx, stack.Options{
		Topology:       topo,
		Net:            mn,
		Sim:            simulator.Config{Timing: &timing, Seed: 3},
		CFS:            stacktest.FastCFS(3),
		Reconcile:      true,
		RedfishTimeout: 500 * time.Millisecond,
		WithSlurm:      true,
		Slurm:          slurmsim.Config{TickInterval: 100 * time.Millisecond, HistoryPerNode: 1024},
	})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	require.NoError(t, st.Seed(ctx))
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{
		"polling_frequency": 1, "max_power_on_wait_time": 5, "max_boot_wait_time": 3, "max_power_off_wait_time": 3,
		"default_retry_policy": 1,
	})
	require.NoError(t, err)
	path, err := st.ImagePath(ims.ImageComputeNext)
	require.NoError(t, err)
	_, err = st.BOSClient.PutTemplate(ctx, nextTmpl, stack.DefaultTemplate(path, stack.DefaultConfigurationName))
	require.NoError(t, err)

	w := &world{t: t, st: st, net: mn, computes: topo.ByRole(topology.RoleCompute), names: map[string]string{},
		hsm: hsmapi.NewClient(st.URLs.HSM, st.HTTPClient()), slurm: slurmapi.NewClient(st.URLs.Slurm, st.HTTPClient())}
	for _, n := range topo.Nodes {
		w.names[n.Xname] = n.Name
	}
	for _, label := range []string{startLabel, upLabel, failedLabel} {
		require.NoError(t, w.hsm.CreateGroup(ctx, hsmapi.Group{Label: label}))
	}
	for _, id := range w.computes {
		require.NoError(t, w.hsm.AddGroupMember(ctx, startLabel, id))
	}

	// Boot every compute node on the current image and wait until Slurm runs them.
	s, err := st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: stack.DefaultTemplateName})
	require.NoError(t, err)
	w.eventually(30*time.Second, "initial boot", func() (bool, string) {
		sess, err := st.BOSClient.GetSession(ctx, s.Name)
		require.NoError(t, err)
		nodes, err := w.slurm.Nodes(ctx)
		require.NoError(t, err)
		idle := 0
		for _, n := range nodes {
			if n.State == (slurmapi.NodeState{Base: slurmapi.StateIdle}) {
				idle++
			}
		}
		return sess.Status.Status == bos.SessionComplete && idle == len(w.computes),
			fmt.Sprintf("session %s, %d of %d nodes idle in Slurm", sess.Status.Status, idle, len(w.computes))
	})
	return w
}

// eventually polls cond every 50 ms until it holds, failing with its last description
// after d of the bubble's fake time.
func (w *world) eventually(d time.Duration, what string, cond func() (bool, string)) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not done after %s: %s", what, d, desc)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// crusServer runs a CRUS service of its own over st (a store apart from the stack's, so
// the stack's built-in CRUS never sees these sessions) until the returned stop is called.
func (w *world) crusServer(st *store.Store, timing crus.Timing) (srv *crus.Server, client *crus.Client, stop func()) {
	w.t.Helper()
	return w.crusServerWith(st, timing, bosapi.NewClient(w.st.URLs.BOS, w.st.HTTPClient()))
}

// crusServerWith is crusServer talking to BOS through b.
func (w *world) crusServerWith(st *store.Store, timing crus.Timing, b crus.BOS) (srv *crus.Server, client *crus.Client, stop func()) {
	w.t.Helper()
	srv, err := crus.New(crus.Config{Store: st, HSM: w.hsm, BOS: b, WLM: w.slurm, Timing: timing, Seed: 1})
	require.NoError(w.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	ln, err := w.net.Listen("tcp", "127.0.0.1:0")
	require.NoError(w.t, err)
	hs := &http.Server{Handler: srv.Handler()}
	go func() { _ = hs.Serve(ln) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = hs.Close()
			cancel()
			<-done
		}
	}
	w.t.Cleanup(stop)
	return srv, crus.NewClient("http://"+ln.Addr().String(), w.st.HTTPClient()), stop
}

// newStore is an embedded store reached over pipes, as a bubble needs.
func newStore(t *testing.T) *store.Store {
	return storetest.Open(t, storetest.Mini, store.Config{EmbeddedOverPipes: true})
}

func fastTiming() crus.Timing {
	return crus.Timing{Poll: 100 * time.Millisecond, WLMTimeout: 15 * time.Second, BootTimeout: 30 * time.Second,
		MaxBackoff: time.Second, Rescan: time.Second}
}

func (w *world) create(c *crus.Client, size int) crus.Session {
	w.t.Helper()
	s, err := c.Create(ctxFor(w.t, 5*time.Second), crus.CreateRequest{StartingLabel: startLabel, UpgradingLabel: upLabel,
		FailedLabel: failedLabel, UpgradeStepSize: size, UpgradeTemplateID: nextTmpl})
	require.NoError(w.t, err)
	return s
}

func (w *world) waitCompleted(c *crus.Client, id string, d time.Duration) crus.Session {
	w.t.Helper()
	var s crus.Session
	w.eventually(d, "CRUS session "+id, func() (bool, string) {
		var err error
		s, err = c.Get(ctxFor(w.t, 5*time.Second), id)
		require.NoError(w.t, err)
		return s.Completed, fmt.Sprintf("state %s, messages:\n%v", s.State, s.Messages)
	})
	return s
}

func (w *world) members(label string) []string {
	w.t.Helper()
	g, err := w.hsm.Group(ctxFor(w.t, 5*time.Second), label)
	require.NoError(w.t, err)
	return g.Members.IDs
}

func (w *world) slurmNode(xname string) slurmapi.Node {
	w.t.Helper()
	ns, err := w.slurm.Node(ctxFor(w.t, 5*time.Second), w.names[xname])
	require.NoError(w.t, err)
	require.Len(w.t, ns, 1)
	return ns[0]
}

// targetArtifacts are the boot artifacts BOS gives a node on template name.
func (w *world) component(id string) bos.Component {
	w.t.Helper()
	c, err := w.st.BOSClient.GetComponent(ctxFor(w.t, 5*time.Second), id)
	require.NoError(w.t, err)
	return c
}
