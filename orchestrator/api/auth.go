package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator/auth"
)

// Who may do what (docs/auth.md). A request without a tenant acts on every tenant's
// records and on the global options: it is the administrator's. Without authentication
// (Config.Auth nil) the network is trusted and such requests are allowed; a request that
// names a tenant may still not change what is global. With authentication every request
// but the version, health and OpenAPI documents needs a valid bearer token; a token with
// the administrator role may act with or without a tenant, any other only as one of the
// tenants its token grants (the one, when it grants exactly one and no header is sent).

// Authenticator verifies a bearer token (auth.Verifier is one).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Identity, error)
}

// access is what a route requires.
type access int

const (
	// public routes need no token: version, health, OpenAPI documents.
	public access = iota
	// anyCaller routes read nothing tenant-specific (options, the example template).
	anyCaller
	// tenantScoped routes act for a tenant, or without one for the administrator.
	tenantScoped
	// global routes change what all tenants share (PATCH /v2/options): the administrator,
	// not acting as a tenant.
	global
	// untenanted routes are v1's, which has no tenants: the administrator's. A tenant
	// header is left to v1's own 400 (noTenant).
	untenanted
)

// routeAccess lists the routes that are not tenantScoped (v2) or untenanted (v1), by
// method and path from the version segment on, so a gateway prefix does not matter.
var routeAccess = map[string]access{
	"GET /v2": public, "GET /v2/version": public, "GET /v2/healthz": public, "GET /v2/openapi.json": public,
	"GET /v1": public, "GET /v1/version": public, "GET /v1/healthz": public, "GET /v1/openapi.json": public,
	"GET /v2/options":                 anyCaller,
	"PATCH /v2/options":               global,
	"GET /v2/sessiontemplatetemplate": anyCaller,
	"GET /v1/sessiontemplatetemplate": anyCaller,
}

// accessOf classifies a matched route (fullPath as gin reports it).
func accessOf(method, fullPath string) access {
	i := strings.Index(fullPath+"/", "/v2/")
	if j := strings.Index(fullPath+"/", "/v1/"); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 {
		return public // the root version list
	}
	path := fullPath[i:]
	if a, ok := routeAccess[method+" "+path]; ok {
		return a
	}
	if strings.HasPrefix(path, "/v1") {
		return untenanted
	}
	return tenantScoped
}

// denial is a refused request: 401 (no usable token) or 403.
type denial struct {
	status int
	detail string
}

// decide is the whole policy: may a caller (nil: authentication is off) make a request
// needing a, naming header as its tenant? It returns the tenant the request acts as.
func decide(who *auth.Identity, a access, header string) (string, *denial) {
	forbid := func(detail string) (string, *denial) {
		return "", &denial{http.StatusForbidden, detail}
	}
	if a == global && header != "" {
		return forbid("this changes what all tenants share; send it without " + bosapi.TenantHeader)
	}
	if who == nil || a == public {
		return header, nil
	}
	switch {
	case who.Admin:
		return header, nil
	case header != "" && !slices.Contains(who.Tenants, header):
		return forbid("the token does not grant tenant '" + header + "'")
	case a == anyCaller:
		return header, nil
	case a == global || a == untenanted:
		return forbid("this needs the administrator role")
	case header != "":
		return header, nil
	case len(who.Tenants) == 1:
		return who.Tenants[0], nil
	case len(who.Tenants) == 0:
		return forbid("the token grants no tenant and not the administrator role")
	}
	return forbid("the token grants several tenants; name one with " + bosapi.TenantHeader)
}

// actingTenantKey holds the tenant a request acts as when the token, not the header,
// named it (read by withTenant through requestedTenant).
const actingTenantKey = "bos.actingTenant"

// authorize applies decide to every matched route; unmatched ones go on to their 404/405.
func (s *Server) authorize(c *gin.Context) {
	if c.FullPath() == "" {
		c.Next()
		return
	}
	a := accessOf(c.Request.Method, c.FullPath())
	header := c.GetHeader(bosapi.TenantHeader)
	var who *auth.Identity
	if s.auth != nil && a != public && internal(c.Request.Context()) {
		who = &auth.Identity{Admin: true}
	} else if s.auth != nil && a != public {
		id, d := s.authenticate(c)
		if d != nil {
			s.deny(c, d)
			return
		}
		who = &id
	}
	tenant, d := decide(who, a, header)
	if d != nil {
		s.deny(c, d)
		return
	}
	if tenant != header {
		c.Set(actingTenantKey, tenant)
	}
	c.Next()
}

// internalCaller marks the context of a request BOS's own controllers (rollouts, CRUS)
// serve in process: no request from the network can carry it.
type internalCaller struct{}

// Internal marks ctx as BOS's own: with authentication on, a request served in process
// under it acts as the administrator, as the controllers that make it do.
func Internal(ctx context.Context) context.Context {
	return context.WithValue(ctx, internalCaller{}, true)
}

func internal(ctx context.Context) bool { return ctx.Value(internalCaller{}) != nil }

// authenticate verifies the request's bearer token.
func (s *Server) authenticate(c *gin.Context) (auth.Identity, *denial) {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return auth.Identity{}, &denial{http.StatusUnauthorized, "this needs an Authorization: Bearer token"}
	}
	id, err := s.auth.Authenticate(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		s.log.Info("bearer token refused", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		return auth.Identity{}, &denial{http.StatusUnauthorized, err.Error()}
	}
	return id, nil
}

// deny writes a 401 (with its WWW-Authenticate challenge) or a 403 as problem+json.
func (s *Server) deny(c *gin.Context, d *denial) {
	if d.status == http.StatusUnauthorized {
		challenge := `Bearer realm="bos"`
		if c.GetHeader("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		c.Header("WWW-Authenticate", challenge)
	}
	s.writeError(c, problem.New(d.status, "%s", d.detail))
}

// requestedTenant is the tenant a request acts as: the token's when authorize chose it,
// else the Cray-Tenant-Name header.
func requestedTenant(c *gin.Context) string {
	if t := c.GetString(actingTenantKey); t != "" {
		return t
	}
	return c.GetHeader(bosapi.TenantHeader)
}

// AuthorizeRead applies to r the rules of GET /v2/components (tenantScoped): with auth
// nil every request passes; otherwise r needs a bearer token for the administrator or for
// the tenant it names. It returns the tenant r acts as ("": every tenant's records) or a
// problem to reply with. Handlers outside this API that read components (the web view)
// call it, so they follow the same rules.
func AuthorizeRead(r *http.Request, a Authenticator) (string, *problem.Details) {
	header := r.Header.Get(bosapi.TenantHeader)
	var who *auth.Identity
	if a != nil {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", problem.New(http.StatusUnauthorized, "this needs an Authorization: Bearer token")
		}
		id, err := a.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return "", problem.New(http.StatusUnauthorized, "%s", err.Error())
		}
		who = &id
	}
	tenant, d := decide(who, tenantScoped, header)
	if d != nil {
		return "", problem.New(d.status, "%s", d.detail)
	}
	return tenant, nil
}
