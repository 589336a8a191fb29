package orchestrator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionCreateValidate(t *testing.T) {
	tests := []struct {
		name  string
		sc    SessionCreate
		opts  func(*Options)
		code  string
		warns int
	}{
		{"OK", SessionCreate{Operation: "Boot", TemplateName: "t"}, nil, "", 0},
		{"MissingOperation", SessionCreate{TemplateName: "t"}, nil, EINVALID, 0},
		{"BadOperation", SessionCreate{Operation: "configure", TemplateName: "t"}, nil, EINVALID, 0},
		{"MissingTemplate", SessionCreate{Operation: "boot"}, nil, EINVALID, 0},
		{"BadName", SessionCreate{Operation: "boot", TemplateName: "t", Name: "a/b"}, nil, EINVALID, 0},
		{"LimitRequired", SessionCreate{Operation: "boot", TemplateName: "t"}, func(o *Options) { o.SessionLimitRequired = true }, EINVALID, 0},
		{"LimitRequiredNull", SessionCreate{Operation: "boot", TemplateName: "t", Limit: ptr("")}, func(o *Options) { o.SessionLimitRequired = true }, EINVALID, 0},
		{"StarIsALimit", SessionCreate{Operation: "boot", TemplateName: "t", Limit: ptr("*")}, func(o *Options) { o.SessionLimitRequired = true }, "", 0},
		{"NIDWarned", SessionCreate{Operation: "boot", TemplateName: "t", Limit: ptr("all,!nid000001")}, nil, "", 1},
		{"NIDRejected", SessionCreate{Operation: "boot", TemplateName: "t", Limit: ptr("&nid000001")}, func(o *Options) { o.RejectNIDs = true }, EINVALID, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			w, err := tt.sc.Validate(o)
			assert.Equal(t, tt.code, ErrorCode(err), "%v", err)
			assert.Len(t, w, tt.warns)
		})
	}
	sc := SessionCreate{Operation: "REBOOT", TemplateName: "t", Stage: true}
	_, err := sc.Validate(DefaultOptions())
	require.NoError(t, err)
	s := sc.NewSession("n", "blue", t0)
	assert.Equal(t, Session{Name: "n", Tenant: "blue", Operation: OpReboot, TemplateName: "t", Stage: true,
		Status: SessionStatus{Status: SessionPending, StartTime: t0}}, s)
}

func TestSessionFilter(t *testing.T) {
	now := t0
	mk := func(age time.Duration, status string) *Session {
		return &Session{Status: SessionStatus{Status: status, StartTime: now.Add(-age)}}
	}
	f, err := ParseSessionFilter("1h", "1d", "complete")
	require.NoError(t, err)
	assert.True(t, f.Match(mk(2*time.Hour, SessionComplete), now))
	assert.False(t, f.Match(mk(30*time.Minute, SessionComplete), now), "younger than min_age")
	assert.False(t, f.Match(mk(48*time.Hour, SessionComplete), now), "older than max_age")
	assert.False(t, f.Match(mk(2*time.Hour, SessionRunning), now), "status mismatch")

	none, err := ParseSessionFilter("", "", "")
	require.NoError(t, err)
	assert.True(t, none.Match(mk(0, SessionPending), now))

	for _, bad := range [][3]string{{"1s", "", ""}, {"", "01d", ""}, {"", "", "done"}} {
		_, err := ParseSessionFilter(bad[0], bad[1], bad[2])
		assert.Equal(t, EINVALID, ErrorCode(err), "%v", bad)
	}
}

func TestSessionPatch(t *testing.T) {
	s := Session{Name: "s", Status: SessionStatus{Status: SessionPending, StartTime: t0}}
	p := SessionPatch{Components: ptr("x1,x2"), Status: &SessionStatusPatch{Status: ptr(SessionComplete), EndTime: ptr(t0.Add(time.Minute)), Error: ptr("boom")}}
	require.NoError(t, p.Validate())
	p.ApplyTo(&s)
	assert.Equal(t, "x1,x2", s.Components)
	assert.Equal(t, t0, s.Status.StartTime, "status merged")
	assert.True(t, s.Complete())
	assert.Equal(t, "boom", *s.Status.Error)

	require.NoError(t, (&SessionPatch{}).Validate(), "an empty update is valid, as BOS's schema")
	assert.Error(t, (&SessionPatch{Status: &SessionStatusPatch{Status: ptr("done")}}).Validate())
}

func TestFormatDuration(t *testing.T) {
	assert.Equal(t, "0:00:00", FormatDuration(0))
	assert.Equal(t, "0:12:34", FormatDuration(12*time.Minute+34*time.Second+900*time.Millisecond))
	assert.Equal(t, "1 day, 2:03:04", FormatDuration(26*time.Hour+3*time.Minute+4*time.Second))
	assert.Equal(t, "3 days, 0:00:00", FormatDuration(72*time.Hour))
	assert.Equal(t, "0:00:00", FormatDuration(-time.Second))
}

func TestBuildExtendedStatus(t *testing.T) {
	var comps []Component
	add := func(n int, f func(c *Component)) {
		for i := 0; i < n; i++ {
			c := Component{ID: fmt.Sprintf("x%dc0s%db0n0", len(comps), i), Session: "s"}
			f(&c)
			comps = append(comps, c)
		}
	}
	add(4, func(c *Component) {})                                                               // stable, disabled: done
	add(2, func(c *Component) { c.Status.StatusOverride = StatusFailed; c.Error = "bmc down" }) // failed
	add(3, func(c *Component) { c.Enabled = true; c.Status.Phase = PhasePoweringOn })
	add(1, func(c *Component) {
		c.Enabled = true
		c.Status.Phase = PhasePoweringOff
		c.Status.StatusOverride = StatusOnHold
	})
	add(12, func(c *Component) { c.Enabled = true; c.Status.Phase = PhaseConfiguring; c.Error = "cfs failed" })
	add(2, func(c *Component) { c.Session = "other"; c.StagedState.Session = "s" })

	st := StatsFromComponents("s", comps)
	assert.Equal(t, 22, st.Members)
	assert.Equal(t, 2, st.Staged)
	assert.False(t, st.Done())
	end := t0.Add(90 * time.Second)
	sess := &Session{Name: "s", Status: SessionStatus{Status: SessionComplete, StartTime: t0, EndTime: &end}}
	got := BuildExtendedStatus(sess, st, t0.Add(time.Hour))
	assert.Equal(t, 24, got.ManagedComponentsCount)
	assert.Equal(t, 25.0, got.Phases.PercentComplete)
	assert.Equal(t, 12.5, got.Phases.PercentPoweringOn)
	assert.Equal(t, 0.0, got.Phases.PercentPoweringOff, "on_hold not counted in a phase")
	assert.Equal(t, 50.0, got.Phases.PercentConfiguring)
	assert.Equal(t, 16.67, got.PercentSuccessful)
	assert.Equal(t, 8.33, got.PercentFailed)
	assert.Equal(t, 8.33, got.PercentStaged)
	assert.Equal(t, ErrorSummary{Count: 2, List: "x4c0s0b0n0,x5c0s1b0n0"}, got.ErrorSummary["bmc down"])
	cfs := got.ErrorSummary["cfs failed"]
	assert.Equal(t, 12, cfs.Count)
	assert.True(t, strings.HasSuffix(cfs.List, "..."))
	assert.Len(t, strings.Split(strings.TrimSuffix(cfs.List, "..."), ","), 10)
	assert.Equal(t, "0:01:30", got.Timing.Duration, "measured to end_time")

	empty := BuildExtendedStatus(&Session{Status: SessionStatus{Status: SessionRunning, StartTime: t0}}, StatsFromComponents("none", comps), t0.Add(time.Minute))
	assert.Zero(t, empty.ManagedComponentsCount)
	assert.Zero(t, empty.Phases.PercentComplete)
	assert.Equal(t, "0:01:00", empty.Timing.Duration, "measured to now while running")
	assert.True(t, StatsFromComponents("none", comps).Done())
}

// TestExtendedStatusStagedAndApplied: a node applied from a staged session with
// clear_stage off is both a member and still staged: counted once, as a member.
func TestExtendedStatusStagedAndApplied(t *testing.T) {
	var comps []Component
	for i := range 100 {
		c := Component{ID: fmt.Sprintf("x1000c0s%db0n0", i), Session: "boot"}
		c.StagedState.Session = "rolling"
		comps = append(comps, c)
	}
	comps[0].Session = "rolling" // applied, the stage kept; booted and disabled (stable)

	st := StatsFromComponents("rolling", comps)
	assert.Equal(t, 1, st.Members)
	assert.Equal(t, 100, st.Staged)
	assert.False(t, st.Done(), "staged data left keeps the session running (BOS)")
	got := BuildExtendedStatus(&Session{Name: "rolling", Status: SessionStatus{Status: SessionRunning, StartTime: t0}}, st, t0)
	assert.Equal(t, 100, got.ManagedComponentsCount)
	assert.Equal(t, 99.0, got.PercentStaged)
	assert.Equal(t, 1.0, got.PercentSuccessful)
	assert.Equal(t, 1.0, got.Phases.PercentComplete)
}

func TestApplyStaged(t *testing.T) {
	staged := func(session string, a BootArtifacts) *Component {
		return &Component{
			ID:           "x1c0s0b0n0",
			ActualState:  ActualState{BootArtifacts: BootArtifacts{Kernel: "old"}, BSSToken: "t"},
			DesiredState: DesiredState{BSSToken: "old-token"},
			StagedState:  StagedState{BootArtifacts: a, Configuration: "cfg", Session: session},
			EventStats:   EventStats{PowerOnAttempts: 3},
			Error:        "stale",
		}
	}
	full := BootArtifacts{Kernel: "k", KernelParameters: "p", Initrd: "i"}
	boot := &Session{Name: "s", Operation: OpBoot}
	reboot := &Session{Name: "s", Operation: OpReboot}
	shutdown := &Session{Name: "s", Operation: OpShutdown}
	tests := []struct {
		name  string
		c     *Component
		sess  *Session
		clear bool
		want  StagedOutcome
		check func(t *testing.T, c Component)
	}{
		{"NothingStaged", staged("", full), boot, false, StagedIgnored, nil},
		{"Boot", staged("s", full), boot, false, StagedSucceeded, func(t *testing.T, c Component) {
			assert.Equal(t, full, c.DesiredState.BootArtifacts)
			assert.Equal(t, "cfg", c.DesiredState.Configuration)
			assert.Equal(t, "", c.DesiredState.BSSToken)
			assert.True(t, c.Enabled)
			assert.Equal(t, StatusOnHold, c.Status.Status)
			assert.Equal(t, "s", c.Session)
			assert.Equal(t, ActionApplyStaged, c.LastAction.Action)
			assert.Equal(t, EventStats{}, c.EventStats)
			assert.Equal(t, "", c.Error)
			assert.Equal(t, "s", c.StagedState.Session, "clear_stage off keeps the stage")
			assert.Equal(t, "old", c.ActualState.BootArtifacts.Kernel, "boot keeps actual state")
		}},
		{"RebootClearsActualAndStage", staged("s", full), reboot, true, StagedSucceeded, func(t *testing.T, c Component) {
			assert.Equal(t, ActualState{LastUpdated: t0}, c.ActualState)
			assert.Equal(t, StagedState{LastUpdated: t0}, c.StagedState)
		}},
		{"ShutdownEmpty", staged("s", BootArtifacts{}), shutdown, false, StagedSucceeded, func(t *testing.T, c Component) {
			assert.True(t, c.DesiredState.BootArtifacts.IsEmpty())
		}},
		{"ShutdownWithArtifactsFails", staged("s", full), shutdown, false, StagedFailed, func(t *testing.T, c Component) {
			assert.False(t, c.Enabled)
			assert.Contains(t, c.Error, "shutdown")
			assert.Equal(t, "s", c.Session)
			assert.Equal(t, ActionApplyStaged, c.LastAction.Action)
			assert.Equal(t, "old-token", c.DesiredState.BSSToken, "desired state untouched on failure")
		}},
		{"BootMissingInitrdFails", staged("s", BootArtifacts{Kernel: "k", KernelParameters: "p"}), boot, false, StagedFailed, nil},
		{"MissingSessionFails", staged("gone", full), nil, true, StagedFailed, func(t *testing.T, c Component) {
			assert.Contains(t, c.Error, "does not exist")
			assert.Equal(t, "", c.StagedState.Session, "clear_stage applies to failures too")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, p := ApplyStaged(tt.c, tt.sess, tt.clear)
			assert.Equal(t, tt.want, outcome)
			if outcome == StagedIgnored {
				assert.Nil(t, p)
				return
			}
			c := tt.c.Clone()
			p.SetAutoFields(t0, nil)
			p.ApplyTo(&c)
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// Creation order: by the admission epoch when both sessions have one (whatever their
// clocks say), else by start time (records stored before epochs were recorded).
func TestCreationAfter(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Second)
	tests := []struct {
		name string
		a, b Creation
		want bool
	}{
		{"later epoch", Creation{Epoch: 2, Time: t0}, Creation{Epoch: 1, Time: t1}, true},
		{"earlier epoch, later clock", Creation{Epoch: 1, Time: t1}, Creation{Epoch: 2, Time: t0}, false},
		{"same epoch", Creation{Epoch: 3, Time: t1}, Creation{Epoch: 3, Time: t0}, false},
		{"no epoch: later time", Creation{Time: t1}, Creation{Epoch: 5, Time: t0}, true},
		{"other has no epoch: earlier time", Creation{Epoch: 5, Time: t0}, Creation{Time: t1}, false},
		{"same time, no epochs", Creation{Time: t0}, Creation{Time: t0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.a.After(tt.b))
			want := 0
			switch {
			case tt.want:
				want = 1
			case tt.b.After(tt.a):
				want = -1
			}
			assert.Equal(t, want, tt.a.Compare(tt.b))
		})
	}
}
