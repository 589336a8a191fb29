package api

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestV1StatusWrites: BOA's six status writes change the session's status document, and
// the GETs show it (reference bos-v1.md 2 and 4.3).
func TestV1StatusWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.expect(201, "POST", "/v1/sessiontemplate", "", v1Template("x1000c0s0b0n0"))
		var created orchestrator.V1SessionCreated
		e.expect(201, "POST", "/v1/session", "", map[string]any{"templateName": "t", "operation": "boot"}).json(t, &created)
		id := v1ID(created)
		base := "/v1/session/" + id + "/status"
		raw := func(path string) map[string]any {
			var m map[string]any
			require.NoError(t, json.Unmarshal(e.expect(200, "GET", path, "", nil).body, &m))
			return m
		}

		// Session level: created with the session (409), times written once each.
		e.expect(409, "POST", base, "", map[string]any{"boot_sets": []string{"compute"}})
		e.expect(200, "PATCH", base, "", map[string]any{"start_time": "2020-04-24T12:00:00", "stop_time": "2026-03-01T12:30:00"})
		e.expect(200, "PATCH", base, "", map[string]any{"stop_time": "2026-03-01T13:00:00"})
		meta := raw(base)["metadata"].(map[string]any)
		assert.Equal(t, "2026-03-01T12:00:00", meta["start_time"], "set at creation: the first write wins")
		assert.Equal(t, "2026-03-01T12:30:00", meta["stop_time"])
		assert.Equal(t, true, meta["complete"])
		e.expect(404, "PATCH", "/v1/session/missing/status", "", map[string]any{"stop_time": "2026-03-01T13:00:00"})

		// Boot-set level.
		bootSet := map[string]any{"phases": []any{map[string]any{"name": "Boot", "categories": []any{
			map[string]any{"name": "not_started", "node_list": []string{"x1000c0s0b1n0", "x1000c0s0b0n0"}},
			map[string]any{"name": "in_progress", "node_list": []string{}},
			map[string]any{"name": "failed", "node_list": []string{}}}}}}
		var bs orchestrator.V1BootSetStatus
		e.expect(201, "POST", base+"/extra", "", bootSet).json(t, &bs)
		assert.Equal(t, id, bs.Session)
		assert.Equal(t, "extra", bs.Name)
		assert.Equal(t, base+"/extra/boot", bs.Links[1].Href)
		e.expect(409, "POST", base+"/extra", "", bootSet)
		e.expect(400, "POST", base+"/other", "", map[string]any{"phases": []any{map[string]any{"name": "reboot"}}})

		e.expect(200, "PATCH", base+"/extra", "", []any{
			map[string]any{"update_type": "NodeChangeList", "phase": "boot", "data": map[string]any{"phase": "boot", "source": "not_started", "destination": "in_progress", "node_list": []string{"x1000c0s0b0n0"}}},
			// not in source: added to the destination all the same, as BOS does
			map[string]any{"update_type": "NodeChangeList", "phase": "boot", "data": map[string]any{"phase": "boot", "source": "in_progress", "destination": "failed", "node_list": []string{"x1000c0s0b1n1"}}},
			map[string]any{"update_type": "NodeErrorsList", "phase": "BOOT", "data": map[string]any{"power on failed": []string{"x1000c0s0b1n1"}}},
			map[string]any{"update_type": "GenericMetadata", "phase": "boot", "data": map[string]any{"start_time": "2026-03-01T12:01:00"}},
			map[string]any{"update_type": "GenericMetadata", "phase": "boot_set", "data": map[string]any{"stop_time": "2026-03-01T12:20:00"}},
		}).json(t, &bs)
		var ph orchestrator.V1PhaseStatus
		e.expect(200, "GET", base+"/extra/boot", "", nil).json(t, &ph)
		assert.Equal(t, []string{"x1000c0s0b1n0"}, ph.Nodes("not_started"))
		assert.Equal(t, []string{"x1000c0s0b0n0"}, ph.Nodes("in_progress"))
		assert.Equal(t, []string{"x1000c0s0b1n1"}, ph.Nodes("failed"))
		assert.Equal(t, map[string][]string{"power on failed": {"x1000c0s0b1n1"}}, ph.Errors)
		assert.True(t, ph.Metadata.InProgress)
		assert.Equal(t, 1, ph.Metadata.ErrorCount)
		assert.Equal(t, "2026-03-01T12:01:00", raw(base + "/extra/boot")["metadata"].(map[string]any)["start_time"])
		assert.Equal(t, "2026-03-01T12:20:00", raw(base + "/extra")["metadata"].(map[string]any)["stop_time"])

		before := e.snapshot()
		d := e.expect(400, "PATCH", base+"/extra", "", []any{
			map[string]any{"update_type": "NodeErrorsList", "phase": "boot", "data": map[string]any{"lost": []string{"x1000c0s0b0n0"}}},
			map[string]any{"update_type": "NodeChangeList", "phase": "configure", "data": map[string]any{"phase": "configure", "source": "not_started", "destination": "failed", "node_list": []string{"x1000c0s0b0n0"}}},
		}).problem(t)
		assert.Contains(t, d.Detail, `update 1 (NodeChangeList): boot set 'extra' has no phase "configure"`)
		assert.Equal(t, before, e.snapshot(), "all updates or none")
		e.expect(404, "PATCH", base+"/other", "", []any{})

		e.expect(204, "DELETE", base+"/extra", "", nil)
		e.expect(404, "GET", base+"/extra", "", nil)
		e.expect(404, "DELETE", base+"/extra", "", nil)
		e.expect(200, "GET", base+"/compute", "", nil)

		// Deleted, the session's status is gone until created again.
		e.expect(204, "DELETE", base, "", nil)
		e.expect(404, "GET", base, "", nil)
		e.expect(404, "DELETE", base, "", nil)
		e.expect(404, "PATCH", base, "", map[string]any{"stop_time": "2026-03-01T13:00:00"})
		e.expect(200, "GET", base+"/compute", "", nil)
		var st orchestrator.V1SessionStatus
		e.expect(200, "POST", base, "", map[string]any{"id": "ignored", "boot_sets": []string{"compute"}}).json(t, &st)
		assert.Equal(t, id, st.ID)
		assert.Equal(t, []string{"compute"}, st.BootSets)
		assert.Equal(t, []orchestrator.V1Link{{Rel: "self", Href: base}, {Rel: "Boot Set", Href: base + "/compute"}}, st.Links)
		assert.Equal(t, "2026-03-01T12:00:00", raw(base)["metadata"].(map[string]any)["start_time"], "an omitted start_time is now")
		e.expect(404, "POST", "/v1/session/missing/status", "", map[string]any{"boot_sets": []string{"compute"}})
	})
}
