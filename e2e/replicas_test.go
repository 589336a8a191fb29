//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/testwait"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/ownership"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// Replica settings of the e2e runs: the default lease TTL (a power call gets what is left
// of its lease, at least about half the TTL), shards enough to spread 5,000 nodes evenly
// over three replicas.
const (
	replicaTTL    = ownership.DefaultTTL
	replicaShards = 32
	replicaCount  = 3
)

// TestReplicasKill runs three `bos serve` replicas (all roles) as child processes on the
// shared real Redis (127.0.0.1:6379, a key prefix of its own), behind a round-robin
// proxy as a Kubernetes Service would put them, and boots and shuts down 5,000 nodes
// (BOS_REPLICAS_NODES) killing one replica with SIGKILL at a seeded random point of each
// session (four kill points). Each session must complete with every node as it asks,
// every node powered on or off exactly once, and the killed replica's shards held by the
// others within the lease TTL plus a renewal period; the killed replica is restarted
// before the next session. Real time: BOS_E2E_LONG=1 only; skipped without go or a
// Redis at 127.0.0.1:6379.
func TestReplicasKill(t *testing.T) {
	if os.Getenv("BOS_E2E_LONG") == "" {
		t.Skip("BOS_E2E_LONG=1 runs BOS replicas as processes and kills them")
	}
	if !redisPing(strings.TrimSuffix(strings.TrimPrefix(storetest.RedisURL(), "redis://"), "/0")) {
		t.Skipf("no Redis at %s", storetest.RedisURL())
	}
	prefix := fmt.Sprintf("bostest:replicas:%d:", rand.Uint32())
	cleanupPrefix(t, store.Config{URL: storetest.RedisURL(), KeyPrefix: prefix})
	runReplicas(t, replicaEnvNodes(5000), []string{"--redis-url", storetest.RedisURL(), "--redis-key-prefix", prefix},
		store.Config{URL: storetest.RedisURL(), KeyPrefix: prefix})
}

// TestReplicasKillOnCluster is TestReplicasKill (1,000 nodes) on a Redis Cluster of three
// redis-server processes of its own, in cluster mode on random loopback ports; skipped
// without redis-server and redis-cli.
func TestReplicasKillOnCluster(t *testing.T) {
	if os.Getenv("BOS_E2E_LONG") == "" {
		t.Skip("BOS_E2E_LONG=1 runs BOS replicas as processes and kills them")
	}
	url := storetest.StartCluster(t, 3)
	const prefix = "bos"
	runReplicas(t, replicaEnvNodes(1000), []string{"--redis-url", url, "--redis-cluster", "--redis-key-prefix", prefix},
		store.Config{URL: url, KeyPrefix: prefix, Cluster: true})
}

func replicaEnvNodes(def int) int {
	if n, err := strconv.Atoi(os.Getenv("BOS_REPLICAS_NODES")); err == nil && n > 0 {
		return n
	}
	return def
}

// cleanupPrefix deletes the test's keys when it ends.
func cleanupPrefix(t *testing.T, cfg store.Config) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := store.Open(ctx, cfg)
		if err != nil {
			t.Errorf("clean up: %v", err)
			return
		}
		defer s.Close()
		if err := s.DeleteAll(ctx); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
}

// runReplicas is the body of the replica kill tests: redisArgs choose BOS's Redis,
// storeCfg opens it for the test's own reads of the leases.
func runReplicas(t *testing.T, nodes int, redisArgs []string, storeCfg store.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	bosBin, seed := buildBOS(ctx, t, dir)
	leases, err := store.Open(ctx, storeCfg)
	require.NoError(t, err)
	defer leases.Close()

	// The data centre reports to the proxy, which survives the replicas.
	lb := &replicaProxy{}
	lbAddr := freeLoopbackAddr(t)
	lbSrv := &http.Server{Addr: lbAddr, Handler: lb}
	go lbSrv.ListenAndServe() //nolint:errcheck // closed at the end
	t.Cleanup(func() { _ = lbSrv.Close() })
	bosURL := "http://" + lbAddr
	k := newKillRun(ctx, t, seed, nodes, bosURL)
	st := k.st
	k.client = bosapi.NewClient(bosURL, st.HTTPClient())

	u := st.URLs
	replicas := make([]*childProcess, replicaCount)
	for i := range replicas {
		addr := freeLoopbackAddr(t)
		args := append([]string{"serve", "--verbose", "--listen", addr,
			"--replica-id", fmt.Sprintf("r%d", i), "--redfish-timeout", "30s", "--lease-ttl", replicaTTL.String(), "--shards", strconv.Itoa(replicaShards),
			"--hsm-url", u.HSM, "--bss-url", u.BSS, "--cfs-url", u.CFS, "--s3-url", u.S3, "--ims-url", u.IMS}, redisArgs...)
		p := &childProcess{t: t, name: fmt.Sprintf("r%d", i), bin: bosBin, dir: dir, args: args}
		t.Cleanup(p.stop)
		replicas[i] = p
		lb.add("http://" + addr)
		p.start()
	}
	waitReplicas(t, k.client, replicas)
	st.BOSClient = k.client
	require.NoError(t, st.Seed(ctx))
	_, err = k.client.PatchOptions(ctx, map[string]any{
		"polling_frequency": 2, "max_power_on_wait_time": 120, "max_boot_wait_time": 120, "max_power_off_wait_time": 120,
	})
	require.NoError(t, err)
	balanced := waitShards(t, leases, replicas, -1)
	t.Logf("seed %d; %d compute nodes; %d replicas on %s; shards balanced %s after start", seed, nodes, replicaCount, storeCfg.URL, balanced)

	ops := []string{bos.OpBoot, bos.OpShutdown, bos.OpBoot, bos.OpShutdown}
	for i, op := range ops {
		victim := k.rng.IntN(replicaCount)
		point := 0.1 + 0.8*k.rng.Float64() // a share of the session's power changes
		r := k.operateReplicas(op, replicas, victim, point, leases)
		t.Logf("%s #%d of %d nodes: %s; r%d killed at %.0f%% of the power changes (%s), its shards taken %s after the kill (TTL %s)",
			op, i+1, nodes, r.elapsed.Round(time.Millisecond), victim, 100*point, r.killedAt.Round(time.Millisecond), r.takeover.Round(time.Millisecond), replicaTTL)
		assert.LessOrEqual(t, r.takeover, replicaTTL+replicaTTL/3+time.Second, "takeover within TTL plus a renewal period (and a second of slack for the load)")
		replicas[victim].start() // the process manager restarts it
		waitReplicas(t, k.client, replicas)
		rebalanced := waitShards(t, leases, replicas, -1) // it holds its share before the next kill
		t.Logf("r%d restarted; its share back %s later", victim, rebalanced.Round(time.Millisecond))
	}
}

// replicaResult is one session of the replica test.
type replicaResult struct {
	elapsed, killedAt, takeover time.Duration
}

// operateReplicas runs one session of op on every compute node, kills replica victim
// once the simulator saw point of the session's power changes, measures how soon the
// others hold all its shards, and checks the nodes at the end.
func (k *killRun) operateReplicas(op string, replicas []*childProcess, victim int, point float64, leases *store.Store) replicaResult {
	total := float64(changesPer[op] * len(k.computes))
	var r replicaResult
	killed := false
	start := time.Now()
	k.session(op, func() bool {
		if killed || float64(k.changes.Load()) < point*total {
			return false
		}
		killed = true
		r.killedAt = time.Since(start)
		kill := time.Now()
		replicas[victim].kill()
		waitShards(k.t, leases, replicas, victim)
		r.takeover = time.Since(kill)
		return true
	})
	r.elapsed = time.Since(start)
	require.True(k.t, killed, "%s: the session ended before the kill point", op)
	return r
}

// waitShards waits until the live replicas (all but dead, -1 for none) hold every shard,
// each its fair share, and says how long it took. It fails when the holders stop
// changing for a minute.
func waitShards(t *testing.T, leases *store.Store, replicas []*childProcess, dead int) time.Duration {
	start := time.Now()
	names := make([]string, replicaShards)
	for i := range names {
		names[i] = ownership.LeaseName(i)
	}
	var last string
	lastChange := time.Now()
	for {
		holders, err := leases.LeaseHolders(context.Background(), names)
		require.NoError(t, err)
		count := map[string]int{}
		for _, h := range holders {
			name, _, _ := strings.Cut(h, "-")
			count[name]++
		}
		live := len(replicas)
		if dead >= 0 {
			live--
		}
		ok := count[""] == 0
		for i := range replicas {
			n := count[fmt.Sprintf("r%d", i)]
			if i == dead && n > 0 || i != dead && n < replicaShards/live {
				ok = false
			}
		}
		if ok {
			return time.Since(start)
		}
		if now := fmt.Sprint(count); now != last {
			last, lastChange = now, time.Now()
		} else if time.Since(lastChange) > time.Minute {
			t.Fatalf("shards stuck for a minute: holders %v (replica r%d dead)", count, dead)
		}
		time.Sleep(20 * time.Millisecond) // polling Redis
	}
}

// waitReplicas waits for every replica's API to answer.
func waitReplicas(t *testing.T, client *bosapi.Client, replicas []*childProcess) {
	for _, p := range replicas {
		testwait.Until(t, "bos serve "+p.name+" healthy", func() bool {
			if p.exited() {
				return true
			}
			c := bosapi.NewClient(p.url(), http.DefaultClient)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := c.Healthz(ctx)
			return err == nil
		}, p.tail)
		if p.exited() {
			t.Fatalf("bos serve %s exited:\n%s", p.name, p.tail())
		}
	}
}

// replicaProxy spreads requests over the replicas round-robin, skipping one that does
// not answer, as a Service in front of BOS's API pods would.
type replicaProxy struct {
	mu      sync.Mutex
	targets []*url.URL
	next    int
}

func (p *replicaProxy) add(u string) {
	parsed, _ := url.Parse(u)
	p.mu.Lock()
	p.targets = append(p.targets, parsed)
	p.mu.Unlock()
}

func (p *replicaProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	targets, first := p.targets, p.next
	p.next++
	p.mu.Unlock()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for i := range targets {
		target := targets[(first+i)%len(targets)]
		refused := false
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host },
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				var op *net.OpError
				if errors.As(err, &op) && op.Op == "dial" {
					refused = true // a killed replica: try the next
					return
				}
				w.WriteHeader(http.StatusBadGateway)
			},
		}
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
		if !refused {
			return
		}
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

// url is the address of the process's API (its --listen).
func (p *childProcess) url() string {
	for i, a := range p.args[:len(p.args)-1] {
		if a == "--listen" {
			return "http://" + p.args[i+1]
		}
	}
	return ""
}
