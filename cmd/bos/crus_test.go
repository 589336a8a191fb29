package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/orchestrator/store"
)

// crusURL serves BOS and CRUS (without its controller: sessions stay as created) over an
// in-process HSM holding the groups start, up and failed and a template tmpl.
func crusURL(t *testing.T) string {
	t.Helper()
	url, _ := crusServer(t, "start", "up", "failed")
	return url
}

// crusServer is crusURL with the given groups; it returns the BOS and the HSM address.
func crusServer(t *testing.T, groups ...string) (bosURL, hsmURL string) {
	t.Helper()
	ctx := context.Background()
	topo, err := topology.Generate(topology.Options{Compute: 2})
	require.NoError(t, err)
	h, err := hsm.New(hsm.Config{Topology: topo})
	require.NoError(t, err)
	hs := httptest.NewServer(h.Handler())
	t.Cleanup(hs.Close)
	st, err := store.Open(ctx, store.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	bosAPI := api.New(api.Config{Store: st})
	hc := hsmapi.NewClient(hs.URL, nil)
	for _, l := range groups {
		require.NoError(t, hc.CreateGroup(ctx, hsmapi.Group{Label: l}))
	}
	srv := httptest.NewUnstartedServer(nil)
	c, err := crus.New(crus.Config{Store: st, HSM: hc, BOS: bosapi.NewClient("http://"+srv.Listener.Addr().String(), nil),
		WLM: slurmapi.NewClient("http://127.0.0.1:1", nil)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/", bosAPI.Handler())
	mux.Handle(crus.PathPrefix+"/", c.Handler())
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	_, err = bosapi.NewClient(srv.URL, nil).PutTemplate(ctx, "tmpl", bos.SessionTemplate{BootSets: map[string]bos.BootSet{
		"compute": {Path: "s3://boot-images/x/manifest.json", Type: "s3", NodeGroups: []string{"up"}}}})
	require.NoError(t, err)
	return srv.URL, hs.URL
}

// TestCRUSGroupsFromTheCLI is the documented CRUS example in small: CRUS refuses groups
// that do not exist (as CRUS does), and bos hsm groups create makes them.
func TestCRUSGroupsFromTheCLI(t *testing.T) {
	url, hsmURL := crusServer(t, "start")
	create := func() cliResult {
		return bosCmd(t, "", "crus", "create", "--starting-label", "start", "--upgrading-label", "crus-upgrading",
			"--failed-label", "crus-failed", "--upgrade-step-size", "1", "--upgrade-template-id", "tmpl", "--url", url)
	}
	r := create()
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "HSM group 'crus-upgrading' does not exist.")
	assert.Contains(t, r.fail.Error(), "HSM group 'crus-failed' does not exist.")
	for _, label := range []string{"crus-upgrading", "crus-failed"} {
		r = bosCmd(t, "", "hsm", "groups", "create", label, "--hsm-url", hsmURL)
		require.NoError(t, r.fail, r.err)
	}
	r = create()
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "UPDATING")
}

func TestCRUSCommands(t *testing.T) {
	url := crusURL(t)
	run := func(args ...string) cliResult {
		return bosCmd(t, "", append(append([]string{"crus"}, args...), "--url", url)...)
	}
	r := run("create", "--starting-label", "start")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "missing --upgrading-label, --failed-label, --upgrade-step-size, --upgrade-template-id")

	r = run("create", "--starting-label", "start", "--upgrading-label", "up", "--failed-label", "failed",
		"--upgrade-step-size", "0", "--upgrade-template-id", "tmpl")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "upgrade_step_size: Must be greater than or equal to 1.")

	r = run("create", "--starting-label", "start", "--upgrading-label", "up", "--failed-label", "failed",
		"--upgrade-step-size", "5", "--upgrade-template-id", "tmpl", "--format", "json")
	require.NoError(t, r.fail, r.err)
	var s crus.Session
	require.NoError(t, json.Unmarshal([]byte(r.out), &s))
	assert.Equal(t, crus.StateUpdating, s.State)
	assert.Equal(t, 5, s.UpgradeStepSize)

	r = run("list")
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "UPGRADE ID")
	assert.Contains(t, r.out, s.UpgradeID+"  UPDATING")

	r = run("describe", s.UpgradeID)
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, "upgrade_template_id    tmpl")
	assert.Contains(t, r.out, "messages (0):")

	r = run("delete", s.UpgradeID)
	require.NoError(t, r.fail, r.err)
	assert.Equal(t, "crus session "+s.UpgradeID+" is DELETING\n", r.err)

	r = run("describe", "nope")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "Requested resource does not exist")
}
