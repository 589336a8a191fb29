package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/rollout"
	"github.com/cray-bos/bos/orchestrator/store"
)

// rolloutURL serves BOS with rollouts (without their controller: rollouts stay as
// created or commanded) and a template tmpl.
func rolloutURL(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	b, h, s := rollout.HTTPServices("http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1", nil)
	r, err := rollout.New(rollout.Config{Store: st, BOS: b, HSM: h, Slurm: s})
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Config{Store: st, Rollouts: r}).Handler())
	t.Cleanup(srv.Close)
	_, err = bosapi.NewClient(srv.URL, nil).PutTemplate(ctx, "tmpl", bos.SessionTemplate{BootSets: map[string]bos.BootSet{
		"compute": {Path: "s3://boot-images/x/manifest.json", Type: "s3", NodeGroups: []string{"compute"}}}})
	require.NoError(t, err)
	return srv.URL
}

func TestRolloutCommands(t *testing.T) {
	url := rolloutURL(t)
	run := func(args ...string) cliResult {
		return bosCmd(t, "", append(append([]string{"rollout"}, args...), "--url", url)...)
	}
	r := run("create", "up", "--template-name", "tmpl")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "missing --template-name or --max-unavailable")
	r = run("create", "up", "--template-name", "tmpl", "--max-unavailable", "ten")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), `--max-unavailable: "ten": want a node count or a percentage`)
	r = run("create", "up", "--template-name", "tmpl", "--max-unavailable", "0")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "policy.max_unavailable: must be at least 1 (got 0)")

	r = run("create", "up", "--template-name", "tmpl", "--max-unavailable", "10%", "--canary", "2", "--failure-budget", "3",
		"--health-command", "ssh {name} true", "--health-timeout", "5s", "--steer-jobs", "--format", "json")
	require.NoError(t, r.fail, r.err)
	var got bos.Rollout
	require.NoError(t, json.Unmarshal([]byte(r.out), &got))
	assert.Equal(t, bos.RolloutStaging, got.State)
	assert.Equal(t, bos.RolloutPolicy{Canary: 2, MaxUnavailable: bos.Amount{N: 10, Percent: true}, FailureBudget: bos.Amount{N: 3},
		HealthCheck: &bos.HealthCheck{Command: []string{"ssh", "{name}", "true"}, TimeoutSeconds: 5}, SteerJobs: new(true)}, got.Policy)

	r = run("list")
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "NAME  STATE    TEMPLATE")
	assert.Contains(t, r.out, "up    staging  tmpl")

	r = run("pause", "up")
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "paused by request")
	r = run("pause", "up")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "rollout 'up' is paused: cannot pause it")
	r = run("resume", "up")
	require.NoError(t, r.fail, r.err)
	r = run("abort", "up")
	require.NoError(t, r.fail, r.err)
	r = run("describe", "up")
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "aborting")
	assert.Contains(t, r.out, "canary 2, max unavailable 10% (0 nodes), failure budget 3 (0 nodes), steering jobs")

	r = run("describe", "nope")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "Rollout 'nope' does not exist")

	// steer_jobs: on unless --steer-jobs=false.
	r = run("create", "dflt", "--template-name", "tmpl", "--max-unavailable", "1", "--format", "json")
	require.NoError(t, r.fail, r.err)
	require.NoError(t, json.Unmarshal([]byte(r.out), &got))
	assert.Equal(t, new(true), got.Policy.SteerJobs)
	r = run("create", "off", "--template-name", "tmpl", "--max-unavailable", "1", "--steer-jobs=false", "--format", "json")
	require.NoError(t, r.fail, r.err)
	require.NoError(t, json.Unmarshal([]byte(r.out), &got))
	assert.Equal(t, new(false), got.Policy.SteerJobs)
	r = run("describe", "off")
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "failure budget 1 (0 nodes)\n")
	assert.NotContains(t, r.out, "steering")
}
