// Package auth verifies the bearer tokens of BOS API callers and says who they are.
//
// Real BOS trusts the CSM API gateway: Istio hands each request to OPA, which checks a
// Keycloak JWT against Keycloak's JWKS (audience "shasta", a list of issuers), reads the
// caller's roles from resource_access.shasta.roles ("admin" may do anything) and lets a
// tenant administrator through only with a Cray-Tenant-Name naming a tenant whose
// Keycloak group ("<tenant>-tenant-admin", created by TAPMS) the caller belongs to.
// A Verifier does the token half of that inside BOS: the signature (RS256 or ES256 and
// their larger siblings; never HMAC or "none") against a JWKS file or URL, expiry,
// optionally issuer and audience, then maps the claims to an Identity. What an
// Identity may do is the API's decision (orchestrator/api, auth.go).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Identity is who a verified token speaks for.
type Identity struct {
	// Subject is the token's sub claim (for logs).
	Subject string
	// Admin: the token carries the administrator role.
	Admin bool
	// Tenants are the tenants the token may act for, sorted.
	Tenants []string
}

// Defaults of Config's claim mapping: Keycloak as CSM sets it up.
const (
	DefaultTenantClaim  = "groups"
	DefaultTenantSuffix = "-tenant-admin"
	DefaultAdminRole    = "admin"
	DefaultRoleClient   = "shasta"
)

// Algorithms are the signature algorithms accepted. Asymmetric only: with HMAC a
// public JWKS key could be used as a shared secret (algorithm confusion).
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// Config configures a Verifier. Exactly one of JWKSFile and JWKSURL is required.
type Config struct {
	// JWKSFile is a JSON Web Key Set file, read once by New.
	JWKSFile string
	// JWKSURL is fetched by New (an error if it fails) and refreshed hourly, and at once
	// (at most every five minutes) when a token names an unknown key id.
	JWKSURL string
	// HTTPClient fetches JWKSURL. Nil: http.DefaultClient.
	HTTPClient *http.Client
	// Issuer, when set, must equal the iss claim.
	Issuer string
	// Audience, when set, must be among the aud claim's values.
	Audience string
	// TenantClaim is the claim (a dotted path into nested objects) whose string or list
	// of strings names the caller's tenants. "" means DefaultTenantClaim.
	TenantClaim string
	// TenantSuffix: only values ending with it grant a tenant, the value less the suffix
	// (and less the leading "/" of Keycloak's full group paths). Use NoSuffix for claims
	// that hold bare tenant names; "" means DefaultTenantSuffix.
	TenantSuffix string
	// AdminRole is the administrator's role, looked up in realm_access.roles and
	// resource_access.<RoleClient>.roles. "" means DefaultAdminRole.
	AdminRole string
	// RoleClient is the Keycloak client whose roles count. "" means DefaultRoleClient.
	RoleClient string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger receives JWKS refresh failures. Nil discards.
	Logger *slog.Logger
}

// NoSuffix as Config.TenantSuffix takes tenant claim values as they are.
const NoSuffix = "-"

// ErrInvalidToken is wrapped by every Authenticate error: the token is malformed, badly
// signed, expired, or for another issuer or audience.
var ErrInvalidToken = errors.New("invalid bearer token")

// Verifier checks tokens. Safe for concurrent use.
type Verifier struct {
	keys   jwt.Keyfunc
	parser *jwt.Parser
	cfg    Config
}

// New builds a Verifier; ctx bounds the JWKS URL's refresh goroutine.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	switch cfg.TenantSuffix {
	case "":
		cfg.TenantSuffix = DefaultTenantSuffix
	case NoSuffix:
		cfg.TenantSuffix = ""
	}
	if cfg.AdminRole == "" {
		cfg.AdminRole = DefaultAdminRole
	}
	if cfg.RoleClient == "" {
		cfg.RoleClient = DefaultRoleClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	kf, err := keySet(ctx, cfg)
	if err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(Algorithms), jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway), jwt.WithTimeFunc(cfg.Now)}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{keys: kf.Keyfunc, parser: jwt.NewParser(opts...), cfg: cfg}, nil
}

// keySet loads the JWKS from the file or the URL.
func keySet(ctx context.Context, cfg Config) (keyfunc.Keyfunc, error) {
	switch {
	case (cfg.JWKSFile == "") == (cfg.JWKSURL == ""):
		return nil, errors.New("auth: give exactly one of a JWKS file and a JWKS URL")
	case cfg.JWKSFile != "":
		raw, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS file: %w", err)
		}
		kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(raw))
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS file %s: %w", cfg.JWKSFile, err)
		}
		return kf, nil
	}
	fail := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    cfg.HTTPClient,
		NoErrorReturnFirstHTTPReq: &fail,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				cfg.Logger.Error("JWKS refresh failed", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS URL %s: %w", cfg.JWKSURL, err)
	}
	return kf, nil
}

// Authenticate verifies token and returns its identity; every error wraps
// ErrInvalidToken and never contains the token.
func (v *Verifier) Authenticate(_ context.Context, token string) (Identity, error) {
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keys); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	sub, _ := claims["sub"].(string)
	return Identity{
		Subject: sub,
		Admin:   hasRole(claims, v.cfg.RoleClient, v.cfg.AdminRole),
		Tenants: tenants(claimAt(claims, v.cfg.TenantClaim), v.cfg.TenantSuffix),
	}, nil
}

// hasRole reports whether role is among Keycloak's realm roles or client's roles.
func hasRole(claims map[string]any, client, role string) bool {
	return slices.Contains(stringList(claimAt(claims, "realm_access.roles")), role) ||
		slices.Contains(stringList(claimAt(claims, "resource_access."+client+".roles")), role)
}

// tenants maps claim values to tenant names: with a suffix, only values that end with it
// (Keycloak group names, perhaps full paths "/<tenant>-tenant-admin") count.
func tenants(v any, suffix string) []string {
	var out []string
	for _, s := range stringList(v) {
		s = strings.TrimPrefix(s, "/")
		if suffix != "" {
			var ok bool
			if s, ok = strings.CutSuffix(s, suffix); !ok {
				continue
			}
		}
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// claimAt follows a dotted path through nested claim objects; nil if absent.
func claimAt(claims map[string]any, path string) any {
	var v any = claims
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// stringList reads a claim as a list of strings: one string, or the strings of a list.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
