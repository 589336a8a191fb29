package cfs

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
)

// quiet is a config whose batcher never finishes during a test.
func quiet(components ...string) Config {
	return Config{Components: components, Timing: Timing{ConfigureDelay: time.Hour}}
}

// seeded returns a server with five components in assorted states:
//
//	a: enabled, desired cfg1, configured      b: enabled, desired cfg1, pending, tag bos_session=s1
//	c: disabled, desired cfg2, pending        d: disabled, no desired config, tag bos_session=s2
//	e: enabled, desired cfg1, failed (error_count 3)
func seeded(t *testing.T) (*Server, http.Handler) {
	s := mustServer(t, quiet())
	h := s.Handler()
	putConfig(t, h, "cfg1")
	putConfig(t, h, "cfg2")
	st := `[{"clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commit1 + `"},{"clone_url":"` + repoB + `","playbook":"cos.yml","commit":"` + commit2 + `"}]`
	mustCall(t, h, http.MethodPut, "/v3/components", `[
		{"id":"a","enabled":true,"desired_config":"cfg1","state":`+st+`},
		{"id":"b","enabled":true,"desired_config":"cfg1","tags":{"bos_session":"s1","owner":"bos"}},
		{"id":"c","enabled":false,"desired_config":"cfg2"},
		{"id":"d","enabled":false,"tags":{"bos_session":"s2","owner":"bos"}},
		{"id":"e","enabled":true,"desired_config":"cfg1","error_count":3}
	]`, 200, nil)
	return s, h
}

func TestGetComponents(t *testing.T) {
	_, h := seeded(t)
	for _, tc := range []struct {
		name, query string
		status      int
		want        []string
		title       string
	}{
		{name: "All", query: "", status: 200, want: []string{"a", "b", "c", "d", "e"}},
		{name: "IDs", query: "ids=e,a,zz", status: 200, want: []string{"a", "e"}},
		{name: "EmptyIDsMeansAll", query: "ids=", status: 200, want: []string{"a", "b", "c", "d", "e"}},
		{name: "Status", query: "status=pending", status: 200, want: []string{"b", "c"}},
		{name: "StatusList", query: "status=failed,unconfigured", status: 200, want: []string{"d", "e"}},
		{name: "EnabledPythonSpelling", query: "enabled=False", status: 200, want: []string{"c", "d"}},
		{name: "EnabledTrue", query: "enabled=true", status: 200, want: []string{"a", "b", "e"}},
		{name: "ConfigName", query: "config_name=cfg2", status: 200, want: []string{"c"}},
		{name: "Tags", query: "tags=owner=bos,bos_session=s2", status: 200, want: []string{"d"}},
		{name: "Combined", query: "enabled=true&status=pending,configured&config_name=cfg1", status: 200, want: []string{"a", "b"}},
		{name: "NothingMatches", query: "ids=zz", status: 200, want: []string{}},
		{name: "BadStatus", query: "status=done", status: 400, title: "Error parsing the status provided."},
		{name: "BadEnabled", query: "enabled=maybe", status: 400, title: "Error parsing the enabled value provided."},
		{name: "BadTags", query: "tags=owner", status: 400, title: "Error parsing the tags provided."},
		{name: "BadTagsTwoEquals", query: "tags=a=b=c", status: 400, title: "Error parsing the tags provided."},
		{name: "BadLimit", query: "limit=-1", status: 400, title: "Error parsing the limit provided."},
		{name: "BadLimitText", query: "limit=ten", status: 400, title: "Error parsing the limit provided."},
		{name: "BadStateDetails", query: "state_details=yes", status: 400, title: "Error parsing the state_details value provided."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := call(t, h, http.MethodGet, "/v3/components?"+tc.query, "")
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 200 {
				title, _ := problemOf(t, w)
				assert.Equal(t, tc.title, title)
				return
			}
			var page cfsapi.ComponentsPage
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
			assert.Equal(t, tc.want, ids(page.Components))
			assert.Nil(t, page.Next)
		})
	}
}

func TestGetComponentsDetails(t *testing.T) {
	_, h := seeded(t)
	w := call(t, h, http.MethodGet, "/v3/components?ids=d", "")
	assert.JSONEq(t, `{"components":[{"id":"d","desired_config":"","enabled":false,"error_count":0,
		"configuration_status":"unconfigured","tags":{"bos_session":"s2","owner":"bos"}}],"next":null}`, w.Body.String())

	w = call(t, h, http.MethodGet, "/v3/components?ids=d&state_details=True", "")
	assert.Contains(t, w.Body.String(), `"state":[]`, "state_details shows an empty state as []")

	var page cfsapi.ComponentsPage
	mustCall(t, h, http.MethodGet, "/v3/components?ids=b&config_details=true", "", 200, &page)
	require.Len(t, page.Components, 1)
	b := page.Components[0]
	assert.Nil(t, b.State, "no state without state_details")
	require.Len(t, b.DesiredState, 2)
	assert.Equal(t, cfsapi.DesiredLayer{Layer: cfsapi.Layer{Name: "csm", CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, Status: cfsapi.StatusPending}, b.DesiredState[0])
}

func TestGetComponentsPaging(t *testing.T) {
	all := nodeIDs(25)
	s := mustServer(t, Config{Components: all, PageSize: 10})
	h := s.Handler()

	var page cfsapi.ComponentsPage
	mustCall(t, h, http.MethodGet, "/v3/components", "", 200, &page)
	assert.Equal(t, sortedCopy(all)[:10], ids(page.Components))
	require.NotNil(t, page.Next)
	raw, _ := json.Marshal(page.Next)
	assert.JSONEq(t, `{"ids":"","status":"","enabled":null,"config_name":"","state_details":false,
		"config_details":false,"tags":"","limit":10,"after_id":"`+page.Components[9].ID+`"}`, string(raw))

	// Follow "next" the way BOS does: every key as a query parameter, Python spellings.
	var got []string
	q := "limit=7&enabled=True&state_details=False&status=unconfigured"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		var p cfsapi.ComponentsPage
		mustCall(t, h, http.MethodGet, "/v3/components?"+q, "", 200, &p)
		got = append(got, ids(p.Components)...)
		if p.Next == nil {
			break
		}
		assert.Equal(t, "unconfigured", p.Next.Status)
		assert.Equal(t, true, *p.Next.Enabled)
		assert.Equal(t, 7, p.Next.Limit)
		q = p.Next.Values().Encode()
	}
	assert.Equal(t, sortedCopy(all), got)

	// A page that ends exactly at the last match has no next.
	mustCall(t, h, http.MethodGet, "/v3/components?limit=25", "", 200, &page)
	assert.Len(t, page.Components, 25)
	assert.Nil(t, page.Next)
	// limit=0: everything.
	mustCall(t, h, http.MethodGet, "/v3/components?limit=0", "", 200, &page)
	assert.Len(t, page.Components, 25)
	// ids with paging.
	mustCall(t, h, http.MethodGet, "/v3/components?limit=2&ids="+strings.Join(all[:5], ","), "", 200, &page)
	assert.Equal(t, sortedCopy(all[:5])[:2], ids(page.Components))
	require.NotNil(t, page.Next)
	assert.Equal(t, strings.Join(all[:5], ","), page.Next.IDs)
	mustCall(t, h, http.MethodGet, "/v3/components?"+page.Next.Values().Encode(), "", 200, &page)
	assert.Equal(t, sortedCopy(all[:5])[2:4], ids(page.Components))
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestSingleComponent(t *testing.T) {
	for _, tc := range []struct {
		name, method, id, body string
		status                 int
		title                  string
		check                  func(t *testing.T, c cfsapi.Component)
	}{
		{name: "Get", method: "GET", id: "b", status: 200, check: func(t *testing.T, c cfsapi.Component) {
			assert.Equal(t, cfsapi.StatusPending, c.ConfigurationStatus)
			assert.Equal(t, map[string]string{"bos_session": "s1", "owner": "bos"}, c.Tags)
		}},
		{name: "GetMissing", method: "GET", id: "zz", status: 404, title: "Component not found."},
		{name: "PatchMerges", method: "PATCH", id: "b", body: `{"enabled":false,"tags":{"owner":"","new":"x"}}`, status: 200,
			check: func(t *testing.T, c cfsapi.Component) {
				assert.False(t, c.Enabled)
				assert.Equal(t, "cfg1", c.DesiredConfig)
				assert.Equal(t, map[string]string{"bos_session": "s1", "new": "x"}, c.Tags)
				assert.NotNil(t, c.State, "PATCH returns the state")
			}},
		{name: "PatchMissing", method: "PATCH", id: "zz", body: `{"enabled":true}`, status: 404, title: "Component not found."},
		{name: "PatchUnknownField", method: "PATCH", id: "b", body: `{"enable":true}`, status: 400},
		{name: "PatchBadJSON", method: "PATCH", id: "b", body: `{"enabled":`, status: 400},
		{name: "PatchWrongType", method: "PATCH", id: "b", body: `{"error_count":"1"}`, status: 400},
		{name: "PatchBadRetryPolicy", method: "PATCH", id: "b", body: `{"retry_policy":-2}`, status: 400, title: "Error parsing the data provided."},
		{name: "PatchLongConfigName", method: "PATCH", id: "b", body: `{"desired_config":"` + strings.Repeat("c", 61) + `"}`, status: 400},
		{name: "PatchBadStateStatus", method: "PATCH", id: "b", body: `{"state":[{"clone_url":"u","playbook":"p","commit":"` + commitC + `","status":"done"}]}`, status: 400},
		{name: "PatchStateAppendWithoutRepo", method: "PATCH", id: "b", body: `{"state_append":{"commit":"` + commitC + `"}}`, status: 400},
		{name: "PatchAcceptsReadOnlyFields", method: "PATCH", id: "b", body: `{"configuration_status":"configured","logs":"x","desired_state":[]}`, status: 200,
			check: func(t *testing.T, c cfsapi.Component) { assert.Equal(t, cfsapi.StatusPending, c.ConfigurationStatus) }},
		{name: "PutReplaces", method: "PUT", id: "b", body: `{"desired_config":"cfg2"}`, status: 200, check: func(t *testing.T, c cfsapi.Component) {
			assert.Equal(t, "b", c.ID)
			assert.False(t, c.Enabled, "PUT does not keep old fields")
			assert.Empty(t, c.Tags)
			assert.Equal(t, "cfg2", c.DesiredConfig)
		}},
		{name: "PutCreates", method: "PUT", id: "new", body: `{"enabled":true}`, status: 200, check: func(t *testing.T, c cfsapi.Component) {
			assert.Equal(t, cfsapi.StatusUnconfigured, c.ConfigurationStatus)
		}},
		{name: "PutPathIDWins", method: "PUT", id: "f", body: `{"id":"other"}`, status: 200, check: func(t *testing.T, c cfsapi.Component) {
			assert.Equal(t, "f", c.ID)
		}},
		{name: "PutEmptyBody", method: "PUT", id: "b", body: ``, status: 400},
		{name: "Delete", method: "DELETE", id: "b", status: 204},
		{name: "DeleteMissing", method: "DELETE", id: "zz", status: 404, title: "Component not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, h := seeded(t)
			var before cfsapi.ComponentsPage
			mustCall(t, h, http.MethodGet, "/v3/components?state_details=true", "", 200, &before)
			w := call(t, h, tc.method, "/v3/components/"+tc.id, tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			var after cfsapi.ComponentsPage
			mustCall(t, h, http.MethodGet, "/v3/components?state_details=true", "", 200, &after)
			switch {
			case tc.status >= 400:
				title, _ := problemOf(t, w)
				if tc.title != "" {
					assert.Equal(t, tc.title, title)
				}
				assert.Equal(t, before, after, "a failed request changes nothing")
			case tc.status == 204:
				assert.Empty(t, w.Body.String())
				assert.NotContains(t, ids(after.Components), tc.id)
				assert.Equal(t, 404, call(t, h, http.MethodGet, "/v3/components/"+tc.id, "").Code)
			default:
				var c cfsapi.Component
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &c))
				tc.check(t, c)
				if tc.method != "GET" {
					assert.Equal(t, c, getComponent(t, h, c.ID), "the reply is what is stored")
				}
			}
		})
	}
}

func TestWriteRules(t *testing.T) {
	stateA := `{"clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commit1 + `","status":"applied","last_updated":"2020-01-01T00:00:00Z"}`
	for _, tc := range []struct {
		name  string
		setup string // PATCH applied first
		patch string
		check func(t *testing.T, c cfsapi.Component)
	}{
		{name: "DesiredConfigResetsErrorCount", setup: `{"error_count":2}`, patch: `{"desired_config":"cfg1"}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Zero(t, c.ErrorCount) }},
		{name: "EmptyStateResetsErrorCount", setup: `{"error_count":2,"state":[` + stateA + `]}`, patch: `{"state":[]}`,
			check: func(t *testing.T, c cfsapi.Component) {
				assert.Zero(t, c.ErrorCount)
				assert.Empty(t, c.State)
			}},
		{name: "ExplicitErrorCountWins", setup: `{"error_count":2}`, patch: `{"desired_config":"cfg1","error_count":5}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Equal(t, 5, c.ErrorCount) }},
		{name: "OtherFieldsKeepErrorCount", setup: `{"error_count":2}`, patch: `{"enabled":true,"tags":{"k":"v"}}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Equal(t, 2, c.ErrorCount) }},
		{name: "NonEmptyStateKeepsErrorCount", setup: `{"error_count":2}`, patch: `{"state":[` + stateA + `]}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Equal(t, 2, c.ErrorCount) }},
		{name: "TagsMergeAndEmptyDeletes", setup: `{"tags":{"a":"1","b":"2"}}`, patch: `{"tags":{"b":"","c":"3","d":null}}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Equal(t, map[string]string{"a": "1", "c": "3"}, c.Tags) }},
		{name: "StateAppendReplacesSameRepoAndPlaybook", setup: `{"state":[` + stateA + `,{"clone_url":"` + repoB + `","playbook":"cos.yml","commit":"` + commit2 + `"}]}`,
			patch: `{"state_append":{"clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commit9 + `","session_name":"s"}}`,
			check: func(t *testing.T, c cfsapi.Component) {
				require.Len(t, c.State, 2)
				assert.Equal(t, repoB, c.State[0].CloneURL)
				assert.Equal(t, cfsapi.StateLayer{CloneURL: repoA, Playbook: "site.yml", Commit: commit9, Status: cfsapi.LayerApplied,
					LastUpdated: "2026-03-01T12:00:00Z", SessionName: "s"}, c.State[1])
			}},
		{name: "StateAppendKeepsOtherPlaybook", setup: `{"state":[` + stateA + `]}`,
			patch: `{"state_append":{"clone_url":"` + repoA + `","playbook":"other.yml","commit":"` + commit1 + `","status":"failed"}}`,
			check: func(t *testing.T, c cfsapi.Component) {
				require.Len(t, c.State, 2)
				assert.Equal(t, cfsapi.LayerFailed, c.State[1].Status)
			}},
		{name: "StateLastUpdatedFilled", patch: `{"state":[{"clone_url":"u","playbook":"p","commit":"` + commitC + `"},` + stateA + `]}`,
			check: func(t *testing.T, c cfsapi.Component) {
				assert.Equal(t, "2026-03-01T12:00:00Z", c.State[0].LastUpdated)
				assert.Equal(t, "2020-01-01T00:00:00Z", c.State[1].LastUpdated)
			}},
		{name: "RetryPolicySetAndCleared", setup: `{"retry_policy":5}`, patch: `{"retry_policy":null}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Nil(t, c.RetryPolicy) }},
		{name: "RetryPolicySet", patch: `{"retry_policy":-1}`,
			check: func(t *testing.T, c cfsapi.Component) { assert.Equal(t, cfsapi.Ptr(-1), c.RetryPolicy) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, quiet("x"))
			h := s.Handler()
			putConfig(t, h, "cfg1")
			if tc.setup != "" {
				mustCall(t, h, http.MethodPatch, "/v3/components/x", tc.setup, 200, nil)
			}
			mustCall(t, h, http.MethodPatch, "/v3/components/x", tc.patch, 200, nil)
			tc.check(t, getComponent(t, h, "x"))
		})
	}
}

func TestPutComponents(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		want       []string
	}{
		{"OK", `[{"id":"n1","enabled":true},{"id":"n0","desired_config":"cfg1"}]`, 200, []string{"n1", "n0"}},
		{"Empty", `[]`, 200, []string{}},
		{"MissingID", `[{"id":"n1"},{"enabled":true}]`, 400, nil},
		{"EmptyID", `[{"id":""}]`, 400, nil},
		{"Invalid", `[{"id":"n1"},{"id":"n2","error_count":-1}]`, 400, nil},
		{"NotAnArray", `{"id":"n1"}`, 400, nil},
		{"UnknownField", `[{"id":"n1","colour":"red"}]`, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, quiet())
			h := s.Handler()
			w := call(t, h, http.MethodPut, "/v3/components", tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			var page cfsapi.ComponentsPage
			mustCall(t, h, http.MethodGet, "/v3/components", "", 200, &page)
			if tc.status != 200 {
				assert.Empty(t, page.Components, "nothing written")
				return
			}
			var got cfsapi.ComponentIDs
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tc.want, got.ComponentIDs)
			assert.ElementsMatch(t, tc.want, ids(page.Components))
		})
	}
}

func TestPatchComponentsBulk(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		title      string
		want       []string // ids reported patched
		check      func(t *testing.T, h http.Handler)
	}{
		{name: "ListForm", body: `[{"id":"d","enabled":true},{"id":"a","tags":{"k":"v"}}]`, status: 200, want: []string{"d", "a"},
			check: func(t *testing.T, h http.Handler) {
				assert.True(t, getComponent(t, h, "d").Enabled)
				assert.Equal(t, "v", getComponent(t, h, "a").Tags["k"])
			}},
		{name: "ListFormMissingIDIsAllOrNothing", body: `[{"id":"d","enabled":true},{"id":"zz","enabled":true}]`, status: 404, title: "Component not found."},
		{name: "ListFormWithoutID", body: `[{"enabled":true}]`, status: 400},
		{name: "ListFormInvalidEntry", body: `[{"id":"d","enabled":true},{"id":"a","retry_policy":-5}]`, status: 400},
		{name: "FilterByIDs", body: `{"patch":{"enabled":false,"desired_config":"cfg2","tags":{"bos_session":"s9"},"state":[]},"filters":{"ids":"a,e,zz"}}`,
			status: 200, want: []string{"a", "e"}, check: func(t *testing.T, h http.Handler) {
				a := getComponent(t, h, "a")
				assert.False(t, a.Enabled)
				assert.Equal(t, "cfg2", a.DesiredConfig)
				assert.Empty(t, a.State)
				assert.Equal(t, map[string]string{"bos_session": "s9"}, a.Tags)
				assert.Zero(t, getComponent(t, h, "e").ErrorCount, "desired_config resets error_count")
				assert.Equal(t, "cfg1", getComponent(t, h, "b").DesiredConfig, "unselected component untouched")
			}},
		{name: "EmptyFilterMatchesAll", body: `{"patch":{"enabled":true},"filters":{}}`, status: 200, want: []string{"a", "b", "c", "d", "e"}},
		{name: "MissingFiltersMatchesAll", body: `{"patch":{"enabled":true}}`, status: 200, want: []string{"a", "b", "c", "d", "e"}},
		{name: "EmptyIDsIsNoFilter", body: `{"patch":{"enabled":true},"filters":{"ids":""}}`, status: 200, want: []string{"a", "b", "c", "d", "e"}},
		{name: "FilterByStatusBeforePatch", body: `{"patch":{"desired_config":"cfg2"},"filters":{"status":"pending"}}`, status: 200, want: []string{"b", "c"}},
		{name: "FilterByEnabled", body: `{"patch":{"tags":{"x":"y"}},"filters":{"enabled":false}}`, status: 200, want: []string{"c", "d"}},
		{name: "FilterByConfigAndTags", body: `{"patch":{"enabled":false},"filters":{"config_name":"cfg1","tags":"bos_session=s1"}}`, status: 200, want: []string{"b"}},
		{name: "IDInPatchIgnored", body: `{"patch":{"id":"zz","enabled":false},"filters":{"ids":"a"}}`, status: 200, want: []string{"a"},
			check: func(t *testing.T, h http.Handler) {
				assert.Equal(t, 404, call(t, h, http.MethodGet, "/v3/components/zz", "").Code)
			}},
		{name: "NothingMatches", body: `{"patch":{"enabled":false},"filters":{"ids":"zz"}}`, status: 200, want: []string{}},
		{name: "BadStatusFilter", body: `{"patch":{},"filters":{"status":"bogus"}}`, status: 400, title: "Error parsing the status provided."},
		{name: "BadTagsFilter", body: `{"patch":{},"filters":{"tags":"novalue"}}`, status: 400, title: "Error parsing the tags provided."},
		{name: "UnknownFilter", body: `{"patch":{},"filters":{"role":"Compute"}}`, status: 400},
		{name: "InvalidPatch", body: `{"patch":{"error_count":-3},"filters":{}}`, status: 400},
		{name: "WrongTopLevelType", body: `"a"`, status: 400, title: "Error parsing the data provided."},
		{name: "EmptyBody", body: ``, status: 400},
		{name: "BadJSON", body: `{"patch":`, status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, h := seeded(t)
			var before cfsapi.ComponentsPage
			mustCall(t, h, http.MethodGet, "/v3/components?state_details=true", "", 200, &before)
			w := call(t, h, http.MethodPatch, "/v3/components", tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 200 {
				title, _ := problemOf(t, w)
				if tc.title != "" {
					assert.Equal(t, tc.title, title)
				}
				var after cfsapi.ComponentsPage
				mustCall(t, h, http.MethodGet, "/v3/components?state_details=true", "", 200, &after)
				assert.Equal(t, before, after, "a failed PATCH writes nothing")
				return
			}
			var got cfsapi.ComponentIDs
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tc.want, got.ComponentIDs)
			if tc.check != nil {
				tc.check(t, h)
			}
		})
	}
}

func TestGatewayPrefixAndHealth(t *testing.T) {
	s := mustServer(t, quiet("x"))
	h := s.Handler()
	mustCall(t, h, http.MethodGet, "/apis/cfs/v3/components/x", "", 200, nil)
	w := call(t, h, http.MethodGet, "/healthz", "")
	assert.JSONEq(t, `{"db_status":"ok","kafka_status":"ok"}`, w.Body.String())
}

func TestPreCreatedComponents(t *testing.T) {
	s := mustServer(t, quiet("x2", "x1", "x2"))
	var page cfsapi.ComponentsPage
	mustCall(t, s.Handler(), http.MethodGet, "/v3/components?state_details=true", "", 200, &page)
	assert.Equal(t, []cfsapi.Component{
		{ID: "x1", Enabled: true, ConfigurationStatus: cfsapi.StatusUnconfigured, State: []cfsapi.StateLayer{}, Tags: map[string]string{}},
		{ID: "x2", Enabled: true, ConfigurationStatus: cfsapi.StatusUnconfigured, State: []cfsapi.StateLayer{}, Tags: map[string]string{}},
	}, page.Components)
}

// Reenable, for the simulated nodes in this process, changes a component as
// cfs-state-reporter's PATCH /v3/components/{id} {"state": [], "enabled": true} does and
// answers its status: state cleared, error count reset, enabled, a pending component
// queued for configuration; 404 for an unknown id.
func TestReenableAnswersAsThePatch(t *testing.T) {
	stateA := `{"clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commit1 + `","status":"failed"}`
	setup := func() (*Server, http.Handler) {
		s := mustServer(t, quiet("x", "y"))
		h := s.Handler()
		putConfig(t, h, "cfg1")
		mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg1","enabled":false,"error_count":3,"tags":{"k":"v"},"state":[`+stateA+`]}`, 200, nil)
		return s, h
	}
	p, byPatch := setup()
	mustCall(t, byPatch, http.MethodPatch, "/v3/components/x", `{"state": [], "enabled": true}`, 200, nil)
	s, byCall := setup()
	require.Equal(t, http.StatusOK, s.Reenable("x"))

	want := getComponent(t, byPatch, "x")
	assert.True(t, want.Enabled)
	assert.Equal(t, cfsapi.StatusPending, want.ConfigurationStatus)
	assert.Equal(t, want, getComponent(t, byCall, "x"))
	assert.Equal(t, []string{"x"}, batched(p), "the PATCH queues the pending component for a session")
	assert.Equal(t, batched(p), batched(s))

	assert.Equal(t, call(t, byPatch, http.MethodPatch, "/v3/components/nope", `{"state": [], "enabled": true}`).Code, s.Reenable("nope"))
}

// batched lists the components of s's open and running batches.
func batched(s *Server) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for b := range s.running {
		for _, m := range b.members {
			out = append(out, m.id)
		}
	}
	if s.open != nil {
		for _, m := range s.open.members {
			out = append(out, m.id)
		}
	}
	return out
}
