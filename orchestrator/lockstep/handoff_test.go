package lockstep_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/memnet"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
)

// TestOneInventoryReadPerSession: creating a session (its overlap check) and setting it
// up read the HSM inventory once, for v2 (Setup) and v1 (the agent) alike, and the setup
// selects from the snapshot the check read.
func TestOneInventoryReadPerSession(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1, a2)
		ctx := context.Background()
		handoff := &selection.Handoff{}
		a := w.agent(func(c *lockstep.Config) { c.Handoff = handoff })
		mn := memnet.New() // in the bubble, no real socket
		ln, err := mn.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := httptest.NewUnstartedServer(api.New(api.Config{Store: w.st, WakeV1: a.Wake,
			Nodes: &selection.Resolver{Inventory: w, Handoff: handoff}}).Handler())
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		client := bosapi.NewClient(srv.URL, mn.HTTPClient(0))
		setup := &sessions.Setup{Store: w.st, Inventory: w, Images: w, Handoff: handoff}
		// The agent reads HSM once as it starts (discovery); let that read land before counting.
		synctest.Wait()

		tmpl := bos.SessionTemplate{EnableCFS: true, CFS: &bos.CFS{Configuration: "cfg"}, BootSets: map[string]bos.BootSet{
			"a": {Path: "s3://boot-images/k/manifest.json", Type: "s3", NodeList: []string{a0, a1}}}}
		_, err = client.PutTemplate(ctx, "t2", tmpl)
		require.NoError(t, err)
		before := w.reads()
		sess, err := client.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: "t2"})
		require.NoError(t, err)
		require.NoError(t, setup.Run(ctx, sess, bos.DefaultOptions()))
		sess, err = w.st.GetSession(ctx, "", sess.Name)
		require.NoError(t, err)
		assert.Equal(t, bos.SessionRunning, sess.Status.Status)
		assert.Equal(t, a0+","+a1, sess.Components)
		assert.Equal(t, 1, w.reads()-before, "v2: one HSM read for creation and setup")

		w.template("t1", bos.V1SessionTemplate{CFS: cfsOn("cfg"), BootSets: map[string]bos.V1BootSet{"a": bootSet(a2)}})
		before = w.reads()
		created, err := client.V1CreateSession(ctx, bos.V1SessionCreate{Operation: "boot", TemplateName: "t1"})
		require.NoError(t, err)
		s := w.wait(bosapi.V1SessionID(created))
		assert.Empty(t, s.Status.FailedNodes)
		assert.Equal(t, []string{a2}, phaseOf(t, s, "a", "boot").Nodes(bos.CategorySucceeded))
		assert.Equal(t, 1, w.reads()-before, "v1: one HSM read for creation and the agent")
	})
}
