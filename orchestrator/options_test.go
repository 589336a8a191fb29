package orchestrator

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	require.NoError(t, o.Validate())
	raw, err := json.Marshal(o)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Len(t, m, 21)
	assert.Len(t, OptionNames(), 21)
	assert.Equal(t, 15*time.Second, o.PollingInterval())
	assert.Equal(t, 4*time.Hour, o.ActualStateTTL())
	assert.Equal(t, 7*24*time.Hour, o.CleanupTTL())
	assert.Equal(t, 5*time.Minute, o.DiscoveryInterval())
}

func TestOptionsPatch(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		code  string
		check func(t *testing.T, o Options)
	}{
		{"OK", `{"polling_frequency":5,"clear_stage":true,"logging_level":"debug"}`, "", func(t *testing.T, o Options) {
			assert.Equal(t, 5, o.PollingFrequency)
			assert.True(t, o.ClearStage)
			assert.Equal(t, "debug", o.LoggingLevel)
			assert.Equal(t, 3, o.DefaultRetryPolicy, "untouched keys kept")
		}},
		{"UpperBound", `{"max_component_batch_size":131071,"discovery_frequency":33554432}`, "", nil},
		{"Empty", `{}`, EINVALID, nil},
		{"NotObject", `[1]`, EINVALID, nil},
		{"Unknown", `{"polling_frequency":5,"disable_components_on_completion":true}`, "", func(t *testing.T, o Options) {
			assert.Equal(t, 5, o.PollingFrequency, "known keys apply; unknown ones are ignored, as BOS's schema allows them")
		}},
		{"OnlyUnknown", `{"disable_components_on_completion":true}`, "", func(t *testing.T, o Options) { assert.Equal(t, DefaultOptions(), o) }},
		{"WrongType", `{"polling_frequency":"5"}`, EINVALID, nil},
		{"BelowRange", `{"bss_read_timeout":9}`, EINVALID, nil},
		{"AboveRange", `{"max_component_batch_size":131072}`, EINVALID, nil},
		{"TTLBelowHour", `{"component_actual_state_ttl":"30m"}`, EINVALID, nil},
		{"TTLZero", `{"component_actual_state_ttl":"0"}`, EINVALID, nil},
		{"CleanupZeroOK", `{"cleanup_completed_session_ttl":"0"}`, "", func(t *testing.T, o Options) { assert.Zero(t, o.CleanupTTL()) }},
		{"CleanupBad", `{"cleanup_completed_session_ttl":"7 days"}`, EINVALID, nil},
		{"CleanupTooLong", `{"cleanup_completed_session_ttl":"123456789d"}`, EINVALID, nil},
		{"BadLevel", `{"logging_level":"TRACE"}`, EINVALID, nil},
		{"RejectOverlapAll", `{"reject_overlapping_sessions":"all"}`, "", func(t *testing.T, o Options) {
			assert.True(t, o.RejectsOverlap("v1"))
			assert.True(t, o.RejectsOverlap("v2"))
		}},
		{"RejectOverlapBad", `{"reject_overlapping_sessions":"v2"}`, EINVALID, nil},
		{"RejectOverlapBool", `{"reject_overlapping_sessions":true}`, EINVALID, nil},
		// 3538066w fits the 8-character limit but overflows a duration (it became 1h10m).
		{"CleanupOverflow", `{"cleanup_completed_session_ttl":"3538066w"}`, EINVALID, nil},
		{"TTLOverflow", `{"component_actual_state_ttl":"99999999999w"}`, EINVALID, nil},
		{"CleanupLongestOK", `{"cleanup_completed_session_ttl":"15250w"}`, "", func(t *testing.T, o Options) {
			assert.Equal(t, 15250*7*24*time.Hour, o.CleanupTTL())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			err := o.Patch([]byte(tt.body))
			if tt.code != "" {
				assert.Equal(t, tt.code, ErrorCode(err), "%v", err)
				assert.NotContains(t, ErrorMessage(err), "Go ", "no Go type names")
				assert.Equal(t, DefaultOptions(), o, "unchanged on error")
				return
			}
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestDecodeStoredOptions(t *testing.T) {
	o, err := DecodeStoredOptions([]byte(`{"polling_frequency":7,"component_actual_state_ttl":"10m","removed_option":1}`))
	require.NoError(t, err)
	assert.Equal(t, 7, o.PollingFrequency)
	assert.Equal(t, "4h", o.ComponentActualStateTTL, "a pre-2.50 TTL below one hour falls back to the default")
	assert.Equal(t, 300, o.DiscoveryFrequency, "missing keys take defaults")

	o, err = DecodeStoredOptions(nil)
	require.NoError(t, err)
	assert.Equal(t, DefaultOptions(), o)
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"0m", 0, true}, {"30m", 30 * time.Minute, true}, {"12H", 12 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true}, {"2w", 14 * 24 * time.Hour, true},
		{"", 0, false}, {"01d", 0, false}, {"5s", 0, false}, {"d", 0, false}, {"-1d", 0, false},
		// Out of range: a duration would overflow (107000w wrapped to a negative age).
		{"15250w", 15250 * 7 * 24 * time.Hour, true}, {"15251w", 0, false}, {"107000w", 0, false},
		{"3538066w", 0, false}, {"2562047h", 2562047 * time.Hour, true}, {"2562048h", 0, false},
		{"99999999999999999999m", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAge(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				assert.Equal(t, EINVALID, ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRejectsOverlap(t *testing.T) {
	tests := []struct {
		value    string
		v1, v2   bool
		wantsErr bool
	}{
		{RejectOverlapNone, false, false, false},
		{RejectOverlapV1, true, false, false},
		{RejectOverlapAll, true, true, false},
		{"", false, false, true},
		{"V1", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			o := DefaultOptions()
			o.RejectOverlappingSessions = tt.value
			assert.Equal(t, tt.v1, o.RejectsOverlap("v1"), "v1")
			assert.Equal(t, tt.v2, o.RejectsOverlap("v2"), "v2")
			assert.Equal(t, tt.wantsErr, o.Validate() != nil)
		})
	}
	assert.Equal(t, RejectOverlapV1, DefaultOptions().RejectOverlappingSessions, "v2 takes over by default, v1 refuses")
	o, err := DecodeStoredOptions([]byte(`{"reject_overlapping_sessions":"bogus"}`))
	require.NoError(t, err)
	assert.Equal(t, RejectOverlapV1, o.RejectOverlappingSessions, "an invalid stored value falls back to the default")
}

func TestLogLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{
		"DEBUG": slog.LevelDebug, "info": slog.LevelInfo, "Warning": slog.LevelWarn,
		"ERROR": slog.LevelError, "critical": slog.LevelError + 4, "": slog.LevelInfo,
	} {
		assert.Equal(t, want, Options{LoggingLevel: name}.LogLevel(), name)
	}
}
