package reconciler

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/orchestrator/power"
)

var (
	t0     = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	image  = bos.BootArtifacts{Kernel: "s3://boot-images/a/kernel", KernelParameters: "console=ttyS0", Initrd: "s3://boot-images/a/initrd"}
	other  = bos.BootArtifacts{Kernel: "s3://boot-images/b/kernel", KernelParameters: "quiet", Initrd: "s3://boot-images/b/initrd"}
	opts   = bos.DefaultOptions()
	cfsOK  = &CFSView{DesiredConfig: "cfg", Status: "configured"}
	cfsNew = &CFSView{DesiredConfig: "", Status: "unconfigured"}
)

// comp builds an enabled component wanting image with configuration "cfg", changed by fs.
func comp(fs ...func(*bos.Component)) bos.Component {
	c := bos.Component{ID: "x1000c0s0b0n0", Enabled: true, Session: "s1"}
	c.DesiredState.BootArtifacts = image
	c.DesiredState.Configuration = "cfg"
	c.LastAction = bos.LastAction{Action: bos.ActionSessionSetup, LastUpdated: t0}
	for _, f := range fs {
		f(&c)
	}
	c.Status.Status = bos.ComputeStatus(&c) // as the store keeps it
	return c
}

func phase(p string) func(*bos.Component) { return func(c *bos.Component) { c.Status.Phase = p } }
func booted(a bos.BootArtifacts) func(*bos.Component) {
	return func(c *bos.Component) { c.ActualState.BootArtifacts = a }
}
func last(action string, ago time.Duration, failed bool) func(*bos.Component) {
	return func(c *bos.Component) {
		c.LastAction = bos.LastAction{Action: action, LastUpdated: t0.Add(-ago), Failed: failed}
	}
}
func tokens(desired, actual string) func(*bos.Component) {
	return func(c *bos.Component) { c.DesiredState.BSSToken, c.ActualState.BSSToken = desired, actual }
}
func override(o string) func(*bos.Component) {
	return func(c *bos.Component) { c.Status.StatusOverride = o }
}
func shutdownTarget(c *bos.Component) {
	c.DesiredState = bos.DesiredState{}
}
func stats(on, graceful, forceful int) func(*bos.Component) {
	return func(c *bos.Component) {
		c.EventStats = bos.EventStats{PowerOnAttempts: on, PowerOffGracefulAttempts: graceful, PowerOffForcefulAttempts: forceful}
	}
}

func TestDecide(t *testing.T) {
	type want struct {
		phase, status string
		enabled       bool
		action        Action
		errContains   string
		requeue       time.Duration
		pollCFS       bool
		actualCleared bool
		stats         *bos.EventStats
	}
	for _, tc := range []struct {
		name string
		c    bos.Component
		obs  Observation
		want want
	}{
		// Inputs missing.
		{"no CFS record: on hold and disabled", comp(), Observation{Power: power.PowerOn},
			want{phase: "", status: bos.StatusOnHold, enabled: false, errContains: MsgNoCFSRecord}},
		{"power not reported: on hold, disabled, the phase ends", comp(phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, false), stats(0, 1, 0)),
			Observation{Power: power.PowerNotReported, CFS: cfsOK},
			want{phase: "", status: bos.StatusOnHold, enabled: false, errContains: MsgNoPCSRecord, actualCleared: true, stats: &bos.EventStats{}}},
		{"power not reported, the driver says why", comp(phase(bos.PhasePoweringOn)), Observation{Power: power.PowerNotReported, PowerError: "no Redfish endpoint for x1000c0s0b0n0 in HSM", CFS: cfsOK},
			want{phase: "", status: bos.StatusOnHold, enabled: false, errContains: "no Redfish endpoint", stats: &bos.EventStats{}}},
		// Already failed.
		{"failed stays failed and is disabled", comp(override(bos.StatusFailed)), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: "", status: bos.StatusFailed, enabled: false}},
		// Power off.
		{"off, shutdown target: done", comp(shutdownTarget, phase(bos.PhasePoweringOff)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: "", status: bos.StatusStable, enabled: false, actualCleared: true, stats: &bos.EventStats{}}},
		{"off, boot target: power on", comp(), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, action: PowerOnAction, stats: &bos.EventStats{PowerOnAttempts: 1}}},
		{"on hold from the API is cleared", comp(override(bos.StatusOnHold)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, action: PowerOnAction, stats: &bos.EventStats{PowerOnAttempts: 1}}},
		{"off after power-on call, within wait: keep waiting", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 30*time.Second, false), stats(1, 0, 0)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, requeue: 90*time.Second + time.Millisecond}},
		{"off past max_power_on_wait_time: retried", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 121*time.Second, false), stats(1, 0, 0)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, action: PowerOnAction, stats: &bos.EventStats{PowerOnAttempts: 2}}},
		{"off past wait with attempts used up: failed with the timeout as error", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 121*time.Second, false), stats(3, 0, 0)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusFailed, enabled: false, errContains: "max_power_on_wait_time"}},
		{"power-on call failed: retried at once", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, true), stats(1, 0, 0)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, action: PowerOnAction, stats: &bos.EventStats{PowerOnAttempts: 2}}},
		{"power-on failures exhausted: failed, the last error kept", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, true), stats(3, 0, 0), func(c *bos.Component) { c.Error = "power_on failed: 503" }), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusFailed, enabled: false, errContains: "power_on failed: 503"}},
		{"retry limit without a cause gets BOS's message", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, true), stats(3, 0, 0)), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusFailed, enabled: false, errContains: "retry limit has been hit"}},
		{"per-node retry_policy overrides the default", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, true), stats(1, 0, 0), func(c *bos.Component) { one := 1; c.RetryPolicy = &one }), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusFailed, enabled: false, errContains: "retry limit"}},
		// Power on, shutdown target.
		{"on, shutdown target: graceful off", comp(shutdownTarget), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffGracefullyCalled, enabled: true, action: GracefulOffAction, stats: &bos.EventStats{PowerOffGracefulAttempts: 1}}},
		{"graceful off within wait: keep waiting", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 100*time.Second, false), stats(0, 1, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffGracefullyCalled, enabled: true, requeue: 200*time.Second + time.Millisecond}},
		{"graceful off past max_power_off_wait_time: forceful", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 301*time.Second, false), stats(0, 1, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffForcefullyCalled, enabled: true, action: ForcefulOffAction, stats: &bos.EventStats{PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 1}}},
		{"graceful call rejected: forceful at once", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, true), stats(0, 1, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffForcefullyCalled, enabled: true, action: ForcefulOffAction, stats: &bos.EventStats{PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 1}}},
		{"forceful off past wait: forceful again", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffForcefully, 301*time.Second, false), stats(0, 1, 1)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffForcefullyCalled, enabled: true, action: ForcefulOffAction, stats: &bos.EventStats{PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 2}}},
		{"forceful attempts used up: failed", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffForcefully, 301*time.Second, false), stats(0, 1, 3)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusFailed, enabled: false, errContains: "retry limit"}},
		{"graceful attempts used up: failed", comp(shutdownTarget, stats(0, 3, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusFailed, enabled: false, errContains: "retry limit"}},
		{"BMC unreadable counts as on (BOS quirk): power off path", comp(shutdownTarget), Observation{Power: power.PowerUnknown, PowerError: "timeout", CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffGracefullyCalled, enabled: true, action: GracefulOffAction, stats: &bos.EventStats{PowerOffGracefulAttempts: 1}}},
		// Power on, artifacts match.
		{"booted, CFS has another config: configure", comp(booted(image), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 10*time.Second, false)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhaseConfiguring, status: bos.StatusConfiguring, enabled: true, action: ConfigureAction, pollCFS: true}},
		{"booted, no desired configuration: done", comp(booted(image), phase(bos.PhasePoweringOn), func(c *bos.Component) { c.DesiredState.Configuration = "" }, stats(1, 0, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: "", status: bos.StatusStable, enabled: false, stats: &bos.EventStats{}}},
		{"booted, configured: done, stats reset", comp(booted(image), phase(bos.PhaseConfiguring), stats(2, 1, 0)), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: "", status: bos.StatusStable, enabled: false, stats: &bos.EventStats{}}},
		{"booted, CFS pending: keep configuring and poll", comp(booted(image), phase(bos.PhaseConfiguring)), Observation{Power: power.PowerOn, CFS: &CFSView{DesiredConfig: "cfg", Status: "pending", Enabled: true}},
			want{phase: bos.PhaseConfiguring, status: bos.StatusConfiguring, enabled: true, pollCFS: true}},
		{"booted, CFS pending but disabled: enable it again", comp(booted(image), phase(bos.PhaseConfiguring)), Observation{Power: power.PowerOn, CFS: &CFSView{DesiredConfig: "cfg", Status: "pending", Enabled: false}},
			want{phase: bos.PhaseConfiguring, status: bos.StatusConfiguring, enabled: true, action: ConfigureAction, pollCFS: true}},
		{"booted, CFS failed: failed", comp(booted(image), phase(bos.PhaseConfiguring)), Observation{Power: power.PowerOn, CFS: &CFSView{DesiredConfig: "cfg", Status: "failed"}},
			want{phase: bos.PhaseConfiguring, status: bos.StatusFailed, enabled: false, errContains: MsgCFSFailed}},
		{"booted, CFS unconfigured: failed naming the status", comp(booted(image), phase(bos.PhaseConfiguring)), Observation{Power: power.PowerOn, CFS: &CFSView{DesiredConfig: "cfg", Status: "unconfigured"}},
			want{phase: bos.PhaseConfiguring, status: bos.StatusFailed, enabled: false, errContains: `"unconfigured"`}},
		// Power on, the desired image on another BSS token than the one BOS gave BSS: an
		// older boot (a retried or taken-over power-on) is not this one.
		{"booted the desired token: done", comp(booted(image), tokens("t2", "t2"), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 10*time.Second, false)), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: "", status: bos.StatusStable, enabled: false, stats: &bos.EventStats{}}},
		{"desired image on an older token, within max_boot_wait_time: still booting", comp(booted(image), tokens("t2", "t1"), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 10*time.Second, false)), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, requeue: 1190*time.Second + time.Millisecond}},
		{"desired image on an older token past max_boot_wait_time: restarted", comp(booted(image), tokens("t2", "t1"), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 1201*time.Second, false), stats(1, 0, 0)), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffGracefullyCalled, enabled: true, action: GracefulOffAction, errContains: "max_boot_wait_time", stats: &bos.EventStats{PowerOnAttempts: 1, PowerOffGracefulAttempts: 1}}},
		{"desired image, no token asked for (not powered on by this session): configure only", comp(booted(image), tokens("", "t1")), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhaseConfiguring, status: bos.StatusConfiguring, enabled: true, action: ConfigureAction, pollCFS: true}},
		{"booted by a v1 session, no bos_update_frequency: the same boot, done", comp(booted(image), phase(bos.PhaseConfiguring), func(c *bos.Component) {
			c.DesiredState.BootArtifacts.KernelParameters += " bos_update_frequency=4h"
		}), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: "", status: bos.StatusStable, enabled: false, stats: &bos.EventStats{}}},
		// Power on, artifacts differ.
		{"booting within max_boot_wait_time: wait", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 200*time.Second, false), stats(1, 0, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, requeue: 1000*time.Second + time.Millisecond}},
		{"booted but silent past max_boot_wait_time: power off to retry, the timeout recorded", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 1201*time.Second, false), stats(1, 0, 0)), Observation{Power: power.PowerOn, CFS: cfsNew},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffGracefullyCalled, enabled: true, action: GracefulOffAction, errContains: "max_boot_wait_time", stats: &bos.EventStats{PowerOnAttempts: 1, PowerOffGracefulAttempts: 1}}},
		{"silent node out of power-on attempts: failed with the boot timeout as cause", comp(phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, false), stats(3, 3, 0), func(c *bos.Component) {
			c.Error = "node did not report booting the desired image within max_boot_wait_time (5s)"
		}), Observation{Power: power.PowerOff, CFS: cfsNew},
			want{phase: bos.PhasePoweringOn, status: bos.StatusFailed, enabled: false, errContains: "max_boot_wait_time"}},
		{"success clears an earlier error", comp(booted(image), phase(bos.PhaseConfiguring), func(c *bos.Component) { c.Error = "power_on failed: 503" }), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: "", status: bos.StatusStable, enabled: false, stats: &bos.EventStats{}}},
		{"running another image (reboot): power off", comp(booted(other)), Observation{Power: power.PowerOn, CFS: cfsOK},
			want{phase: bos.PhasePoweringOff, status: bos.StatusPowerOffGracefullyCalled, enabled: true, action: GracefulOffAction, stats: &bos.EventStats{PowerOffGracefulAttempts: 1}}},
		{"off after powering off: actual state cleared, power on", comp(booted(other), phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 5*time.Second, false), stats(0, 1, 0)), Observation{Power: power.PowerOff, CFS: cfsOK},
			want{phase: bos.PhasePoweringOn, status: bos.StatusPowerOnCalled, enabled: true, action: PowerOnAction, actualCleared: true, stats: &bos.EventStats{PowerOnAttempts: 1, PowerOffGracefulAttempts: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.c, tc.obs, opts, t0)
			got := d.Component
			assert.Equal(t, tc.want.phase, got.Status.Phase, "phase")
			assert.Equal(t, tc.want.status, bos.ComputeStatus(&got), "status")
			assert.Equal(t, tc.want.status, got.Status.Status, "stored status")
			assert.Equal(t, tc.want.enabled, got.Enabled, "enabled")
			assert.Equal(t, tc.want.action, d.Action, "action")
			wantRequeue := tc.want.requeue
			if wantRequeue == 0 { // an action is followed up after its wait time
				wantRequeue = map[Action]time.Duration{PowerOnAction: 120*time.Second + time.Millisecond,
					GracefulOffAction: 300*time.Second + time.Millisecond, ForcefulOffAction: 300*time.Second + time.Millisecond}[tc.want.action]
			}
			assert.Equal(t, wantRequeue, d.RequeueAfter, "requeue")
			assert.Equal(t, tc.want.pollCFS, d.PollCFS, "poll CFS")
			if tc.want.errContains != "" {
				assert.Contains(t, got.Error, tc.want.errContains)
			} else if tc.want.status == bos.StatusStable {
				assert.Empty(t, got.Error, "success leaves no error")
			}
			if tc.want.actualCleared {
				assert.True(t, got.ActualState.BootArtifacts.IsEmpty(), "actual state cleared")
			}
			if tc.want.stats != nil {
				assert.Equal(t, *tc.want.stats, got.EventStats)
			}
			if d.Action == PowerOnAction || d.Action == GracefulOffAction || d.Action == ForcefulOffAction {
				assert.Equal(t, t0, got.LastAction.LastUpdated, "last_action written before the call")
				assert.False(t, got.LastAction.Failed)
			}
			assert.True(t, d.Changed || d.Component == tc.c, "unchanged decisions return the input")
		})
	}
}

// A fresh power-on drops the old BSS token (Effects.PowerOn writes BSS anew); a retry of
// the same power-on keeps it, since the node may already be booting it.
// TestMissingInput is the status operator's rule for incomplete inputs (reference 4.5):
// a node the power service did not report, or CFS has no record of, is held; a power
// service's error for the node is not missing (BOS counts it as "not off").
func TestMissingInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  Observation
		want string
	}{
		{"both present", Observation{Power: power.PowerOn, CFS: cfsOK}, ""},
		{"off is an answer", Observation{Power: power.PowerOff, CFS: cfsOK}, ""},
		{"an error for the node is an answer (not off)", Observation{Power: power.PowerUnknown, PowerError: "pcs: connection refused", CFS: cfsOK}, ""},
		{"power not reported", Observation{Power: power.PowerNotReported, CFS: cfsOK}, MsgNoPCSRecord},
		{"power not reported, with the driver's reason", Observation{Power: power.PowerNotReported, PowerError: "BMC x reports power state \"Paused\"", CFS: cfsOK}, "BMC x reports power state \"Paused\""},
		{"no CFS record", Observation{Power: power.PowerOn}, MsgNoCFSRecord},
		{"both missing: power is named", Observation{Power: power.PowerNotReported}, MsgNoPCSRecord},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, missingInput(tc.obs)) })
	}
}

// TestOnHoldLastsUntilEnabledAgain: a held node is disabled, so Decide leaves it alone
// until someone enables it again (a session's setup, PATCH enabled=true, which puts it
// on hold as BOS does); then, with its power reported, the hold is cleared.
func TestOnHoldLastsUntilEnabledAgain(t *testing.T) {
	held := Decide(comp(), Observation{Power: power.PowerNotReported, CFS: cfsOK}, opts, t0).Component
	require.Equal(t, bos.StatusOnHold, held.Status.Status)
	again := Decide(held, Observation{Power: power.PowerOn, CFS: cfsOK}, opts, t0.Add(time.Minute))
	assert.False(t, again.Changed, "disabled: left alone")
	held.Enabled = true
	d := Decide(held, Observation{Power: power.PowerOff, CFS: cfsOK}, opts, t0.Add(time.Minute))
	assert.Equal(t, bos.StatusPowerOnCalled, d.Component.Status.Status)
	assert.Equal(t, PowerOnAction, d.Action)
}

func TestDecidePowerOnToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    bos.Component
		want string
	}{
		{"first power-on after setup", comp(tokens("", "")), ""},
		{"power-on after a power-off: the token of the boot being replaced goes", comp(tokens("t1", "t1"), booted(other), phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, false), stats(1, 1, 0)), ""},
		{"retry after a failed call", comp(tokens("t1", ""), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, true), stats(1, 0, 0)), "t1"},
		{"retry after max_power_on_wait_time", comp(tokens("t1", ""), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 121*time.Second, false), stats(1, 0, 0)), "t1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.c, Observation{Power: power.PowerOff, CFS: cfsNew}, opts, t0)
			require.Equal(t, PowerOnAction, d.Action)
			assert.Equal(t, tc.want, d.Component.DesiredState.BSSToken)
		})
	}
}

func TestDecideLeavesDisabledAndSettledAlone(t *testing.T) {
	c := comp(booted(image), phase(bos.PhaseConfiguring))
	c.Enabled = false
	d := Decide(c, Observation{Power: power.PowerOn, CFS: cfsOK}, opts, t0)
	assert.False(t, d.Changed)
	assert.Equal(t, NoAction, d.Action)

	// A node already waiting, seen again with nothing new, needs no write.
	c = comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, time.Second, false), stats(1, 0, 0))
	d = Decide(c, Observation{Power: power.PowerOn, CFS: cfsNew}, opts, t0)
	assert.False(t, d.Changed)
	assert.Equal(t, NoAction, d.Action)
}

func TestRecordFailureLeadsToRetry(t *testing.T) {
	d := Decide(comp(), Observation{Power: power.PowerOff, CFS: cfsNew}, opts, t0)
	require.Equal(t, PowerOnAction, d.Action)
	n := d.Component
	RecordFailure(&n, d.Action, errors.New("503 Service Unavailable"), t0)
	assert.Equal(t, bos.StatusPowerOnPending, n.Status.Status)
	// The text is the cause only (event_stats counts the attempts): nodes failing for one
	// cause at different attempts share one error_summary entry.
	assert.Equal(t, "power_on failed: 503 Service Unavailable", n.Error)
	first := n.Error

	for attemptNo := 2; attemptNo <= 3; attemptNo++ {
		d = Decide(n, Observation{Power: power.PowerOff, CFS: cfsNew}, opts, t0.Add(time.Second))
		require.Equal(t, PowerOnAction, d.Action)
		n = d.Component
		RecordFailure(&n, d.Action, errors.New("503 Service Unavailable"), t0)
		assert.Equal(t, first, n.Error, "attempt %d", attemptNo)
	}
	d = Decide(n, Observation{Power: power.PowerOff, CFS: cfsNew}, opts, t0.Add(2*time.Second))
	assert.Equal(t, NoAction, d.Action)
	assert.Equal(t, bos.StatusFailed, d.Component.Status.Status)
	assert.False(t, d.Component.Enabled)
	assert.Equal(t, first, d.Component.Error)
	assert.Equal(t, 3, d.Component.EventStats.PowerOnAttempts)
}

func TestRetryDelay(t *testing.T) {
	assert.Equal(t, 250*time.Millisecond, RetryDelay(1, opts))
	assert.Equal(t, time.Second, RetryDelay(3, opts))
	assert.Equal(t, 15*time.Second, RetryDelay(20, opts), "capped at polling_frequency")
}

// A power call recorded by a BOS process that then crashed (last_action.in_flight names
// another process) may never have reached the BMC. The node's power says whether it did:
// a call whose effect is missing is re-sent at once, as this process's, without counting
// an attempt; one whose effect is there is not sent again.
func TestDecideLostCalls(t *testing.T) {
	inFlight := func(by string) func(*bos.Component) {
		return func(c *bos.Component) { c.LastAction.InFlight = by }
	}
	const self, dead = "bos-b", "bos-a"
	type want struct {
		action   Action
		status   string
		inFlight string
		restamp  bool // last_action.last_updated = now: the call's wait starts again
		stats    bos.EventStats
		requeue  time.Duration
	}
	powerOnWait, powerOffWait := 120*time.Second+time.Millisecond, 300*time.Second+time.Millisecond
	for _, tc := range []struct {
		name string
		c    bos.Component
		obs  Observation
		want want
	}{
		// Power-on.
		{"lost power-on, node off: re-sent at once", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 2*time.Second, false), stats(1, 0, 0), tokens("t1", ""), inFlight(dead)),
			Observation{Power: power.PowerOff, CFS: cfsNew, Self: self},
			want{action: PowerOnAction, status: bos.StatusPowerOnCalled, inFlight: self, restamp: true, stats: bos.EventStats{PowerOnAttempts: 1}, requeue: powerOnWait}},
		{"lost power-on, node on: it got through, not sent again", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 2*time.Second, false), stats(1, 0, 0), inFlight(dead)),
			Observation{Power: power.PowerOn, CFS: cfsNew, Self: self},
			want{status: bos.StatusPowerOnCalled, stats: bos.EventStats{PowerOnAttempts: 1}, requeue: 1198*time.Second + time.Millisecond}},
		{"lost power-on, node booted the desired token: configuring, nothing sent", comp(booted(image), tokens("t1", "t1"), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 2*time.Second, false), stats(1, 0, 0), inFlight(dead)),
			Observation{Power: power.PowerOn, CFS: cfsOK, Self: self},
			want{status: bos.StatusStable, stats: bos.EventStats{}}},
		{"lost power-on, node reported the desired token, power read Off before the report: it got through, not sent again", comp(booted(image), tokens("t1", "t1"), phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 2*time.Second, false), stats(1, 0, 0), inFlight(dead)),
			Observation{Power: power.PowerOff, CFS: cfsNew, Self: self},
			want{status: bos.StatusPowerOnCalled, stats: bos.EventStats{PowerOnAttempts: 1}, requeue: 118*time.Second + time.Millisecond}},
		{"lost power-on, BMC unreadable: nothing sent, still unverified", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 2*time.Second, false), stats(1, 0, 0), inFlight(dead)),
			Observation{Power: power.PowerUnknown, PowerError: "timeout", CFS: cfsNew, Self: self},
			want{status: bos.StatusPowerOnCalled, inFlight: dead, stats: bos.EventStats{PowerOnAttempts: 1}, requeue: 1198*time.Second + time.Millisecond}},
		{"own power-on in flight, node off: waited for, not sent twice", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 2*time.Second, false), stats(1, 0, 0), inFlight(self)),
			Observation{Power: power.PowerOff, CFS: cfsNew, Self: self},
			want{status: bos.StatusPowerOnCalled, inFlight: self, stats: bos.EventStats{PowerOnAttempts: 1}, requeue: 118*time.Second + time.Millisecond}},
		{"lost power-on past max_power_on_wait_time: an ordinary counted retry", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 121*time.Second, false), stats(1, 0, 0), inFlight(dead)),
			Observation{Power: power.PowerOff, CFS: cfsNew, Self: self},
			want{action: PowerOnAction, status: bos.StatusPowerOnCalled, inFlight: self, restamp: true, stats: bos.EventStats{PowerOnAttempts: 2}, requeue: powerOnWait}},
		// Graceful power-off.
		{"lost graceful off, node on: re-sent, never forced for the lost time", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 301*time.Second, false), stats(0, 1, 0), inFlight(dead)),
			Observation{Power: power.PowerOn, CFS: cfsNew, Self: self},
			want{action: GracefulOffAction, status: bos.StatusPowerOffGracefullyCalled, inFlight: self, restamp: true, stats: bos.EventStats{PowerOffGracefulAttempts: 1}, requeue: powerOffWait}},
		{"lost graceful off, reboot, node off: it got through, power on next", comp(booted(other), phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 2*time.Second, false), stats(0, 1, 0), inFlight(dead)),
			Observation{Power: power.PowerOff, CFS: cfsOK, Self: self},
			want{action: PowerOnAction, status: bos.StatusPowerOnCalled, inFlight: self, restamp: true, stats: bos.EventStats{PowerOnAttempts: 1, PowerOffGracefulAttempts: 1}, requeue: powerOnWait}},
		{"lost graceful off, shutdown, node off: done", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 2*time.Second, false), stats(0, 1, 0), inFlight(dead)),
			Observation{Power: power.PowerOff, CFS: cfsNew, Self: self},
			want{status: bos.StatusStable, stats: bos.EventStats{}}},
		{"own graceful off in flight: waited for", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 100*time.Second, false), stats(0, 1, 0), inFlight(self)),
			Observation{Power: power.PowerOn, CFS: cfsNew, Self: self},
			want{status: bos.StatusPowerOffGracefullyCalled, inFlight: self, stats: bos.EventStats{PowerOffGracefulAttempts: 1}, requeue: 200*time.Second + time.Millisecond}},
		{"lost graceful off that had failed: forced at once as before", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, time.Second, true), stats(0, 1, 0), inFlight(dead)),
			Observation{Power: power.PowerOn, CFS: cfsNew, Self: self},
			want{action: ForcefulOffAction, status: bos.StatusPowerOffForcefullyCalled, inFlight: self, restamp: true, stats: bos.EventStats{PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 1}, requeue: powerOffWait}},
		// Forceful power-off.
		{"lost forceful off, node on: re-sent", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffForcefully, 2*time.Second, false), stats(0, 1, 1), inFlight(dead)),
			Observation{Power: power.PowerOn, CFS: cfsNew, Self: self},
			want{action: ForcefulOffAction, status: bos.StatusPowerOffForcefullyCalled, inFlight: self, restamp: true, stats: bos.EventStats{PowerOffGracefulAttempts: 1, PowerOffForcefulAttempts: 1}, requeue: powerOffWait}},
		// Records from before in_flight existed carry none: nothing changes for them.
		{"no in_flight (older record): the wait as before", comp(shutdownTarget, phase(bos.PhasePoweringOff), last(bos.ActionPoweringOffGracefully, 100*time.Second, false), stats(0, 1, 0)),
			Observation{Power: power.PowerOn, CFS: cfsNew, Self: self},
			want{status: bos.StatusPowerOffGracefullyCalled, stats: bos.EventStats{PowerOffGracefulAttempts: 1}, requeue: 200*time.Second + time.Millisecond}},
		// A moot in_flight is cleared.
		{"in_flight left on a node that failed is cleared", comp(phase(bos.PhasePoweringOn), last(bos.ActionPoweringOn, 121*time.Second, false), stats(3, 0, 0), inFlight(dead)),
			Observation{Power: power.PowerOff, CFS: cfsNew, Self: self},
			want{status: bos.StatusFailed, stats: bos.EventStats{PowerOnAttempts: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.c, tc.obs, opts, t0)
			got := d.Component
			assert.Equal(t, tc.want.action, d.Action, "action")
			assert.Equal(t, tc.want.status, got.Status.Status, "status")
			assert.Equal(t, tc.want.inFlight, got.LastAction.InFlight, "in_flight")
			if tc.want.restamp {
				assert.Equal(t, t0, got.LastAction.LastUpdated, "the call's wait starts now")
			} else if got.LastAction.Action == tc.c.LastAction.Action {
				assert.Equal(t, tc.c.LastAction.LastUpdated, got.LastAction.LastUpdated, "the call's wait goes on")
			}
			assert.Equal(t, tc.want.stats, got.EventStats, "attempts")
			assert.Equal(t, tc.want.requeue, d.RequeueAfter, "requeue")
		})
	}
}
