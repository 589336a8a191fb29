package api

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestClientContract runs every client method against the real server.
func TestClientContract(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		ctx := context.Background()
		c := e.c
		blue := c.WithTenant("blue")

		v, err := c.Version(ctx)
		require.NoError(t, err)
		assert.Equal(t, "2", v.Major)
		h, err := c.Healthz(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ok", h.DBStatus)
		o, err := c.PatchOptions(ctx, map[string]any{"max_power_on_wait_time": 60})
		require.NoError(t, err)
		assert.Equal(t, 60, o.MaxPowerOnWaitTime)
		o, err = c.Options(ctx)
		require.NoError(t, err)
		assert.Equal(t, 60, o.MaxPowerOnWaitTime)

		tpl, err := c.TemplateTemplate(ctx)
		require.NoError(t, err)
		tpl.BootSets["name_your_boot_set"] = orchestrator.BootSet{Path: "s3://boot-images/x/manifest.json", Type: "s3", NodeList: blueNodes}
		put, err := blue.PutTemplate(ctx, "t", tpl)
		require.NoError(t, err)
		assert.Equal(t, "blue", put.Tenant)
		got, err := blue.GetTemplate(ctx, "t")
		require.NoError(t, err)
		assert.Equal(t, put, got)
		patched, err := blue.PatchTemplate(ctx, "t", map[string]any{"description": "d"})
		require.NoError(t, err)
		assert.Equal(t, "d", patched.Description)
		list, err := blue.ListTemplates(ctx)
		require.NoError(t, err)
		assert.Len(t, list, 1)
		msg, err := blue.ValidateTemplate(ctx, "t")
		require.NoError(t, err)
		assert.Equal(t, "Valid", msg)
		_, err = c.GetTemplate(ctx, "t")
		assert.Equal(t, 404, problem.StatusOf(err))

		sess, err := blue.CreateSession(ctx, orchestrator.SessionCreate{Name: "s", Operation: "boot", TemplateName: "t"})
		require.NoError(t, err)
		assert.Equal(t, "pending", sess.Status.Status)
		_, err = blue.CreateSession(ctx, orchestrator.SessionCreate{Name: "s", Operation: "boot", TemplateName: "t"})
		assert.Equal(t, 409, problem.StatusOf(err))
		sess, err = blue.PatchSession(ctx, "s", orchestrator.SessionPatch{Components: ptr(blueNodes[0]), Status: &orchestrator.SessionStatusPatch{Status: ptr("running")}})
		require.NoError(t, err)
		assert.Equal(t, "running", sess.Status.Status)
		sess, err = blue.GetSession(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, blueNodes[0], sess.Components)
		sessions, err := blue.ListSessions(ctx, bosapi.SessionQuery{Status: "running"})
		require.NoError(t, err)
		assert.Len(t, sessions, 1)

		comps, err := blue.PutComponents(ctx, []orchestrator.ComponentPatch{{ID: blueNodes[0], Session: ptr("s"), Enabled: ptr(true)}, {ID: blueNodes[1]}})
		require.NoError(t, err)
		assert.Len(t, comps, 2)
		one, err := blue.PutComponent(ctx, blueNodes[1], orchestrator.ComponentPatch{StagedState: &orchestrator.StagedStatePatch{Session: ptr("s")}})
		require.NoError(t, err)
		assert.Equal(t, "s", one.StagedState.Session)
		one, err = blue.PatchComponent(ctx, blueNodes[0], orchestrator.ComponentPatch{Status: &orchestrator.ComponentStatusPatch{Phase: ptr("powering_on")}})
		require.NoError(t, err)
		assert.Equal(t, orchestrator.StatusOnHold, one.Status.Status)
		comps, err = blue.PatchComponents(ctx, []orchestrator.ComponentPatch{{ID: blueNodes[0], Status: &orchestrator.ComponentStatusPatch{StatusOverride: ptr("")}}, {ID: "x9c0s0b0n0"}}, true)
		require.NoError(t, err)
		assert.Equal(t, []string{blueNodes[0]}, idsOf(comps))
		comps, err = blue.PatchComponentsFiltered(ctx, orchestrator.ComponentPatch{Error: ptr("e")}, nil, "s", false)
		require.NoError(t, err)
		assert.Equal(t, []string{blueNodes[0]}, idsOf(comps))
		comps, err = blue.ListComponents(ctx, bosapi.ComponentQuery{Enabled: ptr(true), Status: []string{"power_on_pending"}, PageSize: 10})
		require.NoError(t, err)
		assert.Equal(t, []string{blueNodes[0]}, idsOf(comps))
		one, err = blue.GetComponent(ctx, blueNodes[0])
		require.NoError(t, err)
		assert.Equal(t, "e", one.Error)

		st, err := blue.SessionStatus(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, 2, st.ManagedComponentsCount)
		st, err = blue.SaveSessionStatus(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, 50.0, st.Phases.PercentPoweringOn)

		res, err := blue.ApplyStaged(ctx, blueNodes)
		require.NoError(t, err)
		assert.Equal(t, []string{blueNodes[1]}, res.Failed, "staged boot without artifacts fails")
		assert.Equal(t, []string{blueNodes[0]}, res.Ignored)

		require.NoError(t, blue.DeleteComponent(ctx, blueNodes[1]))
		assert.Equal(t, 404, problem.StatusOf(blue.DeleteComponent(ctx, blueNodes[1])))
		_, err = blue.PatchSession(ctx, "s", orchestrator.SessionPatch{Status: &orchestrator.SessionStatusPatch{Status: ptr("complete")}})
		require.NoError(t, err)
		require.NoError(t, blue.DeleteSessions(ctx, bosapi.SessionQuery{}))
		sessions, err = blue.ListSessions(ctx, bosapi.SessionQuery{})
		require.NoError(t, err)
		assert.Empty(t, sessions, "the complete session was deleted")
		_, err = blue.CreateSession(ctx, orchestrator.SessionCreate{Name: "s2", Operation: "shutdown", TemplateName: "t"})
		require.NoError(t, err)
		require.NoError(t, blue.DeleteSession(ctx, "s2"))
		assert.Equal(t, 404, problem.StatusOf(blue.DeleteSession(ctx, "s2")))
		require.NoError(t, blue.DeleteTemplate(ctx, "t"))
		_, err = c.WithTenant("purple").ListComponents(ctx, bosapi.ComponentQuery{})
		assert.Equal(t, 400, problem.StatusOf(err))
	})
}
