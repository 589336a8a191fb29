package power

import "context"

// Power is a node's power state as the reconciler observed it through Redfish or PCS.
type Power int

const (
	// PowerUnknown means the power service reported an error for the node, or the BMC
	// could not be read (Observation.PowerError says why). Like BOS, which treats a PCS
	// error as "not off", Decide handles it as On: the power-off path then runs into the
	// same BMC, fails, and ends in a counted failure.
	PowerUnknown Power = iota
	PowerOff
	PowerOn
	// PowerNotReported means the power service did not report the node at all: PCS left
	// it out of its power-status reply or said "undefined"; on the Redfish path HSM lists
	// no Redfish endpoint for it, or its BMC reports a PowerState that is neither on nor
	// off. BOS puts such a node on hold (missingInput).
	PowerNotReported
)

func (p Power) String() string {
	return [...]string{"unknown", "off", "on", "not_reported"}[p]
}

// ResetKind is a power action in BOS's terms; the Redfish driver maps it to the
// ResetType the BMC lists.
type ResetKind int

// Power actions.
const (
	ResetOn ResetKind = iota
	ResetGracefulOff
	ResetForceOff
	ResetGracefulRestart // not BOS's; the PCS simulator's Soft-Restart
)

// PowerReading is one node's observed power.
type PowerReading struct {
	Power Power
	Err   error // set when Power is PowerUnknown
}

// PowerControl is node power, through Redfish or PCS: state and reset, for many nodes at once (the driver
// bounds its own parallelism).
type PowerControl interface {
	PowerStates(ctx context.Context, ids []string) map[string]PowerReading
	Reset(ctx context.Context, ids []string, kind ResetKind) map[string]error
}

// MsgNoPCSRecord is the error of a node PCS did not report, as BOS words it.
const MsgNoPCSRecord = "Component information was not returned by pcs"
