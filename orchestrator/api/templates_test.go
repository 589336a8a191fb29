package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

func TestTemplateEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		tpl := template("X1000C0S00B0N0", "x1000c0s1b0n0")

		// PUT: create (200, not 201), canonicalised, tenant and name set.
		var got orchestrator.SessionTemplate
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", tpl).json(t, &got)
		assert.Equal(t, "compute", got.Name)
		assert.Equal(t, "", got.Tenant)
		assert.True(t, got.EnableCFS)
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s1b0n0"}, got.BootSets["compute"].NodeList)
		assert.Equal(t, "X86", got.BootSets["compute"].Arch)
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "blue", tpl).json(t, &got)
		assert.Equal(t, "blue", got.Tenant)

		putErrors := []struct {
			name, path string
			body       any
			status     int
		}{
			{"BadName", "/v2/sessiontemplates/-bad", tpl, 400},
			{"LongName", "/v2/sessiontemplates/" + strings.Repeat("a", 128), tpl, 400},
			{"NoBootSets", "/v2/sessiontemplates/t", `{"description":"x"}`, 400},
			{"UnknownField", "/v2/sessiontemplates/t", `{"boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1c0s0b0n0"]}},"colour":"red"}`, 400},
			{"WrongType", "/v2/sessiontemplates/t", `{"boot_sets":{"a":{"path":"p","type":"s3","node_list":"x1c0s0b0n0"}}}`, 400},
			{"NoNodes", "/v2/sessiontemplates/t", `{"boot_sets":{"a":{"path":"p","type":"s3"}}}`, 400},
			{"NotJSON", "/v2/sessiontemplates/t", `boot_sets`, 400},
			{"BadTenant", "/v2/sessiontemplates/t", tpl, 400},
		}
		for _, tt := range putErrors {
			t.Run("PUT"+tt.name, func(t *testing.T) {
				e.t = t
				tn := ""
				if tt.name == "BadTenant" {
					tn = "purple"
				}
				d := e.expect(tt.status, "PUT", tt.path, tn, tt.body).problem(t)
				if tt.name == "NoBootSets" {
					assert.Contains(t, d.Detail, "The session template could not be created")
				}
			})
		}
		e.t = t

		// GET, list.
		e.expect(200, "GET", "/v2/sessiontemplates/compute", "", nil).json(t, &got)
		assert.Equal(t, "", got.Tenant)
		d := e.expect(404, "GET", "/v2/sessiontemplates/nope", "", nil).problem(t)
		assert.Equal(t, "The resource was not found", d.Title)
		assert.Equal(t, "Session template 'nope' does not exist", d.Detail)
		d = e.expect(404, "GET", "/v2/sessiontemplates/nope", "blue", nil).problem(t)
		assert.Equal(t, "Session template 'nope' does not exist for tenant 'blue'", d.Detail)
		e.expect(400, "GET", "/v2/sessiontemplates/a..b!", "", nil)
		var list []orchestrator.SessionTemplate
		e.expect(200, "GET", "/v2/sessiontemplates", "", nil).json(t, &list)
		assert.Len(t, list, 2, "without a tenant: every template")
		e.expect(200, "GET", "/v2/sessiontemplates", "blue", nil).json(t, &list)
		require.Len(t, list, 1)
		assert.Equal(t, "blue", list[0].Tenant)
		e.expect(200, "GET", "/v2/sessiontemplates", "red", nil).json(t, &list)
		assert.Empty(t, list)

		// PATCH: deep merge, re-validated.
		e.expect(200, "PATCH", "/v2/sessiontemplates/compute", "", map[string]any{
			"description": "patched",
			"boot_sets": map[string]any{"compute": map[string]any{"kernel_parameters": "quiet",
				"path": "s3://boot-images/abc/manifest.json", "type": "s3"}},
		}).json(t, &got)
		assert.Equal(t, "patched", got.Description)
		assert.Equal(t, "quiet", got.BootSets["compute"].KernelParameters)
		assert.Equal(t, "s3://boot-images/abc/manifest.json", got.BootSets["compute"].Path)
		assert.Equal(t, "compute-config", got.CFS.Configuration)
		e.expect(404, "PATCH", "/v2/sessiontemplates/nope", "", `{"description":"x"}`)
		e.expect(400, "PATCH", "/v2/sessiontemplates/compute", "", `{"boot_sets":{"compute":{"node_list":[]}}}`)
		e.expect(400, "PATCH", "/v2/sessiontemplates/compute", "", `{"descripton":"typo"}`)
		// BOS's schema wants a patched boot set's path and type; read-only fields and an empty
		// description are refused (all were merged or ignored before).
		d = e.expect(400, "PATCH", "/v2/sessiontemplates/compute", "", `{"boot_sets":{"compute":{"kernel_parameters":"x"}}}`).problem(t)
		assert.Equal(t, "The session template could not be patched: boot_sets.compute.path: is required; boot_sets.compute.type: is required", d.Detail)
		d = e.expect(400, "PATCH", "/v2/sessiontemplates/compute", "", `{"name":"other","tenant":null,"links":[],"description":""}`).problem(t)
		assert.Equal(t, "The session template could not be patched: name: is read-only; tenant: is read-only; links: is read-only; description: must be 1 to 1023 characters, not empty", d.Detail)
		d = e.expect(400, "PUT", "/v2/sessiontemplates/compute", "", `{"name":"compute","boot_sets":{"b":{"path":"p","type":"s3","node_list":["x1000c0s0b0n0"]}}}`).problem(t)
		assert.Equal(t, "The session template could not be created: name: is read-only", d.Detail)
		e.expect(400, "PATCH", "/v2/sessiontemplates/compute", "", `[1]`)
		e.expect(200, "GET", "/v2/sessiontemplates/compute", "", nil).json(t, &got)
		assert.Equal(t, "patched", got.Description, "failed patches changed nothing")

		// sessiontemplatesvalid.
		var msg string
		e.expect(200, "GET", "/v2/sessiontemplatesvalid/compute", "", nil).json(t, &msg)
		assert.Equal(t, "Valid", msg)
		e.expect(200, "PUT", "/v2/sessiontemplates/nids", "", template("nid000001")).json(t, &got)
		e.expect(200, "GET", "/v2/sessiontemplatesvalid/nids", "", nil).json(t, &msg)
		assert.Contains(t, msg, "Session template: 'nids' boot set: 'compute': ")
		e.expect(200, "PUT", "/v2/sessiontemplates/nfs", "", map[string]any{"boot_sets": map[string]any{
			"a": map[string]any{"path": "p", "type": "nfs", "node_groups": []string{"g"}}}})
		e.expect(200, "GET", "/v2/sessiontemplatesvalid/nfs", "", nil).json(t, &msg)
		assert.Contains(t, msg, "Unsupported boot set type", "an invalid template still answers 200")
		e.expect(404, "GET", "/v2/sessiontemplatesvalid/nope", "", nil)

		// sessiontemplatetemplate.
		var ex map[string]any
		e.expect(200, "GET", "/v2/sessiontemplatetemplate", "", nil).json(t, &ex)
		assert.NotContains(t, ex, "name")
		assert.Contains(t, ex["boot_sets"], "name_your_boot_set")

		// DELETE.
		e.expect(204, "DELETE", "/v2/sessiontemplates/compute", "blue", nil)
		e.expect(404, "DELETE", "/v2/sessiontemplates/compute", "blue", nil)
		e.expect(200, "GET", "/v2/sessiontemplates/compute", "", nil)
	})
}

// fakeChecker stands in for the S3/IMS checks.
type fakeChecker struct {
	warnings []string
	err      error
}

func (f fakeChecker) CheckBootSet(_ context.Context, _ string, _ orchestrator.BootSet, _ orchestrator.Options) ([]string, error) {
	return f.warnings, f.err
}

func TestBootSetChecker(t *testing.T) {
	check := &fakeChecker{warnings: []string{"initrd missing"}}
	e := newEnv(t, storetest.Mini, func(c *Config) { c.BootSets = check })
	e.expect(200, "PUT", "/v2/sessiontemplates/t", "", template("x1000c0s0b0n0"))
	var msg string
	e.expect(200, "GET", "/v2/sessiontemplatesvalid/t", "", nil).json(t, &msg)
	assert.Equal(t, "Session template: 't' boot set: 'compute': initrd missing", msg)
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "t"})

	check.warnings, check.err = nil, orchestrator.Errorf(orchestrator.EINVALID, "kernel not found in S3")
	e.expect(200, "GET", "/v2/sessiontemplatesvalid/t", "", nil).json(t, &msg)
	assert.Contains(t, msg, "kernel not found in S3")
	d := e.expect(400, "POST", "/v2/sessions", "", map[string]any{"operation": "reboot", "template_name": "t"}).problem(t)
	assert.Contains(t, d.Detail, "Session template fails check: ")
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "shutdown", "template_name": "t"})
}

// TestNullTenant: a template or session without a tenant says "tenant": null, as BOS
// writes it (the key was left out before); a tenant's own carry its name.
func TestNullTenant(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
	e.expect(200, "PUT", "/v2/sessiontemplates/compute", "blue", template("x1000c0s0b0n0"))
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s", "operation": "boot", "template_name": "compute", "stage": true})
	for _, tc := range []struct{ path, tenant, want string }{
		{"/v2/sessiontemplates/compute", "", "null"},
		{"/v2/sessiontemplates/compute", "blue", `"blue"`},
		{"/v2/sessions/s", "", "null"},
	} {
		var m map[string]json.RawMessage
		e.expect(200, "GET", tc.path, tc.tenant, nil).json(t, &m)
		assert.Equal(t, tc.want, string(m["tenant"]), "%s (tenant %q)", tc.path, tc.tenant)
	}
	var list []map[string]json.RawMessage
	e.expect(200, "GET", "/v2/sessiontemplates", "", nil).json(t, &list)
	require.Len(t, list, 2)
	assert.Equal(t, "null", string(list[0]["tenant"]))
}
