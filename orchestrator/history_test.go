package orchestrator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestComponentChanges(t *testing.T) {
	now := t0.Add(time.Minute)
	image := BootArtifacts{Kernel: "s3://boot-images/img1/kernel", KernelParameters: "quiet", Initrd: "s3://boot-images/img1/initrd"}
	booting := func() Component {
		c := Component{ID: "x1", Enabled: true, Session: "s1"}
		c.DesiredState = DesiredState{BootArtifacts: image, Configuration: "cfg"}
		c.Status.Phase = PhasePoweringOn
		c.LastAction = LastAction{Action: ActionPoweringOn, LastUpdated: t0, InFlight: "bos-a"}
		c.EventStats.PowerOnAttempts = 1
		c.RefreshStatus()
		return c
	}
	type e struct{ kind, from, to, detail string }
	tests := []struct {
		name   string
		old    *Component
		change func(c *Component)
		want   []e
	}{
		{"nothing changed", ptr(booting()), func(*Component) {}, nil},
		{"created by discovery", nil, func(c *Component) { *c = NewComponent("x1", t0) }, []e{
			{HistoryCreated, "", "", ActionNewlyDiscovered},
		}},
		{"created by a PUT", nil, func(c *Component) {
			*c = booting()
			c.LastAction.InFlight = ""
		}, []e{
			{HistoryCreated, "", "", ActionPoweringOn},
			{HistoryEnabled, "false", "true", ""},
			{HistorySession, "", "s1", ""},
			{HistoryDesired, "", "s3://boot-images/img1/kernel configuration cfg", ""},
			{HistoryPhase, "none", PhasePoweringOn, ""},
			{HistoryStatus, StatusStable, StatusPowerOnCalled, ""},
			{HistoryAttempts, "", "", "power_on_attempts 1"},
		}},
		{"session setup", ptr(NewComponent("x1", t0)), func(c *Component) {
			c.Enabled, c.Session = true, "s1"
			c.DesiredState = DesiredState{BootArtifacts: image, Configuration: "cfg", LastUpdated: now}
			c.LastAction = LastAction{Action: ActionSessionSetup, LastUpdated: now}
		}, []e{
			{HistoryEnabled, "false", "true", ""},
			{HistorySession, "", "s1", ""},
			{HistoryDesired, "", "s3://boot-images/img1/kernel configuration cfg", ""},
			{HistoryAction, "", ActionSessionSetup, ""},
		}},
		{"power call returned", ptr(booting()), func(c *Component) { c.LastAction.InFlight = "" }, []e{
			{HistoryAction, "", ActionPoweringOn, ActionSent},
		}},
		{"power call failed", ptr(booting()), func(c *Component) {
			c.LastAction = LastAction{Action: ActionPoweringOn, Failed: true, LastUpdated: now}
			c.Error = "power_on failed: BMC answered 503"
		}, []e{
			{HistoryStatus, StatusPowerOnCalled, StatusPowerOnPending, ""},
			{HistoryAction, "", ActionPoweringOn, ActionFailed},
			{HistoryError, "", "power_on failed: BMC answered 503", ""},
		}},
		{"retried", ptr(booting()), func(c *Component) {
			c.LastAction = LastAction{Action: ActionPoweringOn, LastUpdated: now, InFlight: "bos-a"}
			c.EventStats.PowerOnAttempts = 2
		}, []e{
			{HistoryAction, "", ActionPoweringOn, ActionInFlight},
			{HistoryAttempts, "", "", "power_on_attempts 2"},
		}},
		{"BSS written", ptr(booting()), func(c *Component) { c.DesiredState.BSSToken = "tok1" }, []e{
			{HistoryBSS, "", "", "token tok1"},
		}},
		{"node reports its boot", ptr(booting()), func(c *Component) {
			c.ActualState = ActualState{BootArtifacts: image, BSSToken: "tok1", LastUpdated: now}
			c.Status.Phase = PhaseConfiguring
			c.RefreshStatus()
		}, []e{
			{HistoryActual, "", "s3://boot-images/img1/kernel", "token tok1"},
			{HistoryPhase, PhasePoweringOn, PhaseConfiguring, ""},
			{HistoryStatus, StatusPowerOnCalled, StatusConfiguring, ""},
		}},
		{"a repeated report is no entry", func() *Component {
			c := booting()
			c.ActualState = ActualState{BootArtifacts: image, BSSToken: "tok1", LastUpdated: t0}
			return &c
		}(), func(c *Component) { c.ActualState.LastUpdated = now }, nil},
		{"failed and disabled", ptr(booting()), func(c *Component) {
			c.Enabled = false
			c.Status.StatusOverride = StatusFailed
			c.Error = "retry limit"
			c.RefreshStatus()
		}, []e{
			{HistoryEnabled, "true", "false", ""},
			{HistoryStatus, StatusPowerOnCalled, StatusFailed, ""},
			{HistoryOverride, "", StatusFailed, ""},
			{HistoryError, "", "retry limit", ""},
		}},
		{"staged", ptr(booting()), func(c *Component) {
			c.StagedState = StagedState{Configuration: "cfg2", Session: "s2"}
		}, []e{
			{HistoryStaged, "", "(no artifacts) configuration cfg2", "s2"},
		}},
		{"attempts reset by a new event", ptr(booting()), func(c *Component) { c.EventStats = EventStats{} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur Component
			if tt.old != nil {
				cur = tt.old.Clone()
			}
			tt.change(&cur)
			cur.RefreshStatus()
			var got []e
			for _, h := range ComponentChanges(tt.old, &cur, now) {
				assert.Equal(t, now, h.Time)
				got = append(got, e{h.Kind, h.From, h.To, h.Detail})
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestComponentChangesSession(t *testing.T) {
	old := Component{ID: "x1", Session: "s1"}
	cur := Component{ID: "x1"}
	got := ComponentChanges(&old, &cur, t0)
	assert.Equal(t, []HistoryEntry{{Time: t0, Kind: HistorySession, From: "s1", Session: "s1"}}, got,
		"leaving a session is recorded under it")
}

// A write that leaves the desired state alone does not describe it: only the entries it
// adds allocate (every component write lists its changes).
func TestComponentChangesDescribesOnlyChanges(t *testing.T) {
	now := time.Now()
	old := Component{ID: "x1", Session: "s1", Status: ComponentStatus{Phase: PhasePoweringOn}}
	old.DesiredState = DesiredState{BootArtifacts: BootArtifacts{Kernel: "s3://k", Initrd: "s3://i"}, Configuration: "c1"}
	old.RefreshStatus()
	cur := old
	cur.Status.Phase = PhaseConfiguring
	cur.RefreshStatus()
	assert.Len(t, ComponentChanges(&old, &cur, now), 2, "phase and status")
	assert.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _ = ComponentChanges(&old, &cur, now) }), "the list, grown once")
}
