package webui

import (
	"slices"

	"github.com/cray-bos/bos/orchestrator"
)

// statusNames are the statuses a Code's low bits index; 0 is a status BOS never computes.
var statusNames = append([]string{""}, orchestrator.Statuses...)

// Flags in a Code's high bits.
const (
	FlagDisabled uint8 = 1 << 4 // enabled is false
	FlagStaged   uint8 = 1 << 5 // staged_state names a session
	FlagError    uint8 = 1 << 6 // error is set
	// Deleted is the code of a component that no longer exists.
	Deleted uint8 = 0xff
)

// Code packs what the map shows of a component into a byte: the index of its status in
// Snapshot.Statuses (low 4 bits) and the flags.
func Code(c *orchestrator.Component) uint8 {
	status := c.Status.Status
	if status == "" {
		status = orchestrator.ComputeStatus(c)
	}
	code := uint8(max(0, slices.Index(statusNames, status)))
	if !c.Enabled {
		code |= FlagDisabled
	}
	if c.StagedState.Session != "" {
		code |= FlagStaged
	}
	if c.Error != "" {
		code |= FlagError
	}
	return code
}
