package api

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/fuzzcheck"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// fuzzRoutes are the body-taking BOS routes a fuzz input picks from.
var fuzzRoutes = []struct{ method, path string }{
	{"PATCH", "/v2/options"},
	{"PUT", "/v2/sessiontemplates/compute"},
	{"PATCH", "/v2/sessiontemplates/compute"},
	{"PUT", "/v2/sessiontemplates/new"},
	{"POST", "/v2/sessions"},
	{"PATCH", "/v2/sessions/s1"},
	{"POST", "/v2/sessions/s1/status"},
	{"PUT", "/v2/components"},
	{"PATCH", "/v2/components"},
	{"PUT", "/v2/components/x1000c0s0b0n0"},
	{"PATCH", "/v2/components/x1000c0s0b0n0"},
	{"POST", "/v2/applystaged"},
	{"POST", "/v1/session"},
	{"POST", "/v1/sessiontemplate"},
}

// fuzzTenants are the tenant headers a fuzz input picks from ("" is the admin).
var fuzzTenants = []string{"", "blue", "red", "nosuch"}

// FuzzBOSBodies: any body on any body-taking BOS route, as the admin or a tenant, gets a
// 2xx or a problem+json 4xx, and a refused body leaves components, templates, sessions,
// session statuses and options as they were. One env serves a whole fuzzing process
// (accepted writes accumulate): building one per input held the target to ~10 inputs/s.
func FuzzBOSBodies(f *testing.F) {
	for i, body := range []string{
		`{"polling_frequency":15,"cleanup_completed_session_ttl":"7d","logging_level":"DEBUG"}`,
		`{"cfs":{"configuration":"compute-config"},"enable_cfs":true,"boot_sets":{"compute":{"path":"s3://boot-images/abc/manifest.json","type":"s3","etag":"e","kernel_parameters":"console=ttyS0","node_list":["x1000c0s0b0n0"],"arch":"X86","rootfs_provider":"sbps"}}}`,
		`{"description":"d","boot_sets":{"compute":{"node_groups":["compute"],"node_roles_groups":["Compute"]}}}`,
		`{"name":"s2","operation":"reboot","template_name":"compute","limit":"all,!x1000c0s1b0n0","stage":true,"include_disabled":false}`,
		`{"status":{"status":"complete","end_time":"2026-03-01T12:00:00Z"},"components":"x1000c0s0b0n0"}`,
		`{"name":"s1"}`,
		`[{"id":"x1000c0s0b0n0","enabled":true,"desired_state":{"boot_artifacts":{"kernel":"k","initrd":"i","kernel_parameters":"p"},"configuration":"c"}}]`,
		`{"patch":{"enabled":false},"filters":{"ids":"x1000c0s0b0n0,x1000c0s1b0n0"}}`,
		`{"enabled":true,"staged_state":{"boot_artifacts":{"kernel":"k"},"session":"s1"},"retry_policy":3}`,
		`{"event_stats":{"power_on_attempts":1},"error":"x"}`,
		`{"xnames":["x1000c0s0b0n0"]}`,
		`{"operation":"boot","templateName":"compute","limit":"x1000c0s0b0n0"}`,
		`{"name":"v1t","boot_sets":{"compute":{"path":"s3://b/m.json","type":"s3","node_list":["x1000c0s0b0n0"]}}}`,
		` null `, `[{"id":"x1000c0s0b0n0"},null]`, "{\"error\":\"a\xffb\"}", `{"retry_policy":"3"}`, `{"limit":"all,,x"}`,
	} {
		f.Add(uint8(i), uint8(0), body)
	}
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, route, tenant uint8, body string) {
		e.t = t
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		tn := fuzzTenants[int(tenant)%len(fuzzTenants)]
		before := e.snapshot() + fuzzcheck.Do(e.api, "GET", "/v2/options", "", nil).Body.String()
		var header []string
		if tn != "" {
			header = []string{bosapi.TenantHeader, tn}
		}
		w := fuzzcheck.Do(e.api, rt.method, rt.path, "application/json", []byte(body), header...)
		fuzzcheck.Reply(t, fuzzcheck.Problem, w)
		after := e.snapshot() + fuzzcheck.Do(e.api, "GET", "/v2/options", "", nil).Body.String()
		if w.Code >= 400 && before != after {
			t.Fatalf("%s %s (tenant %q) refused (%d: %s) but changed the store:\nbefore %s\nafter  %s", rt.method, rt.path, tn, w.Code, w.Body, before, after)
		}
	})
}

// fuzzEnv is newEnv for a fuzz target: built once on f (miniredis, closed when the target
// ends), with a component, a template as admin and as tenant blue, and session s1.
func fuzzEnv(f *testing.F) *env {
	st := storetest.Open(f, storetest.Mini, store.Config{})
	e := &env{st: st, clock: &clock{t: t0},
		tenants: tenant.NewMemory(tenant.New("blue", blueNodes), tenant.New("red", redNodes), tenant.New("empty", nil))}
	e.api = New(Config{Store: st, Tenants: e.tenants, Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	e.srv = httptest.NewServer(e.api)
	f.Cleanup(e.srv.Close)
	for _, r := range []struct {
		method, path, tenant, body string
		want                       int
	}{
		{"PUT", "/v2/components/x1000c0s0b0n0", "", `{"enabled":true,"desired_state":{"boot_artifacts":{"kernel":"k"}}}`, 200},
		{"PUT", "/v2/sessiontemplates/compute", "", fuzzTemplate, 200},
		{"PUT", "/v2/sessiontemplates/compute", "blue", fuzzTemplate, 200},
		{"POST", "/v2/sessions", "", `{"name":"s1","operation":"boot","template_name":"compute"}`, 201},
	} {
		var header []string
		if r.tenant != "" {
			header = []string{bosapi.TenantHeader, r.tenant}
		}
		if w := fuzzcheck.Do(e.api, r.method, r.path, "application/json", []byte(r.body), header...); w.Code != r.want {
			f.Fatalf("%s %s: %d %s", r.method, r.path, w.Code, w.Body)
		}
	}
	return e
}

const fuzzTemplate = `{"cfs":{"configuration":"compute-config"},"boot_sets":{"compute":{"path":"s3://boot-images/abc/manifest.json","type":"s3","node_list":["x1000c0s0b0n0"]}}}`
