package slurmapi

import (
	"fmt"
	"strings"
)

// BaseState is a node's base state, the part of Slurm's node_state below the flags.
type BaseState uint8

// Base states. MIXED appears only when jobs ask for fewer CPUs than a node has; FUTURE is
// listed for completeness (no node is configured FUTURE here).
const (
	StateUnknown BaseState = iota
	StateIdle
	StateAllocated
	StateMixed
	StateDown
	StateFuture
)

var baseNames = [...]string{"UNKNOWN", "IDLE", "ALLOCATED", "MIXED", "DOWN", "FUTURE"}

func (b BaseState) String() string {
	if int(b) < len(baseNames) {
		return baseNames[b]
	}
	return "INVALID"
}

// Flags are Slurm node state flags. Their numeric order is the order scontrol prints them
// in (alphabetical), e.g. ALLOCATED+DRAIN+REBOOT_REQUESTED.
type Flags uint16

// Node state flags.
const (
	FlagCompleting Flags = 1 << iota
	FlagDrain
	FlagFail
	FlagNotResponding
	FlagRebootIssued
	FlagRebootRequested
)

var flagNames = [...]string{"COMPLETING", "DRAIN", "FAIL", "NOT_RESPONDING", "REBOOT_ISSUED", "REBOOT_REQUESTED"}

// NodeState is a base state plus flags, comparable with ==.
type NodeState struct {
	Base  BaseState
	Flags Flags
}

// Has reports whether all of f are set.
func (s NodeState) Has(f Flags) bool { return s.Flags&f == f }

// List returns the state as slurmrestd shows it: the base state then each flag.
func (s NodeState) List() []string {
	out := []string{s.Base.String()}
	for i, name := range flagNames {
		if s.Flags&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// String is the State= field of `scontrol show node`: IDLE, ALLOCATED+DRAIN+REBOOT_REQUESTED,
// DOWN+DRAIN+REBOOT_ISSUED...
func (s NodeState) String() string { return strings.Join(s.List(), "+") }

// Long is sinfo's %T form (upper case here; sinfo prints it in lower case): DRAINING@,
// REBOOT^, ALLOCATED@, IDLE*... It follows Slurm 22.05's node_state_string precedence:
// reboot, then drain, then fail, then the base state, with suffix characters @ (reboot
// requested), ^ (reboot issued) and * (not responding).
func (s NodeState) Long() string { return s.sinfoName(false) }

// Compact is sinfo's %t form (upper case): DRNG@, BOOT^, ALLOC@, IDLE*...
func (s NodeState) Compact() string { return s.sinfoName(true) }

func (s NodeState) sinfoName(compact bool) string {
	pick := func(long, short string) string {
		if compact {
			return short
		}
		return long
	}
	issued, requested := s.Has(FlagRebootIssued), s.Has(FlagRebootRequested)
	noResp, comp := s.Has(FlagNotResponding), s.Has(FlagCompleting)
	busy := s.Base == StateAllocated || s.Base == StateMixed
	suffix := func() string {
		switch {
		case issued:
			return "^"
		case requested:
			return "@"
		case noResp:
			return "*"
		}
		return ""
	}
	if (issued || requested) && !busy {
		switch {
		case issued:
			return pick("REBOOT^", "BOOT^")
		case noResp:
			return pick("REBOOT*", "BOOT*")
		default:
			return pick("REBOOT", "BOOT")
		}
	}
	if s.Has(FlagDrain) {
		if comp || busy {
			return pick("DRAINING", "DRNG") + suffix()
		}
		return pick("DRAINED", "DRAIN") + suffix()
	}
	if s.Has(FlagFail) {
		if comp || s.Base == StateAllocated {
			return pick("FAILING", "FAILG") + star(noResp)
		}
		return pick("FAIL", "FAIL") + star(noResp)
	}
	switch s.Base {
	case StateDown:
		return "DOWN" + suffix()
	case StateAllocated:
		if sfx := suffix(); sfx != "" {
			return pick("ALLOCATED", "ALLOC") + sfx
		}
		if comp {
			return pick("ALLOCATED+", "ALLOC+")
		}
		return pick("ALLOCATED", "ALLOC")
	}
	if comp {
		return pick("COMPLETING", "COMP") + star(noResp)
	}
	switch s.Base {
	case StateIdle:
		return "IDLE" + suffix()
	case StateMixed:
		return pick("MIXED", "MIX") + suffix()
	case StateFuture:
		return pick("FUTURE", "FUTR") + suffix()
	}
	return pick("UNKNOWN", "UNK") + suffix()
}

func star(on bool) string {
	if on {
		return "*"
	}
	return ""
}

// NextState is what a node becomes after a reboot completes (scontrol reboot nextstate=).
type NextState uint8

// Next states. NextNone keeps the node's drain state; RESUME clears it; DOWN leaves the
// node DOWN with " : reboot complete" appended to its reason.
const (
	NextNone NextState = iota
	NextResume
	NextDown
)

func (n NextState) String() string {
	switch n {
	case NextResume:
		return "RESUME"
	case NextDown:
		return "DOWN"
	}
	return ""
}

// ParseNextState matches a nextstate= value by case-insensitive prefix, like scontrol
// ("r", "Res", "DOWN").
func ParseNextState(v string) (NextState, error) {
	u := strings.ToUpper(v)
	switch {
	case u != "" && strings.HasPrefix("RESUME", u):
		return NextResume, nil
	case u != "" && strings.HasPrefix("DOWN", u):
		return NextDown, nil
	}
	return NextNone, &Error{Code: CodeInvalid, Msg: fmt.Sprintf("Invalid state: %s\nValid states: DOWN, RESUME", v)}
}
