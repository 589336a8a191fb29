package webui_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/webui"
)

// TestBrowserShowsARollout: a rollout paused by its failed canary, in a real browser at
// #rolling: the rollouts panel shows its state, the pause reason and its counts; its
// canaries are outlined on the map, other nodes not; clicking the failed canary shows the
// reason Slurm keeps it drained with; once the rollout completes the outlines go, with no
// reload.
func TestBrowserShowsARollout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*testwait.Backstop)
	defer cancel()
	st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	srv := httptest.NewServer(webui.New(webui.Config{Store: st}).Handler())
	t.Cleanup(srv.Close) // after the browser's (a cleanup of openPage), so no stream is open

	ids := []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0", "x1000c0s1b0n1"}
	comps := make([]bos.Component, len(ids))
	for i, id := range ids {
		comps[i] = bos.Component{ID: id, Enabled: true}
	}
	_, err = st.PutComponents(ctx, comps)
	require.NoError(t, err)
	const why = "a canary node failed: x1000c0s0b0n0 (BOS reported failed)"
	r := bos.Rollout{Name: "r1", TemplateName: "compute", State: bos.RolloutPaused, Reason: why,
		Policy:         bos.RolloutPolicy{Canary: 2, MaxUnavailable: bos.Amount{N: 2}, FailureBudget: bos.Amount{N: 1}},
		MaxUnavailable: 2, FailureBudget: 1, Waves: 1, Updated: time.Now().UTC(),
		Nodes: []bos.RolloutNode{
			{Xname: ids[0], Name: "nid000001", Phase: bos.NodeFailed, Canary: true, Wave: 1, Reason: "BOS reported failed"},
			{Xname: ids[1], Name: "nid000002", Phase: bos.NodeHealthy, Canary: true, Wave: 1},
			{Xname: ids[2], Name: "nid000003", Phase: bos.NodeWaiting},
			{Xname: ids[3], Name: "nid000004", Phase: bos.NodeWaiting},
		}}
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, st.CreateRollout(ctx, store.RolloutID("", "r1"), raw))

	const panel = `document.querySelector('[data-rollout="r1"]')`
	p := openPage(t, ctx, browser, srv.URL+webui.Path+"#rolling", func(p *page) string {
		return "panel: " + p.peek(panel+`?.textContent`) + "\ndetail: " + p.peek(`document.getElementById("detail").textContent`)
	})
	p.wait("the rollout's canaries outlined", `bosView.ready() && bosView.canary("x1000c0s0b0n0")`)
	p.wait("the pause reason in the panel", panel+`?.querySelector('[data-role="rollout-reason"]')?.textContent === "`+why+`"`)
	assert.Equal(t, "paused", p.eval(panel+`.querySelector('[data-role="rollout-state"]').textContent`))
	assert.Equal(t, "waiting 2", p.eval(panel+`.querySelector('[data-phase="waiting"]').textContent`))
	assert.Equal(t, "failed 1", p.eval(panel+`.querySelector('[data-phase="failed"]').textContent`))
	assert.Contains(t, p.eval(panel+`.textContent`), "wave 1")
	assert.Contains(t, p.eval(panel+`.textContent`), "x1000c0s0b0n0 (nid000001): BOS reported failed")

	const canary, notInRollout = "rgb(231,41,138)", "rgb(220,220,220)" // the outline; a node in no rolling upgrade
	p.wait("the outlines drawn", `bosView.drawnColor("x1000c0s0b0n1", 1, 4) === "`+canary+`"`)
	assert.Equal(t, canary, p.eval(`bosView.drawnColor("x1000c0s0b0n0", 1, 4)`))
	assert.Equal(t, notInRollout, p.eval(`bosView.drawnColor("x1000c0s1b0n0", 1, 4)`), "not a canary: no outline")
	assert.Equal(t, notInRollout, p.eval(`bosView.drawnColor("x1000c0s0b0n0")`), "the outline leaves the state's colour inside")

	p.click("x1000c0s0b0n0")
	p.wait("the failed canary's drain reason", `document.querySelector('#detail [data-role="rollout-drain"]')?.textContent === "BOS rollout r1: BOS reported failed"`)
	assert.Equal(t, "failed", p.eval(`document.querySelector('#detail [data-role="rollout-phase"]').textContent`))

	_, err = st.UpdateRollout(ctx, store.RolloutID("", "r1"), func(raw []byte) ([]byte, error) {
		r.State, r.Reason = bos.RolloutComplete, "1 of 4 nodes failed"
		return json.Marshal(r)
	})
	require.NoError(t, err)
	p.wait("the outlines gone once the rollout is final", `!bosView.canary("x1000c0s0b0n1") && bosView.drawnColor("x1000c0s0b0n1", 1, 4) === "`+notInRollout+`"`)
	p.noErrors()
}
