//go:build linux

package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/benchfloor"
	"github.com/cray-bos/bos/internal/procstat"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// BenchmarkScale boots whole clusters with BOS, the simulators and Redis in separate
// processes, as in production: `bos serve` on the real Redis of the tests (its own key
// prefix, deleted after), the simulators in `bos sim` processes (zero simulated hardware
// delay), and this process only creating the session and waiting for it. Each boot is
// reported against the loopback HTTP floor (internal/benchfloor) measured in this process
// right before it, once BOS is warm, and right after it, the faster of the two (a busy
// machine's load moves, and what the boot leaves running, BOS's collector say, slows the
// second: pooled, it flattered the ratio): the wall time of session create → complete over
// benchfloor.RequestsPerNode × nodes × the floor's request, the CPU time per node of BOS,
// of the simulators and of Redis (shared with other clients: its share is the change of
// its INFO used_cpu_* over the boot), and each process's peak resident memory. A table of every size ends the run (docs/benchmarks.md reads it).
//
// Sizes: 1,000 and 10,000 nodes, or BENCH_NODES (e.g. 100000, or 1000,12000). A size
// needs ceil(nodes / BENCH_NODES_PER_SIM) simulator processes (by default as many nodes
// as the open-file hard limit lets one process hold, simNodesPerProcess: 34,000 under
// 20,000); more than one needs `bos sim --shard`, and the size is skipped without it.
// BENCH_SIM_CPUPROFILE names a directory for a CPU profile of each simulator process
// over the boot (sim-NODES-K.prof; `go tool pprof` reads it with the bos binary).
// BENCH_BOS names a bos binary to measure (another version's, for a before and after);
// by default this module's cmd/bos is built. BENCH_PROFILE_DIR, when set, gets CPU
// profiles of bos serve over each boot (bos-NODES-K.pprof, 5 s each: `go tool pprof
// -top DIR/bos-100000-*.pprof` merges them) and its heap at the end. BENCH_SERVE_ARGS,
// split on spaces, is added to bos serve's arguments (an option's cost: e.g.
// "--history-limit 0"). Skipped without a Redis answering at
// storetest.RedisURL() or without the go command to build bos.
func BenchmarkScale(b *testing.B) {
	sizes, err := benchSizes(os.Getenv("BENCH_NODES"), []int{1000, 10000})
	require.NoError(b, err, "BENCH_NODES")
	perSim := simNodesPerProcess(hardFDLimit())
	if v := os.Getenv("BENCH_NODES_PER_SIM"); v != "" {
		perSim, err = strconv.Atoi(v)
		require.NoError(b, err, "BENCH_NODES_PER_SIM")
	}
	redisURL := storetest.RedisURL()
	rdb, err := redisClient(redisURL)
	require.NoError(b, err)
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Skipf("no Redis at %s: %v", redisURL, err)
	}
	bin := os.Getenv("BENCH_BOS")
	if bin == "" {
		goTool, err := exec.LookPath("go")
		if err != nil {
			b.Skip("no go command to build bos")
		}
		bin = filepath.Join(b.TempDir(), "bos")
		out, err := exec.Command(goTool, "build", "-o", bin, "github.com/cray-bos/bos/cmd/bos").CombinedOutput()
		require.NoError(b, err, "go build: %s", out)
	}
	var rows []scaleResult
	for _, n := range sizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for range b.N {
				r := runScale(b, scaleSetup{bin: bin, redisURL: redisURL, rdb: rdb, nodes: n, perSim: perSim})
				rows = append(rows, r)
				r.report(b)
			}
		})
	}
	if len(rows) > 0 {
		fmt.Print(scaleTable(redisURL, rows))
	}
}

// scaleSetup is what one boot over processes needs.
type scaleSetup struct {
	bin, redisURL string
	rdb           *redis.Client
	nodes, perSim int
}

// scaleResult is one boot: its wall time and what each process spent on it.
type scaleResult struct {
	nodes, sims int
	floor       benchfloor.Floor // the faster of two measurements, right before and right after the boot
	load        string           // the load average then
	steal       float64          // percent of the machine's CPU time the hypervisor took over the boot (-1: unknown)
	wall        time.Duration
	percentOK   float64
	cpuBOS      time.Duration
	cpuSims     time.Duration
	cpuRedis    time.Duration
	peakBOS     int64   // bytes
	peakSims    int64   // bytes, every simulator process together
	looks       float64 // the reconciler's looks at nodes over the boot (bos_reconcile_node_looks_total)
	bmc         bmcTraffic
}

func (r scaleResult) perNode(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond) / float64(r.nodes)
}

func (r scaleResult) kbPerNode(bytes int64) float64 { return float64(bytes) / 1024 / float64(r.nodes) }

func (r scaleResult) cpuTotal() time.Duration { return r.cpuBOS + r.cpuSims + r.cpuRedis }

func (r scaleResult) report(b *testing.B) {
	b.ReportMetric(r.wall.Seconds(), "s/boot")
	b.ReportMetric(r.floor.Ratio(r.wall, r.nodes), "x-floor")
	b.ReportMetric(r.perNode(r.cpuBOS), "BOS-CPU-ms/node")
	b.ReportMetric(r.perNode(r.cpuSims), "sim-CPU-ms/node")
	b.ReportMetric(r.perNode(r.cpuRedis), "redis-CPU-ms/node")
	b.ReportMetric(r.perNode(r.cpuTotal()), "CPU-ms/node")
	b.ReportMetric(mib(r.peakBOS), "BOS-peak-MiB")
	b.ReportMetric(mib(r.peakSims), "sim-peak-MiB")
	b.ReportMetric(r.looks/float64(r.nodes), "looks/node")
	if r.steal >= 0 {
		b.ReportMetric(r.steal, "steal-%")
	}
	if r.bmc.conns >= 0 { // a build of bos before bos_redfish_connections_opened_total has none
		b.ReportMetric(r.bmc.requests/float64(r.nodes), "BMC-reqs/node")
		b.ReportMetric(r.bmc.conns/float64(r.nodes), "BMC-conns/node")
	}
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// runScale starts the simulators and BOS for s.nodes nodes, boots them all with one
// session once BOS is warm, and stops everything.
func runScale(b *testing.B, s scaleSetup) scaleResult {
	b.StopTimer()
	ctx := context.Background()
	dir := b.TempDir()
	bosURL := "http://" + freeLoopbackAddr(b)
	sims := startSims(b, s, dir, bosURL)
	urls := sims.urls

	prefix := fmt.Sprintf("benchscale:%016x:", rand.Uint64())
	bosProc := &childProcess{t: b, name: "bos-serve", bin: s.bin, dir: dir, args: []string{"serve",
		"--listen", strings.TrimPrefix(bosURL, "http://"), "--redis-url", s.redisURL, "--redis-key-prefix", prefix,
		"--hsm-url", urls.HSM, "--bss-url", urls.BSS, "--cfs-url", urls.CFS, "--s3-url", urls.S3, "--ims-url", urls.IMS}}
	bosProc.args = append(bosProc.args, strings.Fields(os.Getenv("BENCH_SERVE_ARGS"))...)
	profileDir, pprofAddr := os.Getenv("BENCH_PROFILE_DIR"), ""
	if profileDir != "" {
		pprofAddr = freeLoopbackAddr(b)
		bosProc.args = append(bosProc.args, "--pprof-listen", pprofAddr)
	}
	b.Cleanup(func() { deleteKeys(b, s.redisURL, prefix) }) // after BOS stopped: cleanups run last first
	b.Cleanup(bosProc.stop)
	bosProc.start()
	hc := &http.Client{Timeout: time.Minute}
	client := bosapi.NewClient(bosURL, hc)
	waitFor(b, "bos serve healthy", time.Minute, bosProc.exited, func() bool { _, err := client.Healthz(ctx); return err == nil }, bosProc.tail)
	seedOverHTTP(b, urls, client, hc)
	// BOS's default timeouts and polling, as BenchmarkBoot has them.
	_, err := client.PatchOptions(ctx, map[string]any{
		"max_power_on_wait_time": 120, "max_boot_wait_time": 1200, "max_power_off_wait_time": 300, "polling_frequency": 15})
	require.NoError(b, err)
	procs := append([]*childProcess{bosProc}, sims.procs...)
	waitWarm(b, client, s.nodes, procs)
	load := loadAvg()
	floor, err := benchfloor.Measure(ctx, time.Second, 2000)
	require.NoError(b, err)

	cpu0 := processCPUs(b, procs)
	machine0 := readMachineTicks()
	redis0 := redisCPU(b, s.rdb)
	served0 := firstShardServed(b, hc, urls.BSS)
	looks0, bmc0 := nodeLooks(b, hc, bosURL)
	stopProfiling := profileServe(b, pprofAddr, profileDir, s.nodes)
	if os.Getenv("BENCH_SIM_CPUPROFILE") != "" {
		for _, p := range sims.procs {
			require.NoError(b, p.cmd.Process.Signal(syscall.SIGUSR1), "start %s's CPU profile", p.name)
		}
	}
	b.StartTimer()
	start := time.Now()
	sess, err := client.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: stack.DefaultTemplateName})
	require.NoError(b, err)
	waitSessionComplete(b, client, sess.Name, s.nodes, floor, procs)
	wall := time.Since(start)
	b.StopTimer()
	stopProfiling()
	cpu1 := processCPUs(b, procs)
	steal := readMachineTicks().stealSince(machine0)
	redis1 := redisCPU(b, s.rdb)
	served1 := firstShardServed(b, hc, urls.BSS)
	var servedLog []string
	for _, k := range firstShardRoutes {
		servedLog = append(servedLog, fmt.Sprintf("%s %.0f", k, served1[k]-served0[k]))
	}
	b.Logf("%d nodes: requests the first simulator process served over the boot: %s", s.nodes, strings.Join(servedLog, ", "))
	looks1, bmc1 := nodeLooks(b, hc, bosURL)
	after, err := benchfloor.Measure(ctx, time.Second, 2000)
	require.NoError(b, err)
	b.Logf("%d nodes: floor before the boot %s; after it %s", s.nodes, floor, after)
	floor = floor.Faster(after)
	status, err := client.SessionStatus(ctx, sess.Name)
	require.NoError(b, err)
	require.Equal(b, 100.0, status.PercentSuccessful, "every node booted: %+v", status)

	r := scaleResult{nodes: s.nodes, sims: len(sims.procs), floor: floor, load: load, steal: steal, wall: wall, percentOK: status.PercentSuccessful,
		cpuBOS: cpu1[0] - cpu0[0], cpuRedis: redis1 - redis0, looks: looks1 - looks0,
		bmc: bmcTraffic{requests: bmc1.requests - bmc0.requests, conns: bmc1.conns - bmc0.conns}}
	if bmc0.conns < 0 {
		r.bmc.conns = -1
	}
	for i := 1; i < len(procs); i++ {
		r.cpuSims += cpu1[i] - cpu0[i]
	}
	r.peakBOS = peakRSS(b, bosProc)
	var each []string
	for i, p := range sims.procs {
		peak := peakRSS(b, p)
		r.peakSims += peak
		each = append(each, fmt.Sprintf("%.0f", mib(peak)))
		if i == 0 {
			each[0] += fmt.Sprintf(" (%.1f CPU-s)", (cpu1[1] - cpu0[1]).Seconds())
		}
	}
	b.Logf("%d nodes: simulator processes' peak MiB, the first (HSM, BSS, CFS) first: %s", s.nodes, strings.Join(each, ", "))
	return r
}

// profileServe fetches CPU profiles of the process serving pprof at addr, 5 s each,
// into dir until the returned func is called, which then fetches its heap profile. It
// does nothing when addr is "".
func profileServe(b *testing.B, addr, dir string, nodes int) (stop func()) {
	if addr == "" {
		return func() {}
	}
	require.NoError(b, os.MkdirAll(dir, 0o755))
	fetch := func(ctx context.Context, path, file string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		require.NoError(b, err)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Logf("profile %s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode == http.StatusOK {
			err = os.WriteFile(filepath.Join(dir, file), raw, 0o644)
		}
		if err != nil {
			b.Logf("profile %s: %v", path, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 1; ctx.Err() == nil; k++ {
			fetch(context.Background(), "/debug/pprof/profile?seconds=5", fmt.Sprintf("bos-%d-%03d.pprof", nodes, k))
		}
	}()
	return func() {
		cancel()
		<-done // the last 5 s window ends after the boot
		fetch(context.Background(), "/debug/pprof/heap", fmt.Sprintf("bos-%d-heap.pprof", nodes))
	}
}

// simGroup is the simulator processes of one cluster and their merged URLs.
type simGroup struct {
	procs []*childProcess
	urls  stack.URLs
}

// startSims starts ceil(nodes / perSim) `bos sim` processes, one after another, and
// merges the URLs they write. The first runs every simulator; with more than one, it runs
// the first --shard of the BMCs and each other one `bos sim bmcs --shard K/N`, taking
// the first's service URLs from its URLs file (--urls-from).
func startSims(b *testing.B, s scaleSetup, dir, bosURL string) simGroup {
	shards := max(1, (s.nodes+s.perSim-1)/s.perSim)
	if shards > 1 && !simHasShards(b, s.bin) {
		b.Skipf("%d nodes need %d simulator processes (BENCH_NODES_PER_SIM=%d) and this bos sim has no --shard", s.nodes, shards, s.perSim)
	}
	var g simGroup
	for k := 1; k <= shards; k++ {
		urlsFile := filepath.Join(dir, fmt.Sprintf("sim.%d.json", k))
		args := []string{"sim", "--nodes", strconv.Itoa(s.nodes), "--delay-scale", "0", "--urls-file", urlsFile}
		if shards > 1 {
			args = append(args, "--shard", fmt.Sprintf("%d/%d", k, shards))
		}
		if prof := os.Getenv("BENCH_SIM_CPUPROFILE"); prof != "" {
			// Profiled from the SIGUSR1 runScale sends as the session is created.
			args = append(args, "--cpuprofile", filepath.Join(prof, fmt.Sprintf("sim-%d-%d.prof", s.nodes, k)), "--cpuprofile-from-signal")
		}
		if k == 1 {
			args = append(args, "--bos-url", bosURL)
		} else {
			args = append(args, "bmcs", "--urls-from", filepath.Join(dir, "sim.1.json"))
		}
		p := &childProcess{t: b, name: fmt.Sprintf("bos-sim-%d", k), bin: s.bin, dir: dir, args: args}
		b.Cleanup(p.stop)
		p.start()
		// Start-up grows with the nodes: 30 s and 5 ms a node bound it on a busy machine.
		waitFor(b, p.name+" URLs file", 30*time.Second+time.Duration(s.nodes)*5*time.Millisecond, p.exited,
			func() bool { _, err := os.Stat(urlsFile); return err == nil }, p.tail)
		var u stack.URLs
		raw, err := os.ReadFile(urlsFile)
		require.NoError(b, err)
		require.NoError(b, json.Unmarshal(raw, &u), "%s", urlsFile)
		g.urls = mergeURLs(g.urls, u)
		g.procs = append(g.procs, p)
	}
	return g
}

// mergeURLs adds a shard's URLs to those of the shards before it: services the first
// that names them, BMCs from every shard.
func mergeURLs(into, u stack.URLs) stack.URLs {
	bmcs := into.BMCs
	if bmcs == nil {
		bmcs = map[string]string{}
	}
	for x, url := range u.BMCs {
		bmcs[x] = url
	}
	into.HSM, into.BSS, into.CFS, into.S3 = cmp.Or(into.HSM, u.HSM), cmp.Or(into.BSS, u.BSS), cmp.Or(into.CFS, u.CFS), cmp.Or(into.S3, u.S3)
	into.IMS, into.PCS, into.Slurm = cmp.Or(into.IMS, u.IMS), cmp.Or(into.PCS, u.PCS), cmp.Or(into.Slurm, u.Slurm)
	into.BMCs = bmcs
	return into
}

// Each simulated BMC costs its process one listener and serves two compute nodes; the
// rest of a process's descriptors (the 1,024 bos sim keeps above its listeners, the
// connections of BOS's pool, HSM and the shards' clients, a few hundred) are fdReserve.
// Fewer, larger shards cost less CPU per node: one Go runtime and collector per process
// on a machine of few cores, and more of the nodes reach HSM, BSS and CFS in-process.
const (
	fdReserve     = 3000
	nodesPerBMC   = 2
	minNodesASim  = 1000
	defaultFDHard = 20000 // when the limit cannot be read
)

// simNodesPerProcess is how many nodes one simulator process holds under a hard limit
// of fdLimit open files.
func simNodesPerProcess(fdLimit uint64) int {
	if fdLimit > 1<<24 { // unlimited, or as good as
		fdLimit = 1 << 24
	}
	return max(minNodesASim, (int(fdLimit)-fdReserve)*nodesPerBMC)
}

// hardFDLimit is this process's hard limit on open files, which the bos sim processes
// it starts inherit.
func hardFDLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return defaultFDHard
	}
	return lim.Max
}

// simHasShards says whether this bos sim takes --shard.
func simHasShards(b *testing.B, bin string) bool {
	out, err := exec.Command(bin, "sim", "--help").CombinedOutput()
	require.NoError(b, err, "bos sim --help: %s", out)
	return strings.Contains(string(out), "--shard")
}

// seedOverHTTP creates what `bos up` boots with (stack.Seed) through the services' APIs:
// the CFS configuration and the session template for the seeded compute image.
func seedOverHTTP(b *testing.B, u stack.URLs, client *bosapi.Client, hc *http.Client) {
	ctx := context.Background()
	_, err := cfsapi.NewClient(u.CFS, hc).PutConfiguration(ctx, stack.DefaultConfigurationName, cfsapi.ConfigurationRequest{
		Layers: []cfsapi.Layer{{Name: "compute", CloneURL: "https://vcs.cmn.example/vcs/cray/csm-config-management.git",
			Playbook: "compute_nodes.yml", Branch: "main"}},
	})
	require.NoError(b, err)
	img, err := imsapi.NewClient(u.IMS, hc).GetImage(ctx, ims.ImageID(ims.ImageCompute))
	require.NoError(b, err)
	require.NotNil(b, img.Link, "image %s has no manifest", ims.ImageCompute)
	_, err = client.PutTemplate(ctx, stack.DefaultTemplateName, stack.DefaultTemplate(img.Link.Path, stack.DefaultConfigurationName))
	require.NoError(b, err)
}

// waitWarm waits until BOS knows every node (HSM discovery) and then until BOS and the
// simulators are quiet (their event subscriptions made): less than 2% of a core over a
// second. A machine too busy to tell quiet from idle is waited on for a minute at most,
// and said so.
func waitWarm(b *testing.B, client *bosapi.Client, nodes int, procs []*childProcess) {
	ctx := context.Background()
	// Listing every component costs BOS time that grows with the nodes (seconds at
	// 100,000): wait twice as long as the last listing took between two, so the polls
	// take at most a third of BOS's time while it discovers.
	var listed time.Duration
	waitFor(b, "BOS discovered every node", time.Minute+time.Duration(nodes)*time.Millisecond, procs[0].exited, func() bool {
		time.Sleep(2 * listed)
		start := time.Now()
		comps, err := client.ListComponents(ctx, bosapi.ComponentQuery{})
		listed = time.Since(start)
		return err == nil && len(comps) >= nodes
	}, procs[0].tail)
	deadline := time.Now().Add(time.Minute)
	for before := processCPUs(b, procs); ; {
		time.Sleep(time.Second) // the window quietness is measured over
		now := processCPUs(b, procs)
		var used time.Duration
		for i := range now {
			used += now[i] - before[i]
		}
		if used < 20*time.Millisecond {
			return
		}
		if time.Now().After(deadline) {
			b.Logf("BOS and the simulators still used %s of CPU a second after a minute: measuring anyway", used)
			return
		}
		before = now
	}
}

// waitSessionComplete polls the session record until it is complete. It fails when no node completed for a while (10 s and 100×
// the floor's boot) or after the whole boot's bound (2 min and 200× the floor's boot),
// saying where the nodes are.
func waitSessionComplete(b *testing.B, client *bosapi.Client, name string, nodes int, floor benchfloor.Floor, procs []*childProcess) {
	ctx := context.Background()
	stall := 10*time.Second + 100*floor.Boot(nodes)
	deadline := time.Now().Add(2*time.Minute + 200*floor.Boot(nodes))
	done, progressed := -1.0, time.Now()
	for {
		for _, p := range procs {
			if p.exited() {
				b.Fatalf("%s exited during the boot:\n%s", p.name, p.tail())
			}
		}
		st, err := client.SessionStatus(ctx, name)
		require.NoError(b, err)
		if st.Status == bos.SessionComplete {
			return
		}
		if st.Phases.PercentComplete > done {
			done, progressed = st.Phases.PercentComplete, time.Now()
		}
		if now := time.Now(); now.After(deadline) || now.Sub(progressed) > stall {
			b.Fatalf("session %s of %d nodes not complete (no node done for %s; bound %s): %+v\n%s",
				name, nodes, now.Sub(progressed).Round(time.Second), stall, st, pendingNodes(client))
		}
		time.Sleep(statusPoll)
	}
}

// statusPoll is how often waitSessionComplete reads the session's extended status, whose
// status says when the session is complete: late by up to this much. A read costs BOS
// about what a floor request does (the session as last read is kept, GetSessionTagged),
// so ten a second are a thousandth of the machine. (It read the session itself, 1.5 MB at
// 100,000 nodes and 30 ms of BOS's CPU, at 20 times what a read took: under the boot's
// load that was every 1 to 3 s, and the completion was seen as late.)
const statusPoll = 100 * time.Millisecond

// pendingNodes says where the nodes still enabled are, by status, with a few examples.
func pendingNodes(client *bosapi.Client) string {
	comps, err := client.ListComponents(context.Background(), bosapi.ComponentQuery{})
	if err != nil {
		return fmt.Sprintf("components: %v", err)
	}
	by := map[string][]string{}
	for _, c := range comps {
		if c.Enabled {
			k := c.Status.Status + "/" + c.Status.Phase
			by[k] = append(by[k], c.ID)
		}
	}
	var lines []string
	for k, ids := range by {
		lines = append(lines, fmt.Sprintf("%s: %d, e.g. %s", k, len(ids), strings.Join(ids[:min(3, len(ids))], " ")))
	}
	return "enabled nodes by status/phase:\n" + strings.Join(lines, "\n")
}

// waitFor polls cond every 50 ms until it holds, failing after bound or when the process
// it waits on has exited, with what tail says of it.
func waitFor(b testing.TB, what string, bound time.Duration, exited, cond func() bool, tail func() string) {
	b.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if exited() {
			b.Fatalf("%s: the process exited:\n%s", what, tail())
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: not after %s:\n%s", what, bound, tail())
		}
		time.Sleep(50 * time.Millisecond) // polling; the bound grows with the work
	}
}

func processCPUs(b *testing.B, procs []*childProcess) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpu, err := procstat.CPU(p.cmd.Process.Pid)
		require.NoError(b, err, p.name)
		out[i] = cpu
	}
	return out
}

func peakRSS(b *testing.B, p *childProcess) int64 {
	peak, err := procstat.PeakRSS(p.cmd.Process.Pid)
	require.NoError(b, err, p.name)
	return peak
}

func redisClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}

// bmcTraffic is BOS's requests to BMCs (bos_outbound_request_duration_seconds of
// redfish) and the connections it opened for them (bos_redfish_connections_opened_total;
// -1 when BOS does not export it).
type bmcTraffic struct{ requests, conns float64 }

// nodeLooks is BOS's bos_reconcile_node_looks_total: how many nodes its reconciler has
// looked at, summed over its passes; and its traffic to BMCs so far.
func nodeLooks(b *testing.B, hc *http.Client, bosURL string) (float64, bmcTraffic) {
	resp, err := hc.Get(bosURL + "/metrics")
	require.NoError(b, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(b, err)
	v := metricValue(families, "bos_reconcile_node_looks_total", nil)
	require.GreaterOrEqual(b, v, 0.0, "BOS has no bos_reconcile_node_looks_total")
	return v, bmcTraffic{requests: max(0, metricValue(families, "bos_outbound_request_duration_seconds", map[string]string{"service": "redfish"})),
		conns: metricValue(families, "bos_redfish_connections_opened_total", nil)}
}

// firstShardRoutes are the simulators' routes whose requests firstShardServed counts:
// the nodes' boot scripts and CFS reports, the BSS writes and their replication.
var firstShardRoutes = []string{"bss GET /boot/v1/bootscript", "cfs PATCH /v3/components/{id}", "cfs PATCH /v3/components",
	"bss PUT /boot/v1/bootparameters", "bss POST /sim/bss/replicas", "hsm POST /hsm/v2/RedfishEvents"}

// firstShardServed reads the requests the simulator process serving url has answered,
// by "service route" (every code).
func firstShardServed(b *testing.B, hc *http.Client, url string) map[string]float64 {
	resp, err := hc.Get(url + "/metrics")
	require.NoError(b, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(b, err)
	out := map[string]float64{}
	if mf := families["bos_sim_requests_total"]; mf != nil {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["service"]+" "+labels["route"]] += m.GetCounter().GetValue()
		}
	}
	return out
}

// redisCPU is the Redis server's CPU time so far, every client's work included.
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	require.NoError(b, err)
	d, err := parseRedisCPU(info)
	require.NoError(b, err)
	return d
}

// parseRedisCPU sums used_cpu_sys and used_cpu_user (seconds) of INFO CPU.
func parseRedisCPU(info string) (time.Duration, error) {
	var sum float64
	found := 0
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || k != "used_cpu_sys" && k != "used_cpu_user" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("redis INFO %s: %w", k, err)
		}
		sum += f
		found++
	}
	if found != 2 {
		return 0, errors.New("redis INFO cpu: no used_cpu_sys and used_cpu_user")
	}
	return time.Duration(sum * float64(time.Second)), nil
}

// deleteKeys deletes every key under prefix (BOS's of one run).
func deleteKeys(b *testing.B, url, prefix string) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: url, KeyPrefix: prefix})
	if err != nil {
		b.Errorf("clean up %s*: %v", prefix, err)
		return
	}
	defer st.Close()
	if err := st.DeleteAll(ctx); err != nil {
		b.Errorf("clean up %s*: %v", prefix, err)
	}
}

// benchSizes parses a comma-separated list of node counts; empty gives def.
func benchSizes(v string, def []int) ([]int, error) {
	if v == "" {
		return def, nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want node counts, e.g. 1000,10000", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// loadAvg is the machine's load average (/proc/loadavg's first three figures).
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// machineTicks is the machine's CPU time from /proc/stat's first line, in clock ticks:
// all of it, and the steal (time a virtual machine's CPUs had work but the hypervisor ran
// another guest). On a shared virtual machine the steal moves from minute to minute, and
// a boot's CPU time and wall time with it.
type machineTicks struct {
	total, steal uint64
	ok           bool
}

func readMachineTicks() machineTicks {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTicks{}
	}
	return parseMachineTicks(string(raw))
}

func parseMachineTicks(stat string) machineTicks {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineTicks{}
	}
	var m machineTicks
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return machineTicks{}
		}
		if i < 8 { // user nice system idle iowait irq softirq steal; guest time is in user already
			m.total += n
		}
		if i == 7 {
			m.steal = n
		}
	}
	m.ok = true
	return m
}

// stealSince is the percent of the machine's CPU time stolen since before, -1 when
// either reading failed.
func (m machineTicks) stealSince(before machineTicks) float64 {
	if !m.ok || !before.ok || m.total <= before.total {
		return -1
	}
	return 100 * float64(m.steal-before.steal) / float64(m.total-before.total)
}

// scaleTable is the readable summary of the boots.
func scaleTable(redisURL string, rows []scaleResult) string {
	var w strings.Builder
	fmt.Fprintf(&w, "\nBoot over processes: bos serve on %s, bos sim, zero hardware delay; session create → complete\n", redisURL)
	fmt.Fprintf(&w, "%28s | %-12s | %-22s | %-32s | %-11s | %-11s |\n", "", "floor, 1 req", "boot", "CPU-ms per node", "peak, MiB", "KB per node")
	fmt.Fprintf(&w, "%7s %4s %8s %6s | %5s %6s | %6s %7s %7s | %5s %5s %6s %5s %7s | %5s %5s | %5s %5s | %4s | %s\n",
		"nodes", "sims", "load", "steal%", "µs", "CPU-µs", "wall s", "floor s", "ratio", "BOS", "sims", "Redis*", "total", "ratio", "BOS", "sims", "BOS", "sims", "ok %", "looks/node")
	for _, r := range rows {
		load, _, _ := strings.Cut(r.load, " ")
		steal := "?"
		if r.steal >= 0 {
			steal = strconv.FormatFloat(r.steal, 'f', 1, 64)
		}
		fmt.Fprintf(&w, "%7d %4d %8s %6s | %5.0f %6.0f | %6.2f %7.2f %7.1f | %5.2f %5.2f %6.2f %5.2f %7.1f | %5.0f %5.0f | %5.1f %5.1f | %4.0f | %.1f\n",
			r.nodes, r.sims, load, steal, micros(r.floor.PerRequest()), micros(r.floor.CPUPerRequest()),
			r.wall.Seconds(), r.floor.Boot(r.nodes).Seconds(), r.floor.Ratio(r.wall, r.nodes),
			r.perNode(r.cpuBOS), r.perNode(r.cpuSims), r.perNode(r.cpuRedis), r.perNode(r.cpuTotal()),
			float64(r.cpuTotal())/float64(max(1, r.floor.BootCPU(r.nodes))),
			mib(r.peakBOS), mib(r.peakSims), r.kbPerNode(r.peakBOS), r.kbPerNode(r.peakSims), r.percentOK, r.looks/float64(r.nodes))
	}
	fmt.Fprintf(&w, "floor: one request of a trivial kept-alive loopback client and server, the fastest of %d windows over a second before each boot and of %d over a second after;\n",
		benchfloor.Windows, benchfloor.Windows)
	fmt.Fprintf(&w, "floor s = %d requests × nodes × its µs; boot ratio = wall / floor s; CPU ratio = total CPU / (%d × nodes × its CPU-µs).\n",
		benchfloor.RequestsPerNode, benchfloor.RequestsPerNode)
	fmt.Fprintf(&w, "* Redis is shared: its CPU is the change of INFO used_cpu_* over the boot, other clients' work included.\n")
	fmt.Fprintf(&w, "load: the 1-minute load average when the boot started; steal%%: the machine's CPU time a hypervisor gave other guests over the boot;\n")
	fmt.Fprintf(&w, "peak: resident memory since the process started.\n")
	fmt.Fprintf(&w, "looks/node: the reconciler's looks at nodes over the boot (bos_reconcile_node_looks_total) per node.\n")
	if len(rows) > 1 {
		first, last := rows[0], rows[len(rows)-1]
		fmt.Fprintf(&w, "CPU per node, %d → %d nodes: %.2f×\n", first.nodes, last.nodes, last.perNode(last.cpuTotal())/first.perNode(first.cpuTotal()))
	}
	return w.String()
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func TestParseRedisCPU(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.000000\r\n"
	got, err := parseRedisCPU(info)
	require.NoError(t, err)
	require.Equal(t, 3750*time.Millisecond, got)
	_, err = parseRedisCPU("# CPU\r\nused_cpu_sys:1.5\r\n")
	require.Error(t, err, "one of the two missing")
	_, err = parseRedisCPU("used_cpu_sys:x\r\nused_cpu_user:1\r\n")
	require.Error(t, err)
}

// A later shard adds its BMCs and names no service the first one already named.
func TestMergeURLs(t *testing.T) {
	first := stack.URLs{HSM: "http://h", BSS: "http://b", BMCs: map[string]string{"x1000c0s0b0": "http://127.1.0.1:1"}}
	second := stack.URLs{HSM: "http://other", IMS: "http://i", BMCs: map[string]string{"x1000c0s0b1": "http://127.1.0.2:1"}}
	got := mergeURLs(mergeURLs(stack.URLs{}, first), second)
	require.Equal(t, "http://h", got.HSM)
	require.Equal(t, "http://b", got.BSS)
	require.Equal(t, "http://i", got.IMS)
	require.Len(t, got.BMCs, 2)
}

// A 100,000-node cluster fits in three processes under the 20,000-file limit, not two
// (25,000 BMCs a process would be more than the limit).
func TestSimNodesPerProcess(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		nodes int
		sims  int // for 100,000 nodes
	}{
		{20000, 34000, 3},
		{1024, minNodesASim, 100},
		{65536, 125072, 1},
		{1 << 62, 33548432, 1},
	} {
		got := simNodesPerProcess(tc.limit)
		require.Equal(t, tc.nodes, got, "limit %d", tc.limit)
		require.Equal(t, tc.sims, (100000+got-1)/got, "limit %d", tc.limit)
		if tc.limit >= 20000 {
			require.LessOrEqual(t, got/nodesPerBMC+1024, int(min(tc.limit, 1<<24)), "listeners and bos sim's reserve fit, limit %d", tc.limit)
		}
	}
}

// The steal is the stolen share of all the machine's ticks between two readings of
// /proc/stat; a missing or odd reading is unknown.
func TestMachineTicksSteal(t *testing.T) {
	before := parseMachineTicks("cpu  1000 10 500 8000 20 0 30 40 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	after := parseMachineTicks("cpu  1440 10 600 8400 20 0 40 90 5 0\n")
	require.True(t, before.ok && after.ok)
	require.InDelta(t, 100*50.0/1000, after.stealSince(before), 1e-9, "50 stolen of 1,000 ticks")
	require.Equal(t, -1.0, after.stealSince(machineTicks{}))
	require.False(t, parseMachineTicks("intr 1 2 3\n").ok)
	require.False(t, parseMachineTicks("cpu  1 2 3 x 5 6 7 8\n").ok)
}

func TestBenchSizes(t *testing.T) {
	got, err := benchSizes("", []int{1000})
	require.NoError(t, err)
	require.Equal(t, []int{1000}, got)
	got, err = benchSizes("1000, 100000", nil)
	require.NoError(t, err)
	require.Equal(t, []int{1000, 100000}, got)
	for _, bad := range []string{"10k", "0", "1000,"} {
		_, err := benchSizes(bad, nil)
		require.Error(t, err, bad)
	}
}

// The table gives each size's ratio to the floor and its CPU per node by process.
func TestScaleTable(t *testing.T) {
	floor := benchfloor.Floor{Requests: 1000, Wall: 50 * time.Millisecond, CPU: 80 * time.Millisecond}
	rows := []scaleResult{
		{nodes: 1000, sims: 1, floor: floor, load: "1.50 1.00 0.50", steal: 2.25, wall: 600 * time.Millisecond, percentOK: 100,
			cpuBOS: 500 * time.Millisecond, cpuSims: 300 * time.Millisecond, cpuRedis: 200 * time.Millisecond, peakBOS: 100 << 20, peakSims: 50 << 20, looks: 3500},
		{nodes: 10000, sims: 1, floor: floor, load: "2.50 1.00 0.50", steal: -1, wall: 4 * time.Second, percentOK: 100,
			cpuBOS: 6 * time.Second, cpuSims: 4 * time.Second, cpuRedis: time.Second, peakBOS: 200 << 20, peakSims: 500 << 20, looks: 42000},
	}
	out := scaleTable("redis://r", rows)
	lines := strings.Split(out, "\n")
	var row1, row2 string
	for _, l := range lines {
		switch f := strings.Fields(l); {
		case len(f) > 0 && f[0] == "1000":
			row1 = l
		case len(f) > 0 && f[0] == "10000":
			row2 = l
		}
	}
	// 1,000 nodes: floor 4 × 1,000 × 50 µs = 0.2 s, ratio 3.0; 0.5 + 0.3 + 0.2 = 1.0 CPU-ms
	// a node, 1.0 s in all against a CPU floor of 4 × 1,000 × 80 µs = 0.32 s: 3.1.
	require.Equal(t, strings.Fields("1000 1 1.50 2.2 | 50 80 | 0.60 0.20 3.0 | 0.50 0.30 0.20 1.00 3.1 | 100 50 | 102.4 51.2 | 100 | 3.5"), strings.Fields(row1))
	require.Equal(t, strings.Fields("10000 1 2.50 ? | 50 80 | 4.00 2.00 2.0 | 0.60 0.40 0.10 1.10 3.4 | 200 500 | 20.5 51.2 | 100 | 4.2"), strings.Fields(row2))
	require.Contains(t, out, "1000 → 10000 nodes: 1.10×")
}
