package orchestrator

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Component phases (status.phase).
const (
	PhaseNone        = ""
	PhasePoweringOn  = "powering_on"
	PhasePoweringOff = "powering_off"
	PhaseConfiguring = "configuring"
)

// Phases lists every phase, "" included.
var Phases = []string{PhaseNone, PhasePoweringOn, PhasePoweringOff, PhaseConfiguring}

// Computed component statuses (status.status, reference 4.2).
const (
	StatusPowerOnPending           = "power_on_pending"
	StatusPowerOnCalled            = "power_on_called"
	StatusPowerOffPending          = "power_off_pending"
	StatusPowerOffGracefullyCalled = "power_off_gracefully_called"
	StatusPowerOffForcefullyCalled = "power_off_forcefully_called"
	StatusConfiguring              = "configuring"
	StatusStable                   = "stable"
	StatusFailed                   = "failed"
	StatusOnHold                   = "on_hold"
)

// Statuses lists every status ComputeStatus can return without an override, plus the two
// overrides BOS itself writes (failed, on_hold).
var Statuses = []string{
	StatusPowerOnPending, StatusPowerOnCalled, StatusPowerOffPending,
	StatusPowerOffGracefullyCalled, StatusPowerOffForcefullyCalled, StatusConfiguring,
	StatusStable, StatusFailed, StatusOnHold,
}

// Last actions (last_action.action).
const (
	ActionActualStateCleanup    = "actual_state_cleanup"
	ActionApplyStaged           = "apply_staged"
	ActionNewlyDiscovered       = "newly_discovered"
	ActionPoweringOffForcefully = "powering_off_forcefully"
	ActionPoweringOffGracefully = "powering_off_gracefully"
	ActionPoweringOn            = "powering_on"
	ActionSessionSetup          = "session_setup"
)

// Actions lists every valid last_action.action.
var Actions = []string{
	ActionActualStateCleanup, ActionApplyStaged, ActionNewlyDiscovered,
	ActionPoweringOffForcefully, ActionPoweringOffGracefully, ActionPoweringOn, ActionSessionSetup,
}

// BootArtifacts is what a node boots: S3 paths of kernel and initrd and the assembled
// kernel command line. The timestamp BOS keeps with token records lives in TokenRecord,
// never in a component.
type BootArtifacts struct {
	Kernel           string `json:"kernel"`
	KernelParameters string `json:"kernel_parameters"`
	Initrd           string `json:"initrd"`
}

// IsEmpty reports whether all three artifacts are empty (the shutdown target).
func (a BootArtifacts) IsEmpty() bool {
	return a.Kernel == "" && a.KernelParameters == "" && a.Initrd == ""
}

// bookkeepingParams are the kernel parameters that tell how a boot is tracked, not what
// boots: BOS v2's bos_update_frequency (the reporter's interval, from
// component_actual_state_ttl), BOA's bos_session_id, the bss_referral_token BSS adds,
// and the spire_join_token BOS meant to ignore (reference bos-v2.md 4.5).
var bookkeepingParams = []string{"bos_update_frequency=", "bos_session_id=", "bss_referral_token=", "spire_join_token="}

// SameBoot reports whether a node booted with a runs what b describes: the same kernel
// and initrd, and the same kernel parameters in the same order once white space is
// normalised and the bookkeeping parameters are left out. A v1 (BOA) and a v2 boot of one
// image and boot set, or two v2 boots under different actual-state TTLs, are the same
// boot; the exact comparison BOS makes would power-cycle such a node for nothing.
func (a BootArtifacts) SameBoot(b BootArtifacts) bool {
	if a == b {
		return true
	}
	return a.Kernel == b.Kernel && a.Initrd == b.Initrd &&
		slices.Equal(bootParams(a.KernelParameters), bootParams(b.KernelParameters))
}

// bootParams returns the kernel parameters of s that say what boots (see SameBoot).
func bootParams(s string) []string {
	return slices.DeleteFunc(strings.Fields(s), func(p string) bool {
		return slices.ContainsFunc(bookkeepingParams, func(prefix string) bool { return strings.HasPrefix(p, prefix) })
	})
}

// ActualState is what the node reported booting (via its BSS referral token).
type ActualState struct {
	BootArtifacts BootArtifacts `json:"boot_artifacts"`
	BSSToken      string        `json:"bss_token"`
	LastUpdated   time.Time     `json:"last_updated,omitzero"`
}

// DesiredState is the target BOS drives the node to.
type DesiredState struct {
	BootArtifacts BootArtifacts `json:"boot_artifacts"`
	Configuration string        `json:"configuration"`
	BSSToken      string        `json:"bss_token"`
	LastUpdated   time.Time     `json:"last_updated,omitzero"`
}

// StagedState waits for /v2/applystaged. Session names the staged session.
type StagedState struct {
	BootArtifacts BootArtifacts `json:"boot_artifacts"`
	Configuration string        `json:"configuration"`
	Session       string        `json:"session"`
	LastUpdated   time.Time     `json:"last_updated,omitzero"`
}

// LastAction is the last thing an operator did to the node.
type LastAction struct {
	Action      string    `json:"action"`
	Failed      bool      `json:"failed"`
	LastUpdated time.Time `json:"last_updated,omitzero"`
	// InFlight names the BOS process that recorded this power action, until the call
	// fails or the node's next write after its effect (the report, the Off: Decide
	// clears it once the node moves on); empty for actions that are not power calls. A record whose InFlight names another process
	// was cut off by a crash or taken over: its call may never have been sent, so the
	// reconciler verifies the node's power and re-sends it (docs/guarantees.md).
	// Deviation: BOS has no such field.
	InFlight string `json:"in_flight,omitempty"`
}

// EventStats counts attempts per power action within one "event" (desired-state change).
type EventStats struct {
	PowerOnAttempts          int `json:"power_on_attempts"`
	PowerOffGracefulAttempts int `json:"power_off_graceful_attempts"`
	PowerOffForcefulAttempts int `json:"power_off_forceful_attempts"`
}

// ComponentStatus holds the phase, an override and the computed status. Status is derived
// (ComputeStatus) and never taken from a request.
type ComponentStatus struct {
	Phase          string `json:"phase"`
	Status         string `json:"status,omitempty"`
	StatusOverride string `json:"status_override"`
}

// Component is BOS's record of one node (reference 2.4).
type Component struct {
	ID           string          `json:"id"`
	ActualState  ActualState     `json:"actual_state"`
	DesiredState DesiredState    `json:"desired_state"`
	StagedState  StagedState     `json:"staged_state"`
	LastAction   LastAction      `json:"last_action,omitzero"` // absent until an action (BOS: no key; an empty action is outside the spec's enum)
	EventStats   EventStats      `json:"event_stats"`
	Status       ComponentStatus `json:"status"`
	Enabled      bool            `json:"enabled"`
	Error        string          `json:"error"`
	Session      string          `json:"session"`
	RetryPolicy  *int            `json:"retry_policy,omitempty"`
}

// Clone returns a deep copy of c.
func (c Component) Clone() Component {
	if c.RetryPolicy != nil {
		n := *c.RetryPolicy
		c.RetryPolicy = &n
	}
	return c
}

// NewComponent returns the record discovery creates for a node BOS has not seen
// (reference 2.4): empty states, last_action newly_discovered, disabled, with the
// timestamps the auto fields would stamp on that PUT.
func NewComponent(id string, now time.Time) Component {
	c := Component{ID: id, LastAction: LastAction{Action: ActionNewlyDiscovered, LastUpdated: now.UTC()}}
	c.ActualState.LastUpdated = now.UTC()
	c.DesiredState.LastUpdated = now.UTC()
	c.StagedState.LastUpdated = now.UTC()
	c.RefreshStatus()
	return c
}

// RefreshStatus sets status.status to ComputeStatus: the one writer of that field, called
// by whatever changes a record (the store on every write, patches, Decide).
func (c *Component) RefreshStatus() { c.Status.Status = ComputeStatus(c) }

// ComputeStatus derives status.status from phase, override and last action (reference 4.2).
// It depends only on stored fields, so the store indexes it at write time.
func ComputeStatus(c *Component) string {
	if c.Status.StatusOverride != "" {
		return c.Status.StatusOverride
	}
	switch c.Status.Phase {
	case PhasePoweringOn:
		if c.LastAction.Action == ActionPoweringOn && !c.LastAction.Failed {
			return StatusPowerOnCalled
		}
		return StatusPowerOnPending
	case PhasePoweringOff:
		switch c.LastAction.Action {
		case ActionPoweringOffGracefully:
			return StatusPowerOffGracefullyCalled
		case ActionPoweringOffForcefully:
			return StatusPowerOffForcefullyCalled
		}
		return StatusPowerOffPending
	case PhaseConfiguring:
		return StatusConfiguring
	default:
		return StatusStable
	}
}

// RetryLimit is the attempt limit per power action for c: its own retry_policy, else the
// option default_retry_policy.
func (c *Component) RetryLimit(o Options) int {
	if c.RetryPolicy != nil {
		return *c.RetryPolicy
	}
	return o.DefaultRetryPolicy
}

// ActualStateLocked reports whether a node report (a PATCH carrying actual_state) must be
// refused with 409 (reference 1.7): the component is enabled, a change is in progress
// (status not stable) and the last action was not a power-on. This keeps a periodic
// report from restoring an actual state BOS cleared on purpose to force a reboot.
func (c *Component) ActualStateLocked() bool {
	return c.Enabled && ComputeStatus(c) != StatusStable && c.LastAction.Action != ActionPoweringOn
}

// Validate checks a stored or incoming full record against the schema.
func (c *Component) Validate() error {
	var v checker
	v.length("id", c.ID, 1, MaxIDLen)
	checkArtifacts(&v, "actual_state.boot_artifacts", c.ActualState.BootArtifacts)
	v.length("actual_state.bss_token", c.ActualState.BSSToken, 0, 65535)
	checkArtifacts(&v, "desired_state.boot_artifacts", c.DesiredState.BootArtifacts)
	v.length("desired_state.configuration", c.DesiredState.Configuration, 0, 127)
	v.length("desired_state.bss_token", c.DesiredState.BSSToken, 0, 65535)
	checkArtifacts(&v, "staged_state.boot_artifacts", c.StagedState.BootArtifacts)
	v.length("staged_state.configuration", c.StagedState.Configuration, 0, 127)
	checkSessionRef(&v, "staged_state.session", c.StagedState.Session)
	if c.LastAction.Action != "" {
		v.oneOf("last_action.action", c.LastAction.Action, Actions...)
	}
	v.intRange("event_stats.power_on_attempts", c.EventStats.PowerOnAttempts, 0, maxCount)
	v.intRange("event_stats.power_off_graceful_attempts", c.EventStats.PowerOffGracefulAttempts, 0, maxCount)
	v.intRange("event_stats.power_off_forceful_attempts", c.EventStats.PowerOffForcefulAttempts, 0, maxCount)
	v.oneOf("status.phase", c.Status.Phase, Phases...)
	v.length("status.status_override", c.Status.StatusOverride, 0, 65536)
	v.length("error", c.Error, 0, 65536)
	checkSessionRef(&v, "session", c.Session)
	if c.RetryPolicy != nil {
		v.intRange("retry_policy", *c.RetryPolicy, 0, maxCount)
	}
	return v.err("invalid component")
}

func checkArtifacts(v *checker, field string, a BootArtifacts) {
	if len(a.Kernel) <= 4095 && len(a.KernelParameters) <= 4096 && len(a.Initrd) <= 4095 {
		return // no more characters than bytes (see length): spares naming the fields
	}
	v.length(field+".kernel", a.Kernel, 0, 4095)
	v.length(field+".kernel_parameters", a.KernelParameters, 0, 4096)
	v.length(field+".initrd", a.Initrd, 0, 4095)
}

// checkSessionRef checks a session reference: "" (none) or a session name.
func checkSessionRef(v *checker, field, s string) {
	if s != "" {
		v.name(field, s)
	}
}

// String is a short description for logs.
func (c *Component) String() string {
	return fmt.Sprintf("%s(phase=%q status=%s enabled=%t session=%q)", c.ID, c.Status.Phase, ComputeStatus(c), c.Enabled, c.Session)
}

// TokenRecord is what BOS keeps per BSS referral token (its DB 4, never pruned): the
// artifacts the token's boot parameters carried and when they were recorded. A node's
// report of its token is turned back into actual_state.boot_artifacts through it.
type TokenRecord struct {
	BootArtifacts
	Timestamp time.Time `json:"timestamp"`
}
