// Package authtest is a token issuer for tests: it makes RSA and ECDSA keys, publishes
// them as a JWKS file or over HTTP, and signs Keycloak-shaped tokens with them.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one signing key with its key id and algorithm.
type Key struct {
	ID   string
	Alg  string // RS256 or ES256
	priv crypto.Signer
}

// Issuer holds an RSA and an ECDSA key and signs tokens with them.
type Issuer struct {
	RSA, EC Key
}

// NewIssuer makes fresh keys (a 2048-bit RSA key and a P-256 key).
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{RSA: Key{ID: "rsa-1", Alg: "RS256", priv: rk}, EC: Key{ID: "ec-1", Alg: "ES256", priv: ek}}
}

// JWKS is the public key set (both keys) as JSON.
func (is *Issuer) JWKS() []byte {
	raw, err := json.Marshal(map[string]any{"keys": []map[string]string{is.RSA.jwk(), is.EC.jwk()}})
	if err != nil {
		panic(err)
	}
	return raw
}

// jwk is the key's public half as a JWK (RFC 7517/7518).
func (k Key) jwk() map[string]string {
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": k.ID, "alg": k.Alg, "use": "sig",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		ecdh, err := pub.ECDH()
		if err != nil {
			panic(err)
		}
		pt := ecdh.Bytes() // 0x04 || X || Y
		n := (len(pt) - 1) / 2
		return map[string]string{"kty": "EC", "kid": k.ID, "alg": k.Alg, "use": "sig", "crv": "P-256",
			"x": b64(pt[1 : 1+n]), "y": b64(pt[1+n:])}
	}
	panic("authtest: unknown key type")
}

// WriteJWKS writes the key set to a file in a fresh temporary directory.
func (is *Issuer) WriteJWKS(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, is.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ServeJWKS serves the key set over HTTP until the test ends and returns its URL.
func (is *Issuer) ServeJWKS(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(is.JWKS())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Claims builds a Keycloak-shaped claim set: sub, exp (now+ttl), iat, iss, aud, the
// client roles under resource_access.<client>.roles and the tenants as
// "/<tenant>-tenant-admin" groups.
func Claims(now time.Time, ttl time.Duration, iss, aud, client string, roles, tenants []string) jwt.MapClaims {
	groups := make([]any, len(tenants))
	for i, t := range tenants {
		groups[i] = "/" + t + "-tenant-admin"
	}
	rs := make([]any, len(roles))
	for i, r := range roles {
		rs[i] = r
	}
	return jwt.MapClaims{
		"sub": "tester", "iss": iss, "aud": aud, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"realm_access":    map[string]any{"roles": []any{"offline_access"}},
		"resource_access": map[string]any{client: map[string]any{"roles": rs}},
		"groups":          groups,
	}
}

// Sign signs claims with k, naming k's key id in the header.
func (k Key) Sign(t testing.TB, claims jwt.Claims) string {
	t.Helper()
	var method jwt.SigningMethod = jwt.SigningMethodRS256
	if k.Alg == "ES256" {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stranger returns a key with k's id and algorithm that no JWKS publishes: its tokens
// carry a bad signature.
func (k Key) Stranger(t testing.TB) Key {
	t.Helper()
	other := NewIssuer(t)
	if k.Alg == "ES256" {
		return Key{ID: k.ID, Alg: k.Alg, priv: other.EC.priv}
	}
	return Key{ID: k.ID, Alg: k.Alg, priv: other.RSA.priv}
}
