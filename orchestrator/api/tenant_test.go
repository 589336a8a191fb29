package api

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// seedTenants stores templates, sessions and components for blue and for no tenant.
func (e *env) seedTenants() {
	ctx := context.Background()
	e.expect(200, "PUT", "/v2/sessiontemplates/shared", "", template("x3000c0s0b0n0"))
	e.expect(200, "PUT", "/v2/sessiontemplates/shared", "blue", template(blueNodes...))
	e.expect(200, "PUT", "/v2/sessiontemplates/blue-only", "blue", template(blueNodes...))
	e.expect(201, "POST", "/v2/sessions", "blue", map[string]any{"name": "bs", "operation": "boot", "template_name": "shared"})
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "us", "operation": "boot", "template_name": "shared"})
	_, err := e.st.UpdateSession(ctx, "blue", "bs", func(s *orchestrator.Session) error { s.Status.Status = "running"; return nil })
	require.NoError(e.t, err)
	var comps []orchestrator.Component
	for _, id := range append(append([]string{}, blueNodes...), redNodes[0], "x3000c0s0b0n0") {
		c := orchestrator.NewComponent(id, t0)
		if id[:5] == "x1000" {
			c.Session, c.Enabled = "bs", true
			c.StagedState = orchestrator.StagedState{BootArtifacts: orchestrator.BootArtifacts{Kernel: "k", KernelParameters: "p", Initrd: "i"}, Session: "bs"}
		}
		comps = append(comps, c)
	}
	e.seed(comps...)
}

// TestTenantIsolation sends every endpoint, as tenant red, at blue's (and untenanted)
// records: nothing of theirs may be read, and nothing at all written.
func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.seedTenants()
		blueNode := blueNodes[0]
		emptyList := func(t *testing.T, r response) {
			var list []any
			r.json(t, &list)
			assert.Empty(t, list)
		}
		onlyRed := func(t *testing.T, r response) {
			var list []orchestrator.Component
			r.json(t, &list)
			assert.Equal(t, redNodes, idsOf(list))
		}
		rows := []struct {
			method, path string
			body         any
			status       int
			check        func(t *testing.T, r response)
		}{
			{"GET", "/v2/sessiontemplates", nil, 200, emptyList},
			{"GET", "/v2/sessiontemplates/blue-only", nil, 404, nil},
			{"PATCH", "/v2/sessiontemplates/blue-only", map[string]any{"description": "x"}, 404, nil},
			{"DELETE", "/v2/sessiontemplates/blue-only", nil, 404, nil},
			{"GET", "/v2/sessiontemplatesvalid/blue-only", nil, 404, nil},
			{"POST", "/v2/sessions", map[string]any{"operation": "boot", "template_name": "blue-only"}, 400, nil},
			{"GET", "/v2/sessions", nil, 200, emptyList},
			{"DELETE", "/v2/sessions?status=running", nil, 204, nil},
			{"DELETE", "/v2/sessions?status=pending", nil, 204, nil},
			{"GET", "/v2/sessions/bs", nil, 404, nil},
			{"PATCH", "/v2/sessions/bs", map[string]any{"components": "x"}, 404, nil},
			{"DELETE", "/v2/sessions/bs", nil, 404, nil},
			{"GET", "/v2/sessions/bs/status", nil, 404, nil},
			{"POST", "/v2/sessions/bs/status", nil, 404, nil},
			{"GET", "/v2/components", nil, 200, onlyRed},
			{"GET", "/v2/components?ids=" + blueNode + ",x3000c0s0b0n0", nil, 200, emptyList},
			{"GET", "/v2/components?session=bs", nil, 200, emptyList},
			{"GET", "/v2/components?staged_session=bs", nil, 200, emptyList},
			{"GET", "/v2/components?enabled=true", nil, 200, emptyList},
			{"PUT", "/v2/components", []map[string]any{{"id": redNodes[0]}, {"id": blueNode}}, 404, nil},
			{"PATCH", "/v2/components", []map[string]any{{"id": blueNode, "error": "x"}}, 404, nil},
			{"PATCH", "/v2/components?skip_bad_ids=true", []map[string]any{{"id": blueNode, "error": "x"}}, 200, emptyList},
			{"PATCH", "/v2/components", map[string]any{"patch": map[string]any{"error": "x"}, "filters": map[string]any{"session": "bs"}}, 200, emptyList},
			{"PATCH", "/v2/components", map[string]any{"patch": map[string]any{"error": "x"}, "filters": map[string]any{"ids": blueNode}}, 404, nil},
			{"PATCH", "/v2/components?skip_bad_ids=true", map[string]any{"patch": map[string]any{"error": "x"}, "filters": map[string]any{"ids": blueNode}}, 200, emptyList},
			{"GET", "/v2/components/" + blueNode, nil, 404, nil},
			{"GET", "/v2/components/" + blueNode + "/history", nil, 404, nil},
			{"PUT", "/v2/components/" + blueNode, map[string]any{"enabled": false}, 404, nil},
			{"PUT", "/v2/components/x3000c0s0b0n0", map[string]any{"enabled": false}, 404, nil},
			{"PATCH", "/v2/components/" + blueNode, map[string]any{"enabled": false}, 404, nil},
			{"DELETE", "/v2/components/" + blueNode, nil, 404, nil},
			{"POST", "/v2/applystaged", map[string]any{"xnames": blueNodes}, 200, func(t *testing.T, r response) {
				var resp bosapi.ApplyStagedResponse
				r.json(t, &resp)
				assert.Equal(t, bosapi.ApplyStagedResponse{Succeeded: []string{}, Failed: []string{}, Ignored: blueNodes}, resp)
			}},
		}
		for _, row := range rows {
			t.Run(row.method+" "+row.path, func(t *testing.T) {
				e.t = t
				before := e.snapshot()
				r := e.expect(row.status, row.method, row.path, "red", row.body)
				if row.check != nil {
					row.check(t, r)
				}
				assert.Equal(t, before, e.snapshot(), "nothing may change")
			})
		}
		e.t = t

		// Without a tenant, by-name access sees only the untenanted namespace; lists see all.
		e.expect(404, "GET", "/v2/sessiontemplates/blue-only", "", nil)
		e.expect(404, "GET", "/v2/sessions/bs", "", nil)
		var tpls []orchestrator.SessionTemplate
		e.expect(200, "GET", "/v2/sessiontemplates", "", nil).json(t, &tpls)
		assert.Len(t, tpls, 3)
		// Blue sees its own.
		e.expect(200, "GET", "/v2/sessions/bs", "blue", nil)
		var st orchestrator.SessionExtendedStatus
		e.expect(200, "GET", "/v2/sessions/bs/status", "blue", nil).json(t, &st)
		assert.Equal(t, 2, st.ManagedComponentsCount, "two nodes, each a member and staged, counted once")
	})
}

// A tenant without nodes owns none: its lists of components are empty, and bulk
// changes reach nothing. (Its node list was nil, which the store reads as no filter.)
func TestTenantWithoutNodesSeesNone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.seedTenants()
		before := e.snapshot()
		var list []orchestrator.Component
		e.expect(200, "GET", "/v2/components", "empty", nil).json(t, &list)
		assert.Empty(t, list, "GET /v2/components")
		e.expect(200, "GET", "/v2/components?enabled=true", "empty", nil).json(t, &list)
		assert.Empty(t, list, "GET /v2/components?enabled=true")
		e.expect(200, "PATCH", "/v2/components", "empty",
			map[string]any{"patch": map[string]any{"enabled": false}, "filters": map[string]any{"session": "bs"}}).json(t, &list)
		assert.Empty(t, list, "a bulk PATCH by session")
		assert.Equal(t, before, e.snapshot(), "nothing written")
	})
}

// TestUnknownTenant: as in BOS, creating a template or session, patching one, and every
// component route refuse an unknown tenant with 400; reads and deletes of templates and
// sessions see the tenant's namespace, which is empty (404 by name, empty lists, 204 for a
// bulk delete). Nothing is written either way.
func TestUnknownTenant(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.seedTenants()
	before := e.snapshot()
	emptyNamespace := map[string]int{
		"GET /v2/sessiontemplates":          200,
		"GET /v2/sessiontemplates/:id":      404,
		"DELETE /v2/sessiontemplates/:id":   404,
		"GET /v2/sessiontemplatesvalid/:id": 404,
		"GET /v2/sessions":                  200,
		"DELETE /v2/sessions":               204,
		"GET /v2/sessions/:id":              404,
		"DELETE /v2/sessions/:id":           404,
		"GET /v2/sessions/:id/status":       404,
		"POST /v2/sessions/:id/status":      404,
		"GET /v2/rollouts":                  200,
		"GET /v2/rollouts/:id":              404,
		"POST /v2/rollouts/:id/pause":       404,
		"POST /v2/rollouts/:id/resume":      404,
		"POST /v2/rollouts/:id/abort":       404,
	}
	for _, r := range e.api.engine.Routes() {
		switch r.Path {
		case "/", "/v2", "/v2/version", "/v2/healthz", "/v2/openapi.json", "/v2/options", "/v2/sessiontemplatetemplate":
			continue
		}
		if strings.HasPrefix(r.Path, "/v1") {
			continue // v1 refuses every tenant (TestV1RefusesTenants)
		}
		path := ginParam.ReplaceAllString(r.Path, "bs")
		if strings.Contains(r.Path, "component") {
			path = ginParam.ReplaceAllString(r.Path, "x1000c0s0b0n0")
		}
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			e.t = t
			status, ok := emptyNamespace[r.Method+" "+r.Path]
			if !ok {
				d := e.expect(400, r.Method, path, "purple", `{}`).problem(t)
				assert.Equal(t, "Invalid tenant", d.Title)
				return
			}
			resp := e.expect(status, r.Method, path, "purple", nil)
			switch status {
			case 200:
				var list []any
				resp.json(t, &list)
				assert.Empty(t, list)
			case 404:
				assert.Contains(t, resp.problem(t).Detail, "for tenant 'purple'")
			}
		})
	}
	e.t = t
	assert.Equal(t, before, e.snapshot())
}
