package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/auth"
	"github.com/cray-bos/bos/orchestrator/auth/authtest"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestTenantMayNotPatchOptions: without authentication a request naming a tenant may read
// the options but not change them (they are every tenant's); it was let through.
func TestTenantMayNotPatchOptions(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	before := e.expect(200, "GET", "/v2/options", "", nil).body
	d := e.expect(403, "PATCH", "/v2/options", "blue", map[string]any{"bss_read_timeout": 30}).problem(t)
	assert.Contains(t, d.Detail, bosapi.TenantHeader)
	e.expect(403, "PATCH", "/v2/options", "purple", map[string]any{"bss_read_timeout": 30})
	assert.Equal(t, string(before), string(e.expect(200, "GET", "/v2/options", "blue", nil).body), "unchanged, and readable as a tenant")
	var o orchestrator.Options
	e.expect(200, "PATCH", "/v2/options", "", map[string]any{"bss_read_timeout": 30}).json(t, &o)
	assert.Equal(t, 30, o.BSSReadTimeout, "the administrator (no tenant) may")
}

// TestDecide is the policy table: caller × route access × tenant header.
func TestDecide(t *testing.T) {
	admin := &auth.Identity{Admin: true}
	blue := &auth.Identity{Tenants: []string{"blue"}}
	two := &auth.Identity{Tenants: []string{"blue", "red"}}
	none := &auth.Identity{}
	rows := []struct {
		name       string
		who        *auth.Identity
		a          access
		header     string
		wantTenant string
		wantStatus int // 0: allowed
	}{
		{"auth off, no tenant", nil, tenantScoped, "", "", 0},
		{"auth off, tenant", nil, tenantScoped, "blue", "blue", 0},
		{"auth off, options patch", nil, global, "", "", 0},
		{"auth off, options patch as tenant", nil, global, "blue", "", 403},
		{"auth off, v1 with a tenant is v1's 400", nil, untenanted, "blue", "blue", 0},
		{"public ignores the caller", blue, public, "red", "red", 0},
		{"admin, no tenant", admin, tenantScoped, "", "", 0},
		{"admin as a tenant", admin, tenantScoped, "red", "red", 0},
		{"admin, options patch", admin, global, "", "", 0},
		{"admin, options patch as a tenant", admin, global, "red", "", 403},
		{"admin, v1", admin, untenanted, "", "", 0},
		{"tenant user, own tenant", blue, tenantScoped, "blue", "blue", 0},
		{"tenant user, tenant from the token", blue, tenantScoped, "", "blue", 0},
		{"tenant user, other tenant", blue, tenantScoped, "red", "", 403},
		{"tenant user, other tenant, reading options", blue, anyCaller, "red", "", 403},
		{"tenant user, reading options", blue, anyCaller, "", "", 0},
		{"tenant user, options patch", blue, global, "", "", 403},
		{"tenant user, v1", blue, untenanted, "", "", 403},
		{"two tenants, must choose", two, tenantScoped, "", "", 403},
		{"two tenants, chosen", two, tenantScoped, "red", "red", 0},
		{"no tenant, no role", none, tenantScoped, "", "", 403},
		{"no tenant, no role, reading options", none, anyCaller, "", "", 0},
	}
	for _, r := range rows {
		tenant, d := decide(r.who, r.a, r.header)
		if r.wantStatus == 0 {
			assert.Nil(t, d, r.name)
			assert.Equal(t, r.wantTenant, tenant, r.name)
		} else if assert.NotNil(t, d, r.name) {
			assert.Equal(t, r.wantStatus, d.status, r.name)
		}
	}
}

func TestAccessOf(t *testing.T) {
	for _, r := range []struct {
		method, path string
		want         access
	}{
		{"GET", "/", public},
		{"GET", "/v2/healthz", public},
		{"GET", "/apis/bos/v2/healthz", public},
		{"GET", "/v1", public},
		{"GET", "/v2/options", anyCaller},
		{"PATCH", "/v2/options", global},
		{"PATCH", "/apis/bos/v2/options", global},
		{"DELETE", "/v2/sessions", tenantScoped},
		{"GET", "/v2/components/:id", tenantScoped},
		{"POST", "/v1/session", untenanted},
		{"GET", "/v1/sessiontemplatetemplate", anyCaller},
	} {
		assert.Equal(t, r.want, accessOf(r.method, r.path), r.method+" "+r.path)
	}
}

// TestAuthMatrix runs callers (no token, bad signature, expired, a tenant user, the same
// as another tenant, the administrator with and without a tenant, a user of two tenants)
// over templates, sessions, components, options and v1, with RS256 keys from a JWKS file
// and ES256 keys from a JWKS URL.
func TestAuthMatrix(t *testing.T) {
	is := authtest.NewIssuer(t)
	const iss, aud = "https://keycloak.example/realms/shasta", "shasta"
	sources := []struct {
		name string
		cfg  auth.Config
		key  authtest.Key
	}{
		{"RS256 from a JWKS file", auth.Config{JWKSFile: is.WriteJWKS(t)}, is.RSA},
		{"ES256 from a JWKS URL", auth.Config{JWKSURL: is.ServeJWKS(t), HTTPClient: http.DefaultClient}, is.EC},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			cfg := src.cfg
			cfg.Issuer, cfg.Audience, cfg.Now = iss, aud, func() time.Time { return t0 }
			v, err := auth.New(t.Context(), cfg)
			require.NoError(t, err)
			e := newEnv(t, storetest.Mini, func(c *Config) { c.Auth = v })
			e.seed(orchestrator.NewComponent(blueNodes[0], t0), orchestrator.NewComponent(redNodes[0], t0))
			token := func(ttl time.Duration, roles, tenants []string) string {
				return src.key.Sign(t, authtest.Claims(t0, ttl, iss, aud, "shasta", roles, tenants))
			}
			stranger := src.key.Stranger(t)
			callers := []struct {
				name, token, tenant string
			}{
				{"no token", "", ""},
				{"bad signature", stranger.Sign(t, authtest.Claims(t0, time.Hour, iss, aud, "shasta", []string{"admin"}, nil)), ""},
				{"expired", token(-time.Second, []string{"admin"}, nil), ""},
				{"blue", token(time.Hour, nil, []string{"blue"}), ""},
				{"blue as red", token(time.Hour, nil, []string{"blue"}), "red"},
				{"admin", token(time.Hour, []string{"admin"}, nil), ""},
				{"admin as blue", token(time.Hour, []string{"admin"}, nil), "blue"},
				{"blue and red", token(time.Hour, nil, []string{"blue", "red"}), ""},
			}
			rows := []struct {
				method, path string
				body         any
				want         [8]int // by caller, in the order above
			}{
				{"GET", "/v2/healthz", nil, [8]int{200, 200, 200, 200, 200, 200, 200, 200}},
				{"GET", "/v2/sessiontemplates", nil, [8]int{401, 401, 401, 200, 403, 200, 200, 403}},
				{"PUT", "/v2/sessiontemplates/t", template(blueNodes...), [8]int{401, 401, 401, 200, 403, 200, 200, 403}},
				{"GET", "/v2/sessiontemplatetemplate", nil, [8]int{401, 401, 401, 200, 403, 200, 200, 200}},
				{"GET", "/v2/sessions", nil, [8]int{401, 401, 401, 200, 403, 200, 200, 403}},
				{"DELETE", "/v2/sessions", nil, [8]int{401, 401, 401, 204, 403, 204, 204, 403}},
				{"GET", "/v2/components", nil, [8]int{401, 401, 401, 200, 403, 200, 200, 403}},
				{"PATCH", "/v2/components/" + blueNodes[0], map[string]any{"enabled": false}, [8]int{401, 401, 401, 200, 403, 200, 200, 403}},
				{"GET", "/v2/options", nil, [8]int{401, 401, 401, 200, 403, 200, 200, 200}},
				{"PATCH", "/v2/options", map[string]any{"bss_read_timeout": 30}, [8]int{401, 401, 401, 403, 403, 200, 403, 403}},
				{"GET", "/v1/sessiontemplate", nil, [8]int{401, 401, 401, 403, 403, 200, 400, 403}},
				{"GET", "/v1/session", nil, [8]int{401, 401, 401, 403, 403, 200, 400, 403}},
			}
			for _, row := range rows {
				for i, c := range callers {
					t.Run(row.method+" "+row.path+" "+c.name, func(t *testing.T) {
						e.t = t
						h := http.Header{}
						if c.token != "" {
							h.Set("Authorization", "Bearer "+c.token)
						}
						if c.tenant != "" {
							h.Set(bosapi.TenantHeader, c.tenant)
						}
						before := e.snapshot()
						r := e.send(row.method, row.path, h, row.body)
						require.Equal(t, row.want[i], r.status, "%s", r.body)
						if c.token != "" {
							assert.NotContains(t, string(r.body), c.token, "the token is never echoed")
						}
						switch {
						case r.status == 401:
							r.problem(t)
							want := `Bearer realm="bos"`
							if c.token != "" {
								want += `, error="invalid_token"`
							}
							assert.Equal(t, want, r.header.Get("WWW-Authenticate"))
						case r.status >= 400:
							r.problem(t)
							assert.Equal(t, before, e.snapshot(), "a refused request writes nothing")
						}
					})
				}
			}
			e.t = t
		})
	}
}

// TestTokenTenantScopes: a tenant user who sends no header acts as the token's tenant:
// what it creates is the tenant's and what it lists is only the tenant's.
func TestTokenTenantScopes(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(t.Context(), auth.Config{JWKSFile: is.WriteJWKS(t), Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	var logs bytes.Buffer
	e := newEnv(t, storetest.Mini, func(c *Config) {
		c.Auth = v
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	admin := http.Header{"Authorization": {"Bearer " + is.RSA.Sign(t, authtest.Claims(t0, time.Hour, "", "", "shasta", []string{"admin"}, nil))}}
	blue := http.Header{"Authorization": {"Bearer " + is.EC.Sign(t, authtest.Claims(t0, time.Hour, "", "", "shasta", nil, []string{"blue"}))}}
	require.Equal(t, 200, e.send("PUT", "/v2/sessiontemplates/admins", admin, template(redNodes...)).status)
	require.Equal(t, 200, e.send("PUT", "/v2/sessiontemplates/blues", blue, template(blueNodes...)).status)

	tpl, err := e.st.GetTemplate(context.Background(), "blue", "blues")
	require.NoError(t, err)
	assert.Equal(t, "blue", tpl.Tenant)
	var list []orchestrator.SessionTemplate
	e.send("GET", "/v2/sessiontemplates", blue, nil).json(t, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "blues", list[0].Name)
	e.send("GET", "/v2/sessiontemplates", admin, nil).json(t, &list)
	assert.Len(t, list, 2, "the administrator lists every tenant's")

	// A refused token is logged, without the token.
	expired := is.RSA.Sign(t, authtest.Claims(t0, -time.Minute, "", "", "shasta", []string{"admin"}, nil))
	require.Equal(t, 401, e.send("GET", "/v2/sessions", http.Header{"Authorization": {"Bearer " + expired}}, nil).status)
	assert.Contains(t, logs.String(), "bearer token refused")
	assert.Contains(t, logs.String(), "expired")
	assert.NotContains(t, logs.String(), expired)

	// The client sends the token.
	c := bosapi.NewClient(e.srv.URL, e.srv.Client())
	_, err = c.ListTemplates(context.Background())
	assert.Equal(t, http.StatusUnauthorized, problem.StatusOf(err))
	got, err := c.WithToken(blue.Get("Authorization")[len("Bearer "):]).ListTemplates(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 1)
}
