package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/auth"
	"github.com/cray-bos/bos/orchestrator/auth/authtest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	iss = "https://keycloak.example/realms/shasta"
	aud = "shasta"
)

// TestAuthenticate: tokens signed by either key (RS256, ES256) are accepted from a JWKS
// file and from a JWKS URL, and their claims become the identity; anything else fails
// with ErrInvalidToken and an error that does not contain the token.
func TestAuthenticate(t *testing.T) {
	is := authtest.NewIssuer(t)
	sources := map[string]auth.Config{
		"file": {JWKSFile: is.WriteJWKS(t)},
		"url":  {JWKSURL: is.ServeJWKS(t), HTTPClient: http.DefaultClient},
	}
	for name, cfg := range sources {
		t.Run(name, func(t *testing.T) {
			cfg.Issuer, cfg.Audience, cfg.Now = iss, aud, func() time.Time { return now }
			v, err := auth.New(t.Context(), cfg)
			require.NoError(t, err)
			claims := func(f func(jwt.MapClaims)) jwt.MapClaims {
				c := authtest.Claims(now, time.Minute, iss, aud, "shasta", []string{"admin"}, []string{"blue", "red"})
				if f != nil {
					f(c)
				}
				return c
			}
			good := []struct {
				name  string
				token string
				want  auth.Identity
			}{
				{"RS256", is.RSA.Sign(t, claims(nil)), auth.Identity{Subject: "tester", Admin: true, Tenants: []string{"blue", "red"}}},
				{"ES256", is.EC.Sign(t, claims(nil)), auth.Identity{Subject: "tester", Admin: true, Tenants: []string{"blue", "red"}}},
				{"realm role", is.RSA.Sign(t, claims(func(c jwt.MapClaims) {
					c["resource_access"] = map[string]any{}
					c["realm_access"] = map[string]any{"roles": []any{"admin"}}
				})), auth.Identity{Subject: "tester", Admin: true, Tenants: []string{"blue", "red"}}},
				{"other client's admin role does not count", is.RSA.Sign(t, claims(func(c jwt.MapClaims) {
					c["resource_access"] = map[string]any{"account": map[string]any{"roles": []any{"admin"}}}
				})), auth.Identity{Subject: "tester", Tenants: []string{"blue", "red"}}},
				{"groups that are not tenant-admin groups grant nothing", is.RSA.Sign(t, claims(func(c jwt.MapClaims) {
					c["groups"] = []any{"/blue", "red-users", "green-tenant-admin", 7}
				})), auth.Identity{Subject: "tester", Admin: true, Tenants: []string{"green"}}},
				{"audience in a list", is.RSA.Sign(t, claims(func(c jwt.MapClaims) { c["aud"] = []any{"account", aud} })),
					auth.Identity{Subject: "tester", Admin: true, Tenants: []string{"blue", "red"}}},
			}
			for _, g := range good {
				id, err := v.Authenticate(context.Background(), g.token)
				require.NoError(t, err, g.name)
				assert.Equal(t, g.want, id, g.name)
			}
			hmac := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
			hmacToken, err := hmac.SignedString([]byte("secret"))
			require.NoError(t, err)
			bad := map[string]string{
				"bad signature (RSA)":  is.RSA.Stranger(t).Sign(t, claims(nil)),
				"bad signature (EC)":   is.EC.Stranger(t).Sign(t, claims(nil)),
				"expired":              is.RSA.Sign(t, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() })),
				"no expiry":            is.RSA.Sign(t, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
				"not yet valid":        is.RSA.Sign(t, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })),
				"other issuer":         is.RSA.Sign(t, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
				"other audience":       is.RSA.Sign(t, claims(func(c jwt.MapClaims) { c["aud"] = "account" })),
				"HS256":                hmacToken,
				"not a JWT":            "not-a-jwt",
				"unknown key id (RSA)": authtest.Key{ID: "nope", Alg: "RS256"}.Stranger(t).Sign(t, claims(nil)),
			}
			for name, tok := range bad {
				_, err := v.Authenticate(context.Background(), tok)
				require.ErrorIs(t, err, auth.ErrInvalidToken, name)
				assert.NotContains(t, err.Error(), tok, name)
			}
		})
	}
}

// TestTenantClaimConfig: a claim of bare tenant names, at a nested path, with no suffix.
func TestTenantClaimConfig(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(t.Context(), auth.Config{JWKSFile: is.WriteJWKS(t), TenantClaim: "bos.tenant",
		TenantSuffix: auth.NoSuffix, AdminRole: "bos-admin", RoleClient: "bos", Now: func() time.Time { return now }})
	require.NoError(t, err)
	c := authtest.Claims(now, time.Minute, iss, aud, "bos", []string{"bos-admin"}, nil)
	c["bos"] = map[string]any{"tenant": "blue"}
	id, err := v.Authenticate(context.Background(), is.EC.Sign(t, c))
	require.NoError(t, err)
	assert.Equal(t, auth.Identity{Subject: "tester", Admin: true, Tenants: []string{"blue"}}, id)
}

func TestNewErrors(t *testing.T) {
	is := authtest.NewIssuer(t)
	for name, cfg := range map[string]auth.Config{
		"neither":         {},
		"both":            {JWKSFile: is.WriteJWKS(t), JWKSURL: is.ServeJWKS(t)},
		"missing file":    {JWKSFile: t.TempDir() + "/none.json"},
		"unreachable URL": {JWKSURL: "http://127.0.0.1:1/jwks"},
	} {
		_, err := auth.New(t.Context(), cfg)
		assert.Error(t, err, name)
	}
}
