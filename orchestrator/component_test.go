package orchestrator

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestComputeStatus(t *testing.T) {
	tests := []struct {
		name     string
		phase    string
		override string
		action   string
		failed   bool
		want     string
	}{
		{"OverrideWins", PhasePoweringOn, StatusOnHold, ActionPoweringOn, false, StatusOnHold},
		{"FailedOverride", PhaseNone, StatusFailed, "", false, StatusFailed},
		{"PoweringOnCalled", PhasePoweringOn, "", ActionPoweringOn, false, StatusPowerOnCalled},
		{"PoweringOnActionFailed", PhasePoweringOn, "", ActionPoweringOn, true, StatusPowerOnPending},
		{"PoweringOnOtherAction", PhasePoweringOn, "", ActionSessionSetup, false, StatusPowerOnPending},
		{"PoweringOffGraceful", PhasePoweringOff, "", ActionPoweringOffGracefully, false, StatusPowerOffGracefullyCalled},
		{"PoweringOffForceful", PhasePoweringOff, "", ActionPoweringOffForcefully, true, StatusPowerOffForcefullyCalled},
		{"PoweringOffPending", PhasePoweringOff, "", ActionPoweringOn, false, StatusPowerOffPending},
		{"Configuring", PhaseConfiguring, "", ActionPoweringOn, false, StatusConfiguring},
		{"Stable", PhaseNone, "", ActionNewlyDiscovered, false, StatusStable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Component{Status: ComponentStatus{Phase: tt.phase, StatusOverride: tt.override},
				LastAction: LastAction{Action: tt.action, Failed: tt.failed}}
			assert.Equal(t, tt.want, ComputeStatus(&c))
		})
	}
}

func TestActualStateLocked(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		phase   string
		action  string
		want    bool
	}{
		{"DisabledNeverLocked", false, PhasePoweringOff, ActionPoweringOffGracefully, false},
		{"StableNotLocked", true, PhaseNone, ActionSessionSetup, false},
		{"PowerOnInFlightAllowed", true, PhasePoweringOn, ActionPoweringOn, false},
		{"RebootInProgressLocked", true, PhasePoweringOff, ActionSessionSetup, true},
		{"ConfiguringLocked", true, PhaseConfiguring, ActionPoweringOffForcefully, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Component{Enabled: tt.enabled, Status: ComponentStatus{Phase: tt.phase}, LastAction: LastAction{Action: tt.action}}
			assert.Equal(t, tt.want, c.ActualStateLocked())
		})
	}
}

// decodePatch decodes a JSON patch the way the API does.
func decodePatch(t *testing.T, body string) *ComponentPatch {
	t.Helper()
	var p ComponentPatch
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.NoError(t, p.Validate())
	return &p
}

func TestAutoFieldsAndMerge(t *testing.T) {
	base := func() Component {
		return Component{
			ID:           "x1c0s0b0n0",
			ActualState:  ActualState{BootArtifacts: BootArtifacts{Kernel: "k0", KernelParameters: "p0", Initrd: "i0"}, BSSToken: "tok0", LastUpdated: t0.Add(-time.Hour)},
			DesiredState: DesiredState{BootArtifacts: BootArtifacts{Kernel: "k1", KernelParameters: "p1", Initrd: "i1"}, Configuration: "cfg1", BSSToken: "tok1", LastUpdated: t0.Add(-time.Hour)},
			StagedState:  StagedState{Configuration: "cfg2", Session: "staged"},
			LastAction:   LastAction{Action: ActionPoweringOn, LastUpdated: t0.Add(-time.Hour)},
			EventStats:   EventStats{PowerOnAttempts: 2, PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 1},
			Status:       ComponentStatus{Phase: PhasePoweringOn},
			Enabled:      true,
			Error:        "old error",
			Session:      "sess1",
		}
	}
	tokenArtifacts := &BootArtifacts{Kernel: "kT", KernelParameters: "pT", Initrd: "iT"}
	tests := []struct {
		name  string
		body  string
		token *BootArtifacts
		check func(t *testing.T, before, after Component)
	}{
		{"TokenResolvesArtifacts", `{"actual_state":{"bss_token":"tokT"}}`, tokenArtifacts, func(t *testing.T, b, a Component) {
			assert.Equal(t, *tokenArtifacts, a.ActualState.BootArtifacts)
			assert.Equal(t, "tokT", a.ActualState.BSSToken)
			assert.Equal(t, t0, a.ActualState.LastUpdated, "resolved artifacts make it more than a token: stamped")
			assert.Equal(t, b.DesiredState, a.DesiredState)
		}},
		{"UnknownTokenKeepsArtifactsAndTimestamp", `{"actual_state":{"bss_token":"nope"}}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, b.ActualState.BootArtifacts, a.ActualState.BootArtifacts)
			assert.Equal(t, "nope", a.ActualState.BSSToken)
			assert.Equal(t, b.ActualState.LastUpdated, a.ActualState.LastUpdated, "only bss_token: not stamped")
		}},
		{"DesiredTokenOnlyNotStampedNotDetached", `{"desired_state":{"bss_token":"tok9"},"session":"sess1"}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, "tok9", a.DesiredState.BSSToken)
			assert.Equal(t, b.DesiredState.LastUpdated, a.DesiredState.LastUpdated)
			assert.Equal(t, "sess1", a.Session)
			assert.Equal(t, b.EventStats, a.EventStats, "no artifacts/config: counters kept")
		}},
		{"DesiredChangeDetachesAndResetsStats", `{"desired_state":{"configuration":"cfgX"}}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, "cfgX", a.DesiredState.Configuration)
			assert.Equal(t, b.DesiredState.BootArtifacts, a.DesiredState.BootArtifacts, "merged, not replaced")
			assert.Equal(t, "tok1", a.DesiredState.BSSToken)
			assert.Equal(t, t0, a.DesiredState.LastUpdated)
			assert.Equal(t, "", a.Session)
			assert.Equal(t, EventStats{}, a.EventStats)
		}},
		{"DesiredWithSessionKeepsIt", `{"desired_state":{"boot_artifacts":{"kernel":"k2"}},"session":"sess2"}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, BootArtifacts{Kernel: "k2", KernelParameters: "p1", Initrd: "i1"}, a.DesiredState.BootArtifacts, "boot_artifacts merged one level deeper")
			assert.Equal(t, "sess2", a.Session)
			assert.Equal(t, EventStats{}, a.EventStats)
		}},
		{"EnabledSetsOnHold", `{"enabled":true,"status":{"status_override":""}}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, StatusOnHold, a.Status.StatusOverride)
			assert.Equal(t, StatusOnHold, a.Status.Status)
			assert.Equal(t, PhasePoweringOn, a.Status.Phase, "status merged: phase kept")
		}},
		{"DisableDoesNotHold", `{"enabled":false}`, nil, func(t *testing.T, b, a Component) {
			assert.False(t, a.Enabled)
			assert.Equal(t, "", a.Status.StatusOverride)
		}},
		{"StagedAndLastActionStamped", `{"staged_state":{},"last_action":{"failed":true}}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, t0, a.StagedState.LastUpdated)
			assert.Equal(t, "staged", a.StagedState.Session)
			assert.Equal(t, LastAction{Action: ActionPoweringOn, Failed: true, LastUpdated: t0}, a.LastAction)
			assert.Equal(t, StatusPowerOnPending, a.Status.Status)
		}},
		{"EventStatsMerged", `{"event_stats":{"power_on_attempts":5}}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, EventStats{PowerOnAttempts: 5, PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 1}, a.EventStats)
		}},
		{"ScalarsReplacedIDAndComputedStatusIgnored", `{"id":"other","error":"","retry_policy":7,"status":{"status":"failed"}}`, nil, func(t *testing.T, b, a Component) {
			assert.Equal(t, "x1c0s0b0n0", a.ID)
			assert.Equal(t, "", a.Error)
			require.NotNil(t, a.RetryPolicy)
			assert.Equal(t, 7, *a.RetryPolicy)
			assert.Equal(t, StatusPowerOnCalled, a.Status.Status)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := base()
			after := before.Clone()
			p := decodePatch(t, tt.body)
			p.SetAutoFields(t0, tt.token)
			p.ApplyTo(&after)
			tt.check(t, before, after)
		})
	}
}

func TestPatchValidate(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"OK", `{"status":{"phase":"configuring"},"last_action":{"action":"powering_on"}}`, true},
		{"BadPhase", `{"status":{"phase":"booting"}}`, false},
		{"BadAction", `{"last_action":{"action":"reboot"}}`, false},
		{"NegativeCounter", `{"event_stats":{"power_on_attempts":-1}}`, false},
		{"RetryPolicyTooBig", `{"retry_policy":1048577}`, false},
		{"BadSessionName", `{"session":"-bad"}`, false},
		{"EmptySessionOK", `{"session":""}`, true},
		{"LongConfiguration", `{"desired_state":{"configuration":"` + longString(128) + `"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p ComponentPatch
			require.NoError(t, json.Unmarshal([]byte(tt.body), &p))
			err := p.Validate()
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, EINVALID, ErrorCode(err), "%v", err)
			}
		})
	}
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestBuildForPut(t *testing.T) {
	p := decodePatch(t, `{"id":"x1","enabled":true,"desired_state":{"configuration":"c"},"event_stats":{"power_on_attempts":3}}`)
	p.SetAutoFields(t0, nil)
	c := p.Build("x2")
	assert.Equal(t, "x2", c.ID, "the path id wins")
	assert.Equal(t, EventStats{}, c.EventStats, "desired state change resets the sent counters")
	assert.Equal(t, StatusOnHold, c.Status.Status)
	assert.Equal(t, t0, c.DesiredState.LastUpdated)
	assert.True(t, c.ActualState.LastUpdated.IsZero())
	require.NoError(t, c.Validate())
}

func TestComponentJSONShape(t *testing.T) {
	c := NewComponent("x3000c0s1b0n0", t0)
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for _, k := range []string{"id", "actual_state", "desired_state", "staged_state", "last_action", "event_stats", "status", "enabled", "error", "session"} {
		assert.Contains(t, m, k)
	}
	assert.NotContains(t, m, "retry_policy")
	assert.Equal(t, "2026-03-01T12:00:00Z", m["last_action"].(map[string]any)["last_updated"], "RFC 3339 with a zone")
	assert.Equal(t, StatusStable, m["status"].(map[string]any)["status"])
}

func TestSameBoot(t *testing.T) {
	v2 := BootArtifacts{Kernel: "k", Initrd: "i", KernelParameters: "quiet console=ttyS0 root=sbps-s3:s3://r:e bos_update_frequency=4h"}
	with := func(params string) BootArtifacts { a := v2; a.KernelParameters = params; return a }
	tests := []struct {
		name string
		b    BootArtifacts
		want bool
	}{
		{"identical", v2, true},
		{"without bos_update_frequency (a BOA boot)", with("quiet console=ttyS0 root=sbps-s3:s3://r:e"), true},
		{"another bos_update_frequency", with("quiet console=ttyS0 root=sbps-s3:s3://r:e bos_update_frequency=2d"), true},
		{"BOA's bos_session_id", with("quiet console=ttyS0 root=sbps-s3:s3://r:e bos_session_id=s1"), true},
		{"bss_referral_token and spire_join_token", with("quiet spire_join_token=J console=ttyS0 root=sbps-s3:s3://r:e bss_referral_token=t"), true},
		{"other white space", with("  quiet\tconsole=ttyS0  root=sbps-s3:s3://r:e "), true},
		{"another parameter", with("quiet console=ttyS1 root=sbps-s3:s3://r:e bos_update_frequency=4h"), false},
		{"a parameter more", with("quiet console=ttyS0 root=sbps-s3:s3://r:e nmd_data=url=s3://r,etag=e"), false},
		{"another root protocol", with("quiet console=ttyS0 root=craycps-s3:s3://r:e bos_update_frequency=4h"), false},
		{"another order", with("console=ttyS0 quiet root=sbps-s3:s3://r:e bos_update_frequency=4h"), false},
		{"a parameter that only starts like a bookkeeping one", with("quiet console=ttyS0 root=sbps-s3:s3://r:e bos_update_frequency_x=1"), false},
		{"another kernel", BootArtifacts{Kernel: "k2", Initrd: "i", KernelParameters: v2.KernelParameters}, false},
		{"another initrd", BootArtifacts{Kernel: "k", Initrd: "i2", KernelParameters: v2.KernelParameters}, false},
		{"empty", BootArtifacts{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, v2.SameBoot(tc.b))
			assert.Equal(t, tc.want, tc.b.SameBoot(v2), "symmetric")
		})
	}
	assert.True(t, BootArtifacts{}.SameBoot(BootArtifacts{}), "two empty targets")
}

// The boot artifacts' limits are in characters, on each of the three states.
func TestValidateArtifactLimits(t *testing.T) {
	long := func(n int, s string) string { return strings.Repeat(s, n) }
	for _, tc := range []struct {
		name string
		set  func(c *Component)
		bad  string // "" valid
	}{
		{"at the limits", func(c *Component) {
			c.ActualState.BootArtifacts = BootArtifacts{Kernel: long(4095, "k"), KernelParameters: long(4096, "p"), Initrd: long(4095, "i")}
		}, ""},
		{"multibyte within", func(c *Component) { c.DesiredState.BootArtifacts.KernelParameters = long(4096, "é") }, ""},
		{"kernel", func(c *Component) { c.ActualState.BootArtifacts.Kernel = long(4096, "k") }, "actual_state.boot_artifacts.kernel"},
		{"parameters", func(c *Component) { c.DesiredState.BootArtifacts.KernelParameters = long(4097, "é") }, "desired_state.boot_artifacts.kernel_parameters"},
		{"initrd", func(c *Component) { c.StagedState.BootArtifacts.Initrd = long(4096, "i") }, "staged_state.boot_artifacts.initrd"},
	} {
		c := Component{ID: "x1"}
		tc.set(&c)
		err := c.Validate()
		if tc.bad == "" {
			assert.NoError(t, err, tc.name)
			continue
		}
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.bad+":", tc.name)
	}
}

// Validating a valid record allocates nothing: every component write validates one.
func TestValidateValidAllocatesNothing(t *testing.T) {
	c := Component{ID: "x1", Session: "s1", Enabled: true, RetryPolicy: new(3),
		ActualState: ActualState{BootArtifacts: BootArtifacts{Kernel: "s3://k", KernelParameters: "console=ttyS0", Initrd: "s3://i"}},
		Status:      ComponentStatus{Phase: PhasePoweringOn}, LastAction: LastAction{Action: ActionPoweringOn}}
	c.DesiredState.BootArtifacts = c.ActualState.BootArtifacts
	require.NoError(t, c.Validate())
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.Validate() }))
}
