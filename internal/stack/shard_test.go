package stack

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

// One cluster in three stacks, as three processes would run it: the services with the
// first half of the BMCs, the second half alone (registering its BMCs with that HSM),
// and BOS on both. BOS warms up on every BMC of both shards and boots every node.
func TestShardedClusterWarmsUpAndBoots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		topo, err := topology.Generate(topology.DefaultOptions(8)) // 4 + 5 BMCs
		require.NoError(t, err)
		services, second := bootShards(t, topo, stacktest.FastTiming(), 0)
		ctx := t.Context()
		ext := services.URLs
		assert.Len(t, services.URLs.BMCs, 4)
		assert.Len(t, second.URLs.BMCs, 5)
		for id := range second.URLs.BMCs {
			assert.NotContains(t, services.URLs.BMCs, id, "a BMC runs in one shard")
		}
		// HSM knows where the second shard's BMCs listen, from their registration, and
		// keeps what it seeded for them instead of rediscovering them.
		eps, err := hsmapi.NewClient(ext.HSM, services.HTTPClient()).RedfishEndpoints(ctx)
		require.NoError(t, err)
		registered := 0
		for _, ep := range eps {
			if url, ok := second.URLs.BMCs[ep.ID]; ok {
				registered++
				assert.Equal(t, hostPort(url), ep.FQDN, ep.ID)
				assert.False(t, ep.RediscoverOnUpdate, ep.ID)
				assert.Equal(t, "DiscoverOK", ep.DiscoveryInfo.LastDiscoveryStatus, ep.ID)
			}
		}
		assert.Equal(t, 5, registered)
	})
}

// The second shard's nodes fetch their boot scripts from its BSS replica and report to
// CFS in batches: the first shard serves them no request per node (nor its own nodes a
// boot-script request or a CFS report), only a change per
// BSS write (BOS writes a batch of nodes at a time) and a PATCH per batch of reports.
func TestShardNodesBootWithoutARequestPerNodeToTheFirstShard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		topo, err := topology.Generate(topology.Options{Compute: 32}) // 8 + 8 BMCs, all compute
		require.NoError(t, err)
		// No simulated delays, and 50 ms for a request to the first shard's CFS (a busy
		// machine's): the nodes boot as BOS resets them, a batch at a time, and their
		// reports queue while a batch is sent.
		timing := stacktest.FastTiming()
		timing.Scale = 0
		services, second := bootShards(t, topo, timing, 50*time.Millisecond)
		shard2Nodes := len(second.Shard.Topology.Nodes)
		shard1Nodes := len(topo.Nodes) - shard2Nodes
		require.Equal(t, 16, shard2Nodes)
		served := requestCounts(t, services)
		assert.Zero(t, served["bss GET /boot/v1/bootscript"], "none: the first shard's nodes fetch theirs in-process without a request, the second's from its replica")
		assert.GreaterOrEqual(t, services.Sim.Stats().BootScripts, int64(shard1Nodes))
		assert.Zero(t, served["cfs PATCH /v3/components/{id}"], "none: the first shard's nodes report in-process without a request, the second's in batches")
		assert.Equal(t, int64(shard1Nodes), services.Sim.Stats().CFSReports)
		st2 := second.Sim.Stats()
		assert.Equal(t, int64(shard2Nodes), st2.CFSReports)
		assert.GreaterOrEqual(t, served["cfs PATCH /v3/components"], int(st2.CFSPatches), "the second shard's reports, a PATCH per batch (and BOS's own)")
		assert.Less(t, st2.CFSPatches, int64(shard2Nodes)/2, "batches, not a PATCH per node")
		require.NotNil(t, second.BSSReplica)
		assert.True(t, second.BSSReplica.Serving())
		assert.Equal(t, st2.BootScripts, second.BSSReplica.Served(), "every boot script of the second shard served by its replica")
		writes := served["bss PUT /boot/v1/bootparameters"]
		assert.Positive(t, writes)
		assert.Equal(t, writes, requestCounts(t, second)["bss-replica PUT /sim/bss/replica"], "a change per BSS write, not per node")
		assert.Equal(t, 1, served["bss POST /sim/bss/replicas"], "one registration")
	})
}

// bootShards runs topo in three stacks, as three processes would: the services with
// the first half of the BMCs, the second half alone (registering its BMCs with that
// HSM), and BOS on both, which warms up on every BMC and boots every compute node. It
// returns the two simulator stacks once the session is complete. With cfsLatency the
// second shard reaches CFS through a proxy that holds each request that long.
func bootShards(t *testing.T, topo *topology.Topology, timing simulator.Timing, cfsLatency time.Duration) (services, second *Stack) {
	mn := memnet.New()
	ctx := t.Context()
	shard := func(i int) *topology.Shard {
		s, err := topo.Shard(i, 2)
		require.NoError(t, err)
		return &s
	}
	const bosAddr = "127.0.0.1:8080"

	services, err := Start(ctx, Options{Topology: topo, Shard: shard(0), Net: mn, Sim: simConfig(&timing), InProcessCalls: true,
		CFS: stacktest.FastCFS(1), Services: []string{HSM, BSS, CFS, IMS, BMCs}, External: URLs{BOS: "http://" + bosAddr}})
	require.NoError(t, err)
	t.Cleanup(services.Close)
	ext := services.URLs
	ext.BMCs = nil
	ext2 := ext
	if cfsLatency > 0 {
		ln, err := mn.Listen("tcp", "127.0.0.1:9999")
		require.NoError(t, err)
		target, err := url.Parse(ext.CFS)
		require.NoError(t, err)
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.Transport = mn.Transport()
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(cfsLatency)
			proxy.ServeHTTP(w, r)
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		ext2.CFS = "http://127.0.0.1:9999"
	}
	second, err = Start(ctx, Options{Topology: topo, Shard: shard(1), Net: mn, Sim: simConfig(&timing), InProcessCalls: true,
		Services: []string{BMCs}, External: ext2})
	require.NoError(t, err)
	t.Cleanup(second.Close)

	b, err := Start(ctx, Options{Topology: topo, Net: mn, Services: []string{BOS}, BOSAddr: bosAddr, External: ext, Reconcile: true})
	require.NoError(t, err)
	t.Cleanup(b.Close)
	bmcs := len(topo.BMCs)
	warm, err := b.WaitWarm(ctx)
	require.NoError(t, err)
	assert.Equal(t, Warm{BMCs: bmcs, Discovered: bmcs, Subscribed: bmcs}, warm)

	_, err = cfsapi.NewClient(ext.CFS, b.HTTPClient()).PutConfiguration(ctx, DefaultConfigurationName, cfsapi.ConfigurationRequest{
		Layers: []cfsapi.Layer{{Name: "compute", CloneURL: "https://vcs.example/config.git", Playbook: "site.yml", Branch: "main"}}})
	require.NoError(t, err)
	path, err := services.ImagePath(ims.ImageCompute)
	require.NoError(t, err)
	_, err = b.BOSClient.PutTemplate(ctx, DefaultTemplateName, DefaultTemplate(path, DefaultConfigurationName))
	require.NoError(t, err)
	sess, err := b.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: DefaultTemplateName})
	require.NoError(t, err)
	var st bos.SessionExtendedStatus
	for deadline := time.Now().Add(10 * time.Minute); st.Status != bos.SessionComplete; time.Sleep(time.Second) {
		require.True(t, time.Now().Before(deadline), "session not complete: %+v", st)
		st, err = b.BOSClient.SessionStatus(ctx, sess.Name)
		require.NoError(t, err)
	}
	assert.InDelta(t, 100, st.PercentSuccessful, 0.01, "%+v", st)
	for _, n := range topo.ByRole(topology.RoleCompute) {
		sim := services.Sim
		if _, ok := second.URLs.BMCs[topology.Node{Xname: n}.BMC()]; ok {
			sim = second.Sim
		}
		node, ok := sim.Node(n)
		require.True(t, ok, n)
		assert.Equal(t, "On", node.Power, n)
		assert.True(t, node.CFSReported, n)
	}
	// The power events reached HSM, collected: each record names its BMC.
	hsmc := hsmapi.NewClient(ext.HSM, services.HTTPClient())
	for _, n := range topo.ByRole(topology.RoleCompute) {
		c, err := hsmc.GetComponent(ctx, n)
		require.NoError(t, err)
		assert.Equal(t, "On", c.State, n)
	}
	// BOS reads the same final state from the first shard's CFS.
	comps, err := cfsapi.NewClient(ext.CFS, b.HTTPClient()).GetComponents(ctx, cfsapi.ComponentQuery{})
	require.NoError(t, err)
	for _, c := range comps {
		if slices.Contains(topo.ByRole(topology.RoleCompute), c.ID) {
			assert.Equal(t, DefaultConfigurationName, c.DesiredConfig, c.ID)
		}
	}
	return services, second
}

// requestCounts are the simulators' answered requests of st by "service route" (every
// code).
func requestCounts(t *testing.T, st *Stack) map[string]int {
	t.Helper()
	mfs, err := st.SimMetrics.Registry().Gather()
	require.NoError(t, err)
	out := map[string]int{}
	for _, mf := range mfs {
		if mf.GetName() != "bos_sim_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["service"]+" "+labels["route"]] += int(m.GetCounter().GetValue())
		}
	}
	return out
}

func simConfig(timing *simulator.Timing) simulator.Config {
	return simulator.Config{Timing: timing, Seed: 1}
}
