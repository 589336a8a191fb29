package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/auth/authtest"
)

// TestServeAuth: `bos serve --auth-jwks-file` refuses the CLI without a token (401), and
// the token from --token-file or $BOS_TOKEN_FILE decides: a tenant user acts as its tenant
// and may not change the options; the administrator may.
func TestServeAuth(t *testing.T) {
	is := authtest.NewIssuer(t)
	urls, _ := serveInProcess(t, "--auth-jwks-file", is.WriteJWKS(t), "--tenants",
		writeFile(t, "tenants.yaml", "tenants:\n  - name: blue\n    tenantresources:\n      - xnames: [x1000c0s0b0n0]\n"))
	now := time.Now()
	blueToken := writeFile(t, "blue", is.RSA.Sign(t, authtest.Claims(now, time.Hour, "", "", "shasta", nil, []string{"blue"}))+"\n")
	adminToken := writeFile(t, "admin", is.EC.Sign(t, authtest.Claims(now, time.Hour, "", "", "shasta", []string{"admin"}, nil)))
	cli := func(args ...string) cliResult {
		return bosCmd(t, "", append(append([]string{"v2"}, args...), "--urls-file", urls, "--format", "json")...)
	}

	r := cli("healthz", "list")
	require.NoError(t, r.fail, "health needs no token")
	r = cli("sessiontemplates", "list")
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "401")

	tpl := writeFile(t, "t.json", `{"boot_sets": {"b": {"path": "s3://boot-images/i/manifest.json", "type": "s3", "node_list": ["x1000c0s0b0n0"]}}}`)
	require.NoError(t, cli("sessiontemplates", "create", "t", "--file", tpl, "--token-file", blueToken).fail)
	r = cli("sessiontemplates", "describe", "t", "--token-file", blueToken)
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, `"tenant": "blue"`, "the token's tenant owns it")
	r = cli("options", "update", "--bss-read-timeout", "30", "--token-file", blueToken)
	require.Error(t, r.fail)
	assert.Contains(t, r.fail.Error(), "403")

	t.Setenv(envTokenFile, adminToken)
	r = cli("options", "update", "--bss-read-timeout", "30")
	require.NoError(t, r.fail, r.err)
	r = cli("sessiontemplates", "describe", "t", "--tenant", "blue")
	require.NoError(t, r.fail, "the administrator may act as a tenant: %s", r.err)
}

func TestServeAuthFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"claim without a key set", []string{"--auth-issuer", "https://kc.example"}, "--auth-issuer needs --auth-jwks-file or --auth-jwks-url"},
		{"both key sets", []string{"--auth-jwks-file", "x.json", "--auth-jwks-url", "http://127.0.0.1:1/"}, "exactly one"},
		{"missing key set file", []string{"--auth-jwks-file", t.TempDir() + "/none.json"}, "JWKS file"},
		{"unreachable key set URL", []string{"--auth-jwks-url", "http://127.0.0.1:1/certs"}, "JWKS URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bosCmd(t, "", append([]string{"serve", "--listen", "127.0.0.1:0"}, tc.args...)...)
			require.Error(t, r.fail)
			assert.Contains(t, r.fail.Error(), tc.want)
		})
	}
}
