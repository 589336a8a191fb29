package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestComponentHistoryRoute: the history of a component, newest first, its timestamps
// naive UTC as BOS writes them, read back by the Client; a tenant reads its own nodes'
// history; unknown and bad ids are problem+json.
func TestComponentHistoryRoute(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	id := blueNodes[0]
	e.seed(orchestrator.NewComponent(id, t0))
	e.expect(200, "PATCH", "/v2/components/"+id, "", map[string]any{"enabled": true, "error": "boom"})

	r := e.expect(200, "GET", "/v2/components/"+id+"/history", "blue", nil)
	assert.Regexp(t, `"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"`, string(r.body), "naive UTC, whole seconds")
	hist, err := e.c.ComponentHistory(t.Context(), id)
	require.NoError(t, err)
	var kinds []string
	for _, h := range hist {
		kinds = append(kinds, h.Kind)
	}
	require.NotEmpty(t, kinds)
	assert.Equal(t, orchestrator.HistoryError, kinds[0], "newest first")
	assert.Contains(t, kinds, orchestrator.HistoryEnabled)
	assert.Equal(t, orchestrator.HistoryCreated, kinds[len(kinds)-1])
	assert.Equal(t, "boom", hist[0].To)
	assert.False(t, hist[0].Time.IsZero())

	assert.Equal(t, "Component 'x9000c0s0b0n0' does not exist", e.expect(404, "GET", "/v2/components/x9000c0s0b0n0/history", "", nil).problem(t).Detail)
	e.expect(404, "GET", "/v2/components/"+id+"/history", "red", nil).problem(t)
	e.expect(204, "DELETE", "/v2/components/"+id, "", nil)
	e.expect(404, "GET", "/v2/components/"+id+"/history", "", nil).problem(t)
}
