package webui

import (
	"encoding/json"
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
// Snapshot.Statuses (low 4 bits; the stored status.status, which the store computes on
// every write) and the flags.
func Code(c *orchestrator.Component) uint8 {
	code := uint8(max(0, slices.Index(statusNames, c.Status.Status)))
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

// cell is what the map shows of a component: its Code and its rolling state.
type cell struct{ code, rolling uint8 }

// deletedCell is the cell of a component that no longer exists.
var deletedCell = cell{code: Deleted}

// cellOf is c's cell, its rolling state decided with the inputs read.
func cellOf(c *orchestrator.Component, in inputsView) cell {
	return cell{code: Code(c), rolling: uint8(RollingStateOf(rollingNodeOf(c, in)))}
}

// rollingNodeOf is what c's rolling state is decided from: a stage is pending while
// staged_state names a session the node has not been applied to (applystaged sets the
// node's session to the staged one); it was applied when the node's session is staged.
func rollingNodeOf(c *orchestrator.Component, in inputsView) RollingNode {
	staged := c.StagedState.Session
	return RollingNode{
		Pending: staged != "" && staged != c.Session,
		Applied: in.staged[c.Session],
		Status:  c.Status.Status,
		Slurm:   in.nodes[c.ID],
	}
}

// cellView is the part of a stored component a cell reads (decoding only it allocates
// less than decoding a whole component).
type cellView struct {
	ID     string `json:"id"`
	Status struct {
		Status string `json:"status"`
	} `json:"status"`
	StagedState struct {
		Session string `json:"session"`
	} `json:"staged_state"`
	Enabled bool   `json:"enabled"`
	Error   string `json:"error"`
	Session string `json:"session"`
}

// cellOfJSON decodes a stored component's id and cell.
func cellOfJSON(raw []byte, in inputsView) (string, cell, error) {
	var v cellView
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", cell{}, err
	}
	c := orchestrator.Component{ID: v.ID, Enabled: v.Enabled, Error: v.Error, Session: v.Session}
	c.Status.Status = v.Status.Status
	c.StagedState.Session = v.StagedState.Session
	return v.ID, cellOf(&c, in), nil
}
