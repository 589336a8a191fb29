package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestGatewayPrefix: the Cray CLI calls BOS through the API gateway, /apis/bos/v2/... and
// /apis/bos/v1/... (cray bos v2 sessiontemplates create --file, sessions create,
// components updatemany, v1 session create); all were 404 before the prefix was served.
func TestGatewayPrefix(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.seed(orchestrator.NewComponent("x1000c0s0b0n0", t0), orchestrator.NewComponent("x1000c0s1b0n0", t0))
	// cray bos v2 sessiontemplates create --file compute.json compute
	e.expect(200, "PUT", "/apis/bos/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
	e.expect(200, "GET", "/apis/bos/v2/sessiontemplates/compute", "", nil)
	// cray bos v2 sessions create --template-name compute --operation boot
	r := e.expect(201, "POST", "/apis/bos/v2/sessions", "", map[string]any{"template_name": "compute", "operation": "boot"})
	var s struct{ Name string }
	r.json(t, &s)
	e.expect(200, "GET", "/apis/bos/v2/sessions/"+s.Name, "", nil)
	e.expect(200, "GET", "/apis/bos/v2/sessions/"+s.Name+"/status", "", nil)
	// cray bos v2 components updatemany --filter-ids x1000c0s0b0n0,x1000c0s1b0n0 --enabled false
	r = e.expect(200, "PATCH", "/apis/bos/v2/components", "", map[string]any{
		"filters": map[string]any{"ids": "x1000c0s0b0n0,x1000c0s1b0n0"}, "patch": map[string]any{"enabled": false}})
	var comps []struct{ Enabled bool }
	r.json(t, &comps)
	require.Len(t, comps, 2)
	assert.False(t, comps[0].Enabled || comps[1].Enabled)
	// cray bos v1 session create --template-name compute --operation boot
	e.expect(201, "POST", "/apis/bos/v1/session", "", map[string]any{"templateName": "compute", "operation": "boot"})
	e.expect(200, "GET", "/apis/bos/v1/session", "", nil)
	// Links name the path the caller used (BOS's PROXY_PATH).
	var v bosapi.Version
	e.expect(200, "GET", "/apis/bos/v2", "", nil).json(t, &v)
	assert.Equal(t, []bosapi.Link{{Rel: "self", Href: e.srv.URL + "/apis/bos/"}, {Rel: "versions", Href: e.srv.URL + "/apis/bos/v2"}}, v.Links)
	e.expect(200, "GET", "/v2", "", nil).json(t, &v)
	assert.Equal(t, e.srv.URL+"/v2", v.Links[1].Href, "in-cluster links have no prefix")
	e.expect(200, "GET", "/apis/bos/", "", nil)
	e.expect(200, "GET", "/apis/bos", "", nil)
	// Only the whole segment is the prefix; errors name the path BOS saw.
	e.expect(404, "GET", "/apis/bosx/v2/sessions", "", nil)
	d := e.expect(404, "GET", "/apis/bos/v2/nothing", "", nil).problem(t)
	assert.Equal(t, "/v2/nothing", d.Instance)
}
