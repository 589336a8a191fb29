package pcs

import (
	"slices"
	"strings"

	"github.com/cray-bos/bos/api/pcsapi"
)

// Action is what the Driver asks of a node's BMC.
type Action int

const (
	ActionOn Action = iota
	ActionGracefulOff
	ActionForceOff
	ActionGracefulRestart
)

// String is the Redfish ResetType of a.
func (a Action) String() string {
	return [...]string{"On", "GracefulShutdown", "ForceOff", "GracefulRestart"}[a]
}

// name is a as PCS's task descriptions spell it.
func (a Action) name() string {
	return [...]string{"on", "gracefulshutdown", "forceoff", "gracefulrestart"}[a]
}

// want is the power state that confirms a.
func (a Action) want() string {
	if a == ActionOn || a == ActionGracefulRestart {
		return pcsapi.StateOn
	}
	return pcsapi.StateOff
}

// sequence is the order PCS applies a transition's actions in (its PowerSequenceFull, as
// far as nodes go): every node's GracefulShutdown, then ForceOff (including the shutdowns
// that timed out, when the operation escalates), GracefulRestart, then On.
var sequence = []Action{ActionGracefulOff, ActionForceOff, ActionGracefulRestart, ActionOn}

// operations are the operation names, as PCS answers them.
var operations = []string{pcsapi.OpOn, pcsapi.OpOff, pcsapi.OpSoftOff, pcsapi.OpForceOff, pcsapi.OpHardRestart, pcsapi.OpSoftRestart, pcsapi.OpInit}

// operation returns the canonical name of a requested operation (case-insensitive).
func operation(req string) (string, bool) {
	for _, name := range operations {
		if strings.EqualFold(name, req) {
			return name, true
		}
	}
	return "", false
}

// supportedTransitions are the operations a node supports, from the ResetTypes its BMC
// allows, as PCS derives them (toPCSPowerActions): Init and Hard-Restart need both On and
// an off; Soft-Restart is a GracefulRestart or ForceRestart, else an off then On.
func supportedTransitions(resetTypes []string) []string {
	var out []string
	add := func(op string) {
		if !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	for _, t := range resetTypes {
		switch strings.ToLower(t) {
		case "forceoff":
			add(pcsapi.OpForceOff)
		case "forcerestart", "gracefulrestart":
			add(pcsapi.OpSoftRestart)
		case "off", "gracefulshutdown":
			add(pcsapi.OpSoftOff)
			add(pcsapi.OpOff)
		case "on", "forceon":
			add(pcsapi.OpOn)
		}
	}
	if slices.Contains(out, pcsapi.OpOn) && slices.Contains(out, pcsapi.OpOff) {
		add(pcsapi.OpInit)
		add(pcsapi.OpHardRestart)
		add(pcsapi.OpSoftRestart)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// nodePlan is what a transition does to one node: its actions, in sequence order, or an
// outcome reached without any (status, description, error).
type nodePlan struct {
	actions []Action
	// escalate: a GracefulShutdown not confirmed by the deadline is followed by a ForceOff.
	escalate              bool
	status, desc, errText string
}

func has(resetTypes []string, t string) bool {
	return slices.ContainsFunc(resetTypes, func(a string) bool { return strings.EqualFold(a, t) })
}

// planFor decides, as PCS's sequenceComponents does, what op means for a node in power
// state (on, off, or anything else for unknown) whose BMC allows resetTypes.
func planFor(op, state string, resetTypes []string) nodePlan {
	if !slices.Contains(supportedTransitions(resetTypes), op) {
		return nodePlan{status: pcsapi.TaskUnsupported, desc: "Component does not support the specified transition operation, " + op,
			errText: "Unsupported for transition operation"}
	}
	already := nodePlan{status: pcsapi.TaskSucceeded, desc: "Component already in desired state"}
	wrongState := nodePlan{status: pcsapi.TaskFailed, desc: "Component must be in the On state for " + op,
		errText: "Component is in the wrong power state"}
	offThenOn := nodePlan{actions: []Action{ActionGracefulOff, ActionOn}, escalate: has(resetTypes, "ForceOff")}
	switch op {
	case pcsapi.OpOn:
		if state == pcsapi.StateOn {
			return already
		}
		return nodePlan{actions: []Action{ActionOn}}
	case pcsapi.OpOff, pcsapi.OpSoftOff:
		if state == pcsapi.StateOff {
			return already
		}
		return nodePlan{actions: []Action{ActionGracefulOff}, escalate: op == pcsapi.OpOff && has(resetTypes, "ForceOff")}
	case pcsapi.OpForceOff:
		if state == pcsapi.StateOff {
			return already
		}
		return nodePlan{actions: []Action{ActionForceOff}}
	case pcsapi.OpSoftRestart:
		switch {
		case state != pcsapi.StateOn:
			return wrongState
		case has(resetTypes, "GracefulRestart"):
			return nodePlan{actions: []Action{ActionGracefulRestart}}
		}
		return offThenOn
	case pcsapi.OpHardRestart:
		if state != pcsapi.StateOn {
			return wrongState
		}
		return offThenOn
	default: // Init
		if state == pcsapi.StateOn {
			return offThenOn
		}
		return nodePlan{actions: []Action{ActionOn}}
	}
}
