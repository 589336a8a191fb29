package api

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSessionCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "blue", template("x1000c0s0b0n0"))
		e.expect(200, "PUT", "/v2/sessiontemplates/nfs", "", map[string]any{"boot_sets": map[string]any{
			"a": map[string]any{"path": "p", "type": "nfs", "node_groups": []string{"g"}}}})

		var s orchestrator.Session
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "Reboot", "template_name": "compute", "limit": nil}).json(t, &s)
		assert.Regexp(t, uuidPattern, s.Name)
		assert.Equal(t, orchestrator.Session{Name: s.Name, Operation: "reboot", TemplateName: "compute",
			Status: orchestrator.SessionStatus{Status: "pending", StartTime: t0}}, s)
		var raw map[string]any
		e.expect(200, "GET", "/v2/sessions/"+s.Name, "", nil).json(t, &raw)
		assert.Equal(t, map[string]any{"status": "pending", "start_time": "2026-03-01T12:00:00Z", "end_time": nil, "error": nil}, raw["status"])
		assert.Equal(t, "", raw["components"])
		var rawList []map[string]any // nor in a list: the stored epoch stays inside
		e.expect(200, "GET", "/v2/sessions", "", nil).json(t, &rawList)
		require.Len(t, rawList, 1)
		assert.NotContains(t, rawList[0]["status"], "epoch")

		e.expect(201, "POST", "/v2/sessions", "blue", map[string]any{"name": "s1", "operation": "boot", "template_name": "compute", "stage": true}).json(t, &s)
		assert.Equal(t, "blue", s.Tenant)
		assert.True(t, s.Stage)
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s1", "operation": "shutdown", "template_name": "compute"})

		tests := []struct {
			name   string
			tenant string
			body   any
			status int
			detail string
		}{
			{"Duplicate", "blue", map[string]any{"name": "s1", "operation": "boot", "template_name": "compute"}, 409, "Session 's1' already exists for tenant 'blue'"},
			{"MissingTemplate", "", map[string]any{"operation": "boot", "template_name": "nope"}, 400, "Session Template Name invalid: nope"},
			{"TemplateOfOtherTenant", "red", map[string]any{"operation": "boot", "template_name": "compute"}, 400, "Session Template Name invalid: compute"},
			{"TemplateFailsCheck", "", map[string]any{"operation": "boot", "template_name": "nfs"}, 400, "Session template fails check: "},
			{"BadOperation", "", map[string]any{"operation": "configure", "template_name": "compute"}, 400, ""},
			{"NoOperation", "", map[string]any{"template_name": "compute"}, 400, ""},
			{"BadName", "", map[string]any{"name": "a b", "operation": "boot", "template_name": "compute"}, 400, ""},
			{"UnknownField", "", map[string]any{"operation": "boot", "template_name": "compute", "template_uuid": "x"}, 400, ""},
			{"WrongType", "", map[string]any{"operation": "boot", "template_name": "compute", "stage": "yes"}, 400, ""},
			{"InvalidTenant", "purple", map[string]any{"operation": "boot", "template_name": "compute"}, 400, ""},
			{"NotJSON", "", "operation=boot", 400, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.t = t
				d := e.expect(tt.status, "POST", "/v2/sessions", tt.tenant, tt.body).problem(t)
				assert.Contains(t, d.Detail, tt.detail)
				if tt.status == 409 {
					assert.Equal(t, "The resource to be created already exists", d.Title)
				}
			})
		}
		e.t = t
		// A shutdown of a template whose boot sets are not s3 is fine: no artifacts needed.
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "shutdown", "template_name": "nfs"})

		// Options are read live by every request.
		_, err := e.c.PatchOptions(context.Background(), map[string]any{"session_limit_required": true, "reject_nids": true})
		require.NoError(t, err)
		e.expect(400, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "compute"})
		e.expect(400, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "compute", "limit": ""})
		e.expect(400, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "compute", "limit": "all,!nid000001"})
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"operation": "boot", "template_name": "compute", "limit": "*"})
		e.expect(400, "PUT", "/v2/sessiontemplates/nids", "", template("nid000001"))
	})
}

func TestSessionEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		ctx := context.Background()
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
		create := func(name string) {
			e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": name, "operation": "boot", "template_name": "compute"})
		}
		create("old")
		e.clock.Advance(2 * time.Hour)
		create("mid")
		e.clock.Advance(50 * time.Minute)
		create("new")
		e.clock.Advance(10 * time.Minute) // now: old 3h, mid 1h, new 10m

		names := func(tenantName, query string) []string {
			var list []orchestrator.Session
			e.expect(200, "GET", "/v2/sessions"+query, tenantName, nil).json(t, &list)
			var out []string
			for _, s := range list {
				out = append(out, s.Name)
			}
			return out
		}
		assert.Equal(t, []string{"mid", "new", "old"}, names("", ""))
		assert.Equal(t, []string{"mid", "old"}, names("", "?min_age=1h"))
		assert.Equal(t, []string{"mid", "new"}, names("", "?max_age=1h"))
		assert.Equal(t, []string{"mid"}, names("", "?min_age=30m&max_age=2H"))
		assert.Empty(t, names("", "?status=complete"))
		assert.Empty(t, names("blue", ""))
		e.expect(400, "GET", "/v2/sessions?min_age=1s", "", nil)
		e.expect(400, "GET", "/v2/sessions?max_age=01h", "", nil)
		e.expect(400, "GET", "/v2/sessions?status=done", "", nil)

		// PATCH (operator use).
		var s orchestrator.Session
		e.expect(200, "PATCH", "/v2/sessions/old", "", map[string]any{"components": "x1000c0s0b0n0", "status": map[string]any{"status": "running"}}).json(t, &s)
		assert.Equal(t, "x1000c0s0b0n0", s.Components)
		assert.Equal(t, "running", s.Status.Status)
		assert.Equal(t, t0, s.Status.StartTime, "status is merged")
		e.expect(400, "PATCH", "/v2/sessions/old", "", map[string]any{"operation": "reboot"})
		e.expect(400, "PATCH", "/v2/sessions/old", "", map[string]any{"status": map[string]any{"status": "done"}})
		// {} is a valid update (the schema sets no minimum): BOS answers the session unchanged.
		var same orchestrator.Session
		e.expect(200, "PATCH", "/v2/sessions/old", "", `{}`).json(t, &same)
		assert.Equal(t, s, same)
		e.expect(404, "PATCH", "/v2/sessions/nope", "", `{}`)
		e.expect(404, "PATCH", "/v2/sessions/nope", "", map[string]any{"components": ""})

		// Extended status, computed from the components.
		comp := orchestrator.NewComponent("x1000c0s0b0n0", t0)
		comp.Session, comp.Enabled, comp.Status.Phase = "old", true, orchestrator.PhasePoweringOff
		comp.Error = "bmc unreachable"
		staged := orchestrator.NewComponent("x1000c0s1b0n0", t0)
		staged.StagedState.Session = "old"
		e.seed(comp, staged)
		var st orchestrator.SessionExtendedStatus
		e.expect(200, "GET", "/v2/sessions/old/status", "", nil).json(t, &st)
		assert.Equal(t, "running", st.Status)
		assert.Equal(t, 2, st.ManagedComponentsCount)
		assert.Equal(t, 50.0, st.Phases.PercentPoweringOff)
		assert.Equal(t, 50.0, st.PercentStaged)
		assert.Equal(t, orchestrator.ErrorSummary{Count: 1, List: "x1000c0s0b0n0"}, st.ErrorSummary["bmc unreachable"])
		assert.Equal(t, "3:00:00", st.Timing.Duration)
		assert.Nil(t, st.Timing.EndTime)
		e.expect(404, "GET", "/v2/sessions/nope/status", "", nil)
		e.expect(404, "POST", "/v2/sessions/nope/status", "", nil)

		// Completion freezes the status: later component changes do not show.
		end := e.clock.Now()
		e.expect(200, "PATCH", "/v2/sessions/old", "", map[string]any{"status": map[string]any{"status": "complete", "end_time": end}})
		var frozen orchestrator.SessionExtendedStatus
		e.expect(200, "GET", "/v2/sessions/old/status", "", nil).json(t, &frozen)
		assert.Equal(t, "complete", frozen.Status)
		assert.Equal(t, 50.0, frozen.Phases.PercentPoweringOff)
		_, err := e.st.UpdateComponent(ctx, "x1000c0s0b0n0", func(c *orchestrator.Component) error {
			c.Enabled, c.Status.Phase, c.Error = false, "", ""
			return nil
		})
		require.NoError(t, err)
		e.clock.Advance(time.Hour)
		e.expect(200, "GET", "/v2/sessions/old/status", "", nil).json(t, &st)
		assert.Equal(t, frozen, st)
		// POST recomputes and saves.
		e.expect(200, "POST", "/v2/sessions/old/status", "", nil).json(t, &st)
		assert.Equal(t, 50.0, st.Phases.PercentComplete)
		assert.Empty(t, st.ErrorSummary)
		assert.Equal(t, "3:00:00", st.Timing.Duration, "measured to end_time")
		var again orchestrator.SessionExtendedStatus
		e.expect(200, "GET", "/v2/sessions/old/status", "", nil).json(t, &again)
		assert.Equal(t, st, again)

		// Bulk DELETE with filters deletes what they select.
		e.expect(204, "DELETE", "/v2/sessions?status=complete", "", nil)
		assert.Equal(t, []string{"mid", "new"}, names("", ""))
		_, ok, err := e.st.GetSessionStatus(ctx, "", "old")
		require.NoError(t, err)
		assert.False(t, ok, "its saved status went with it")
		e.expect(204, "DELETE", "/v2/sessions?status=pending&min_age=90m", "", nil)
		assert.Equal(t, []string{"new"}, names("", ""))
		e.expect(400, "DELETE", "/v2/sessions?max_age=x", "", nil)

		// Single DELETE does not touch components.
		e.expect(204, "DELETE", "/v2/sessions/new", "", nil)
		e.expect(404, "DELETE", "/v2/sessions/new", "", nil)
		e.expect(404, "GET", "/v2/sessions/new", "", nil)
		e.expect(400, "GET", "/v2/sessions/bad!name", "", nil)
		assert.Equal(t, "old", e.component("x1000c0s0b0n0").Session)
	})
}

// TestDeleteSessionsWithoutFilters: as in BOS, DELETE /v2/sessions without filters deletes
// every session the caller sees, pending and running included: a tenant its own, no tenant
// every tenant's.
func TestDeleteSessionsWithoutFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.seedTenants() // blue's "bs" running, the untenanted "us" pending
		e.expect(201, "POST", "/v2/sessions", "blue", map[string]any{"name": "bs2", "operation": "boot", "template_name": "shared"})
		count := func(tenantName string) int {
			var list []orchestrator.Session
			e.expect(200, "GET", "/v2/sessions", tenantName, nil).json(t, &list)
			return len(list)
		}
		require.Equal(t, 3, count(""))
		e.expect(204, "DELETE", "/v2/sessions", "blue", nil)
		assert.Equal(t, 0, count("blue"), "blue's pending and running sessions")
		assert.Equal(t, 1, count(""), "the untenanted session stays")
		e.expect(204, "DELETE", "/v2/sessions", "", nil)
		assert.Equal(t, 0, count(""))
	})
}
