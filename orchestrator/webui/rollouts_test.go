package webui

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func node(x, phase string, canary bool, wave int, reason string) orchestrator.RolloutNode {
	return orchestrator.RolloutNode{Xname: x, Name: "nid" + x[len(x)-1:], Phase: phase, Canary: canary, Wave: wave, Reason: reason}
}

// pausedRollout is a rollout its failed canary paused, in wave 1.
func pausedRollout() orchestrator.Rollout {
	return orchestrator.Rollout{Name: "r1", TemplateName: "compute", State: orchestrator.RolloutPaused,
		Reason: "a canary node failed: x1000c0s0b0n0 (BOS reported failed)",
		Policy: orchestrator.RolloutPolicy{Canary: 2, MaxUnavailable: orchestrator.Amount{N: 10, Percent: true},
			FailureBudget: orchestrator.Amount{N: 1}, HealthCheck: &orchestrator.HealthCheck{URL: "http://user:secret@h/{xname}"}},
		MaxUnavailable: 1, FailureBudget: 1, Waves: 1, Updated: t0,
		Nodes: []orchestrator.RolloutNode{
			node("x1000c0s0b0n0", orchestrator.NodeFailed, true, 1, "BOS reported failed"),
			node("x1000c0s0b0n1", orchestrator.NodeHealthy, true, 1, ""),
			node("x1000c0s1b0n0", orchestrator.NodeWaiting, false, 0, ""),
			node("x1000c0s1b0n1", orchestrator.NodeWaiting, false, 0, ""),
		}}
}

func TestRolloutRowOf(t *testing.T) {
	paused := pausedRollout()
	canaryOut := pausedRollout()
	canaryOut.State, canaryOut.Reason = orchestrator.RolloutRunning, ""
	canaryOut.Nodes[0].Phase = orchestrator.NodeOut
	staging := orchestrator.Rollout{Name: "s", State: orchestrator.RolloutStaging, Policy: orchestrator.RolloutPolicy{Canary: 1}}
	waves := pausedRollout()
	waves.State, waves.Waves = orchestrator.RolloutRunning, 2
	waves.Nodes[2].Phase, waves.Nodes[2].Wave = orchestrator.NodeHanded, 2
	named := orchestrator.Rollout{Name: "n", State: orchestrator.RolloutRunning,
		Policy: orchestrator.RolloutPolicy{CanaryNodes: []string{"a", "b", "c"}}}
	done := pausedRollout()
	done.State = orchestrator.RolloutComplete
	noCanary := orchestrator.Rollout{Name: "c", State: orchestrator.RolloutRunning, Waves: 3}

	for _, tc := range []struct {
		name      string
		r         orchestrator.Rollout
		step      string
		canary    int
		canaries  []string
		canDone   int
		failed    int
		waitingOK int
	}{
		{"paused after its failed canary", paused, "waves", 2, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, 2, 1, 2},
		{"a canary still out", canaryOut, "canary", 2, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, 1, 0, 2},
		{"staging with a canary asked", staging, "canary", 1, []string{}, 0, 0, 0},
		{"second wave", waves, "waves", 2, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, 2, 1, 1},
		{"canary nodes named", named, "canary", 3, []string{}, 0, 0, 0},
		{"final: no step, no outlines", done, "", 2, []string{}, 2, 1, 2},
		{"no canary", noCanary, "waves", 0, []string{}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := rolloutRowOf(tc.r)
			assert.Equal(t, tc.step, row.Step)
			assert.Equal(t, tc.canary, row.Canary)
			assert.Equal(t, tc.canaries, row.Canaries)
			assert.Equal(t, tc.canDone, row.Counts.CanaryDone)
			assert.Len(t, row.Failed, tc.failed)
			assert.Equal(t, tc.waitingOK, row.Counts.Waiting)
			assert.Equal(t, len(tc.r.Nodes), row.Counts.Total)
		})
	}
	row := rolloutRowOf(paused)
	assert.Equal(t, []rolloutFailed{{Xname: "x1000c0s0b0n0", Name: "nid0", Reason: "BOS reported failed"}}, row.Failed)
	assert.Equal(t, "10%", row.MaxUnavailable)
	assert.Equal(t, 1, row.MaxOut)
	assert.Equal(t, "1", row.FailureBudget)
	assert.Equal(t, 1, row.Wave)
}

// putRollout stores r as the rollout controller does: the record with its version.
func putRollout(t *testing.T, st *store.Store, r orchestrator.Rollout) {
	t.Helper()
	raw, err := json.Marshal(struct {
		orchestrator.Rollout
		Version int64 `json:"version"`
	}{r, 7})
	require.NoError(t, err)
	require.NoError(t, st.CreateRollout(t.Context(), store.RolloutID(r.Tenant, r.Name), raw))
}

// TestRollouts: unfinished rollouts first, each with its state, reason, policy, counts
// and step; a tenant sees only its own; a record that does not decode is skipped; the
// health check (its URL may carry a secret) is never sent.
func TestRollouts(t *testing.T) {
	blue := tenant.New("blue", []string{"x1000c0s0b0n0"})
	v, st := newView(t, Config{Tenants: tenant.NewMemory(blue)})
	putRollout(t, st, pausedRollout())
	old := orchestrator.Rollout{Name: "r0", State: orchestrator.RolloutComplete, Updated: t0.Add(time.Hour), Nodes: []orchestrator.RolloutNode{}}
	putRollout(t, st, old)
	mine := orchestrator.Rollout{Name: "b1", Tenant: "blue", State: orchestrator.RolloutRunning, Updated: t0.Add(-time.Hour), Nodes: []orchestrator.RolloutNode{}}
	putRollout(t, st, mine)
	require.NoError(t, st.CreateRollout(t.Context(), store.RolloutID("", "bad"), []byte(`{"name": 3}`)))

	rec := get(t, v, Path+"api/rollouts")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), "secret")
	var rows []rolloutRow
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rows))
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"r1", "b1", "r0"}, []string{rows[0].Name, rows[1].Name, rows[2].Name})
	r := rows[0]
	assert.Equal(t, orchestrator.RolloutPaused, r.State)
	assert.Equal(t, "a canary node failed: x1000c0s0b0n0 (BOS reported failed)", r.Reason)
	assert.Equal(t, 2, r.Canary)
	assert.Equal(t, "waves", r.Step)
	assert.Equal(t, orchestrator.RolloutCounts{Total: 4, Waiting: 2, Healthy: 1, Failed: 1}, r.Counts.RolloutCounts)

	rec = get(t, v, Path+"api/rollouts", "Cray-Tenant-Name", "blue")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, "b1", rows[0].Name)

	assert.Equal(t, http.StatusBadRequest, get(t, v, Path+"api/rollouts", "Cray-Tenant-Name", "red").Code)
}

// TestDetailShowsRollout: a node's detail names its rollout, phase, wave and whether it is
// a canary; a failed node's gives the reason Slurm keeps it drained with.
func TestDetailShowsRollout(t *testing.T) {
	v, st := newView(t, Config{})
	comps := nodes(4)
	comps = append(comps, orchestrator.Component{ID: "x1000c0s9b0n0", Enabled: true})
	_, err := st.PutComponents(t.Context(), comps)
	require.NoError(t, err)
	putRollout(t, st, pausedRollout())

	detail := func(id string) componentDetail {
		rec := get(t, v, Path+"api/components/"+id)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var d componentDetail
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
		return d
	}
	assert.Equal(t, &rolloutNodeDetail{Rollout: "r1", State: orchestrator.RolloutPaused, Phase: orchestrator.NodeFailed,
		Canary: true, Wave: 1, Reason: "BOS reported failed", DrainReason: "BOS rollout r1: BOS reported failed"},
		detail("x1000c0s0b0n0").Rollout)
	assert.Equal(t, &rolloutNodeDetail{Rollout: "r1", State: orchestrator.RolloutPaused, Phase: orchestrator.NodeWaiting},
		detail("x1000c0s1b0n0").Rollout)
	assert.Nil(t, detail("x1000c0s9b0n0").Rollout)
}
