package simulator

// The power state machine is pure: DecideReset maps (phase, ResetType, faults) to an outcome and
// a plan of steps. The executor in node.go applies the steps, owns the timers and emits
// events; nothing here reads a clock, takes a lock or does I/O.

// PowerState is a Redfish ComputerSystem PowerState.
type PowerState uint8

// The PowerState values a simulated system goes through (Paused is never used).
const (
	Off PowerState = iota
	PoweringOn
	On
	PoweringOff
)

var powerStateNames = [...]string{Off: "Off", PoweringOn: "PoweringOn", On: "On", PoweringOff: "PoweringOff"}

// String returns the Redfish spelling ("On", "PoweringOff"...).
func (p PowerState) String() string {
	if int(p) < len(powerStateNames) {
		return powerStateNames[p]
	}
	return "Unknown"
}

// transitional reports whether p is PoweringOn or PoweringOff.
func (p PowerState) transitional() bool { return p == PoweringOn || p == PoweringOff }

// The ComputerSystem.Reset values the simulator understands (the gofish/Redfish spelling).
const (
	ResetTypeOn               = "On"
	ResetTypeForceOn          = "ForceOn"
	ResetTypeForceOff         = "ForceOff"
	ResetTypeGracefulShutdown = "GracefulShutdown"
	ResetTypeGracefulRestart  = "GracefulRestart"
	ResetTypeForceRestart     = "ForceRestart"
	ResetTypePowerCycle       = "PowerCycle"
	ResetTypePushPowerButton  = "PushPowerButton"
	ResetTypeNmi              = "Nmi"
)

// Wait names the configured delay a step waits before it is entered. The executor turns it
// into a duration (Timing, jitter, Scale); keeping it symbolic keeps the table pure.
type Wait uint8

// The delays a step can wait.
const (
	WaitNone     Wait = iota // enter at once
	WaitPowerOn              // Timing.PowerOn: PoweringOn -> On
	WaitPowerOff             // Timing.PowerOff: PoweringOff -> Off after a forced off
	WaitGraceful             // Timing.GracefulShutdown: the OS shuts down, PoweringOff -> Off
)

// Step is one state a plan enters, after waiting Wait since the previous step.
type Step struct {
	State PowerState
	Wait  Wait
}

// Phase is what DecideReset needs to know about a system: the state Redfish shows, where the
// pending plan ends (Target == Power when idle), and whether the pending power-off waits
// on the OS (a graceful shutdown, which ForceOff may cut short).
type Phase struct {
	Power    PowerState
	Target   PowerState
	Graceful bool
}

// idle reports whether no transition is pending.
func (p Phase) idle() bool { return p.Power == p.Target && !p.Power.transitional() }

// Outcome is what the BMC answers to a Reset.
type Outcome uint8

// Reset outcomes.
const (
	// Apply: accepted (204); the executor cancels any pending plan and runs Steps.
	Apply Outcome = iota
	// NoOp: accepted (204) but nothing changes: the system is already in, or already going
	// to, the requested state (bmcweb's behaviour; it keeps retried requests harmless), or
	// the OS ignores the request (Nmi, or a graceful request under FaultGracefulHang).
	NoOp
	// Conflict: 409 ResourceInUse: the request contradicts a transition in progress
	// (On while powering off, a graceful request while powering on, Nmi with no OS).
	Conflict
	// Invalid: not a ResetType this BMC knows; the HTTP layer answers 400 first.
	Invalid
)

// ResetDecision is the result of DecideReset. Graceful marks a plan whose power-off waits on the OS.
type ResetDecision struct {
	Outcome  Outcome
	Steps    []Step
	Graceful bool
}

// PowerFaults are the faults that change a decision (rather than its execution).
type PowerFaults struct {
	// GracefulHangs: the OS ignores graceful requests; the system stays On.
	GracefulHangs bool
}

// Plans, shared and never mutated.
var (
	planPowerOn      = []Step{{PoweringOn, WaitNone}, {On, WaitPowerOn}}
	planForceOff     = []Step{{PoweringOff, WaitNone}, {Off, WaitPowerOff}}
	planGracefulOff  = []Step{{PoweringOff, WaitNone}, {Off, WaitGraceful}}
	planForceCycle   = []Step{{PoweringOff, WaitNone}, {Off, WaitPowerOff}, {PoweringOn, WaitNone}, {On, WaitPowerOn}}
	planGracefulBoot = []Step{{PoweringOff, WaitNone}, {Off, WaitGraceful}, {PoweringOn, WaitNone}, {On, WaitPowerOn}}
)

// DecideReset is the whole reset table. Rows are the ResetType, the cases inside are the phase:
//
//	reset             Off (idle)  On (idle)        powering on   powering off (graceful / forced)
//	On, ForceOn       power on    no-op            no-op         409
//	ForceOff          no-op       force off        force off     force off / no-op
//	GracefulShutdown  no-op       graceful off     409           no-op
//	PushPowerButton   power on    graceful off     409           no-op
//	GracefulRestart   power on    graceful restart 409           409
//	ForceRestart,     power on    force cycle      force cycle   force cycle
//	PowerCycle
//	Nmi               409         no-op            409           409
//
// A restart in progress (Target On while powering off) counts as "powering on" for On (no-op).
// Under GracefulHangs the graceful cells on an idle On system become no-ops.
func DecideReset(p Phase, reset string, f PowerFaults) ResetDecision {
	offIdle := p.idle() && p.Power == Off
	onIdle := p.idle() && p.Power == On
	switch reset {
	case ResetTypeOn, ResetTypeForceOn:
		switch {
		case offIdle:
			return ResetDecision{Outcome: Apply, Steps: planPowerOn}
		case p.Target == On:
			return ResetDecision{Outcome: NoOp}
		default:
			return ResetDecision{Outcome: Conflict}
		}
	case ResetTypeForceOff:
		if offIdle || (p.Target == Off && !p.Graceful) {
			return ResetDecision{Outcome: NoOp}
		}
		// From On, while powering on, or to cut a graceful shutdown or a restart short.
		return ResetDecision{Outcome: Apply, Steps: planForceOff}
	case ResetTypeGracefulShutdown, ResetTypePushPowerButton:
		switch {
		case offIdle && reset == ResetTypePushPowerButton:
			return ResetDecision{Outcome: Apply, Steps: planPowerOn}
		case offIdle, p.Target == Off:
			return ResetDecision{Outcome: NoOp}
		case onIdle && f.GracefulHangs:
			return ResetDecision{Outcome: NoOp}
		case onIdle:
			return ResetDecision{Outcome: Apply, Steps: planGracefulOff, Graceful: true}
		default:
			return ResetDecision{Outcome: Conflict}
		}
	case ResetTypeGracefulRestart:
		switch {
		case offIdle:
			return ResetDecision{Outcome: Apply, Steps: planPowerOn}
		case onIdle && f.GracefulHangs:
			return ResetDecision{Outcome: NoOp}
		case onIdle:
			return ResetDecision{Outcome: Apply, Steps: planGracefulBoot, Graceful: true}
		default:
			return ResetDecision{Outcome: Conflict}
		}
	case ResetTypeForceRestart, ResetTypePowerCycle:
		if offIdle {
			return ResetDecision{Outcome: Apply, Steps: planPowerOn}
		}
		return ResetDecision{Outcome: Apply, Steps: planForceCycle}
	case ResetTypeNmi:
		if onIdle {
			return ResetDecision{Outcome: NoOp}
		}
		return ResetDecision{Outcome: Conflict}
	}
	return ResetDecision{Outcome: Invalid}
}
