package cfs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
)

func TestPutConfiguration(t *testing.T) {
	const src = "csm-src"
	for _, tc := range []struct {
		name, query, body string
		status            int
		title             string
		check             func(t *testing.T, c cfsapi.Configuration)
	}{
		{name: "OK", body: `{"description":"d","layers":[{"name":"l1","clone_url":"` + repoA + `","commit":"` + commit1 + `",` +
			`"special_parameters":{"ims_require_dkms":true}}]}`, status: 200,
			check: func(t *testing.T, c cfsapi.Configuration) {
				assert.Equal(t, cfsapi.Configuration{Name: "cfg", Description: "d", LastUpdated: "2026-03-01T12:00:00Z",
					Layers: []cfsapi.Layer{{Name: "l1", CloneURL: repoA, Playbook: "site.yml", Commit: commit1,
						SpecialParameters: map[string]any{"ims_require_dkms": true}}}}, c)
			}},
		{name: "BranchResolvedStably", body: `{"layers":[{"clone_url":"` + repoA + `","branch":"main"},{"clone_url":"` + repoB + `","branch":"main"}]}`, status: 200,
			check: func(t *testing.T, c cfsapi.Configuration) {
				assert.Equal(t, "main", c.Layers[0].Branch)
				assert.Regexp(t, `^[0-9a-f]{40}$`, c.Layers[0].Commit)
				assert.Equal(t, commitFor(repoA, "main"), c.Layers[0].Commit)
				assert.NotEqual(t, c.Layers[0].Commit, c.Layers[1].Commit, "different repos, different commits")
			}},
		{name: "DropBranches", query: "?drop_branches=true", body: `{"layers":[{"clone_url":"` + repoA + `","branch":"main"}],` +
			`"additional_inventory":{"clone_url":"` + repoB + `","branch":"inv"}}`, status: 200,
			check: func(t *testing.T, c cfsapi.Configuration) {
				assert.Empty(t, c.Layers[0].Branch)
				assert.Equal(t, commitFor(repoA, "main"), c.Layers[0].Commit)
				assert.Equal(t, &cfsapi.AdditionalInventory{CloneURL: repoB, Commit: commitFor(repoB, "inv")}, c.AdditionalInventory)
			}},
		{name: "SourceLayer", body: `{"layers":[{"source":"` + src + `","branch":"b"}]}`, status: 200,
			check: func(t *testing.T, c cfsapi.Configuration) {
				assert.Equal(t, commitFor(repoA, "b"), c.Layers[0].Commit, "a source's branch resolves against its clone URL")
			}},
		{name: "EmptyLayers", body: `{"layers":[]}`, status: 200, check: func(t *testing.T, c cfsapi.Configuration) { assert.Empty(t, c.Layers) }},
		{name: "ReadOnlyFieldsIgnored", body: `{"name":"other","last_updated":"x","tenant_name":"","layers":[]}`, status: 200,
			check: func(t *testing.T, c cfsapi.Configuration) { assert.Equal(t, "cfg", c.Name) }},
		{name: "BothCloneURLAndSource", body: `{"layers":[{"clone_url":"` + repoA + `","source":"` + src + `","commit":"` + commitC + `"}]}`, status: 400, title: "Error handling source"},
		{name: "NeitherCloneURLNorSource", body: `{"layers":[{"commit":"` + commitC + `"}]}`, status: 400, title: "Error handling source"},
		{name: "UnknownSource", body: `{"layers":[{"source":"nope","commit":"` + commitC + `"}]}`, status: 400, title: "Source does not exist"},
		{name: "BothBranchAndCommit", body: `{"layers":[{"clone_url":"` + repoA + `","commit":"` + commitC + `","branch":"b"}]}`, status: 400, title: "Error handling branches"},
		{name: "DuplicateRepoAndPlaybook", body: `{"layers":[{"clone_url":"` + repoA + `","commit":"` + commitC + `"},{"clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commitD + `"}]}`,
			status: 400, title: "Error with conflicting layers"},
		{name: "BadAdditionalInventory", body: `{"layers":[],"additional_inventory":{"commit":"` + commitC + `"}}`, status: 400, title: "Error handling source"},
		{name: "MissingLayers", body: `{"description":"x"}`, status: 400},
		{name: "UnknownField", body: `{"layers":[],"colour":"red"}`, status: 400},
		{name: "UnknownLayerField", body: `{"layers":[{"clone_url":"u","commit":"` + commitC + `","cloneUrl":"v2"}]}`, status: 400},
		{name: "BadJSON", body: `{"layers":[`, status: 400},
		{name: "BadDropBranches", query: "?drop_branches=perhaps", body: `{"layers":[]}`, status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, Config{Sources: map[string]string{src: repoA}})
			h := s.Handler()
			w := call(t, h, http.MethodPut, "/v3/configurations/cfg"+tc.query, tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 200 {
				title, _ := problemOf(t, w)
				if tc.title != "" {
					assert.Equal(t, tc.title, title)
				}
				assert.Equal(t, 404, call(t, h, http.MethodGet, "/v3/configurations/cfg", "").Code, "nothing stored")
				return
			}
			var c cfsapi.Configuration
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &c))
			tc.check(t, c)
			var stored cfsapi.Configuration
			mustCall(t, h, http.MethodGet, "/v3/configurations/cfg", "", 200, &stored)
			assert.Equal(t, c, stored)
		})
	}
}

func TestConfigurationLifecycle(t *testing.T) {
	s := mustServer(t, quiet("x1", "x2"))
	h := s.Handler()

	w := call(t, h, http.MethodGet, "/v3/configurations/nope", "")
	require.Equal(t, 404, w.Code)
	title, detail := problemOf(t, w)
	assert.Equal(t, "Configuration not found", title)
	assert.Equal(t, "Configuration nope could not be found", detail)
	assert.Equal(t, 404, call(t, h, http.MethodPatch, "/v3/configurations/nope", "").Code)
	assert.Equal(t, 404, call(t, h, http.MethodDelete, "/v3/configurations/nope", "").Code)

	mustCall(t, h, http.MethodPut, "/v3/configurations/cfg", `{"layers":[{"clone_url":"`+repoA+`","branch":"main"}]}`, 200, nil)
	var patched cfsapi.Configuration
	mustCall(t, h, http.MethodPatch, "/v3/configurations/cfg", "", 200, &patched)
	assert.Equal(t, commitFor(repoA, "main"), patched.Layers[0].Commit, "PATCH re-resolves to the same made-up commit")
	assert.Equal(t, "main", patched.Layers[0].Branch)

	// In use: a component's desired_config names it.
	mustCall(t, h, http.MethodPatch, "/v3/components/x1", `{"desired_config":"cfg","enabled":false}`, 200, nil)
	w = call(t, h, http.MethodDelete, "/v3/configurations/cfg", "")
	require.Equal(t, 400, w.Code)
	title, _ = problemOf(t, w)
	assert.Equal(t, "Configuration is in use.", title)

	mustCall(t, h, http.MethodPatch, "/v3/components/x1", `{"desired_config":""}`, 200, nil)
	mustCall(t, h, http.MethodDelete, "/v3/configurations/cfg", "", 204, nil)
	assert.Equal(t, 404, call(t, h, http.MethodGet, "/v3/configurations/cfg", "").Code)
}

func TestGetConfigurations(t *testing.T) {
	s := mustServer(t, Config{Components: []string{"x1"}, PageSize: 2})
	h := s.Handler()
	for i := 5; i >= 1; i-- {
		mustCall(t, h, http.MethodPut, fmt.Sprintf("/v3/configurations/cfg%d", i), `{"layers":[]}`, 200, nil)
	}
	mustCall(t, h, http.MethodPatch, "/v3/components/x1", `{"desired_config":"cfg3"}`, 200, nil)

	names := func(cs []cfsapi.Configuration) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	var page cfsapi.ConfigurationsPage
	mustCall(t, h, http.MethodGet, "/v3/configurations", "", 200, &page)
	assert.Equal(t, []string{"cfg1", "cfg2"}, names(page.Configurations))
	require.NotNil(t, page.Next)
	assert.Equal(t, cfsapi.ConfigurationsNext{Limit: 2, AfterID: "cfg2"}, *page.Next)
	mustCall(t, h, http.MethodGet, "/v3/configurations?limit=2&after_id=cfg4", "", 200, &page)
	assert.Equal(t, []string{"cfg5"}, names(page.Configurations))
	assert.Nil(t, page.Next)

	mustCall(t, h, http.MethodGet, "/v3/configurations?in_use=true", "", 200, &page)
	assert.Equal(t, []string{"cfg3"}, names(page.Configurations))
	mustCall(t, h, http.MethodGet, "/v3/configurations?in_use=False&limit=0", "", 200, &page)
	assert.Equal(t, []string{"cfg1", "cfg2", "cfg4", "cfg5"}, names(page.Configurations))

	assert.Equal(t, 400, call(t, h, http.MethodGet, "/v3/configurations?in_use=sometimes", "").Code)
	assert.Equal(t, 400, call(t, h, http.MethodGet, "/v3/configurations?limit=x", "").Code)
}

// A layer's commit must be a full git SHA-1 (CFS 1.31's pattern ^[a-f0-9]{40}$), and its
// clone_url, playbook and branch free of spaces and semicolons. connexion checks the body
// against the document before CFS's code runs, so this comes first and is worded as
// connexion words it.
func TestPutConfigurationPatterns(t *testing.T) {
	for _, tc := range []struct{ name, body, detail string }{
		{"ShortCommit", `{"layers":[{"clone_url":"` + repoA + `","commit":"c1"}]}`,
			`'c1' does not match '^[a-f0-9]{40}$' - 'layers.0.commit'`},
		{"UpperCaseCommitInSecondLayer", `{"layers":[{"clone_url":"` + repoA + `","commit":"` + commit1 + `"},` +
			`{"clone_url":"` + repoB + `","commit":"C100000000000000000000000000000000000001"}]}`,
			`'C100000000000000000000000000000000000001' does not match '^[a-f0-9]{40}$' - 'layers.1.commit'`},
		{"BeforeTheSourceCheck", `{"layers":[{"commit":"abc"}]}`, `'abc' does not match '^[a-f0-9]{40}$' - 'layers.0.commit'`},
		{"AdditionalInventoryCommit", `{"layers":[],"additional_inventory":{"clone_url":"` + repoB + `","commit":"HEAD"}}`,
			`'HEAD' does not match '^[a-f0-9]{40}$' - 'additional_inventory.commit'`},
		{"BranchWithSpace", `{"layers":[{"clone_url":"` + repoA + `","branch":"my branch"}]}`,
			`'my branch' does not match '^[^\\s;]*$' - 'layers.0.branch'`},
		{"QuotedAsPython", `{"layers":[{"clone_url":"` + repoA + `","commit":"it's"}]}`,
			`"it's" does not match '^[a-f0-9]{40}$' - 'layers.0.commit'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustServer(t, Config{}).Handler()
			w := call(t, h, http.MethodPut, "/v3/configurations/cfg", tc.body)
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			title, detail := problemOf(t, w)
			assert.Equal(t, "Bad Request", title)
			assert.Equal(t, tc.detail, detail)
			assert.Equal(t, 404, call(t, h, http.MethodGet, "/v3/configurations/cfg", "").Code, "nothing stored")
		})
	}
}
