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

// codeView is the part of a stored component Code reads (decoding only it allocates less
// than decoding a whole component).
type codeView struct {
	ID     string `json:"id"`
	Status struct {
		Status string `json:"status"`
	} `json:"status"`
	StagedState struct {
		Session string `json:"session"`
	} `json:"staged_state"`
	Enabled bool   `json:"enabled"`
	Error   string `json:"error"`
}

// codeOfJSON decodes a stored component's id and Code.
func codeOfJSON(raw []byte) (string, uint8, error) {
	var v codeView
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", 0, err
	}
	c := orchestrator.Component{ID: v.ID, Enabled: v.Enabled, Error: v.Error}
	c.Status.Status = v.Status.Status
	c.StagedState.Session = v.StagedState.Session
	return v.ID, Code(&c), nil
}
