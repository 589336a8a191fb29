package orchestrator

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		json       string
		want       Amount
		of10, of99 int // Of(10, 1), Of(99, 1)
	}{
		{`3`, Amount{N: 3}, 3, 3},
		{`"3"`, Amount{N: 3}, 3, 3},
		{`"10%"`, Amount{N: 10, Percent: true}, 1, 9},
		{`"5%"`, Amount{N: 5, Percent: true}, 1, 4},
		{`0`, Amount{}, 1, 1},
	} {
		var a Amount
		require.NoError(t, json.Unmarshal([]byte(tc.json), &a), tc.json)
		assert.Equal(t, tc.want, a, tc.json)
		assert.Equal(t, tc.of10, a.Of(10, 1), tc.json)
		assert.Equal(t, tc.of99, a.Of(99, 1), tc.json)
		back, err := json.Marshal(a)
		require.NoError(t, err)
		var again Amount
		require.NoError(t, json.Unmarshal(back, &again))
		assert.Equal(t, a, again, "round trip of %s", tc.json)
	}
	for _, bad := range []string{`"ten"`, `"%"`, `1.5`, `true`} {
		var a Amount
		assert.Error(t, json.Unmarshal([]byte(bad), &a), bad)
	}
}

func TestRolloutCommands(t *testing.T) {
	for _, tc := range []struct {
		state, cmd, want string // want "" : ECONFLICT
	}{
		{RolloutRunning, RolloutPause, RolloutPaused},
		{RolloutStaging, RolloutPause, RolloutPaused},
		{RolloutPaused, RolloutPause, ""},
		{RolloutPaused, RolloutResume, RolloutRunning},
		{RolloutRunning, RolloutResume, ""},
		{RolloutPaused, RolloutAbort, RolloutAborting},
		{RolloutRunning, RolloutAbort, RolloutAborting},
		{RolloutComplete, RolloutAbort, ""},
		{RolloutAborted, RolloutResume, ""},
	} {
		r := Rollout{Name: "r", State: tc.state, StageSession: "s", Nodes: []RolloutNode{{Phase: NodeFailed}, {Phase: NodeWaiting}}}
		r.Count()
		err := r.ApplyCommand(tc.cmd)
		if tc.want == "" {
			assert.Equal(t, ECONFLICT, ErrorCode(err), "%s %s", tc.cmd, tc.state)
			assert.Equal(t, tc.state, r.State)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, r.State, "%s %s", tc.cmd, tc.state)
		if tc.cmd == RolloutResume {
			assert.Equal(t, 1, r.BudgetBase, "the budget counts from the failures at the resume")
		}
	}
	r := Rollout{State: RolloutRunning}
	assert.Equal(t, EINVALID, ErrorCode(r.ApplyCommand("restart")))
}
