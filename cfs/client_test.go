package cfs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// TestClientContract runs every Client method against the real handler, following a BOS
// boot: configuration, power-on PATCH, the node re-enabling itself, the batcher, status.
func TestClientContract(t *testing.T) {
	nodes := nodeIDs(7)
	s := mustServer(t, Config{Components: nodes, PageSize: 3})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := cfsapi.NewClient(srv.URL, srv.Client())
	ctx := context.Background()

	cfg, err := c.PutConfiguration(ctx, "cos", cfsapi.ConfigurationRequest{Layers: []cfsapi.Layer{
		{Name: "csm", CloneURL: repoA, Branch: "main"}, {Name: "cos", CloneURL: repoB, Playbook: "cos.yml", Commit: commit2}}})
	require.NoError(t, err)
	assert.Equal(t, commitFor(repoA, "main"), cfg.Layers[0].Commit)
	assert.Equal(t, "site.yml", cfg.Layers[0].Playbook)
	got, err := c.GetConfiguration(ctx, "cos")
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	_, err = c.GetConfiguration(ctx, "nope")
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))
	_, err = c.PutConfiguration(ctx, "bad", cfsapi.ConfigurationRequest{Layers: []cfsapi.Layer{{Commit: commitC}}})
	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))
	_, err = c.PutConfiguration(ctx, "empty", cfsapi.ConfigurationRequest{})
	require.NoError(t, err)
	all, err := c.GetConfigurations(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 2)

	// GetComponents pages through (page size 3) and filters.
	comps, err := c.GetComponents(ctx, cfsapi.ComponentQuery{})
	require.NoError(t, err)
	assert.Equal(t, sortedCopy(nodes), ids(comps))
	comps, err = c.GetComponents(ctx, cfsapi.ComponentQuery{IDs: nodes[:4], Limit: 1, StateDetails: true})
	require.NoError(t, err)
	assert.Equal(t, sortedCopy(nodes[:4]), ids(comps))
	assert.NotNil(t, comps[0].State)
	_, err = c.GetComponents(ctx, cfsapi.ComponentQuery{Status: []string{"bogus"}})
	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))

	// BOS power-on: filter-form PATCH.
	patched, err := c.PatchComponents(ctx, cfsapi.ComponentPatch{Enabled: cfsapi.Ptr(false), DesiredConfig: cfsapi.Ptr("cos"),
		Tags: map[string]string{"bos_session": "s1"}, State: &[]cfsapi.StateLayer{}}, cfsapi.Filter{IDs: nodes[:5]})
	require.NoError(t, err)
	assert.Equal(t, sortedCopy(nodes[:5]), patched)
	pending, err := c.GetComponents(ctx, cfsapi.ComponentQuery{Status: []string{cfsapi.StatusPending}, Enabled: cfsapi.Ptr(false),
		ConfigName: "cos", Tags: map[string]string{"bos_session": "s1"}})
	require.NoError(t, err)
	assert.Len(t, pending, 5)

	// Nodes boot: the array form re-enables them (all or nothing).
	_, err = c.PatchComponentsList(ctx, []cfsapi.ComponentPatch{{ID: nodes[0], Enabled: cfsapi.Ptr(true)}, {ID: "ghost", Enabled: cfsapi.Ptr(true)}})
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))
	list := make([]cfsapi.ComponentPatch, 0, 5)
	for _, id := range nodes[:5] {
		list = append(list, cfsapi.ComponentPatch{ID: id, Enabled: cfsapi.Ptr(true), State: &[]cfsapi.StateLayer{}})
	}
	patched, err = c.PatchComponentsList(ctx, list)
	require.NoError(t, err)
	assert.Equal(t, nodes[:5], patched)
	var done []cfsapi.Component
	testwait.Until(t, "5 components configured", func() bool {
		var err error
		done, err = c.GetComponents(ctx, cfsapi.ComponentQuery{Status: []string{cfsapi.StatusConfigured}})
		return err == nil && len(done) == 5
	}, func() string { return fmt.Sprintf("configured: %v", ids(done)) })

	one, err := c.GetComponent(ctx, nodes[0])
	require.NoError(t, err)
	assert.Equal(t, cfsapi.StatusConfigured, one.ConfigurationStatus)
	assert.Len(t, one.State, 2)
	_, err = c.GetComponent(ctx, "ghost")
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))

	one, err = c.PatchComponent(ctx, nodes[0], cfsapi.ComponentPatch{Tags: map[string]string{"bos_session": ""}, RetryPolicy: cfsapi.Ptr(5)})
	require.NoError(t, err)
	assert.Empty(t, one.Tags)
	assert.Equal(t, cfsapi.Ptr(5), one.RetryPolicy)
	_, err = c.PatchComponent(ctx, "ghost", cfsapi.ComponentPatch{Enabled: cfsapi.Ptr(true)})
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))

	put, err := c.PutComponents(ctx, []cfsapi.ComponentPatch{{ID: "new1", Enabled: cfsapi.Ptr(true)}, {ID: "new0"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"new1", "new0"}, put)
	_, err = c.PutComponents(ctx, []cfsapi.ComponentPatch{{Enabled: cfsapi.Ptr(true)}})
	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))

	require.NoError(t, c.DeleteComponent(ctx, "new1"))
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(c.DeleteComponent(ctx, "new1")))

	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(c.DeleteConfiguration(ctx, "cos")), "in use")
	require.NoError(t, c.DeleteConfiguration(ctx, "empty"))
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(c.DeleteConfiguration(ctx, "empty")))
}
