package api

import (
	"testing"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/conformance"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// v2Deviations are the differences from BOS 2.50.0's published document that we mean;
// docs/bos-api-deviations.md explains each.
var v2Deviations = []conformance.Deviation{
	{Op: "POST /v2/sessions/{session_id}/status", Contains: `response body /: property "error_summary" is unsupported`,
		Reason: "the spec says a Session; BOS's code returns the extended status it saved, as GET .../status does"},
	{Op: "*", Contains: `string doesn't match the format "date-time"`,
		Reason: "the spec says RFC 3339; BOS's code writes naive timestamps, YYYY-MM-DDTHH:MM:SS (isoformat(timespec='seconds'))"},
}

// TestConformsToBOSv2 sends requests shaped as the Cray CLI sends them, through the API
// gateway's paths, to every v2 operation, on success and error paths, and validates each
// request and answer against the real BOS 2.50.0 document.
func TestConformsToBOSv2(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	c := conformance.New(t, conformance.BOSv2, e.api, v2Deviations...)
	e.seed(orchestrator.NewComponent("x1000c0s0b0n0", t0), orchestrator.NewComponent("x1000c0s1b0n0", t0))

	c.Do("GET", "/", nil)
	c.Do("GET", "/v2", nil)
	c.Do("GET", "/v2/version", nil)
	c.Do("GET", "/v2/healthz", nil)

	// Options.
	c.Do("GET", "/v2/options", nil)
	c.Do("PATCH", "/v2/options", map[string]any{"logging_level": "DEBUG", "max_boot_wait_time": 1200})
	c.DoInvalid("PATCH", "/v2/options", map[string]any{"max_boot_wait_time": "soon"})
	c.Do("PATCH", "/v2/options", map[string]any{"not_an_option": 1}) // allowed, echoed

	// Session templates: cray bos v2 sessiontemplates create/update/describe/list/delete.
	c.Do("GET", "/v2/sessiontemplatetemplate", nil)
	c.Do("PUT", "/v2/sessiontemplates/compute", template("x1000c0s0b0n0", "x1000c0s1b0n0"))
	c.Do("PUT", "/v2/sessiontemplates/doomed", template("x1000c0s0b0n0"))
	c.DoInvalid("PUT", "/v2/sessiontemplates/bad", map[string]any{"boot_sets": "none"})
	for _, readOnly := range []string{"name", "tenant", "links"} {
		body := template("x1000c0s0b0n0")
		body[readOnly] = map[string]any{"name": "compute", "tenant": "blue", "links": []any{map[string]any{"rel": "self", "href": "/x"}}}[readOnly]
		c.DoInvalid("PUT", "/v2/sessiontemplates/bad", body)
		c.DoInvalid("PATCH", "/v2/sessiontemplates/compute", body)
	}
	emptyDescription := template("x1000c0s0b0n0")
	emptyDescription["description"] = ""
	c.DoInvalid("PUT", "/v2/sessiontemplates/bad", emptyDescription)
	c.Do("GET", "/v2/sessiontemplates", nil)
	c.Do("GET", "/v2/sessiontemplates/compute", nil)
	c.Do("GET", "/v2/sessiontemplates/missing", nil)
	c.Do("PATCH", "/v2/sessiontemplates/compute", map[string]any{"description": "the compute nodes"})
	c.Do("PATCH", "/v2/sessiontemplates/missing", map[string]any{"description": "x"})
	c.DoInvalid("PATCH", "/v2/sessiontemplates/compute", map[string]any{"boot_sets": map[string]any{"compute": map[string]any{"kernel_parameters": "quiet"}}})
	c.Do("GET", "/v2/sessiontemplatesvalid/compute", nil)
	c.Do("GET", "/v2/sessiontemplatesvalid/missing", nil)
	c.Do("DELETE", "/v2/sessiontemplates/doomed", nil)
	c.Do("DELETE", "/v2/sessiontemplates/doomed", nil)

	// Sessions: cray bos v2 sessions create --template-name compute --operation reboot.
	var s struct{ Name string }
	c.Do("POST", "/v2/sessions", map[string]any{"template_name": "compute", "operation": "reboot", "limit": "x1000c0s0b0n0"}).JSON(t, &s)
	c.Do("POST", "/v2/sessions", map[string]any{"name": "staged", "template_name": "compute", "operation": "boot", "stage": true})
	c.Do("POST", "/v2/sessions", map[string]any{"template_name": "missing", "operation": "boot"})
	c.DoInvalid("POST", "/v2/sessions", map[string]any{"template_name": "compute", "operation": "explode"})
	c.Do("GET", "/v2/sessions", nil)
	c.Do("GET", "/v2/sessions?status=running&min_age=1h", nil)
	c.Do("GET", "/v2/sessions/"+s.Name, nil)
	c.Do("GET", "/v2/sessions/missing", nil)
	c.Do("GET", "/v2/sessions/"+s.Name+"/status", nil)
	c.Do("GET", "/v2/sessions/missing/status", nil)
	c.Do("PATCH", "/v2/sessions/"+s.Name, map[string]any{"status": map[string]any{"status": "running"}})
	c.Do("PATCH", "/v2/sessions/missing", map[string]any{"status": map[string]any{"status": "running"}})
	e.clock.Advance(time.Minute)
	c.Do("PATCH", "/v2/sessions/"+s.Name, map[string]any{"status": map[string]any{"status": "complete", "end_time": e.clock.Now()}})
	c.Do("POST", "/v2/sessions/"+s.Name+"/status", nil)
	c.Do("POST", "/v2/sessions/missing/status", nil)
	c.Do("GET", "/v2/sessions/"+s.Name+"/status", nil)

	// Components: cray bos v2 components list/describe/update/updatemany.
	c.Do("GET", "/v2/components", nil)
	c.Do("GET", "/v2/components?ids=x1000c0s0b0n0,x1000c0s1b0n0&enabled=true", nil)
	c.DoInvalid("GET", "/v2/components?enabled=maybe", nil)
	c.DoInvalid("GET", "/v2/components?ids=", nil)
	c.Do("GET", "/v2/components/x1000c0s0b0n0", nil)
	c.Do("GET", "/v2/components/x9c0s0b0n0", nil)
	c.Do("PATCH", "/v2/components/x1000c0s0b0n0", map[string]any{"enabled": false})
	c.Do("PATCH", "/v2/components/x9c0s0b0n0", map[string]any{"enabled": false})
	c.DoInvalid("PATCH", "/v2/components/x1000c0s0b0n0", map[string]any{})
	c.Do("PATCH", "/v2/components", map[string]any{"filters": map[string]any{"ids": "x1000c0s0b0n0,x1000c0s1b0n0"}, "patch": map[string]any{"enabled": true}})
	c.Do("PATCH", "/v2/components", map[string]any{"filters": map[string]any{"session": s.Name}, "patch": map[string]any{"enabled": true}})
	c.Do("PATCH", "/v2/components", []map[string]any{{"id": "x1000c0s1b0n0", "enabled": false}})
	c.DoInvalid("PATCH", "/v2/components", map[string]any{"filters": map[string]any{"ids": 7}, "patch": map[string]any{"enabled": true}})
	// cray bos v2 components updatemany --filter-ids x1000c0s0b0n0 (no --patch, no --enabled)
	c.DoInvalid("PATCH", "/v2/components", map[string]any{"filters": map[string]any{"ids": "x1000c0s0b0n0"}, "patch": map[string]any{}})
	c.Do("PUT", "/v2/components", []map[string]any{{"id": "x1000c0s2b0n0", "enabled": true}})
	c.DoInvalid("PUT", "/v2/components", map[string]any{"id": "x1000c0s2b0n0"})
	c.Do("PUT", "/v2/components/x1000c0s3b0n0", map[string]any{"id": "x1000c0s3b0n0", "enabled": true})
	c.DoInvalid("PUT", "/v2/components/x1000c0s3b0n0", map[string]any{"enabled": "yes"})
	c.Do("DELETE", "/v2/components/x1000c0s3b0n0", nil)
	c.Do("DELETE", "/v2/components/x1000c0s3b0n0", nil)
	c.Do("POST", "/v2/applystaged", map[string]any{"xnames": []string{"x1000c0s0b0n0", "x1000c0s1b0n0"}})
	c.DoInvalid("POST", "/v2/applystaged", map[string]any{"xnames": "x1000c0s0b0n0"})

	c.Do("DELETE", "/v2/sessions/"+s.Name, nil)
	c.Do("DELETE", "/v2/sessions/missing", nil)
	c.Do("DELETE", "/v2/sessions?status=complete", nil)
	c.DoInvalid("DELETE", "/v2/sessions?status=lost", nil)

	// A tenant's view (Cray-Tenant-Name): its own templates; an unknown tenant's lists are
	// empty.
	c.Header.Set(bosapi.TenantHeader, "blue")
	c.Do("PUT", "/v2/sessiontemplates/blue-compute", template("x1000c0s0b0n0"))
	c.Do("GET", "/v2/sessiontemplates", nil)
	c.Do("GET", "/v2/components", nil)
	c.Header.Set(bosapi.TenantHeader, "nobody")
	c.Do("GET", "/v2/sessions", nil)
	c.Do("GET", "/v2/sessiontemplates", nil)
	c.Header.Del(bosapi.TenantHeader)

	c.RequireAll("/", nil)
	for op, st := range c.Seen() {
		t.Logf("%s %v", op, st)
	}
}

// v1Deviations are the differences from BOS 2.16.0's v1 document that we mean;
// docs/bos-v1.md explains each.
var v1Deviations = []conformance.Deviation{
	{Op: "GET /v1/sessiontemplate", Contains: `property "boot_ordinal" is unsupported`,
		Reason: "v1 boot-set ordinals are kept and honoured (BOS 2.7+ strips them): docs/bos-v1.md"},
	{Op: "GET /v1/sessiontemplate/{session_template_id}", Contains: `property "boot_ordinal" is unsupported`,
		Reason: "v1 boot-set ordinals are kept and honoured (BOS 2.7+ strips them): docs/bos-v1.md"},
	{Op: "GET /v1/session/{session_id}", Contains: `value matches more than one schema from "oneOf"`,
		Reason: "the document is wrong: its oneOf alternatives both accept the session BOS's code answers"},
	{Op: "DELETE /v1/session/{session_id}/status/{boot_set_name}", Contains: "status is not supported",
		Reason: "an unknown boot set is 404 (BOS answers HTTP 200 with the body 404; the document lists no error)"},
	{Op: "POST /v1/session/{session_id}/status", Contains: "status is not supported",
		Reason: "a status lives in its session's record, so an unknown session is 404 (BOS stores a status for any id)"},
}

// TestConformsToBOSv1 does for v1 what TestConformsToBOSv2 does, against BOS 2.16.0 (the
// last release that served v1), with cray bos v1 shaped requests.
func TestConformsToBOSv1(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	c := conformance.New(t, conformance.BOSv1, e.api, v1Deviations...)

	c.Do("GET", "/v1", nil)
	c.Do("GET", "/v1/version", nil)
	c.Do("GET", "/v1/healthz", nil)
	c.Do("GET", "/v1/sessiontemplatetemplate", nil)

	// cray bos v1 sessiontemplate create --file t.json --name t
	c.Do("POST", "/v1/sessiontemplate", v1Template("x1000c0s0b0n0"))
	c.DoInvalid("POST", "/v1/sessiontemplate", map[string]any{"boot_sets": map[string]any{}})
	c.Do("GET", "/v1/sessiontemplate", nil)
	c.Do("GET", "/v1/sessiontemplate/t", nil)
	c.Do("GET", "/v1/sessiontemplate/missing", nil)

	// cray bos v1 session create --template-name t --operation boot
	var created orchestrator.V1SessionCreated
	c.Do("POST", "/v1/session", map[string]any{"templateName": "t", "operation": "boot"}).JSON(t, &created)
	id := v1ID(created)
	c.Do("POST", "/v1/session", map[string]any{"templateName": "missing", "operation": "boot"})
	c.DoInvalid("POST", "/v1/session", map[string]any{"templateName": "t"})
	c.Do("GET", "/v1/session", nil)
	c.Do("GET", "/v1/session/"+id, nil)
	c.Do("GET", "/v1/session/missing", nil)
	c.Do("GET", "/v1/session/"+id+"/status", nil)
	c.Do("GET", "/v1/session/missing/status", nil)
	c.Do("GET", "/v1/session/"+id+"/status/compute", nil)
	c.Do("GET", "/v1/session/"+id+"/status/other", nil)
	c.Do("GET", "/v1/session/"+id+"/status/compute/boot", nil)
	c.Do("GET", "/v1/session/"+id+"/status/compute/reboot", nil)
	c.Do("GET", "/v1/session/"+id+"/status/compute/boot/failed", nil)
	c.Do("GET", "/v1/session/"+id+"/status/compute/boot/lost", nil)

	// BOA's status writes (cray bos v1 session status create/update/delete).
	status := map[string]any{"id": id, "boot_sets": []string{"compute"}, "metadata": map[string]any{"start_time": "2020-04-24T12:00:00"}}
	c.Do("POST", "/v1/session/"+id+"/status", status) // 409: POST /v1/session created it
	c.Do("PATCH", "/v1/session/"+id+"/status", map[string]any{"start_time": "2020-04-24T12:00:00", "stop_time": "2020-04-24T12:30:00"})
	c.Do("PATCH", "/v1/session/missing/status", map[string]any{"stop_time": "2020-04-24T12:30:00"})
	bootSet := map[string]any{"name": "extra", "session": id, "metadata": map[string]any{"start_time": "2020-04-24T12:00:00"},
		"phases": []any{map[string]any{"name": "boot", "metadata": map[string]any{}, "categories": []any{
			map[string]any{"name": "not_started", "node_list": []string{"x1000c0s0b0n0"}},
			map[string]any{"name": "in_progress", "node_list": []string{}}}}}}
	c.Do("POST", "/v1/session/"+id+"/status/extra", bootSet)
	c.Do("POST", "/v1/session/"+id+"/status/extra", bootSet) // 409
	updates := []any{
		map[string]any{"update_type": "NodeChangeList", "phase": "boot", "data": map[string]any{"phase": "boot", "source": "not_started", "destination": "in_progress", "node_list": []string{"x1000c0s0b0n0"}}},
		map[string]any{"update_type": "NodeErrorsList", "phase": "boot", "data": map[string]any{"power on failed": []string{"x1000c0s0b0n0"}}},
		map[string]any{"update_type": "GenericMetadata", "phase": "boot", "data": map[string]any{"stop_time": "2020-04-24T12:10:00"}},
	}
	c.Do("PATCH", "/v1/session/"+id+"/status/extra", updates)
	c.Do("PATCH", "/v1/session/"+id+"/status/other", updates)
	c.DoInvalid("PATCH", "/v1/session/"+id+"/status/extra", []any{map[string]any{"update_type": "Reboot", "phase": "boot", "data": map[string]any{}}})
	c.Do("DELETE", "/v1/session/"+id+"/status/extra", nil)
	c.Do("DELETE", "/v1/session/"+id+"/status/extra", nil)
	c.Do("DELETE", "/v1/session/"+id+"/status", nil)
	c.Do("GET", "/v1/session/"+id+"/status", nil)
	c.Do("DELETE", "/v1/session/"+id+"/status", nil)
	c.Do("POST", "/v1/session/"+id+"/status", status)
	c.Do("POST", "/v1/session/missing/status", status)

	c.Do("DELETE", "/v1/session/"+id, nil)
	c.Do("DELETE", "/v1/session/"+id, nil)
	c.Do("DELETE", "/v1/sessiontemplate/t", nil)
	c.Do("DELETE", "/v1/sessiontemplate/t", nil)

	c.RequireAll("/v1", nil)
}
