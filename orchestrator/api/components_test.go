package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// seedMix stores six components in varied states.
func (e *env) seedMix() {
	mk := func(id string, f func(c *orchestrator.Component)) orchestrator.Component {
		c := orchestrator.NewComponent(id, t0)
		f(&c)
		return c
	}
	e.seed(
		mk("x1000c0s0b0n0", func(c *orchestrator.Component) {
			c.Enabled, c.Session, c.Status.Phase = true, "s1", orchestrator.PhasePoweringOn
		}),
		mk("x1000c0s1b0n0", func(c *orchestrator.Component) {
			c.Enabled, c.Session, c.Status.Phase = true, "s1", orchestrator.PhasePoweringOff
			c.LastAction.Action = orchestrator.ActionPoweringOffGracefully
		}),
		mk("x1000c0s2b0n0", func(c *orchestrator.Component) { c.Session = "s1" }),
		mk("x1000c0s3b0n0", func(c *orchestrator.Component) { c.StagedState.Session = "s2"; c.Status.StatusOverride = "failed" }),
		mk("x2000c0s0b0n0", func(c *orchestrator.Component) { c.Enabled, c.Status.Phase = true, orchestrator.PhaseConfiguring }),
		mk("x3000c0s0b0n0", func(c *orchestrator.Component) {}),
	)
}

func TestComponentList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.seedMix()
		list := func(query string) []string {
			var comps []orchestrator.Component
			e.expect(200, "GET", "/v2/components"+query, "", nil).json(t, &comps)
			return idsOf(comps)
		}
		all := []string{"x1000c0s0b0n0", "x1000c0s1b0n0", "x1000c0s2b0n0", "x1000c0s3b0n0", "x2000c0s0b0n0", "x3000c0s0b0n0"}
		assert.Equal(t, all, list(""))
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s1b0n0", "x2000c0s0b0n0"}, list("?enabled=true"))
		assert.Equal(t, []string{"x1000c0s2b0n0", "x1000c0s3b0n0", "x3000c0s0b0n0"}, list("?enabled=false"), "enabled=false is a real filter")
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s1b0n0", "x1000c0s2b0n0"}, list("?session=s1"))
		assert.Equal(t, []string{"x1000c0s3b0n0"}, list("?staged_session=s2"))
		assert.Equal(t, []string{"x1000c0s1b0n0"}, list("?phase=powering_off"))
		assert.Equal(t, all, list("?phase="), "an empty value does not filter")
		assert.Equal(t, []string{"x1000c0s1b0n0", "x1000c0s3b0n0"}, list("?status=power_off_gracefully_called,failed"))
		assert.Equal(t, []string{"x1000c0s0b0n0"}, list("?session=s1&enabled=true&status=power_on_pending"))
		assert.Equal(t, []string{"x1000c0s1b0n0", "x3000c0s0b0n0"}, list("?ids=x3000c0s0b0n0,,x1000c0s1b0n0,x9c0s0b0n0"))
		assert.Equal(t, []string{"x1000c0s2b0n0", "x1000c0s3b0n0"}, list("?start_after_id=x1000c0s1b0n0&page_size=2"))
		assert.Equal(t, []string{"x2000c0s0b0n0", "x3000c0s0b0n0"}, list("?start_after_id=x1000c0s3b0n0&page_size=0"))
		assert.Equal(t, []string{"x1000c0s2b0n0"}, list("?session=s1&start_after_id=x1000c0s1b0n0&page_size=5"))
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s1b0n0"}, list("?tenant=ignored&ids=x1000c0s0b0n0,x1000c0s1b0n0,x2000c0s0b0n0&page_size=2"))

		var comps []map[string]any
		e.expect(200, "GET", "/v2/components?ids=x1000c0s1b0n0", "", nil).json(t, &comps)
		require.Len(t, comps, 1)
		assert.Equal(t, "power_off_gracefully_called", comps[0]["status"].(map[string]any)["status"], "computed status in every listing")

		for _, q := range []string{"?enabled=maybe", "?phase=booting", "?page_size=-1", "?page_size=x"} {
			e.expect(400, "GET", "/v2/components"+q, "", nil)
		}
		// A tenant sees only its nodes.
		e.t = t
		assert.Equal(t, blueNodes, func() []string {
			var comps []orchestrator.Component
			e.expect(200, "GET", "/v2/components", "blue", nil).json(t, &comps)
			return idsOf(comps)
		}())
	})
}

func TestComponentSingle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		ctx := context.Background()
		id := "x1000c0s0b0n0"
		path := "/v2/components/" + id

		// PUT creates with the auto fields; the path id wins.
		var c orchestrator.Component
		e.expect(200, "PUT", path, "", map[string]any{"id": "other", "enabled": true,
			"desired_state": map[string]any{"configuration": "cfg"}, "event_stats": map[string]any{"power_on_attempts": 2}}).json(t, &c)
		assert.Equal(t, id, c.ID)
		assert.Equal(t, orchestrator.StatusOnHold, c.Status.Status)
		assert.Equal(t, orchestrator.EventStats{}, c.EventStats)
		assert.Equal(t, t0, c.DesiredState.LastUpdated)
		e.expect(200, "GET", path, "", nil).json(t, &c)
		assert.Equal(t, "cfg", c.DesiredState.Configuration)
		e.expect(404, "GET", "/v2/components/x9c0s0b0n0", "", nil)
		e.expect(400, "PUT", path, "", map[string]any{"status": map[string]any{"phase": "booting"}})
		e.expect(400, "PUT", path, "", map[string]any{"colour": "red"})
		e.expect(400, "PUT", path, "", map[string]any{"event_stats": map[string]any{"power_on_attempts": -1}})

		// A node report: the token becomes the boot artifacts.
		rec := orchestrator.TokenRecord{BootArtifacts: orchestrator.BootArtifacts{Kernel: "s3://k", KernelParameters: "quiet", Initrd: "s3://i"}, Timestamp: t0}
		require.NoError(t, e.st.PutToken(ctx, "tok-1", rec))
		e.clock.Advance(time.Minute)
		_, err := e.st.UpdateComponent(ctx, id, func(c *orchestrator.Component) error { c.Status.StatusOverride = ""; return nil })
		require.NoError(t, err)
		patched := e.expect(200, "PATCH", path, "", map[string]any{"id": id, "actual_state": map[string]any{"bss_token": "tok-1"}})
		got := e.expect(200, "GET", path, "", nil)
		assert.Equal(t, string(got.body), string(patched.body), "the PATCH answers the record as stored, as GET does")
		assert.Equal(t, got.header.Get("ETag"), patched.header.Get("ETag"))
		patched.json(t, &c)
		assert.Equal(t, rec.BootArtifacts, c.ActualState.BootArtifacts)
		assert.Equal(t, t0.Add(time.Minute), c.ActualState.LastUpdated)
		assert.Equal(t, orchestrator.StatusStable, c.Status.Status, "the PATCH response carries the computed status")

		// The 409 rule: enabled, not stable, last action not powering_on.
		_, err = e.st.UpdateComponent(ctx, id, func(c *orchestrator.Component) error {
			c.Status.Phase, c.LastAction.Action = orchestrator.PhasePoweringOff, orchestrator.ActionSessionSetup
			c.ActualState = orchestrator.ActualState{}
			return nil
		})
		require.NoError(t, err)
		d := e.expect(409, "PATCH", path, "", map[string]any{"actual_state": map[string]any{"bss_token": "tok-1"}}).problem(t)
		assert.Equal(t, "Actual state can not be updated.", d.Title)
		assert.Equal(t, "", e.component(id).ActualState.BSSToken, "nothing written")
		e.expect(200, "PATCH", path, "", map[string]any{"error": "still fine"}) // other fields may change
		_, err = e.st.UpdateComponent(ctx, id, func(c *orchestrator.Component) error { c.LastAction.Action = orchestrator.ActionPoweringOn; return nil })
		require.NoError(t, err)
		e.expect(200, "PATCH", path, "", map[string]any{"actual_state": map[string]any{"bss_token": "tok-1"}})

		// A manual desired-state change detaches the node from its session.
		_, err = e.st.UpdateComponent(ctx, id, func(c *orchestrator.Component) error { c.Session = "s1"; return nil })
		require.NoError(t, err)
		e.expect(200, "PATCH", path, "", map[string]any{"desired_state": map[string]any{"boot_artifacts": map[string]any{"kernel": "k2"}}}).json(t, &c)
		assert.Equal(t, "", c.Session)
		assert.Equal(t, "k2", c.DesiredState.BootArtifacts.Kernel)

		e.expect(404, "PATCH", "/v2/components/x9c0s0b0n0", "", map[string]any{"enabled": false})
		e.expect(400, "PATCH", path, "", map[string]any{"last_action": map[string]any{"action": "dance"}})
		e.expect(400, "PATCH", path, "", `[]`)
		e.expect(400, "GET", "/v2/components/"+strings.Repeat("x", 128), "", nil)

		e.expect(204, "DELETE", path, "", nil)
		e.expect(404, "DELETE", path, "", nil)
		e.expect(404, "GET", path, "", nil)
	})
}

func TestComponentBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.seedMix()

		// Bulk PUT.
		var out []orchestrator.Component
		e.expect(200, "PUT", "/v2/components", "", []map[string]any{
			{"id": "x4000c0s0b0n0", "enabled": false}, {"id": "x4000c0s1b0n0", "session": "s9"},
		}).json(t, &out)
		assert.Equal(t, []string{"x4000c0s0b0n0", "x4000c0s1b0n0"}, idsOf(out))
		e.expect(400, "PUT", "/v2/components", "", []map[string]any{{"id": "x4000c0s2b0n0"}, {"enabled": true}})
		e.expect(404, "GET", "/v2/components/x4000c0s2b0n0", "", nil)
		e.expect(400, "PUT", "/v2/components", "", `{"id":"x"}`)

		// Bulk PATCH, list form.
		e.expect(200, "PATCH", "/v2/components", "", []map[string]any{
			{"id": "x4000c0s0b0n0", "error": "e1"}, {"id": "x4000c0s1b0n0", "enabled": true}, {"id": "x4000c0s0b0n0", "retry_policy": 5},
		}).json(t, &out)
		assert.Equal(t, []string{"x4000c0s0b0n0", "x4000c0s1b0n0"}, idsOf(out))
		c := e.component("x4000c0s0b0n0")
		assert.Equal(t, "e1", c.Error, "several patches of one id all apply")
		require.NotNil(t, c.RetryPolicy)
		assert.Equal(t, orchestrator.StatusOnHold, e.component("x4000c0s1b0n0").Status.Status)

		before := e.snapshot()
		e.expect(404, "PATCH", "/v2/components", "", []map[string]any{{"id": "x4000c0s0b0n0", "error": "e2"}, {"id": "x9c0s0b0n0", "error": "e2"}})
		assert.Equal(t, before, e.snapshot(), "an unknown id writes nothing")
		e.expect(400, "PATCH", "/v2/components", "", []map[string]any{{"error": "no id"}})
		e.expect(400, "PATCH", "/v2/components", "", []map[string]any{{"id": "x4000c0s0b0n0", "status": map[string]any{"phase": "x"}}})
		e.expect(200, "PATCH", "/v2/components?skip_bad_ids=true", "", []map[string]any{{"id": "x4000c0s0b0n0", "error": "e2"}, {"id": "x9c0s0b0n0", "error": "e2"}}).json(t, &out)
		assert.Equal(t, []string{"x4000c0s0b0n0"}, idsOf(out))
		e.expect(400, "PATCH", "/v2/components?skip_bad_ids=perhaps", "", []map[string]any{})

		// Bulk PATCH, filter form.
		e.expect(200, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{"id": "ignored", "error": "by-session"},
			"filters": map[string]any{"session": "s1"}}).json(t, &out)
		assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s1b0n0", "x1000c0s2b0n0"}, idsOf(out))
		assert.Equal(t, "by-session", e.component("x1000c0s2b0n0").Error, "patch.id is ignored")
		e.expect(200, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{"enabled": false},
			"filters": map[string]any{"ids": "x2000c0s0b0n0,x3000c0s0b0n0"}}).json(t, &out)
		assert.Len(t, out, 2)
		assert.False(t, e.component("x2000c0s0b0n0").Enabled)
		d := e.expect(400, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{"enabled": true}, "filters": map[string]any{"ids": "a", "session": "s1"}}).problem(t)
		assert.Equal(t, "Multiple filters provided.", d.Detail)
		d = e.expect(400, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{"enabled": true}, "filters": map[string]any{}}).problem(t)
		assert.Equal(t, "No filter provided.", d.Detail)
		// An empty patch is refused, as BOS's schema does (cray bos v2 components updatemany
		// without --patch or --enabled sends one); it was applied as a no-op before.
		unchanged := e.snapshot()
		d = e.expect(400, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{}, "filters": map[string]any{"ids": "x2000c0s0b0n0"}}).problem(t)
		assert.Equal(t, "component #1 sets no field; at least one is required", d.Detail)
		e.expect(400, "PATCH", "/v2/components/x2000c0s0b0n0", "", map[string]any{})
		e.expect(400, "PUT", "/v2/components/x2000c0s0b0n0", "", map[string]any{"enabled": nil})
		d = e.expect(400, "GET", "/v2/components?ids=", "", nil).problem(t)
		assert.Equal(t, "invalid query: ids: must not be empty", d.Detail)
		assert.Equal(t, unchanged, e.snapshot())
		e.expect(400, "PATCH", "/v2/components", "", map[string]any{"filters": map[string]any{"ids": "x2000c0s0b0n0"}})
		e.expect(400, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{}, "filters": map[string]any{"ids": "x2000c0s0b0n0"}, "extra": 1})
		e.expect(404, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{"error": "x"}, "filters": map[string]any{"ids": "x2000c0s0b0n0,x9c0s0b0n0"}})
		e.expect(400, "PATCH", "/v2/components", "", `"text"`)
		e.expect(200, "PATCH", "/v2/components", "", map[string]any{"patch": map[string]any{"error": "x"}, "filters": map[string]any{"session": "nobody"}}).json(t, &out)
		assert.Empty(t, out)
	})
}

func TestApplyStagedEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		ctx := context.Background()
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "stage-reboot", "operation": "reboot", "template_name": "compute", "stage": true})
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "stage-off", "operation": "shutdown", "template_name": "compute", "stage": true})
		full := orchestrator.BootArtifacts{Kernel: "k", KernelParameters: "p", Initrd: "i"}
		mk := func(id, session string, a orchestrator.BootArtifacts) orchestrator.Component {
			c := orchestrator.NewComponent(id, t0)
			c.ActualState.BootArtifacts = full
			c.StagedState = orchestrator.StagedState{BootArtifacts: a, Configuration: "cfg", Session: session}
			return c
		}
		e.seed(
			mk("x1000c0s0b0n0", "stage-reboot", full),                      // succeeds
			mk("x1000c0s1b0n0", "stage-off", full),                         // fails: shutdown with artifacts
			mk("x1000c0s2b0n0", "gone", full),                              // fails: session missing
			mk("x1000c0s3b0n0", "", full),                                  // ignored: nothing staged
			mk("x2000c0s0b0n0", "stage-off", orchestrator.BootArtifacts{}), // succeeds (shutdown)
		)
		var resp bosapi.ApplyStagedResponse
		e.expect(200, "POST", "/v2/applystaged", "", map[string]any{"xnames": []string{
			"x1000c0s0b0n0", "x1000c0s1b0n0", "x1000c0s2b0n0", "x1000c0s3b0n0", "x2000c0s0b0n0", "x9c0s0b0n0", "x1000c0s0b0n0"}}).json(t, &resp)
		assert.Equal(t, bosapi.ApplyStagedResponse{
			Succeeded: []string{"x1000c0s0b0n0", "x2000c0s0b0n0"},
			Failed:    []string{"x1000c0s1b0n0", "x1000c0s2b0n0"},
			Ignored:   []string{"x1000c0s3b0n0", "x9c0s0b0n0"},
		}, resp)
		ok := e.component("x1000c0s0b0n0")
		assert.Equal(t, full, ok.DesiredState.BootArtifacts)
		assert.Equal(t, "cfg", ok.DesiredState.Configuration)
		assert.True(t, ok.Enabled)
		assert.Equal(t, "stage-reboot", ok.Session)
		assert.Equal(t, orchestrator.ActionApplyStaged, ok.LastAction.Action)
		assert.Equal(t, orchestrator.StatusOnHold, ok.Status.Status)
		assert.True(t, ok.ActualState.BootArtifacts.IsEmpty(), "reboot clears the actual state")
		assert.Equal(t, "stage-reboot", ok.StagedState.Session, "clear_stage is off by default")
		bad := e.component("x1000c0s1b0n0")
		assert.False(t, bad.Enabled)
		assert.NotEmpty(t, bad.Error)
		assert.Equal(t, "stage-off", bad.Session)

		// With clear_stage the stage is emptied; an empty body is fine; limits hold.
		_, err := e.c.PatchOptions(ctx, map[string]any{"clear_stage": true})
		require.NoError(t, err)
		e.expect(200, "POST", "/v2/applystaged", "", map[string]any{"xnames": []string{"x1000c0s0b0n0"}}).json(t, &resp)
		assert.Equal(t, []string{"x1000c0s0b0n0"}, resp.Succeeded)
		assert.Equal(t, orchestrator.StagedState{LastUpdated: t0}, e.component("x1000c0s0b0n0").StagedState)
		e.expect(200, "POST", "/v2/applystaged", "", map[string]any{"xnames": []string{"x1000c0s0b0n0"}}).json(t, &resp)
		assert.Equal(t, []string{"x1000c0s0b0n0"}, resp.Ignored, "nothing staged any more")
		e.expect(200, "POST", "/v2/applystaged", "", `{"xnames":[]}`).json(t, &resp)
		assert.Equal(t, bosapi.ApplyStagedResponse{Succeeded: []string{}, Failed: []string{}, Ignored: []string{}}, resp)
		e.expect(400, "POST", "/v2/applystaged", "", `{"xnames":"x1000c0s0b0n0"}`)
		e.expect(400, "POST", "/v2/applystaged", "", `{"nodes":[]}`)
		e.expect(400, "POST", "/v2/applystaged", "", `xnames`)
		e.expect(400, "POST", "/v2/applystaged", "", map[string]any{"xnames": make([]string, 32769)})
	})
}
