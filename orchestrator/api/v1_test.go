package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

func TestV1VersionAndHealth(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	for _, path := range []string{"/v1", "/v1/version"} {
		var v bosapi.Version
		e.expect(200, "GET", path, "", nil).json(t, &v)
		assert.Equal(t, bosapi.Version{Major: "2", Minor: "50", Patch: "0", Links: []bosapi.Link{
			{Rel: "self", Href: e.srv.URL + "/"}, {Rel: "versions", Href: e.srv.URL + "/v1"}}}, v)
	}
	var h bosapi.Health
	e.expect(200, "GET", "/v1/healthz", "", nil).json(t, &h)
	assert.Equal(t, bosapi.Health{DBStatus: "ok", APIStatus: "ok"}, h)
	var doc map[string]any
	e.expect(200, "GET", "/v1/openapi.json", "", nil).json(t, &doc)
	assert.Equal(t, "Boot Orchestration Service (BOS) v1", doc["info"].(map[string]any)["title"])
	e.expect(405, "POST", "/v1/version", "", nil)
}

// TestV1RefusesTenants: v1 has no tenants; every endpoint but version, health, the API
// description and the example template refuses a tenant header and writes nothing.
func TestV1RefusesTenants(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	before := e.snapshot()
	for _, r := range e.api.engine.Routes() {
		if !strings.HasPrefix(r.Path, "/v1") {
			continue
		}
		path := ginParam.ReplaceAllString(r.Path, "x")
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			e.t = t
			switch r.Path {
			case "/v1", "/v1/version", "/v1/healthz", "/v1/openapi.json", "/v1/sessiontemplatetemplate":
				e.expect(200, r.Method, path, "blue", nil)
				return
			}
			d := e.expect(400, r.Method, path, "blue", `{}`).problem(t)
			assert.Equal(t, "Multi-tenancy not supported", d.Title)
			assert.Equal(t, "BOS v1 endpoints do not support multi-tenancy and a tenant was specified in the header", d.Detail)
		})
	}
	e.t = t
	assert.Equal(t, before, e.snapshot())
}

func v1Template(nodes ...string) map[string]any {
	return map[string]any{
		"name": "t", "cfs_url": "https://vcs/old.git", "partition": "p1",
		"cfs": map[string]any{"configuration": "cfg", "branch": "main"},
		"boot_sets": map[string]any{
			"compute": map[string]any{"path": "s3://boot-images/abc/manifest.json", "type": "s3", "node_list": nodes,
				"network": "nmn", "boot_ordinal": 2, "shutdown_ordinal": 1, "rootfs_provider": "cpss3"},
		},
	}
}

func TestV1Templates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		var name string
		e.expect(201, "POST", "/v1/sessiontemplate", "", v1Template("X1000C0S0B0N0")).json(t, &name)
		assert.Equal(t, "t", name)

		var got map[string]any
		e.expect(200, "GET", "/v1/sessiontemplate/t", "", nil).json(t, &got)
		assert.Equal(t, map[string]any{
			"name": "t", "enable_cfs": true, "cfs": map[string]any{"configuration": "cfg"}, "partition": "p1",
			"boot_sets": map[string]any{"compute": map[string]any{
				"path": "s3://boot-images/abc/manifest.json", "type": "s3", "node_list": []any{"x1000c0s0b0n0"},
				"boot_ordinal": 2.0, "shutdown_ordinal": 1.0, "rootfs_provider": "cpss3", "arch": "X86"}},
		}, got, "deprecated fields dropped, extensions kept, xnames canonical")
		var v2 map[string]any
		e.expect(200, "GET", "/v2/sessiontemplates/t", "", nil).json(t, &v2)
		assert.NotContains(t, v2, "partition", "v2 does not show the v1 extensions")
		assert.NotContains(t, v2["boot_sets"].(map[string]any)["compute"], "boot_ordinal")

		// A template written through v2 reads through v1 (arch, per boot set cfs shown).
		e.expect(200, "PUT", "/v2/sessiontemplates/v2t", "", template("x1000c0s1b0n0"))
		var fromV2 orchestrator.V1SessionTemplate
		e.expect(200, "GET", "/v1/sessiontemplate/v2t", "", nil).json(t, &fromV2)
		assert.Equal(t, "X86", fromV2.BootSets["compute"].Arch)
		assert.Equal(t, "compute-config", fromV2.Configuration())
		e.expect(200, "PUT", "/v2/sessiontemplates/tt", "blue", template("x1000c0s0b0n0"))

		var list []orchestrator.V1SessionTemplate
		e.expect(200, "GET", "/v1/sessiontemplate", "", nil).json(t, &list)
		require.Len(t, list, 3, "every tenant's templates, as BOS lists them")
		assert.Equal(t, []string{"t", "v2t", "tt"}, []string{list[0].Name, list[1].Name, list[2].Name})
		assert.Equal(t, "blue", list[2].Tenant)

		var ex map[string]any
		e.expect(200, "GET", "/v1/sessiontemplatetemplate", "", nil).json(t, &ex)
		assert.NotContains(t, ex, "name")
		assert.Equal(t, "cpss3", ex["boot_sets"].(map[string]any)["name_your_boot_set"].(map[string]any)["rootfs_provider"])

		before := e.snapshot()
		for _, tc := range []struct {
			name   string
			body   any
			status int
			title  string
			detail string
		}{
			{"UnknownField", `{"name":"x","colour":"red"}`, 400, "Bad Request", "unknown field"},
			{"WrongType", `{"name":"x","enable_cfs":"yes"}`, 400, "Bad Request", "must be a JSON boolean, not string"},
			{"V2Field", map[string]any{"name": "x", "boot_sets": map[string]any{"a": map[string]any{"path": "p", "type": "s3", "arch": "ARM"}}}, 400, "Bad Request", "boot_sets.a.arch"},
			{"NoName", map[string]any{"boot_sets": map[string]any{}}, 400, "The session template could not be created.", "name"},
			{"BadNetwork", map[string]any{"name": "x", "boot_sets": map[string]any{"a": map[string]any{"path": "p", "type": "s3", "network": "hsn"}}}, 400, "The session template could not be created.", "must be nmn"},
			{"NotAV2Template", map[string]any{"name": "bad name", "boot_sets": map[string]any{"a": map[string]any{"path": "p", "type": "s3", "node_list": []string{"x1"}}}}, 400, "The session template could not be created as a v2 template.", "name"},
			{"NoBootSets", map[string]any{"name": "x"}, 400, "The session template could not be created as a v2 template.", "boot_sets"},
			{"NotJSON", "name=x", 400, "Bad Request", "JSON"},
			{"Empty", "", 400, "Bad Request", "empty"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				d := e.expect(tc.status, "POST", "/v1/sessiontemplate", "", tc.body).problem(t)
				assert.Equal(t, tc.title, d.Title)
				assert.Contains(t, d.Detail, tc.detail)
			})
		}
		e.t = t
		assert.Equal(t, before, e.snapshot(), "a refused create writes nothing")

		e.expect(404, "GET", "/v1/sessiontemplate/nope", "", nil)
		e.expect(404, "GET", "/v1/sessiontemplate/tt", "", nil) // blue's: not in v1's namespace
		e.expect(204, "DELETE", "/v1/sessiontemplate/t", "", nil)
		e.expect(404, "DELETE", "/v1/sessiontemplate/t", "", nil)
		e.expect(404, "GET", "/v2/sessiontemplates/t", "", nil)
		e.expect(400, "GET", "/v1/sessiontemplate/"+strings.Repeat("a", 200), "", nil)
	})
}

func TestV1SessionCreateAndViews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		woken := 0
		e := newEnv(t, backend, func(c *Config) { c.WakeV1 = func() { woken++ } })
		e.expect(201, "POST", "/v1/sessiontemplate", "", v1Template("x1000c0s0b0n0"))
		e.expect(200, "PUT", "/v2/sessiontemplates/v2t", "", template("x1000c0s1b0n0"))
		require.NoError(t, e.st.PutTemplateJSON(context.Background(), "", "empty", []byte(`{"name":"empty"}`)))
		require.NoError(t, e.st.PutTemplateJSON(context.Background(), "", "nonodes", []byte(`{"name":"nonodes","boot_sets":{"a":{"path":"p","type":"s3"}}}`)))

		var created map[string]any
		e.expect(201, "POST", "/v1/session", "", map[string]any{"operation": "Reboot", "templateName": "t"}).json(t, &created)
		links := created["links"].([]any)
		id := strings.TrimPrefix(links[0].(map[string]any)["href"].(string), "/v1/session/")
		assert.Regexp(t, uuidPattern, id)
		assert.Equal(t, map[string]any{"operation": "Reboot", "templateName": "t", "job": "boa-" + id, "links": []any{
			map[string]any{"rel": "session", "href": "/v1/session/" + id, "jobId": "boa-" + id, "type": "GET"},
			map[string]any{"rel": "status", "href": "/v1/session/" + id + "/status", "type": "GET"},
		}}, created, "no limit key without a limit")
		assert.Equal(t, 1, woken, "the agent is woken")

		var withLimit orchestrator.V1SessionCreated
		e.expect(201, "POST", "/v1/session", "", map[string]any{"operation": "configure", "templateUuid": "v2t", "limit": "x1000c0s1b0n0"}).json(t, &withLimit)
		assert.Equal(t, "v2t", withLimit.TemplateName, "templateUuid is the template name")
		assert.Equal(t, "x1000c0s1b0n0", withLimit.Limit)

		before := e.snapshot()
		for _, tc := range []struct {
			name   string
			body   any
			status int
			detail string
		}{
			{"UnknownTemplate", map[string]any{"operation": "boot", "templateName": "nope"}, 404, "Session Template ID invalid: nope"},
			{"BadOperation", map[string]any{"operation": "explode", "templateName": "t"}, 400, "operation"},
			{"NoOperation", map[string]any{"templateName": "t"}, 400, "operation: is required"},
			{"NoTemplate", map[string]any{"operation": "boot"}, 400, "templateName: is required"},
			{"NoBootSets", map[string]any{"operation": "boot", "templateName": "empty"}, 400, "Session template 'empty' must have one or more defined boot sets for creation of a session."},
			{"NoNodes", map[string]any{"operation": "boot", "templateName": "nonodes"}, 400, "boot set 'a' must have at least one of: node_groups, node_list, node_roles_groups"},
			{"UnknownField", map[string]any{"operation": "boot", "templateName": "t", "stage": true}, 400, "unknown field"},
			{"NotJSON", "boot", 400, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				d := e.expect(tc.status, "POST", "/v1/session", "", tc.body).problem(t)
				assert.Contains(t, d.Detail, tc.detail)
			})
		}
		e.t = t
		assert.Equal(t, before, e.snapshot())

		var ids []string
		e.expect(200, "GET", "/v1/session", "", nil).json(t, &ids)
		assert.ElementsMatch(t, []string{id, v1ID(withLimit)}, ids)

		var details map[string]any
		e.expect(200, "GET", "/v1/session/"+id, "", nil).json(t, &details)
		assert.Equal(t, map[string]any{"templateName": "t", "operation": "Reboot", "status_link": "/v1/session/" + id + "/status",
			"job": "boa-" + id, "start_time": "2026-03-01T12:00:00Z", "stop_time": nil,
			"complete": false, "in_progress": true, "error_count": 0.0}, details)

		var st orchestrator.V1SessionStatus
		e.expect(200, "GET", "/v1/session/"+id+"/status", "", nil).json(t, &st)
		assert.Equal(t, []string{"compute"}, st.BootSets)
		assert.Equal(t, "/v1/session/"+id+"/status/compute", st.Links[1].Href)
		var bs orchestrator.V1BootSetStatus
		e.expect(200, "GET", "/v1/session/"+id+"/status/compute", "", nil).json(t, &bs)
		require.Len(t, bs.Phases, 3)
		assert.Equal(t, []string{"shutdown", "boot", "configure"}, []string{bs.Phases[0].Name, bs.Phases[1].Name, bs.Phases[2].Name})
		var ph orchestrator.V1PhaseStatus
		e.expect(200, "GET", "/v1/session/"+id+"/status/compute/BOOT", "", nil).json(t, &ph)
		assert.Equal(t, "boot", ph.Name)
		assert.Len(t, ph.Categories, 5)
		var cat orchestrator.V1Category
		e.expect(200, "GET", "/v1/session/"+id+"/status/compute/boot/failed", "", nil).json(t, &cat)
		assert.Equal(t, orchestrator.V1Category{Name: "failed", NodeList: []string{}}, cat)

		for _, path := range []string{"/v1/session/nope", "/v1/session/nope/status", "/v1/session/" + id + "/status/other",
			"/v1/session/" + id + "/status/compute/reboot", "/v1/session/" + id + "/status/compute/boot/lost"} {
			e.expect(404, "GET", path, "", nil)
		}

		// A finished session shows its failed nodes and the retry command.
		stop := t0.Add(time.Hour)
		_, err := e.st.UpdateV1Session(context.Background(), id, func(s *orchestrator.V1Session) error {
			s.State, s.Status.Metadata.StopTime = orchestrator.V1Complete, &stop
			s.BootSets[0].Phases[0] = orchestrator.NewV1Phase("shutdown", []string{"x1000c0s0b0n0"})
			s.BootSets[0].Phases[0].MoveNodes(orchestrator.CategoryFailed, []string{"x1000c0s0b0n0"})
			return nil
		})
		require.NoError(t, err)
		var done orchestrator.V1SessionDetails
		e.expect(200, "GET", "/v1/session/"+id, "", nil).json(t, &done)
		assert.True(t, done.Complete)
		assert.Equal(t, 1, done.ErrorCount)
		assert.Equal(t, []string{"x1000c0s0b0n0"}, done.FailedNodes)
		assert.Equal(t, "bos v1 session create --template-name t --operation reboot --limit x1000c0s0b0n0", done.RetryCommand)

		e.expect(204, "DELETE", "/v1/session/"+id, "", nil)
		e.expect(404, "DELETE", "/v1/session/"+id, "", nil)
		e.expect(404, "GET", "/v1/session/"+id, "", nil)
		assert.Equal(t, 3, woken, "a delete wakes the agent too")
	})
}

func v1ID(c orchestrator.V1SessionCreated) string { return bosapi.V1SessionID(c) }

// fakeResolver selects each boot set's node_list, narrowed by a limit of plain xnames;
// the limit "bad" cannot select.
type fakeResolver struct{}

func (fakeResolver) ResolveNodes(_ context.Context, sels []orchestrator.NodeSelector) ([]orchestrator.NodeSelection, error) {
	out := make([]orchestrator.NodeSelection, len(sels))
	for i, sel := range sels {
		if sel.Limit == "bad" {
			out[i].Err = orchestrator.Errorf(orchestrator.EINVALID, "limit %q is bad", sel.Limit)
			continue
		}
		keep := map[string]bool{}
		for _, id := range strings.Split(sel.Limit, ",") {
			keep[id] = true
		}
		for _, bs := range sel.Template.BootSets {
			for _, id := range bs.NodeList {
				if sel.Limit == "" || keep[id] {
					out[i].Nodes = append(out[i].Nodes, id)
				}
			}
		}
	}
	return out, nil
}

// TestOverlapRule: by default (reject_overlapping_sessions=v1) a v2 session takes over
// nodes held by unfinished sessions of either version and records them in
// status.took_over, while v1 refuses (409 naming the holder and the shared nodes) unless
// takeover=true; "all" makes v2 refuse too and "none" lets v1 take over. Complete
// sessions hold nothing; running sessions hold the nodes whose component names them;
// staged sessions never take and hold nothing; a taken name is "already exists" first.
func TestOverlapRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		res := &fakeResolver{}
		e := newEnv(t, backend, func(c *Config) { c.Nodes = res })
		n1, n2, n3, n4 := "x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0", "x1000c0s1b0n1"
		e.expect(200, "PUT", "/v2/sessiontemplates/all", "", template(n1, n2, n3, n4))
		e.expect(201, "POST", "/v1/sessiontemplate", "", map[string]any{"name": "v1all",
			"boot_sets": map[string]any{"a": map[string]any{"path": "p", "type": "s3", "node_list": []string{n1, n2, n3, n4}}}})
		setOption := func(v string) {
			e.expect(200, "PATCH", "/v2/options", "", map[string]any{"reject_overlapping_sessions": v})
		}

		var a orchestrator.Session
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "a", "operation": "boot", "template_name": "all", "limit": n1 + "," + n2}).json(t, &a)
		assert.Empty(t, a.Status.TookOver)

		d := e.expect(409, "POST", "/v1/session", "", map[string]any{"operation": "boot", "templateName": "v1all", "limit": n2 + "," + n3}).problem(t)
		assert.Equal(t, orchestrator.ConflictTitle, d.Title)
		assert.Contains(t, d.Detail, "v2 session a (pending) holds 1 of them: "+n2)
		assert.Contains(t, d.Detail, "takeover=true")

		var b orchestrator.V1SessionCreated
		e.expect(201, "POST", "/v1/session?takeover=true", "", map[string]any{"operation": "boot", "templateName": "v1all", "limit": n2 + "," + n3}).json(t, &b)
		bID := bosapi.V1SessionID(b)
		var bd orchestrator.V1SessionDetails
		e.expect(200, "GET", "/v1/session/"+bID, "", nil).json(t, &bd)
		assert.Equal(t, []orchestrator.SessionTakeover{{API: "v2", Session: "a", Nodes: []string{n2}}}, bd.TookOver)

		// v2 takes over by default, and says from whom.
		var c orchestrator.Session
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "c", "operation": "reboot", "template_name": "all"}).json(t, &c)
		assert.Equal(t, []orchestrator.SessionTakeover{
			{API: "v2", Session: "a", Nodes: []string{n1, n2}},
			{API: "v1", Session: bID, Nodes: []string{n2, n3}},
		}, c.Status.TookOver)
		var got orchestrator.Session
		e.expect(200, "GET", "/v2/sessions/c", "", nil).json(t, &got)
		assert.Equal(t, c.Status.TookOver, got.Status.TookOver, "stored")

		// A taken name is "already exists", not an overlap, in every mode.
		setOption(orchestrator.RejectOverlapAll)
		d = e.expect(409, "POST", "/v2/sessions", "", map[string]any{"name": "c", "operation": "boot", "template_name": "all", "limit": n1}).problem(t)
		assert.Contains(t, d.Detail, "already exists")

		// "all": v2 refuses too, unless takeover=true.
		d = e.expect(409, "POST", "/v2/sessions", "", map[string]any{"operation": "reboot", "template_name": "all", "limit": n4}).problem(t)
		assert.Contains(t, d.Detail, "v2 session c (pending) holds 1 of them: "+n4)
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "all", "stage": true})
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "all", "limit": "bad"}) // setup fails it
		e.expect(201, "POST", "/v2/sessions?takeover=true", "", map[string]any{"operation": "boot", "template_name": "all", "limit": n4}).json(t, &got)
		assert.Equal(t, []orchestrator.SessionTakeover{{API: "v2", Session: "c", Nodes: []string{n4}}}, got.Status.TookOver)
		e.expect(400, "POST", "/v2/sessions?takeover=maybe", "", map[string]any{"operation": "boot", "template_name": "all"})

		// Running sessions hold what their components say; complete ones hold nothing.
		ctx := context.Background()
		for _, s := range []string{"a", "c", got.Name} {
			_, err := e.st.UpdateSession(ctx, "", s, func(x *orchestrator.Session) error { x.Status.Status = orchestrator.SessionComplete; return nil })
			require.NoError(t, err)
		}
		_, err := e.st.UpdateV1Session(ctx, bID, func(x *orchestrator.V1Session) error { x.State = orchestrator.V1Running; return nil })
		require.NoError(t, err)
		e.seed(orchestrator.Component{ID: n1, Session: "a"}, orchestrator.Component{ID: n3, Session: bID})
		setOption(orchestrator.RejectOverlapV1)
		e.expect(201, "POST", "/v1/session", "", map[string]any{"operation": "boot", "templateName": "v1all", "limit": n1 + "," + n2})
		d = e.expect(409, "POST", "/v1/session", "", map[string]any{"operation": "boot", "templateName": "v1all", "limit": n3}).problem(t)
		assert.Contains(t, d.Detail, "v1 session "+bID+" (running) holds 1 of them: "+n3)

		// "none": v1 takes over too.
		setOption(orchestrator.RejectOverlapNone)
		e.expect(201, "POST", "/v1/session", "", map[string]any{"operation": "boot", "templateName": "v1all", "limit": n3}).json(t, &b)
		e.expect(200, "GET", "/v1/session/"+bosapi.V1SessionID(b), "", nil).json(t, &bd)
		assert.Equal(t, []orchestrator.SessionTakeover{{API: "v1", Session: bID, Nodes: []string{n3}}}, bd.TookOver)
	})
}

// TestV1ClientContract runs every v1 client method against the server.
func TestV1ClientContract(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	ctx := context.Background()
	c := e.c
	v, err := c.V1Version(ctx)
	require.NoError(t, err)
	assert.Equal(t, "2", v.Major)
	h, err := c.V1Healthz(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", h.DBStatus)

	one := 1
	name, err := c.V1CreateTemplate(ctx, orchestrator.V1SessionTemplate{Name: "t", Partition: "p1",
		BootSets: map[string]orchestrator.V1BootSet{"a": {Path: "p", Type: "s3", NodeList: []string{"x1000c0s0b0n0"}, BootOrdinal: &one}}})
	require.NoError(t, err)
	assert.Equal(t, "t", name)
	got, err := c.V1GetTemplate(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, 1, *got.BootSets["a"].BootOrdinal)
	assert.True(t, got.CFSEnabled())
	list, err := c.V1ListTemplates(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	ex, err := c.V1TemplateTemplate(ctx)
	require.NoError(t, err)
	assert.Contains(t, ex.BootSets, "name_your_boot_set")

	created, err := c.V1CreateSession(ctx, orchestrator.V1SessionCreate{Operation: "boot", TemplateName: "t"})
	require.NoError(t, err)
	id := bosapi.V1SessionID(created)
	require.NotEmpty(t, id)
	_, err = c.V1CreateSessionTakeover(ctx, orchestrator.V1SessionCreate{Operation: "shutdown", TemplateName: "t"})
	require.NoError(t, err)
	ids, err := c.V1ListSessions(ctx)
	require.NoError(t, err)
	assert.Len(t, ids, 2)
	d, err := c.V1GetSession(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "boot", d.Operation)
	st, err := c.V1SessionStatus(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, st.BootSets)
	bs, err := c.V1BootSetStatus(ctx, id, "a")
	require.NoError(t, err)
	assert.Len(t, bs.Phases, 2)
	ph, err := c.V1PhaseStatus(ctx, id, "a", "configure")
	require.NoError(t, err)
	assert.Equal(t, "configure", ph.Name)
	cat, err := c.V1CategoryStatus(ctx, id, "a", "boot", "not_started")
	require.NoError(t, err)
	assert.Equal(t, "not_started", cat.Name)
	require.NoError(t, c.V1DeleteSession(ctx, id))
	_, err = c.V1GetSession(ctx, id)
	assert.ErrorContains(t, err, "404")
	require.NoError(t, c.V1DeleteTemplate(ctx, "t"))
	_, err = c.WithTenant("blue").V1ListSessions(ctx)
	assert.ErrorContains(t, err, "Multi-tenancy not supported")

	s, err := c.CreateSessionTakeover(ctx, orchestrator.SessionCreate{Operation: "boot", TemplateName: "nope"})
	assert.Error(t, err, "v2 takeover create goes to /v2/sessions")
	_ = s
	raw, err := json.Marshal(created)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"jobId"`)
}
