package pcs

import (
	"strings"

	"github.com/cray-bos/bos/api/pcsapi"
)

// Action is what the Driver asks of a node's BMC.
type Action int

const (
	ActionOn Action = iota
	ActionGracefulOff
	ActionForceOff
)

func (a Action) String() string { return [...]string{"On", "GracefulShutdown", "ForceOff"}[a] }

// step is one stage of an operation: act on the nodes not yet in want, wait up to the
// task deadline for them to get there, then act again with escalate if it is set.
type step struct {
	do       Action
	want     string
	escalate *Action
}

var forceOff = ActionForceOff

// plans says how PCS carries out each operation it supports, by canonical name.
// Soft-Restart needs a GracefulRestart the driver does not offer: its tasks end
// "unsupported".
var plans = map[string][]step{
	pcsapi.OpOn:          {{do: ActionOn, want: pcsapi.StateOn}},
	pcsapi.OpOff:         {{do: ActionGracefulOff, want: pcsapi.StateOff, escalate: &forceOff}},
	pcsapi.OpSoftOff:     {{do: ActionGracefulOff, want: pcsapi.StateOff}},
	pcsapi.OpForceOff:    {{do: ActionForceOff, want: pcsapi.StateOff}},
	pcsapi.OpHardRestart: {{do: ActionForceOff, want: pcsapi.StateOff}, {do: ActionOn, want: pcsapi.StateOn}},
	pcsapi.OpInit:        {{do: ActionGracefulOff, want: pcsapi.StateOff, escalate: &forceOff}, {do: ActionOn, want: pcsapi.StateOn}},
	pcsapi.OpSoftRestart: nil,
}

// operation returns the canonical name of a requested operation (case-insensitive).
func operation(req string) (string, bool) {
	for name := range plans {
		if strings.EqualFold(name, req) {
			return name, true
		}
	}
	return "", false
}
