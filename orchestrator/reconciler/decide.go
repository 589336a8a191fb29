package reconciler

import (
	"fmt"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/orchestrator/power"
)

// CFSView is the part of a CFS component Decide reads.
type CFSView struct {
	DesiredConfig string // CFS desired_config
	Status        string // configuration_status: configured, pending, failed, unconfigured
	Enabled       bool   // CFS configures only enabled components
}

// Observation is what the world outside BOS says about one node.
type Observation struct {
	Power      power.Power
	PowerError string   // why Power is unknown
	CFS        *CFSView // nil: CFS returned no record for the node
	// Self is the id of the BOS process looking (Config.Instance). A power call recorded
	// under another id (last_action.in_flight) may have been lost in a crash; see lost.
	Self string
}

// Action is an effect the executor performs after storing the decision.
type Action int

const (
	NoAction Action = iota
	PowerOnAction
	GracefulOffAction
	ForcefulOffAction
	ConfigureAction // set CFS desired_config (and enable CFS) to the desired configuration
)

func (a Action) String() string {
	return [...]string{"none", "power_on", "power_off_gracefully", "power_off_forcefully", "configure"}[a]
}

// Decision is the outcome of one look at a node.
type Decision struct {
	// Component is the record to store; it equals the input when Changed is false.
	Component bos.Component
	Changed   bool
	Action    Action
	// RequeueAfter asks for another look after this long even if nothing wakes the node
	// (a timeout that can expire). Zero means an event or the resync will wake it.
	RequeueAfter time.Duration
	// PollCFS asks for another look soon because only CFS, which sends no events, can
	// move the node on (phase configuring).
	PollCFS bool
}

// Messages Decide writes into component errors.
const (
	MsgNoPCSRecord       = power.MsgNoPCSRecord
	MsgNoCFSRecord       = "Component information was not returned by cfs"
	MsgCFSFailed         = "cfs configuration failed"
	MsgRetryLimitNoCause = "The retry limit has been hit for this component, but no services have reported specific errors"
)

// Decide is the whole per-node policy of the v2 operators (reference 4.3 and 4.5): the
// status operator's decision table followed by the action the resulting status calls for
// (power on, graceful or forceful power off, or configuration), with retry limits and
// timeouts. It is pure: everything it needs is an argument, and the caller stores
// Decision.Component before it performs Decision.Action (persist, then act).
//
// Disabled components are left alone.
func Decide(c bos.Component, obs Observation, opts bos.Options, now time.Time) Decision {
	if !c.Enabled {
		return Decision{Component: c}
	}
	n := c.Clone()
	d := Decision{}
	decidePhase(&n, obs, opts, now, &d)
	if n.Enabled {
		decideAction(&n, obs, opts, now, &d)
	}
	if n.LastAction.InFlight != "" && !awaitingCall(&n) {
		n.LastAction.InFlight = "" // the call is moot: the node moved on or left BOS's hands
	}
	d.Component = n
	d.Changed = !equalComponents(&c, &n)
	if d.Changed {
		d.Component.RefreshStatus()
	}
	return d
}

// decidePhase is the status operator (reference 4.5).
func decidePhase(n *bos.Component, obs Observation, opts bos.Options, now time.Time, d *Decision) {
	if why := missingInput(obs); why != "" {
		// BOS's "inputs missing": held and disabled, the phase ended, until someone
		// enables the node again (a session's setup, PATCH enabled=true).
		n.Status.StatusOverride = bos.StatusOnHold
		n.Enabled = false
		n.Error = why
		setPhase(n, bos.PhaseNone, now)
		return
	}
	if bos.ComputeStatus(n) == bos.StatusFailed {
		n.Enabled = false
		return
	}
	n.Status.StatusOverride = ""
	var phase string // every case below sets it
	shutdown := n.DesiredState.BootArtifacts.Kernel == ""
	sincePowerOn := now.Sub(n.LastAction.LastUpdated)
	poweringOn := n.LastAction.Action == bos.ActionPoweringOn

	switch {
	case obs.Power == power.PowerOff && shutdown:
		phase = bos.PhaseNone
		n.Enabled = false
		n.Error = ""
	case obs.Power == power.PowerOff:
		phase = bos.PhasePoweringOn
		wait := seconds(opts.MaxPowerOnWaitTime)
		if poweringOn && !n.LastAction.Failed {
			if sincePowerOn > wait {
				n.LastAction.Failed = true
				n.Error = fmt.Sprintf("node did not power on within max_power_on_wait_time (%ds)", opts.MaxPowerOnWaitTime)
			} else {
				d.RequeueAfter = wait - sincePowerOn + time.Millisecond
			}
		}
	case shutdown:
		phase = bos.PhasePoweringOff
	case bootedDesired(n):
		phase = bos.PhaseConfiguring
		cfs := obs.CFS
		switch {
		case cfs.DesiredConfig != n.DesiredState.Configuration:
			// the action step asks CFS for the configuration
		case n.DesiredState.Configuration == "", cfs.Status == "configured":
			phase = bos.PhaseNone
			n.Enabled = false
			n.Error = ""
		case cfs.Status == "pending":
			// CFS sends no events: poll it. Pending but disabled, CFS would never
			// configure it (a retried power-on disabled CFS after the node's
			// cfs-state-reporter had already re-enabled it; BOS waits forever), so the
			// action step (decideAction, status configuring) asks CFS again.
			d.PollCFS = true
		case cfs.Status == "failed":
			fail(n, MsgCFSFailed)
		default:
			fail(n, fmt.Sprintf("cfs is not reporting a valid configuration status for this component: %q", cfs.Status))
		}
	case poweringOn && sincePowerOn < seconds(opts.MaxBootWaitTime):
		phase = bos.PhasePoweringOn // booting: wait for the node's report
		d.RequeueAfter = seconds(opts.MaxBootWaitTime) - sincePowerOn + time.Millisecond
	case poweringOn:
		phase = bos.PhasePoweringOff // booted but silent (or the wrong image) past max_boot_wait_time
		n.Error = fmt.Sprintf("node did not report booting the desired image within max_boot_wait_time (%ds)", opts.MaxBootWaitTime)
	default:
		phase = bos.PhasePoweringOff // running something else: restart it
	}

	setPhase(n, phase, now)
}

// missingInput is the status operator's rule for a node whose inputs are incomplete
// (reference 4.5): the error to hold it with, or "" when both inputs are there. Power is
// missing when the power service did not report the node (PowerNotReported; the error is
// the driver's reason, BOS's PCS sentence by default); an error the service reported for
// the node is an answer, "not off" (PowerUnknown). Then CFS: no record is missing.
func missingInput(obs Observation) string {
	switch {
	case obs.Power == power.PowerNotReported && obs.PowerError != "":
		return obs.PowerError
	case obs.Power == power.PowerNotReported:
		return MsgNoPCSRecord
	case obs.CFS == nil:
		return MsgNoCFSRecord
	}
	return ""
}

// setPhase moves the node to phase: leaving powering_off clears the actual state (the
// node is off, its old boot is gone); entering "" resets the event stats.
func setPhase(n *bos.Component, phase string, now time.Time) {
	if phase == n.Status.Phase {
		return
	}
	if n.Status.Phase == bos.PhasePoweringOff {
		n.ActualState = bos.ActualState{LastUpdated: now}
	}
	if phase == bos.PhaseNone {
		n.EventStats = bos.EventStats{}
	}
	n.Status.Phase = phase
}

// bootedDesired reports whether the node runs its desired state: the artifacts it reported
// are the desired ones and, once BOS has powered it on for them (desired_state.bss_token
// set), it reported that very token. Deviation: BOS compares artifacts only, so a node
// still booting an older token of the same image (a power-on retried while the first was
// under way, a session taking the node over mid-boot) counted as done on the wrong boot.
func bootedDesired(n *bos.Component) bool {
	return n.DesiredState.BootArtifacts.SameBoot(n.ActualState.BootArtifacts) &&
		(n.DesiredState.BSSToken == "" || n.ActualState.BSSToken == n.DesiredState.BSSToken)
}

// decideAction is the action operators: power_on, power_off_graceful, power_off_forceful
// and configuration, each with its retry limit (reference 4.1, 4.3).
func decideAction(n *bos.Component, obs Observation, opts bos.Options, now time.Time, d *Decision) {
	limit := n.RetryLimit(opts)
	stats := &n.EventStats
	lost := lost(n, obs.Self)
	switch bos.ComputeStatus(n) {
	case bos.StatusPowerOnCalled:
		// A power-on a crash may have cut off between recording and sending: re-send it at
		// once if the node is still off (not after max_power_on_wait_time); an On node got
		// it, and so did one that reported booting the token written for this very call
		// (its power, read before the report, can still say Off: seen after a replica's
		// takeover, a second On to a node already booted). A node that booted meanwhile
		// and was seen on is configuring, not here.
		switch {
		case lost && n.DesiredState.BSSToken != "" && n.ActualState.BSSToken == n.DesiredState.BSSToken:
			n.LastAction.InFlight = ""
		case lost && obs.Power == power.PowerOff:
			resend(n, PowerOnAction, obs.Self, now, d)
			followUp(d, seconds(opts.MaxPowerOnWaitTime))
		case lost && obs.Power == power.PowerOn:
			n.LastAction.InFlight = ""
		}
	case bos.StatusPowerOnPending:
		// A retry (the last action was this power-on, failed or timed out) keeps the BSS
		// token: the first call may have gone through and the node be booting it. A fresh
		// power-on clears it, so Effects.PowerOn writes BSS anew.
		retry := n.LastAction.Action == bos.ActionPoweringOn
		attempt(n, &stats.PowerOnAttempts, limit, bos.ActionPoweringOn, PowerOnAction, obs.Self, now, d)
		if d.Action == PowerOnAction && !retry {
			n.DesiredState.BSSToken = ""
		}
		followUp(d, seconds(opts.MaxPowerOnWaitTime))
	case bos.StatusPowerOffPending:
		attempt(n, &stats.PowerOffGracefulAttempts, limit, bos.ActionPoweringOffGracefully, GracefulOffAction, obs.Self, now, d)
		followUp(d, seconds(opts.MaxPowerOffWaitTime))
	case bos.StatusPowerOffGracefullyCalled, bos.StatusPowerOffForcefullyCalled:
		wait := seconds(opts.MaxPowerOffWaitTime)
		if lost && obs.Power == power.PowerOn {
			// A power-off a crash may have cut off: the node is still on, so re-send the
			// same call and wait for it from now. A node that got the first graceful
			// request is shutting down; the BMC takes the second as a no-op, and it is
			// not forced off for a wait that began before anyone could know it was sent.
			act := GracefulOffAction
			if n.LastAction.Action == bos.ActionPoweringOffForcefully {
				act = ForcefulOffAction
			}
			resend(n, act, obs.Self, now, d)
			followUp(d, wait)
			return
		}
		since := now.Sub(n.LastAction.LastUpdated)
		// A call the BMC rejected is not waited out: force it at once (deviation from BOS,
		// which waits max_power_off_wait_time whether or not the call went through).
		if n.LastAction.Failed || since > wait {
			attempt(n, &stats.PowerOffForcefulAttempts, limit, bos.ActionPoweringOffForcefully, ForcefulOffAction, obs.Self, now, d)
			followUp(d, wait)
		} else {
			d.RequeueAfter = wait - since + time.Millisecond
		}
	case bos.StatusConfiguring:
		if c := obs.CFS; c != nil && (c.DesiredConfig != n.DesiredState.Configuration || c.Status == "pending" && !c.Enabled) {
			d.Action = ConfigureAction
			d.PollCFS = true
		}
	}
}

// attempt performs one counted try of a power action, or fails the node when its
// attempts are used up. Like BOS, it writes last_action before the call is made. Unlike
// BOS, it keeps the error: it names the last problem (a failed call, a timeout), so a node
// that runs out of attempts ends failed with its cause, not a generic message. Reaching
// the desired state clears it.
func attempt(n *bos.Component, count *int, limit int, lastAction string, act Action, self string, now time.Time, d *Decision) {
	if *count >= limit {
		if n.Error == "" {
			n.Error = MsgRetryLimitNoCause
		}
		n.Status.StatusOverride = bos.StatusFailed
		n.Enabled = false
		return
	}
	*count++
	n.LastAction = bos.LastAction{Action: lastAction, LastUpdated: now, InFlight: self}
	d.Action = act
}

// lost reports whether n's last power call was recorded by another BOS process that never
// saw it return: that process crashed (or was replaced) between recording the call and
// hearing back, so the call may or may not have reached the BMC. The node's power tells:
// Decide re-sends only a call whose effect is missing. Calls of this process are in flight
// and waited for as usual; a failed call is retried as usual.
func lost(n *bos.Component, self string) bool {
	l := n.LastAction
	return l.InFlight != "" && l.InFlight != self && !l.Failed
}

// awaitingCall reports whether n is enabled and in a status that waits on its last power
// call, the only time last_action.in_flight means something.
func awaitingCall(n *bos.Component) bool {
	switch bos.ComputeStatus(n) {
	case bos.StatusPowerOnCalled, bos.StatusPowerOffGracefullyCalled, bos.StatusPowerOffForcefullyCalled:
		return n.Enabled
	}
	return false
}

// resend repeats n's recorded power call as this process's, without counting another
// attempt: the attempt was counted when it was recorded and may never have been made.
// Its wait starts now.
func resend(n *bos.Component, act Action, self string, now time.Time, d *Decision) {
	n.LastAction.LastUpdated = now
	n.LastAction.InFlight = self
	d.Action = act
}

// followUp schedules the look that checks an action took effect within its wait time
// (a power event usually wakes the node sooner).
func followUp(d *Decision, wait time.Duration) {
	if d.Action != NoAction {
		d.RequeueAfter = wait + time.Millisecond
	}
}

// RecordFailure updates n after the executor failed to perform act: the action is marked
// failed (so the next look retries it, counting another attempt) and the error names it.
func RecordFailure(n *bos.Component, act Action, err error, now time.Time) {
	n.LastAction.Failed = true
	n.LastAction.InFlight = ""
	n.LastAction.LastUpdated = now
	n.Error = fmt.Sprintf("%s failed: %v", act, err) // the cause only: event_stats counts attempts
	n.RefreshStatus()
}

func attemptsOf(n *bos.Component, act Action) int {
	switch act {
	case PowerOnAction:
		return n.EventStats.PowerOnAttempts
	case GracefulOffAction:
		return n.EventStats.PowerOffGracefulAttempts
	case ForcefulOffAction:
		return n.EventStats.PowerOffForcefulAttempts
	}
	return 0
}

// RetryDelay is how long the executor waits before looking again at a node whose action
// failed: exponential in the attempts made, from 250 ms, capped at the polling frequency.
func RetryDelay(attempts int, opts bos.Options) time.Duration {
	d := 250 * time.Millisecond << min(max(attempts-1, 0), 10)
	if ceiling := seconds(opts.PollingFrequency); ceiling > 0 && d > ceiling {
		d = ceiling
	}
	return d
}

func fail(n *bos.Component, msg string) {
	n.Enabled = false
	n.Status.StatusOverride = bos.StatusFailed
	n.Error = msg
}

func seconds(s int) time.Duration { return time.Duration(s) * time.Second }

func equalComponents(a, b *bos.Component) bool {
	ra, rb := a.RetryPolicy, b.RetryPolicy
	if (ra == nil) != (rb == nil) || (ra != nil && *ra != *rb) {
		return false
	}
	x, y := *a, *b
	x.RetryPolicy, y.RetryPolicy = nil, nil
	x.Status.Status, y.Status.Status = "", ""
	return x == y
}
