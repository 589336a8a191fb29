package crus

import (
	"context"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/slurmsim"
)

// Every action is idempotent against the real HSM and Slurm simulators: performing a
// list twice leaves the world as performing it once.
func TestActionsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	topo, err := topology.Generate(topology.Options{Compute: 4})
	require.NoError(t, err)
	h, err := hsm.New(hsm.Config{Topology: topo})
	require.NoError(t, err)
	hs := httptest.NewServer(h.Handler())
	defer hs.Close()
	clock := t0
	sl, err := slurmsim.New(slurmsim.Config{Nodes: slurmsim.NodesFromTopology(topo), Now: func() time.Time { return clock }})
	require.NoError(t, err)
	ss := httptest.NewServer(sl.Handler())
	defer ss.Close()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(t, err)
	defer st.Close()
	hc := hsmapi.NewClient(hs.URL, nil)
	s, err := New(Config{Store: st, HSM: hc, BOS: bosapi.NewClient("http://127.0.0.1:1", nil), WLM: slurmapi.NewClient(ss.URL, nil)})
	require.NoError(t, err)

	ids := topo.ByRole(topology.RoleCompute)
	a, b, c := ids[0], ids[1], ids[2]
	require.NoError(t, hc.CreateGroup(ctx, hsmapi.Group{Label: "g", Members: hsmapi.Members{IDs: []string{ids[3]}}}))
	rec := &Record{Progress: Progress{WLMNames: map[string]string{}}}
	for _, n := range topo.Nodes {
		rec.Progress.WLMNames[n.Xname] = n.Name
	}
	actions := []Action{
		{Kind: ActSetGroup, Label: "g", Nodes: []string{a, b}}, // removes the old member
		{Kind: ActAddToGroup, Label: "g", Nodes: []string{b, c}},
		{Kind: ActDrain, Nodes: []string{a, b}, Reason: DrainReason},
		{Kind: ActResume, Nodes: []string{b, c}}, // c is not drained: Slurm refuses it alone
		{Kind: ActFail, Nodes: []string{c}, Reason: ReasonBootFailed},
		{Kind: ActRedrain, Nodes: []string{c}, Reason: "bad dimm", ClearDown: true},
	}
	check := func(round int) {
		g, err := hc.Group(ctx, "g")
		require.NoError(t, err)
		members := g.Members.IDs
		sort.Strings(members)
		assert.Equal(t, []string{a, b, c}, members, "round %d", round)
		want := map[string]string{a: "IDLE+DRAIN " + DrainReason, b: "IDLE ", c: "IDLE+DRAIN bad dimm"}
		for id, w := range want {
			n, err := sl.Node(rec.Progress.WLMNames[id])
			require.NoError(t, err)
			assert.Equal(t, w, n.State.String()+" "+n.Reason, "round %d: %s", round, id)
		}
	}
	for round := 1; round <= 2; round++ {
		require.NoError(t, s.perform(ctx, rec, actions))
		check(round)
	}

	require.NoError(t, s.perform(ctx, rec, []Action{{Kind: ActSetGroup, Label: "g"}}))
	g, err := hc.Group(ctx, "g")
	require.NoError(t, err)
	assert.Empty(t, g.Members.IDs)

	err = s.perform(ctx, rec, []Action{{Kind: ActSetGroup, Label: "nope"}})
	assert.ErrorContains(t, err, "set_group: failed to obtain Node Group named 'nope'")
	err = s.perform(ctx, rec, []Action{{Kind: "bogus"}})
	assert.ErrorContains(t, err, `unknown action "bogus"`)
}
