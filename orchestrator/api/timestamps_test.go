package api

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// naive is BOS's timestamp form: isoformat(timespec='seconds'), no zone.
var naive = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)

// TestTimestampsOnTheWire: answers carry BOS's naive timestamps (UTC, whole seconds) while
// the store keeps full precision; requests may use that form or RFC 3339, a zone is
// converted, and anything else is 400 naming the key.
func TestTimestampsOnTheWire(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	precise := t0.Add(750 * time.Millisecond)
	e.seed(orchestrator.NewComponent("x1000c0s0b0n0", precise))

	var one struct {
		LastAction struct {
			LastUpdated string `json:"last_updated"`
		} `json:"last_action"`
	}
	require.NoError(t, json.Unmarshal(e.expect(200, "GET", "/v2/components/x1000c0s0b0n0", "", nil).body, &one))
	assert.Equal(t, "2026-03-01T12:00:00", one.LastAction.LastUpdated)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(e.expect(200, "GET", "/v2/components", "", nil).body, &list))
	assert.Equal(t, "2026-03-01T12:00:00", list[0]["actual_state"].(map[string]any)["last_updated"], "the list sends stored JSON rewritten")
	assert.True(t, e.component("x1000c0s0b0n0").LastAction.LastUpdated.Equal(precise), "the store keeps the fraction")

	e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
	e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s", "operation": "boot", "template_name": "compute"})
	endTime := func(body string) string {
		var s struct{ Status map[string]any }
		require.NoError(t, json.Unmarshal(e.expect(200, "PATCH", "/v2/sessions/s", "", body).body, &s))
		assert.Regexp(t, naive, s.Status["start_time"])
		return s.Status["end_time"].(string)
	}
	for _, c := range [][2]string{
		{"2026-03-01T13:00:00", "2026-03-01T13:00:00"},     // BOS's own form
		{"2026-03-01T13:00:01.999", "2026-03-01T13:00:01"}, // a fraction is dropped on output
		{"2026-03-01T13:00:02Z", "2026-03-01T13:00:02"},
		{"2026-03-01T15:00:03+02:00", "2026-03-01T13:00:03"}, // converted to UTC, not dropped
		{"2026-03-01T08:00:04.5-05:00", "2026-03-01T13:00:04"},
	} {
		in, want := c[0], c[1]
		assert.Equal(t, want, endTime(`{"status": {"end_time": "`+in+`"}}`), in)
	}
	s, err := e.st.GetSession(context.Background(), "", "s")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 1, 13, 0, 4, 500e6, time.UTC), *s.Status.EndTime, "the store keeps what was sent")

	for _, bad := range []string{"yesterday", "", "2026-03-01", "2026-13-01T00:00:00", "2026-03-01T13:00:00 UTC"} {
		d := e.expect(400, "PATCH", "/v2/sessions/s", "", `{"status": {"end_time": "`+bad+`"}}`).problem(t)
		assert.Contains(t, d.Detail, "end_time", bad)
	}
	e.expect(400, "PATCH", "/v2/components/x1000c0s0b0n0", "", `{"last_action": {"action": "newly_discovered", "last_updated": 7}}`)
}

// TestClientReadsNaiveTimestamps: the Client (the bos CLI, CRUS, slurm-reboot) reads BOS's
// form back as UTC.
func TestClientReadsNaiveTimestamps(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	e.seed(orchestrator.NewComponent("x1000c0s0b0n0", t0.Add(time.Second/3)))
	c, err := bosapi.NewClient(e.srv.URL, e.srv.Client()).GetComponent(context.Background(), "x1000c0s0b0n0")
	require.NoError(t, err)
	assert.Equal(t, t0, c.LastAction.LastUpdated)
}

func TestRewriteTimesTouchesOnlyTimestampKeys(t *testing.T) {
	in := `{"description":"\"last_updated\":\"2026-03-01T12:00:00Z\"","x":["last_updated"],` +
		`"last_updated" : "2026-03-01T12:00:00.5Z","end_time":null,"start_time":"2026-03-01T12:00:00\u005a"}`
	want := `{"description":"\"last_updated\":\"2026-03-01T12:00:00Z\"","x":["last_updated"],` +
		`"last_updated" : "2026-03-01T12:00:00","end_time":null,"start_time":"2026-03-01T12:00:00\u005a"}`
	assert.Equal(t, want, string(bosapi.ToWire([]byte(in))))
}

// BenchmarkToWire10kComponents: the cost of rewriting a 10,000-component list's stored
// JSON into BOS's timestamp form.
func BenchmarkToWire10kComponents(b *testing.B) {
	list := make([]orchestrator.Component, 10000)
	for i := range list {
		list[i] = orchestrator.NewComponent(fmt.Sprintf("x1000c0s%db0n0", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	raw, err := json.Marshal(list)
	require.NoError(b, err)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		bosapi.ToWire(raw)
	}
}
