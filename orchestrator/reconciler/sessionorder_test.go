package reconciler

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/store"
)

// fixedInventory is an HSM of enabled X86 nodes, with no groups, partitions or locks.
type fixedInventory []string

func (f fixedInventory) Nodes(context.Context) ([]selection.Node, error) {
	out := make([]selection.Node, len(f))
	for i, id := range f {
		out[i] = selection.Node{ID: id, Role: "Compute", Arch: bos.ArchX86, Enabled: true}
	}
	return out, nil
}
func (fixedInventory) Groups(context.Context) (map[string][]string, error)     { return nil, nil }
func (fixedInventory) Partitions(context.Context) (map[string][]string, error) { return nil, nil }
func (fixedInventory) LockedNodes(context.Context) ([]string, error)           { return nil, nil }

// Two pending sessions share a node; the older one's name sorts after the newer one's,
// so the store lists the newer first. One session pass sets both up, and the shared node
// ends with the newer session, as its took_over says. Before, the pass set them up in
// name order and the older session's setup took the node back.
func TestSessionPassSetsUpInCreationOrder(t *testing.T) {
	const shared, own = "x3000c0s1b0n0", "x3000c0s2b0n0"
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	_, err = st.AddComponents(ctx, []bos.Component{bos.NewComponent(shared, t0), bos.NewComponent(own, t0)})
	require.NoError(t, err)
	require.NoError(t, st.PutTemplate(ctx, bos.SessionTemplate{Name: "t",
		BootSets: map[string]bos.BootSet{"c": {NodeList: []string{shared, own}}}}))
	pending := bos.SessionStatus{Status: bos.SessionPending, StartTime: t0} // same clock: the epoch orders them
	for _, sess := range []bos.Session{
		{Name: "zz-older", Operation: bos.OpShutdown, TemplateName: "t", Status: pending},
		{Name: "aa-newer", Operation: bos.OpShutdown, TemplateName: "t", Limit: shared, Status: pending},
	} {
		require.NoError(t, st.CreateSession(ctx, sess))
	}

	r := New(Config{Store: st, Inventory: fixedInventory{shared, own}, Now: func() time.Time { return t0 }})
	r.sessionPass(ctx)

	for id, want := range map[string]string{shared: "aa-newer", own: "zz-older"} {
		c, err := st.GetComponent(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, c.Session, id)
	}
	for _, name := range []string{"aa-newer", "zz-older"} {
		sess, err := st.GetSession(ctx, "", name)
		require.NoError(t, err)
		assert.Equal(t, bos.SessionRunning, sess.Status.Status, name)
		stats, err := st.SessionStats(ctx, name, nil)
		require.NoError(t, err)
		assert.Equal(t, 1, stats.Members, "%s counts only its own node", name)
	}
}
