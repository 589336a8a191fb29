package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/simulator"
)

// cluster is a running stack with the default template seeded.
type cluster struct {
	t  testing.TB
	st *stack.Stack
	// computes are the compute node xnames, sorted.
	computes []string
}

type clusterOptions struct {
	nodes   int
	faults  simulator.Faults
	cfsFail []string
	// options patched into BOS before anything runs (fast timeouts by default).
	options map[string]any
	// tweak adjusts the stack options last (simulator hooks and timing, v1 agent timing).
	tweak func(*stack.Options)
	// hostNetwork runs the stack on loopback TCP and real time, for tests that involve
	// other processes (a real slurmctld). Others run on an in-memory network inside a
	// synctest bubble (see bubble).
	hostNetwork bool
	// power is how BOS powers nodes: stack.PowerRedfish ("") or stack.PowerPCS.
	power string
}

// size picks n for a full run and a smaller cluster under -short.
func size(n int) int {
	if testing.Short() {
		return n / 5
	}
	return n
}

// eachBackend runs fn once on miniredis and once on the real Redis (skipped when absent),
// each in a bubble.
func eachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) { bubble(t, func(t *testing.T) { fn(t, b) }) })
	}
}

// bubble runs fn inside a testing/synctest bubble: the stack it starts runs on an
// in-memory network (internal/memnet) and on the bubble's fake clock, which moves only
// when every goroutine of the stack is blocked waiting for time. So every timeout in the
// stack and the test (BOS's, the simulator's, Slurm's, the test's own deadlines) measures
// simulated time: a loaded machine slows a test down but cannot make it time out, and
// time.Since gives the schedule's own duration. fn must stop what it starts (the
// cluster's cleanup does): the bubble ends only when all its goroutines have.
func bubble(t *testing.T, fn func(t *testing.T)) {
	synctest.Test(t, fn)
}

// testNetwork is the network a test's stack runs on: in-memory for tests (see bubble),
// the host's TCP for benchmarks, which measure it in real time.
func testNetwork(tb testing.TB) *memnet.Network {
	if _, bench := tb.(*testing.B); bench {
		return nil
	}
	return memnet.New()
}

func startCluster(t testing.TB, backend string, o clusterOptions) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := topology.Generate(topology.DefaultOptions(o.nodes))
	require.NoError(t, err)
	timing := stacktest.FastFaultTiming()
	opts := stack.Options{
		Topology:       topo,
		Sim:            simulator.Config{Timing: &timing, Seed: 7, Faults: o.faults},
		CFS:            fastCFS(o.cfsFail),
		Reconcile:      true,
		RedfishTimeout: 500 * time.Millisecond,
		Power:          o.power,
	}
	if !o.hostNetwork {
		opts.Net = testNetwork(t)
	}
	if backend == storetest.Redis {
		opts.RedisURL = storetest.RedisURL()
		// Random, not the clock: in a bubble every test starts at the same fake instant.
		opts.RedisKeyPrefix = fmt.Sprintf("bose2e:%016x:", rand.Uint64())
		opts.DropStoreOnClose = true
	}
	if os.Getenv("E2E_LOG") != "" { // the stack's logs on stderr, for debugging a test
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.tweak != nil {
		o.tweak(&opts)
	}
	st, err := stack.Start(ctx, opts)
	if err != nil && backend == storetest.Redis && strings.Contains(err.Error(), "open store") {
		t.Skipf("no Redis at %s: %v", opts.RedisURL, err)
	}
	require.NoError(t, err)
	t.Cleanup(st.Close)
	require.NoError(t, st.Seed(ctx))
	patch := map[string]any{
		"polling_frequency": 2, "max_power_on_wait_time": 10, "max_boot_wait_time": 5, "max_power_off_wait_time": 3,
	}
	for k, v := range o.options {
		patch[k] = v
	}
	_, err = st.BOSClient.PatchOptions(ctx, patch)
	require.NoError(t, err)
	return &cluster{t: t, st: st, computes: topo.ByRole(topology.RoleCompute)}
}

// fastCFS is stacktest.FastCFS; fail names the components whose configuration fails.
func fastCFS(fail []string) cfs.Config {
	c := stacktest.FastCFS(7)
	c.FailComponents = fail
	return c
}

func (c *cluster) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}

// session creates a session on template (default: the seeded one) and returns its name.
func (c *cluster) session(op, template, limit string, stage bool) string {
	c.t.Helper()
	if template == "" {
		template = stack.DefaultTemplateName
	}
	sc := bos.SessionCreate{Operation: op, TemplateName: template, Stage: stage}
	if limit != "" {
		sc.Limit = &limit
	}
	s, err := c.st.BOSClient.CreateSession(c.ctx(), sc)
	require.NoError(c.t, err)
	return s.Name
}

// waitComplete waits for the session to complete and returns its extended status; on
// timeout it reports where the nodes are.
func (c *cluster) waitComplete(name string, timeout time.Duration) bos.SessionExtendedStatus {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := c.st.BOSClient.SessionStatus(c.ctx(), name)
		require.NoError(c.t, err)
		if st.Status == bos.SessionComplete {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("session %s not complete after %s: %+v\nnodes by status: %v", name, timeout, st, c.countByStatus())
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

func (c *cluster) components() map[string]bos.Component {
	c.t.Helper()
	comps, err := c.st.Store.ListComponents(c.ctx(), store.Filter{})
	require.NoError(c.t, err)
	out := make(map[string]bos.Component, len(comps))
	for _, comp := range comps {
		out[comp.ID] = comp
	}
	return out
}

func (c *cluster) countByStatus() map[string]int {
	out := map[string]int{}
	for _, comp := range c.components() {
		out[fmt.Sprintf("%s/enabled=%t", comp.Status.Status, comp.Enabled)]++
	}
	return out
}

func (c *cluster) node(id string) simulator.NodeState {
	n, ok := c.st.Sim.Node(id)
	require.True(c.t, ok, id)
	return n
}

func (c *cluster) cfsStatus() map[string]cfsapi.Component {
	comps, err := cfsapi.NewClient(c.st.URLs.CFS, c.st.HTTPClient()).GetComponents(c.ctx(), cfsapi.ComponentQuery{})
	require.NoError(c.t, err)
	out := make(map[string]cfsapi.Component, len(comps))
	for _, comp := range comps {
		out[comp.ID] = comp
	}
	return out
}

// requireBooted checks that each node is stable in BOS, powered on, booted into the
// image BOS wanted (the token BSS gave it is the one BOS recorded) and configured.
func (c *cluster) requireBooted(ids []string, configuration string) {
	c.t.Helper()
	if bad := c.notBooted(ids, configuration); len(bad) > 0 {
		c.t.Fatalf("%d of %d nodes not booted as wanted, e.g.:\n%s", len(bad), len(ids), strings.Join(bad[:min(10, len(bad))], "\n"))
	}
}

// notBooted returns why each of ids is not booted as requireBooted wants, sorted.
func (c *cluster) notBooted(ids []string, configuration string) []string {
	c.t.Helper()
	comps, cfsComps := c.components(), c.cfsStatus()
	var bad []string
	for _, id := range ids {
		comp, n, cc := comps[id], c.node(id), cfsComps[id]
		switch {
		case comp.Status.Status != bos.StatusStable || comp.Enabled:
			bad = append(bad, fmt.Sprintf("%s: BOS status %s enabled=%t error=%q", id, comp.Status.Status, comp.Enabled, comp.Error))
		case n.Power != "On" || !n.Booted:
			bad = append(bad, fmt.Sprintf("%s: node power %s booted=%t", id, n.Power, n.Booted))
		case n.Token == "" || n.Token != comp.ActualState.BSSToken:
			bad = append(bad, fmt.Sprintf("%s: node booted token %q, BOS recorded %q", id, n.Token, comp.ActualState.BSSToken))
		case comp.DesiredState.BSSToken != "" && n.Token != comp.DesiredState.BSSToken:
			// Set when BOS powered the node on; a node that was only configured keeps its boot.
			bad = append(bad, fmt.Sprintf("%s: node booted token %q, BOS gave BSS %q", id, n.Token, comp.DesiredState.BSSToken))
		case comp.ActualState.BootArtifacts != comp.DesiredState.BootArtifacts:
			bad = append(bad, fmt.Sprintf("%s: actual artifacts %+v differ from desired", id, comp.ActualState.BootArtifacts))
		case configuration != "" && (cc.DesiredConfig != configuration || cc.ConfigurationStatus != "configured"):
			bad = append(bad, fmt.Sprintf("%s: CFS %s/%s", id, cc.DesiredConfig, cc.ConfigurationStatus))
		}
	}
	sort.Strings(bad)
	return bad
}

// bootCounts returns how often each node has booted.
func (c *cluster) bootCounts(ids []string) map[string]int {
	out := make(map[string]int, len(ids))
	for _, id := range ids {
		out[id] = c.node(id).BootCount
	}
	return out
}
