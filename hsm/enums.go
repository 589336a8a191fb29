package hsm

import (
	"slices"
	"strings"

	"github.com/cray-bos/bos/internal/xname"
)

// enum is a case-insensitive value set that returns values in their canonical spelling.
type enum struct {
	name    string // for error messages: "State", "Role"...
	values  []string
	byLower map[string]string
}

func newEnum(name string, values ...string) *enum {
	e := &enum{name: name, byLower: map[string]string{}}
	for _, v := range values {
		e.add(v)
	}
	return e
}

// add registers v (a no-op if a case variant is already known).
func (e *enum) add(v string) {
	if v == "" {
		return
	}
	if _, ok := e.byLower[strings.ToLower(v)]; ok {
		return
	}
	e.values = append(e.values, v)
	e.byLower[strings.ToLower(v)] = v
}

func (e *enum) norm(v string) (string, bool) {
	c, ok := e.byLower[strings.ToLower(strings.TrimSpace(v))]
	return c, ok
}

func (e *enum) list() []string { return slices.Clone(e.values) }

// The HMS states, flags, roles... as hms-base spells them.
const (
	StateUnknown   = "Unknown"
	StateEmpty     = "Empty"
	StatePopulated = "Populated"
	StateOff       = "Off"
	StateOn        = "On"
	StateStandby   = "Standby"
	StateHalt      = "Halt"
	StateReady     = "Ready"

	FlagUnknown = "Unknown"
	FlagOK      = "OK"
	FlagWarning = "Warning"
	FlagAlert   = "Alert"
	FlagLocked  = "Locked"
)

var (
	states = newEnum("State", StateUnknown, StateEmpty, StatePopulated, StateOff, StateOn, StateStandby, StateHalt, StateReady)
	flags  = func() *enum {
		e := newEnum("Flag", FlagUnknown, FlagOK, FlagWarning, FlagAlert, FlagLocked)
		e.byLower["warn"] = FlagWarning
		return e
	}()
	archs   = newEnum("Arch", "X86", "ARM", "UNKNOWN", "Other")
	classes = newEnum("Class", "River", "Mountain", "Hill")
	netType = newEnum("NetType", "Sling", "Infiniband", "Ethernet", "OEM", "None")
	hmsType = func() *enum {
		e := newEnum("Type")
		for _, t := range xname.Types() {
			e.add(string(t))
		}
		return e
	}()
)

// Default role and subrole lists: hms-base's, plus the ones CSM configures. The server
// adds any role the topology uses.
var (
	defaultRoles    = []string{"Compute", "Service", "System", "Application", "Storage", "Management"}
	defaultSubRoles = []string{"Master", "Worker", "Storage", "UAN", "Gateway", "LNETRouter", "Visualization", "UserDefined"}
)

// allowedFrom is the state transition rule of HSM (reference 2.3): a non-forced change
// to the key state happens only from one of the listed states. Targets absent from the
// map (Unknown, Empty, Populated) require Force.
var allowedFrom = map[string][]string{
	StateOff:     {StateOff, StateOn, StateStandby, StateHalt, StateReady},
	StateOn:      {StateOn, StateOff, StateStandby, StateHalt},
	StateStandby: {StateStandby, StateReady},
	StateHalt:    {StateHalt, StateReady},
	StateReady:   {StateReady, StateOn, StateOff, StateStandby, StateHalt},
}

// transitionAllowed reports whether a non-forced change from → to is allowed.
func transitionAllowed(from, to string) bool { return slices.Contains(allowedFrom[to], from) }

// isController reports whether t is a BMC type that can send Redfish events.
func isController(t xname.Type) bool {
	switch t {
	case xname.NodeBMC, xname.ChassisBMC, xname.RouterBMC, xname.CabinetPDUController:
		return true
	}
	return false
}
