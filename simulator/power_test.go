package simulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDecide(t *testing.T) {
	var (
		offIdle      = Phase{Power: Off, Target: Off}
		onIdle       = Phase{Power: On, Target: On}
		poweringOn   = Phase{Power: PoweringOn, Target: On}
		forcingOff   = Phase{Power: PoweringOff, Target: Off}
		shuttingDown = Phase{Power: PoweringOff, Target: Off, Graceful: true}
		restarting   = Phase{Power: PoweringOff, Target: On}
	)
	apply := func(steps []Step) Decision { return Decision{Outcome: Apply, Steps: steps} }
	graceful := func(steps []Step) Decision { return Decision{Outcome: Apply, Steps: steps, Graceful: true} }
	noop, conflict := Decision{Outcome: NoOp}, Decision{Outcome: Conflict}

	tests := []struct {
		name  string
		phase Phase
		reset string
		hang  bool
		want  Decision
	}{
		{"On from Off powers on", offIdle, ResetOn, false, apply(planPowerOn)},
		{"ForceOn from Off powers on", offIdle, ResetForceOn, false, apply(planPowerOn)},
		{"On while On is a no-op", onIdle, ResetOn, false, noop},
		{"On while powering on is a no-op", poweringOn, ResetOn, false, noop},
		{"On during a restart is a no-op", restarting, ResetOn, false, noop},
		{"On while powering off conflicts", forcingOff, ResetOn, false, conflict},
		{"On during a graceful shutdown conflicts", shuttingDown, ResetOn, false, conflict},

		{"ForceOff from On", onIdle, ResetForceOff, false, apply(planForceOff)},
		{"ForceOff while Off is a no-op", offIdle, ResetForceOff, false, noop},
		{"ForceOff while forcing off is a no-op", forcingOff, ResetForceOff, false, noop},
		{"ForceOff cuts a graceful shutdown short", shuttingDown, ResetForceOff, false, apply(planForceOff)},
		{"ForceOff cancels a restart", restarting, ResetForceOff, false, apply(planForceOff)},
		{"ForceOff aborts a power-on", poweringOn, ResetForceOff, false, apply(planForceOff)},
		{"ForceOff works under graceful hang", onIdle, ResetForceOff, true, apply(planForceOff)},

		{"GracefulShutdown from On", onIdle, ResetGracefulShutdown, false, graceful(planGracefulOff)},
		{"GracefulShutdown while Off is a no-op", offIdle, ResetGracefulShutdown, false, noop},
		{"GracefulShutdown while going off is a no-op", forcingOff, ResetGracefulShutdown, false, noop},
		{"GracefulShutdown while powering on conflicts", poweringOn, ResetGracefulShutdown, false, conflict},
		{"GracefulShutdown during a restart conflicts", restarting, ResetGracefulShutdown, false, conflict},
		{"GracefulShutdown ignored by a hung OS", onIdle, ResetGracefulShutdown, true, noop},

		{"PushPowerButton from Off powers on", offIdle, ResetPushPowerButton, false, apply(planPowerOn)},
		{"PushPowerButton from On shuts down", onIdle, ResetPushPowerButton, false, graceful(planGracefulOff)},
		{"PushPowerButton while shutting down is a no-op", shuttingDown, ResetPushPowerButton, false, noop},
		{"PushPowerButton while powering on conflicts", poweringOn, ResetPushPowerButton, false, conflict},
		{"PushPowerButton ignored by a hung OS", onIdle, ResetPushPowerButton, true, noop},

		{"GracefulRestart from On", onIdle, ResetGracefulRestart, false, graceful(planGracefulBoot)},
		{"GracefulRestart from Off powers on", offIdle, ResetGracefulRestart, false, apply(planPowerOn)},
		{"GracefulRestart while powering on conflicts", poweringOn, ResetGracefulRestart, false, conflict},
		{"GracefulRestart while powering off conflicts", forcingOff, ResetGracefulRestart, false, conflict},
		{"GracefulRestart ignored by a hung OS", onIdle, ResetGracefulRestart, true, noop},

		{"ForceRestart from On cycles", onIdle, ResetForceRestart, false, apply(planForceCycle)},
		{"ForceRestart from Off powers on", offIdle, ResetForceRestart, false, apply(planPowerOn)},
		{"ForceRestart while powering on cycles", poweringOn, ResetForceRestart, false, apply(planForceCycle)},
		{"ForceRestart while forcing off cycles", forcingOff, ResetForceRestart, false, apply(planForceCycle)},
		{"ForceRestart works under graceful hang", onIdle, ResetForceRestart, true, apply(planForceCycle)},
		{"PowerCycle from On cycles", onIdle, ResetPowerCycle, false, apply(planForceCycle)},
		{"PowerCycle from Off powers on", offIdle, ResetPowerCycle, false, apply(planPowerOn)},

		{"Nmi while On is accepted and ignored", onIdle, ResetNmi, false, noop},
		{"Nmi while Off conflicts", offIdle, ResetNmi, false, conflict},
		{"Nmi while powering on conflicts", poweringOn, ResetNmi, false, conflict},

		{"unknown reset type", onIdle, "Suspend", false, Decision{Outcome: Invalid}},
		{"empty reset type", offIdle, "", false, Decision{Outcome: Invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.phase, tt.reset, PowerFaults{GracefulHangs: tt.hang})
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
