//go:build linux

package e2e

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/bosbin"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

// TestKillProcess is the crash matrix with real processes: `bos serve` runs as a child
// process on its own redis-server, the data centre (1,000 compute nodes) runs in this
// process, and the test SIGKILLs BOS at seeded random points of a boot, a reboot and a
// shutdown session and restarts it. A kill point is a share of the operation's power
// changes seen by the simulator, drawn from [0, 0.95] with about one in six at 0 (right
// after the session is created, during its setup). Each
// operation must leave every node as it asks, power each node on and off at most once,
// boot it at most once, force none off (graceful shutdowns are instant here) and finish
// within 3× its kill-free time plus the time BOS was down and one polling interval per
// restart.
//
// Real time: it runs only with BOS_E2E_LONG=1 (BOS_KILL_SEED picks the seed, default 1)
// and is skipped without redis-server or go. Waits fail when the work left (nodes not yet
// as the operation asks) stops shrinking, not after a fixed time, and say what is pending.
func TestKillProcess(t *testing.T) {
	if os.Getenv("BOS_E2E_LONG") == "" {
		t.Skip("BOS_E2E_LONG=1 runs BOS as a process and kills it")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server binary")
	}
	const nodes, killsPerOp = 1000, 3
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir() // first, so it is removed after every process stopped
	bosBin, seed := buildBOS(ctx, t, dir)
	redisURL := startRedisServer(t, redisBin, dir)

	// The data centre, reporting to BOS at a fixed address that survives restarts.
	bosURL := "http://" + freeLoopbackAddr(t)
	k := newKillRun(ctx, t, seed, nodes, bosURL)
	st := k.st

	u := st.URLs
	k.bos = &childProcess{t: t, name: "bos-serve", bin: bosBin, dir: dir, args: []string{"serve", "--verbose",
		"--listen", strings.TrimPrefix(bosURL, "http://"), "--redis-url", redisURL, "--redis-key-prefix", "killproc:",
		"--hsm-url", u.HSM, "--bss-url", u.BSS, "--cfs-url", u.CFS, "--s3-url", u.S3, "--ims-url", u.IMS}}
	t.Cleanup(k.bos.stop)
	k.client = bosapi.NewClient(bosURL, st.HTTPClient())
	k.bos.start()
	k.waitHealthy()
	st.BOSClient = k.client // Seed puts the default template into this BOS
	require.NoError(t, st.Seed(ctx))
	_, err = k.client.PatchOptions(ctx, map[string]any{
		"polling_frequency": 2, "max_power_on_wait_time": 10, "max_boot_wait_time": 10, "max_power_off_wait_time": 10,
	})
	require.NoError(t, err)
	t.Logf("seed %d; %d compute nodes; BOS %s on %s", seed, nodes, bosURL, redisURL)

	ops := []string{bos.OpBoot, bos.OpReboot, bos.OpShutdown}
	clean := map[string]time.Duration{}
	for _, op := range ops {
		clean[op] = k.operate(op, 0).elapsed
		t.Logf("%s of %d nodes without a kill: %s", op, nodes, clean[op])
	}
	for _, op := range ops {
		r := k.operate(op, killsPerOp)
		limit := 3*clean[op] + r.down + time.Duration(len(r.kills))*2*time.Second
		t.Logf("%s of %d nodes with %d kills (%s): %s, %.1f× the kill-free %s; BOS down %s in all; limit %s",
			op, nodes, len(r.kills), strings.Join(r.kills, ", "), r.elapsed, float64(r.elapsed)/float64(clean[op]), clean[op], r.down, limit)
		assert.NotEmpty(t, r.kills, "%s: BOS was killed", op)
		assert.LessOrEqual(t, r.elapsed, limit, "%s: within 3× the kill-free time plus the restarts", op)
	}
}

// buildBOS returns bos (BOS_TEST_BIN's, or one built into dir) with the seed of the kill
// points (BOS_KILL_SEED, default 1). It skips the test without either or the go command.
func buildBOS(ctx context.Context, t *testing.T, dir string) (bin string, seed uint64) {
	seed = 1
	if s := os.Getenv("BOS_KILL_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "BOS_KILL_SEED")
	}
	return bosbin.Path(ctx, t, dir), seed
}

// newKillRun starts the data centre of nodes compute nodes (every simulator), reporting
// to BOS at bosURL, and the killRun that counts what its nodes see.
func newKillRun(ctx context.Context, t *testing.T, seed uint64, nodes int, bosURL string) *killRun {
	k := &killRun{t: t, rng: rand.New(rand.NewPCG(seed, 0))}
	topo, err := topology.Generate(topology.DefaultOptions(nodes))
	require.NoError(t, err)
	timing := stacktest.FastFaultTiming()
	st, err := stack.Start(ctx, stack.Options{
		Topology: topo, Services: stack.Simulators, External: stack.URLs{BOS: bosURL},
		Sim: simulator.Config{Timing: &timing, Seed: 7, OnPowerChange: k.powerChanged, OnReset: k.reset},
		CFS: fastCFS(nil),
	})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	k.st, k.computes = st, topo.ByRole(topology.RoleCompute)
	return k
}

// killRun drives BOS, counts what the simulated nodes saw, and kills.
type killRun struct {
	t        *testing.T
	st       *stack.Stack
	bos      *childProcess
	client   *bosapi.Client
	computes []string
	rng      *rand.Rand
	// onExtraResets, if set, is given the nodes whose BMC got more resets than their
	// operation needs (a call re-sent to a node already as asked: not a second power
	// change, which checkPoweredOnce fails on).
	onExtraResets func(op string, ids []string)
	// stallAfter is how long the session loop waits for a node to get done before it
	// fails (default a minute): more than BOS's power and boot wait times.
	stallAfter time.Duration

	changes atomic.Int64 // power changes of the current operation
	// onChange, if set, is called with the count after each power change.
	onChange atomic.Pointer[func(n int64)]
	mu       sync.Mutex
	ons      map[string]int            // per node: PoweringOn
	offs     map[string]int            // per node: PoweringOff
	resets   map[string]map[string]int // per node, per ResetType
}

func (k *killRun) powerChanged(xname, state string) {
	if n, f := k.changes.Add(1), k.onChange.Load(); f != nil {
		(*f)(n)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch state {
	case "PoweringOn":
		k.ons[xname]++
	case "PoweringOff":
		k.offs[xname]++
	}
}

func (k *killRun) reset(xname, kind string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.resets[xname] == nil {
		k.resets[xname] = map[string]int{}
	}
	k.resets[xname][kind]++
}

// opResult is one operation: its time, its kill points and how long BOS was down.
type opResult struct {
	elapsed time.Duration
	kills   []string
	down    time.Duration
}

// changesPer is how many power changes an operation makes per node.
var changesPer = map[string]int{bos.OpBoot: 2, bos.OpReboot: 4, bos.OpShutdown: 2}

// operate runs one session of op on every compute node, killing BOS kills times at seeded
// random shares of the operation's power changes, and checks the nodes at the end.
func (k *killRun) operate(op string, kills int) opResult {
	points := make([]float64, kills)
	for i := range points {
		// One kill in six or so lands before the first power change, in session setup.
		points[i] = max(0, 1.15*k.rng.Float64()-0.2)
	}
	slices.Sort(points)
	total := float64(changesPer[op] * len(k.computes))
	var r opResult
	start := time.Now()
	k.session(op, func() bool {
		if len(points) == 0 || float64(k.changes.Load()) < points[0]*total {
			return false
		}
		seen := k.changes.Load()
		down := time.Now()
		k.bos.kill()
		r.kills = append(r.kills, fmt.Sprintf("%.0f%% at %s", 100*float64(seen)/total, time.Since(start).Round(time.Millisecond)))
		time.Sleep(200 * time.Millisecond) // the process manager's restart delay
		k.bos.start()
		k.waitHealthy()
		r.down += time.Since(down)
		points = points[1:]
		return true
	})
	r.elapsed = time.Since(start)
	return r
}

// session runs one session of op on every compute node to its end and checks the nodes.
// Before each poll of its progress it calls kill, which says whether it killed BOS (then
// the session is polled at once). It fails when no node got done for k.stallAfter.
func (k *killRun) session(op string, kill func() bool) {
	t := k.t
	k.mu.Lock()
	k.ons, k.offs, k.resets = map[string]int{}, map[string]int{}, map[string]map[string]int{}
	k.mu.Unlock()
	k.changes.Store(0)
	before := k.bootCounts()
	s, err := k.client.CreateSession(context.Background(), bos.SessionCreate{Operation: op, TemplateName: stack.DefaultTemplateName})
	require.NoError(t, err)
	left, lastProgress := len(k.computes)+1, time.Now()
	stallAfter := cmp.Or(k.stallAfter, time.Minute)
	for poll := 0; ; poll++ {
		if kill() {
			continue
		}
		if poll%10 == 0 {
			status, err := k.client.SessionStatus(context.Background(), s.Name)
			require.NoError(t, err)
			if status.Status == bos.SessionComplete {
				assert.InDelta(t, 100, status.PercentSuccessful, 0.01, "%s: success", op)
				break
			}
			// The deadline follows the work left: it fails only when no node got done for
			// stallAfter (more than BOS's own wait times).
			if n := len(k.pending(op, before)); n < left {
				left, lastProgress = n, time.Now()
			} else if time.Since(lastProgress) > stallAfter {
				t.Fatalf("%s: session %s stalled with %d nodes left for %s: %+v\npending: %s", op, s.Name, n, stallAfter, status, k.describePending(op, before))
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the progress counter for the next kill point
	}
	if bad := k.pending(op, before); len(bad) > 0 {
		t.Errorf("%s: session complete but %d nodes not as it asks, e.g. %s", op, len(bad), k.describePending(op, before))
	}
	k.checkPoweredOnce(op, before)
}

// pending lists the compute nodes the simulator does not show as op asks: booted anew for
// boot and reboot (before holds the boot counts at the start), off for shutdown.
func (k *killRun) pending(op string, before map[string]int) []string {
	var out []string
	for _, id := range k.computes {
		n, _ := k.st.Sim.Node(id)
		done := n.Power == "Off"
		if op != bos.OpShutdown {
			done = n.Power == "On" && n.Booted && n.BootCount > before[id]
		}
		if !done {
			out = append(out, id)
		}
	}
	return out
}

// describePending says where the pending nodes are, in the simulator and in BOS.
func (k *killRun) describePending(op string, before map[string]int) string {
	ids := k.pending(op, before)
	comps, err := k.client.ListComponents(context.Background(), bosapi.ComponentQuery{})
	if err != nil {
		return fmt.Sprintf("%d nodes (BOS unreachable: %v)", len(ids), err)
	}
	byID := map[string]bos.Component{}
	for _, c := range comps {
		byID[c.ID] = c
	}
	var lines []string
	for _, id := range ids[:min(10, len(ids))] {
		n, _ := k.st.Sim.Node(id)
		c := byID[id]
		lines = append(lines, fmt.Sprintf("%s: power %s booted=%t boots %d; BOS %s/%s enabled=%t error=%q",
			id, n.Power, n.Booted, n.BootCount-before[id], c.Status.Status, c.Status.Phase, c.Enabled, c.Error))
	}
	return fmt.Sprintf("%d nodes, e.g.\n%s", len(ids), strings.Join(lines, "\n"))
}

// checkPoweredOnce checks that every node was powered on and off exactly as often as op
// needs, booted exactly once (boot, reboot), and never forced off; it gives the nodes
// whose BMC got more resets than that to onExtraResets.
func (k *killRun) checkPoweredOnce(op string, before map[string]int) {
	wantOn, wantOff := 1, 1
	switch op {
	case bos.OpBoot:
		wantOff = 0
	case bos.OpShutdown:
		wantOn = 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var bad, extra []string
	for id, n := range k.bootCounts() {
		forced := k.resets[id]["ForceOff"] + k.resets[id]["ForceRestart"]
		resets := 0
		for _, c := range k.resets[id] {
			resets += c
		}
		if resets > wantOn+wantOff {
			extra = append(extra, id)
		}
		if boots := n - before[id]; boots != wantOn || k.ons[id] != wantOn || k.offs[id] != wantOff || forced > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d power-ons, %d power-offs, %d boots, resets %v", id, k.ons[id], k.offs[id], boots, k.resets[id]))
		}
	}
	sort.Strings(bad)
	assert.Empty(k.t, bad[:min(len(bad), 10)], "%s: %d of %d nodes not powered exactly as it asks, e.g.", op, len(bad), len(k.computes))
	if k.onExtraResets != nil {
		sort.Strings(extra)
		k.onExtraResets(op, extra)
	}
}

func (k *killRun) bootCounts() map[string]int {
	out := make(map[string]int, len(k.computes))
	for _, id := range k.computes {
		n, _ := k.st.Sim.Node(id)
		out[id] = n.BootCount
	}
	return out
}

// waitHealthy waits for BOS's API to answer, failing if the process exits first.
func (k *killRun) waitHealthy() {
	healthy := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := k.client.Healthz(ctx)
		return err == nil
	}
	testwait.Until(k.t, "bos serve healthy", func() bool { return k.bos.exited() || healthy() }, k.bos.tail)
	if k.bos.exited() {
		k.t.Fatalf("bos serve exited before it was healthy:\n%s", k.bos.tail())
	}
}

// startRedisServer runs a redis-server of the test's own on a free loopback port, without
// persistence, and returns its URL once it answers PING.
func startRedisServer(t *testing.T, bin, dir string) string {
	addr := freeLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	require.NoError(t, err)
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck // killed at the end
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		<-done
	})
	for {
		if redisPing(addr) {
			return "redis://" + addr + "/0"
		}
		select {
		case <-done:
			raw, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server exited: %s", raw)
		case <-time.After(20 * time.Millisecond): // polling: it either answers or exits
		}
	}
}

func redisPing(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second)) //nolint:errcheck
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
