package reconciler

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/store"
)

// leadFor is a replica that leads until end (by time.Now) and owns every node then.
type leadFor struct{ end time.Time }

func (l leadFor) LeaderUntil() time.Time {
	if time.Now().Before(l.end) {
		return l.end
	}
	return time.Time{}
}
func (l leadFor) Until(string) time.Time { return l.LeaderUntil() }
func (l leadFor) Owns(id string) bool    { return !l.Until(id).IsZero() }
func (leadFor) Fence() *store.Fence {
	return &store.Fence{Holder: "r", Lease: func(string) string { return "shard" }}
}

// hungInventory is an HSM that answers the node list only when the caller gives up.
type hungInventory struct{ fixedInventory }

func (hungInventory) Nodes(ctx context.Context) ([]selection.Node, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// The session loop is the leader's: a replica that does not lead sets nothing up, and a
// leader whose lease runs out in the middle of a setup (HSM slow to answer) stops it at
// that moment, by its own clock, leaving the session pending for the next leader.
func TestSessionPassStopsWithTheLead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const node = "x3000c0s1b0n0"
		ctx := t.Context()
		st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		_, err = st.AddComponents(ctx, []bos.Component{bos.NewComponent(node, time.Now())})
		require.NoError(t, err)
		require.NoError(t, st.PutTemplate(ctx, bos.SessionTemplate{Name: "t", BootSets: map[string]bos.BootSet{"c": {NodeList: []string{node}}}}))
		require.NoError(t, st.CreateSession(ctx, bos.Session{Name: "s", Operation: bos.OpBoot, TemplateName: "t",
			Status: bos.SessionStatus{Status: bos.SessionPending, StartTime: time.Now()}}))
		pendingAfter := func(r *Reconciler) {
			t.Helper()
			defer r.queue.ShutDown()
			r.sessionPass(ctx)
			sess, err := st.GetSession(ctx, "", "s")
			require.NoError(t, err)
			assert.Equal(t, bos.SessionPending, sess.Status.Status)
			c, err := st.GetComponent(ctx, node)
			require.NoError(t, err)
			assert.Empty(t, c.Session)
		}

		pendingAfter(New(Config{Store: st, Inventory: fixedInventory{node}, Ownership: leadFor{}}))

		start := time.Now()
		end := start.Add(2*time.Second + 300*time.Millisecond)
		pendingAfter(New(Config{Store: st, Inventory: hungInventory{}, Ownership: leadFor{end: end}}))
		assert.Equal(t, end, time.Now(), "the setup stopped when the lead ended")
	})
}
