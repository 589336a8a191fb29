package crus_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// apiEnv is a CRUS API over an in-process HSM and BOS API, with no controller running:
// sessions stay as the API made them.
type apiEnv struct {
	srv    *crus.Server
	url    string
	client *crus.Client
	hsm    *httptest.Server
	bos    *httptest.Server
}

func newAPIEnv(t *testing.T, backend string) *apiEnv {
	t.Helper()
	topo, err := topology.Generate(topology.Options{Compute: 4})
	require.NoError(t, err)
	h, err := hsm.New(hsm.Config{Topology: topo})
	require.NoError(t, err)
	hs := httptest.NewServer(h.Handler())
	t.Cleanup(hs.Close)
	bosStore := storetest.Open(t, backend, store.Config{})
	bs := httptest.NewServer(api.New(api.Config{Store: bosStore}).Handler())
	t.Cleanup(bs.Close)
	ctx := context.Background()
	hc := hsmapi.NewClient(hs.URL, nil)
	for _, l := range []string{"start", "up", "failed"} {
		require.NoError(t, hc.CreateGroup(ctx, hsmapi.Group{Label: l}))
	}
	bc := bosapi.NewClient(bs.URL, nil)
	_, err = bc.PutTemplate(ctx, "tmpl", bos.SessionTemplate{EnableCFS: false, BootSets: map[string]bos.BootSet{
		"compute": {Path: "s3://boot-images/x/manifest.json", Type: "s3", NodeGroups: []string{"up"}}}})
	require.NoError(t, err)

	srv, err := crus.New(crus.Config{Store: storetest.Open(t, backend, store.Config{}), HSM: hc, BOS: bc,
		WLM: slurmapi.NewClient("http://127.0.0.1:1", nil), MaxBodyBytes: 1024})
	require.NoError(t, err)
	cs := httptest.NewServer(srv.Handler())
	t.Cleanup(cs.Close)
	return &apiEnv{srv: srv, url: cs.URL, client: crus.NewClient(cs.URL, nil), hsm: hs, bos: bs}
}

const validBody = `{"starting_label":"start","upgrading_label":"up","failed_label":"failed","upgrade_step_size":50,"upgrade_template_id":"tmpl","workload_manager_type":"slurm"}`

// do sends a raw request and returns status and decoded JSON body.
func do(t *testing.T, method, url, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	}
	return resp.StatusCode, out, resp.Header
}

func TestCreateSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newAPIEnv(t, backend)
		replace := func(old, new string) string { return strings.Replace(validBody, old, new, 1) }
		for _, tc := range []struct {
			name   string
			body   string
			status int
			errors map[string]any // the 422 body's field errors
			detail string         // part of the problem detail
		}{
			{name: "created", body: validBody, status: http.StatusCreated},
			{name: "not JSON", body: `{"starting_label":`, status: http.StatusBadRequest, detail: "not valid JSON"},
			{name: "empty body", body: ``, status: http.StatusBadRequest, detail: "empty"},
			{name: "an array", body: `[]`, status: http.StatusBadRequest, detail: "JSON object"},
			{name: "trailing data", body: validBody + `{}`, status: http.StatusBadRequest, detail: "single JSON object"},
			{name: "oversized", body: validBody[:len(validBody)-1] + `,"x":"` + strings.Repeat("a", 2000) + `"}`, status: http.StatusRequestEntityTooLarge},
			{name: "unknown field", body: replace(`"starting_label"`, `"bogus":1,"starting_label"`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"bogus": []any{"Unknown field."}}},
			{name: "step size as a string", body: replace(`50`, `"50"`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"upgrade_step_size": []any{"Not a valid integer."}}},
			{name: "step size 0", body: replace(`50`, `0`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"upgrade_step_size": []any{"Must be greater than or equal to 1."}}},
			{name: "missing field", body: replace(`"failed_label":"failed",`, ``), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"failed_label": []any{"Missing data for required field."}}},
			{name: "not slurm", body: replace(`"slurm"`, `"pbs"`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"workload_manager_type": []any{"Must be one of: slurm."}}},
			{name: "failed label = starting label", body: replace(`"failed_label":"failed"`, `"failed_label":"start"`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"failed_label": []any{"Must differ from starting_label (both are 'start')."}}},
			{name: "unknown group", body: replace(`"up"`, `"nope"`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"upgrading_label": []any{"HSM group 'nope' does not exist."}}},
			{name: "unknown template", body: replace(`"tmpl"`, `"nope"`), status: http.StatusUnprocessableEntity,
				errors: map[string]any{"upgrade_template_id": []any{"BOS session template 'nope' does not exist."}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, err := e.client.List(context.Background())
				require.NoError(t, err)
				status, body, hdr := do(t, http.MethodPost, e.url+"/crus/session", tc.body)
				require.Equal(t, tc.status, status, "%v", body)
				after, err := e.client.List(context.Background())
				require.NoError(t, err)
				if status != http.StatusCreated {
					assert.Equal(t, problem.ContentType, hdr.Get("Content-Type"))
					assert.Equal(t, float64(status), body["status"])
					assert.Len(t, after, len(before), "nothing stored on error")
				}
				if tc.errors != nil {
					assert.Equal(t, "Unprocessable Entity", body["title"])
					assert.Equal(t, "Input data was understood, but failed validation. Re-run request with valid input values for the fields indicated in the response.", body["detail"])
					assert.Equal(t, tc.errors, body["errors"])
				}
				if tc.detail != "" {
					assert.Contains(t, body["detail"], tc.detail)
				}
				if status == http.StatusCreated {
					assert.Len(t, after, len(before)+1)
					assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, body["upgrade_id"])
					assert.Equal(t, map[string]any{
						"upgrade_id": body["upgrade_id"], "kind": "ComputeUpgradeSession", "api_version": crus.APIVersion,
						"starting_label": "start", "upgrading_label": "up", "failed_label": "failed", "upgrade_step_size": float64(50),
						"upgrade_template_id": "tmpl", "workload_manager_type": "slurm", "completed": false, "state": "UPDATING",
						"messages": []any{},
					}, body)
				}
			})
		}
	})
}

func TestGetListDelete(t *testing.T) {
	e := newAPIEnv(t, storetest.Mini)
	ctx := context.Background()
	status, body, _ := do(t, http.MethodGet, e.url+"/crus/session", "")
	require.Equal(t, http.StatusOK, status)
	assert.Nil(t, body) // an empty JSON array
	list, err := e.client.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	a := mustCreate(t, e)
	b := mustCreate(t, e)
	list, err = e.client.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{a.UpgradeID, b.UpgradeID}, []string{list[0].UpgradeID, list[1].UpgradeID}, "oldest first")

	got, err := e.client.Get(ctx, a.UpgradeID)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	for _, tc := range []struct {
		method, path string
		status       int
		detail       string
	}{
		{http.MethodGet, "/crus/session/nope", http.StatusNotFound, "Requested resource does not exist. Re-run request with valid ID."},
		{http.MethodDelete, "/crus/session/nope", http.StatusNotFound, "Requested resource does not exist. Re-run request with valid ID."},
		{http.MethodPut, "/crus/session/" + a.UpgradeID, http.StatusMethodNotAllowed, "PUT is not allowed"},
		{http.MethodPatch, "/crus/session", http.StatusMethodNotAllowed, "PATCH is not allowed"},
		{http.MethodGet, "/crus/sessions", http.StatusNotFound, "no endpoint"},
	} {
		status, body, hdr := do(t, tc.method, e.url+tc.path, "")
		assert.Equal(t, tc.status, status, "%s %s", tc.method, tc.path)
		assert.Contains(t, body["detail"], tc.detail)
		if status == http.StatusMethodNotAllowed {
			assert.NotEmpty(t, hdr.Get("Allow"))
		}
	}

	del, err := e.client.Delete(ctx, a.UpgradeID)
	require.NoError(t, err)
	assert.Equal(t, crus.StateDeleting, del.State)
	again, err := e.client.Delete(ctx, a.UpgradeID)
	require.NoError(t, err, "DELETE of a session being deleted answers it again")
	assert.Equal(t, crus.StateDeleting, again.State)
	got, err = e.client.Get(ctx, a.UpgradeID)
	require.NoError(t, err, "deletion is asynchronous: the record stays until the controller removes it")
	assert.Equal(t, crus.StateDeleting, got.State)
}

// The client reports 422 field errors in the problem's detail.
func TestClientErrors(t *testing.T) {
	e := newAPIEnv(t, storetest.Mini)
	_, err := e.client.Create(context.Background(), crus.CreateRequest{StartingLabel: "start", UpgradingLabel: "up",
		FailedLabel: "gone", UpgradeStepSize: 0, UpgradeTemplateID: "tmpl"})
	var d *problem.Details
	require.ErrorAs(t, err, &d)
	assert.Equal(t, http.StatusUnprocessableEntity, d.Status)
	assert.Contains(t, d.Detail, "upgrade_step_size: Must be greater than or equal to 1.")
	_, err = e.client.Get(context.Background(), "nope")
	require.ErrorAs(t, err, &d)
	assert.Equal(t, http.StatusNotFound, d.Status)
}

// With HSM or BOS down, a create cannot be checked: 503, nothing stored.
func TestCreateWithServicesDown(t *testing.T) {
	e := newAPIEnv(t, storetest.Mini)
	e.bos.Close()
	status, body, _ := do(t, http.MethodPost, e.url+"/crus/session", validBody)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body["detail"], "BOS")
	e.hsm.Close()
	status, body, _ = do(t, http.MethodPost, e.url+"/crus/session", validBody)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body["detail"], "HSM")
	list, err := e.client.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list)
}

// Many concurrent creates and deletes: every create is stored once, nothing is lost.
func TestConcurrentRequests(t *testing.T) {
	e := newAPIEnv(t, storetest.Mini)
	ctx := testwait.Context(t)
	var wg sync.WaitGroup
	ids := make(chan string, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.client.Create(ctx, crus.CreateRequest{StartingLabel: "start", UpgradingLabel: "up", FailedLabel: "failed",
				UpgradeStepSize: 2, UpgradeTemplateID: "tmpl"})
			if assert.NoError(t, err) {
				ids <- s.UpgradeID
				_, err = e.client.Delete(ctx, s.UpgradeID)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	close(ids)
	list, err := e.client.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 40)
	for _, s := range list {
		assert.Equal(t, crus.StateDeleting, s.State)
	}
}

func mustCreate(t *testing.T, e *apiEnv) crus.Session {
	t.Helper()
	s, err := e.client.Create(context.Background(), crus.CreateRequest{StartingLabel: "start", UpgradingLabel: "up",
		FailedLabel: "failed", UpgradeStepSize: 2, UpgradeTemplateID: "tmpl"})
	require.NoError(t, err)
	return s
}
