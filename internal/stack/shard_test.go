package stack

import (
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
		mn := memnet.New()
		timing := stacktest.FastTiming()
		ctx := t.Context()
		shard := func(i int) *topology.Shard {
			s, err := topo.Shard(i, 2)
			require.NoError(t, err)
			return &s
		}
		const bosAddr = "127.0.0.1:8080"

		services, err := Start(ctx, Options{Topology: topo, Shard: shard(0), Net: mn, Sim: simConfig(&timing),
			CFS: stacktest.FastCFS(1), Services: []string{HSM, BSS, CFS, IMS, BMCs}, External: URLs{BOS: "http://" + bosAddr}})
		require.NoError(t, err)
		defer services.Close()
		ext := services.URLs
		ext.BMCs = nil
		second, err := Start(ctx, Options{Topology: topo, Shard: shard(1), Net: mn, Sim: simConfig(&timing),
			Services: []string{BMCs}, External: ext})
		require.NoError(t, err)
		defer second.Close()
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

		b, err := Start(ctx, Options{Topology: topo, Net: mn, Services: []string{BOS}, BOSAddr: bosAddr, External: ext, Reconcile: true})
		require.NoError(t, err)
		defer b.Close()
		warm, err := b.WaitWarm(ctx)
		require.NoError(t, err)
		assert.Equal(t, Warm{BMCs: 9, Discovered: 9, Subscribed: 9}, warm)

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
		}
		// The power events reached HSM, collected: each record names its BMC.
		hsmc := hsmapi.NewClient(ext.HSM, services.HTTPClient())
		for _, n := range topo.ByRole(topology.RoleCompute) {
			c, err := hsmc.GetComponent(ctx, n)
			require.NoError(t, err)
			assert.Equal(t, "On", c.State, n)
		}
	})
}

func simConfig(timing *simulator.Timing) simulator.Config {
	return simulator.Config{Timing: timing, Seed: 1}
}
