package simulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDecideReset(t *testing.T) {
	var (
		offIdle      = Phase{Power: Off, Target: Off}
		onIdle       = Phase{Power: On, Target: On}
		poweringOn   = Phase{Power: PoweringOn, Target: On}
		forcingOff   = Phase{Power: PoweringOff, Target: Off}
		shuttingDown = Phase{Power: PoweringOff, Target: Off, Graceful: true}
		restarting   = Phase{Power: PoweringOff, Target: On}
	)
	apply := func(steps []Step) ResetDecision { return ResetDecision{Outcome: Apply, Steps: steps} }
	graceful := func(steps []Step) ResetDecision { return ResetDecision{Outcome: Apply, Steps: steps, Graceful: true} }
	noop, conflict := ResetDecision{Outcome: NoOp}, ResetDecision{Outcome: Conflict}

	tests := []struct {
		name  string
		phase Phase
		reset string
		hang  bool
		want  ResetDecision
	}{
		{"On from Off powers on", offIdle, ResetTypeOn, false, apply(planPowerOn)},
		{"ForceOn from Off powers on", offIdle, ResetTypeForceOn, false, apply(planPowerOn)},
		{"On while On is a no-op", onIdle, ResetTypeOn, false, noop},
		{"On while powering on is a no-op", poweringOn, ResetTypeOn, false, noop},
		{"On during a restart is a no-op", restarting, ResetTypeOn, false, noop},
		{"On while powering off conflicts", forcingOff, ResetTypeOn, false, conflict},
		{"On during a graceful shutdown conflicts", shuttingDown, ResetTypeOn, false, conflict},

		{"ForceOff from On", onIdle, ResetTypeForceOff, false, apply(planForceOff)},
		{"ForceOff while Off is a no-op", offIdle, ResetTypeForceOff, false, noop},
		{"ForceOff while forcing off is a no-op", forcingOff, ResetTypeForceOff, false, noop},
		{"ForceOff cuts a graceful shutdown short", shuttingDown, ResetTypeForceOff, false, apply(planForceOff)},
		{"ForceOff cancels a restart", restarting, ResetTypeForceOff, false, apply(planForceOff)},
		{"ForceOff aborts a power-on", poweringOn, ResetTypeForceOff, false, apply(planForceOff)},
		{"ForceOff works under graceful hang", onIdle, ResetTypeForceOff, true, apply(planForceOff)},

		{"GracefulShutdown from On", onIdle, ResetTypeGracefulShutdown, false, graceful(planGracefulOff)},
		{"GracefulShutdown while Off is a no-op", offIdle, ResetTypeGracefulShutdown, false, noop},
		{"GracefulShutdown while going off is a no-op", forcingOff, ResetTypeGracefulShutdown, false, noop},
		{"GracefulShutdown while powering on conflicts", poweringOn, ResetTypeGracefulShutdown, false, conflict},
		{"GracefulShutdown during a restart conflicts", restarting, ResetTypeGracefulShutdown, false, conflict},
		{"GracefulShutdown ignored by a hung OS", onIdle, ResetTypeGracefulShutdown, true, noop},

		{"PushPowerButton from Off powers on", offIdle, ResetTypePushPowerButton, false, apply(planPowerOn)},
		{"PushPowerButton from On shuts down", onIdle, ResetTypePushPowerButton, false, graceful(planGracefulOff)},
		{"PushPowerButton while shutting down is a no-op", shuttingDown, ResetTypePushPowerButton, false, noop},
		{"PushPowerButton while powering on conflicts", poweringOn, ResetTypePushPowerButton, false, conflict},
		{"PushPowerButton ignored by a hung OS", onIdle, ResetTypePushPowerButton, true, noop},

		{"GracefulRestart from On", onIdle, ResetTypeGracefulRestart, false, graceful(planGracefulBoot)},
		{"GracefulRestart from Off powers on", offIdle, ResetTypeGracefulRestart, false, apply(planPowerOn)},
		{"GracefulRestart while powering on conflicts", poweringOn, ResetTypeGracefulRestart, false, conflict},
		{"GracefulRestart while powering off conflicts", forcingOff, ResetTypeGracefulRestart, false, conflict},
		{"GracefulRestart ignored by a hung OS", onIdle, ResetTypeGracefulRestart, true, noop},

		{"ForceRestart from On cycles", onIdle, ResetTypeForceRestart, false, apply(planForceCycle)},
		{"ForceRestart from Off powers on", offIdle, ResetTypeForceRestart, false, apply(planPowerOn)},
		{"ForceRestart while powering on cycles", poweringOn, ResetTypeForceRestart, false, apply(planForceCycle)},
		{"ForceRestart while forcing off cycles", forcingOff, ResetTypeForceRestart, false, apply(planForceCycle)},
		{"ForceRestart works under graceful hang", onIdle, ResetTypeForceRestart, true, apply(planForceCycle)},
		{"PowerCycle from On cycles", onIdle, ResetTypePowerCycle, false, apply(planForceCycle)},
		{"PowerCycle from Off powers on", offIdle, ResetTypePowerCycle, false, apply(planPowerOn)},

		{"Nmi while On is accepted and ignored", onIdle, ResetTypeNmi, false, noop},
		{"Nmi while Off conflicts", offIdle, ResetTypeNmi, false, conflict},
		{"Nmi while powering on conflicts", poweringOn, ResetTypeNmi, false, conflict},

		{"unknown reset type", onIdle, "Suspend", false, ResetDecision{Outcome: Invalid}},
		{"empty reset type", offIdle, "", false, ResetDecision{Outcome: Invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideReset(tt.phase, tt.reset, PowerFaults{GracefulHangs: tt.hang})
			assert.Equal(t, tt.want, got)
		})
	}
}

// Every plan ends in a steady state and alternates waits sensibly: a transitional state is
// entered at once, a steady state after a wait.
func TestPlansAreWellFormed(t *testing.T) {
	for _, plan := range [][]Step{planPowerOn, planForceOff, planGracefulOff, planForceCycle, planGracefulBoot} {
		last := plan[len(plan)-1].State
		assert.False(t, last.transitional(), "plan %v ends in %v", plan, last)
		for _, st := range plan {
			assert.Equal(t, st.State.transitional(), st.Wait == WaitNone, "step %v", st)
		}
	}
}

func TestPowerStateString(t *testing.T) {
	assert.Equal(t, "On", On.String())
	assert.Equal(t, "PoweringOff", PoweringOff.String())
	assert.Equal(t, "Unknown", PowerState(9).String())
}
