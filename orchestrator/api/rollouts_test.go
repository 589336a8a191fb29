package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/rollout"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// noServices stands for BOS, HSM and Slurm: the API never calls them (the controller,
// not run here, does).
type noServices struct{}

var errNoService = errors.New("not in API tests")

func (noServices) CreateSession(context.Context, orchestrator.SessionCreate) (orchestrator.Session, error) {
	return orchestrator.Session{}, errNoService
}
func (noServices) GetSession(context.Context, string) (orchestrator.Session, error) {
	return orchestrator.Session{}, errNoService
}
func (noServices) ListComponents(context.Context, bosapi.ComponentQuery) ([]orchestrator.Component, error) {
	return nil, errNoService
}
func (noServices) PatchComponents(context.Context, []orchestrator.ComponentPatch, bool) ([]orchestrator.Component, error) {
	return nil, errNoService
}
func (noServices) QueryComponents(context.Context, []string, hsmapi.ComponentFilter) ([]hsmapi.Component, error) {
	return nil, errNoService
}
func (noServices) Nodes(context.Context) ([]slurmapi.Node, error)        { return nil, errNoService }
func (noServices) Jobs(context.Context) ([]slurmapi.Job, error)          { return nil, errNoService }
func (noServices) Reboot(context.Context, slurmapi.RebootRequest) error  { return errNoService }
func (noServices) CancelReboot(context.Context, string) error            { return errNoService }
func (noServices) UpdateNode(context.Context, slurmapi.NodeUpdate) error { return errNoService }

func newRollouts(t *testing.T, st *store.Store, now func() time.Time) Rollouts {
	srv, err := rollout.New(rollout.Config{Store: st, BOS: func(string) rollout.BOS { return noServices{} },
		HSM: noServices{}, Slurm: noServices{}, Now: now})
	require.NoError(t, err)
	return srv
}

func rolloutBody(name, template string) map[string]any {
	return map[string]any{"name": name, "template_name": template,
		"policy": map[string]any{"canary": 2, "max_unavailable": "10%", "failure_budget": 3}}
}

// TestRolloutsAPI: create, list, get and the commands, scoped to the caller's tenant as
// sessions are; bad input is a problem+json 400 and writes nothing.
func TestRolloutsAPI(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.seedTenants()
	e.expect(200, "PUT", "/v2/sessiontemplates/next", "blue", template("x1000c0s0b0n0"))
	e.expect(200, "PUT", "/v2/sessiontemplates/next", "", template("x1000c0s0b0n0"))

	var r orchestrator.Rollout
	e.expect(201, "POST", "/v2/rollouts", "blue", rolloutBody("up", "next")).json(t, &r)
	assert.Equal(t, orchestrator.RolloutStaging, r.State)
	assert.Equal(t, "blue", r.Tenant)
	assert.Equal(t, orchestrator.Amount{N: 10, Percent: true}, r.Policy.MaxUnavailable)
	assert.Regexp(t, `^rollout-up-\d{8}t\d{6}$`, r.StageSession)
	e.expect(201, "POST", "/v2/rollouts", "", rolloutBody("up", "next")) // another namespace
	d := e.expect(409, "POST", "/v2/rollouts", "blue", rolloutBody("up", "next")).problem(t)
	assert.Equal(t, "Rollout 'up' already exists", d.Detail)

	var list []orchestrator.Rollout
	e.expect(200, "GET", "/v2/rollouts", "blue", nil).json(t, &list)
	assert.Len(t, list, 1)
	e.expect(200, "GET", "/v2/rollouts", "red", nil).json(t, &list)
	assert.Empty(t, list)
	e.expect(200, "GET", "/v2/rollouts", "", nil).json(t, &list)
	assert.Len(t, list, 2, "no tenant: every rollout")
	d = e.expect(404, "GET", "/v2/rollouts/up", "red", nil).problem(t)
	assert.Equal(t, "Rollout 'up' does not exist for tenant 'red'", d.Detail)
	e.expect(404, "POST", "/v2/rollouts/up/pause", "red", nil)

	e.expect(200, "POST", "/v2/rollouts/up/pause", "blue", nil).json(t, &r)
	assert.Equal(t, orchestrator.RolloutPaused, r.State)
	assert.Equal(t, "paused by request", r.Reason)
	d = e.expect(409, "POST", "/v2/rollouts/up/pause", "blue", nil).problem(t)
	assert.Equal(t, "rollout 'up' is paused: cannot pause it", d.Detail)
	e.expect(200, "POST", "/v2/rollouts/up/resume", "blue", nil).json(t, &r)
	assert.Equal(t, orchestrator.RolloutStaging, r.State, "resumed before its nodes were taken: staging again")
	e.expect(200, "POST", "/v2/rollouts/up/abort", "blue", nil).json(t, &r)
	assert.Equal(t, orchestrator.RolloutAborting, r.State)
	e.expect(200, "GET", "/v2/rollouts/up", "", nil).json(t, &r)
	assert.Equal(t, orchestrator.RolloutStaging, r.State, "the untenanted rollout of the same name is untouched")
	e.expect(404, "POST", "/v2/rollouts/up/restart", "blue", nil)

	before := e.snapshot()
	for _, tc := range []struct {
		body   any
		detail string
	}{
		{`{"name": "x", "template_name": "next", "policy": {"max_unavailable": 0}}`, "policy.max_unavailable: must be at least 1 (got 0)"},
		{`{"name": "x", "template_name": "next", "policy": {"max_unavailable": "150%"}}`, "policy.max_unavailable: must be between 1% and 100% (got 150%)"},
		{`{"name": "x", "template_name": "next", "policy": {"max_unavailable": "lots"}}`, "want a node count or a percentage"},
		{`{"name": "x", "template_name": "next", "policy": {"max_unavailable": 1, "health_check": {}}}`, "set exactly one of url and command"},
		{`{"name": "x", "template_name": "gone", "policy": {"max_unavailable": 1}}`, "Session Template Name invalid: gone"},
		{`{"name": "bad name", "template_name": "next", "policy": {"max_unavailable": 1}}`, `name: "bad name" must be`},
		{`{"name": "x", "template_name": "next", "policy": {"max_unavailable": 1}, "extra": 1}`, "extra"},
		{`{"name": `, ""},
	} {
		d := e.expect(400, "POST", "/v2/rollouts", "blue", tc.body).problem(t)
		assert.Contains(t, d.Detail, tc.detail, "%s", tc.body)
	}
	assert.Equal(t, before, e.snapshot(), "bad input writes nothing")
	e.expect(200, "GET", "/v2/rollouts", "", nil).json(t, &list)
	assert.Len(t, list, 2, "bad input stores no rollout")
}

// TestRolloutSteerJobsDefault: steer_jobs absent from a create is stored true; false is
// kept (the opt-out).
func TestRolloutSteerJobsDefault(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.expect(200, "PUT", "/v2/sessiontemplates/next", "", template("x1000c0s0b0n0"))
	var r orchestrator.Rollout
	e.expect(201, "POST", "/v2/rollouts", "", rolloutBody("on", "next")).json(t, &r)
	assert.Equal(t, new(true), r.Policy.SteerJobs, "absent: on")
	e.expect(201, "POST", "/v2/rollouts", "", `{"name": "off", "template_name": "next", "policy": {"max_unavailable": 1, "steer_jobs": false}}`)
	e.expect(200, "GET", "/v2/rollouts/off", "", nil).json(t, &r)
	assert.Equal(t, new(false), r.Policy.SteerJobs, "false: stored off")
	e.expect(200, "GET", "/v2/rollouts/on", "", nil).json(t, &r)
	assert.Equal(t, new(true), r.Policy.SteerJobs, "stored on")
}

// TestRolloutsWithoutService: a BOS without Slurm answers 503 on every rollout route.
func TestRolloutsWithoutService(t *testing.T) {
	e := newEnv(t, storetest.Mini, func(c *Config) { c.Rollouts = nil })
	d := e.expect(503, "GET", "/v2/rollouts", "", nil).problem(t)
	assert.Contains(t, d.Detail, "rollouts need Slurm and HSM")
	e.expect(503, "POST", "/v2/rollouts/x/pause", "", nil)
}
