package selection_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/orchestrator/selection"
)

func TestHandoff(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := selection.NewSnapshot(nil, nil, nil, nil)
	tests := []struct {
		name  string
		keep  string
		after time.Duration
		take  string
		want  bool
	}{
		{"taken in time", "v2//a", time.Second, "v2//a", true},
		{"at MaxAge", "v2//a", 5 * time.Second, "v2//a", true},
		{"too old: setup reads HSM itself", "v2//a", 5*time.Second + 1, "v2//a", false},
		{"another session", "v2//a", 0, "v2//b", false},
		{"no key kept", "", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := now
			h := &selection.Handoff{MaxAge: 5 * time.Second, Now: func() time.Time { return clock }}
			h.Keep(tc.keep, snap)
			clock = clock.Add(tc.after)
			assert.Equal(t, tc.want, h.Take(tc.take) != nil)
			assert.Nil(t, h.Take(tc.take), "taken at most once")
		})
	}
	var none *selection.Handoff
	none.Keep("v2//a", snap)
	assert.Nil(t, none.Take("v2//a"), "a nil handoff keeps nothing")
}
