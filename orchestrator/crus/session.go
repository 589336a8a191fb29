package crus

import (
	"fmt"
	"time"
)

// Session states (the API's state enum). CREATED is in the enum but never written, as
// in CRUS: a new session is UPDATING at once.
const (
	StateCreated  = "CREATED"
	StateReady    = "READY"
	StateDeleting = "DELETING"
	StateUpdating = "UPDATING"
)

// Kind is every session's kind.
const Kind = "ComputeUpgradeSession"

// APIVersion is the CRUS release whose API this package serves (its api_version field).
const APIVersion = "1.12.1"

// WorkloadManagerSlurm is the only workload_manager_type.
const WorkloadManagerSlurm = "slurm"

// Session is the public record of one rolling upgrade (GET /crus/session/{id}).
type Session struct {
	UpgradeID           string   `json:"upgrade_id"`
	Kind                string   `json:"kind"`
	APIVersion          string   `json:"api_version"`
	StartingLabel       string   `json:"starting_label"`
	UpgradingLabel      string   `json:"upgrading_label"`
	FailedLabel         string   `json:"failed_label"`
	UpgradeStepSize     int      `json:"upgrade_step_size"`
	UpgradeTemplateID   string   `json:"upgrade_template_id"`
	WorkloadManagerType string   `json:"workload_manager_type"`
	Completed           bool     `json:"completed"`
	State               string   `json:"state"`
	Messages            []string `json:"messages"`
}

// Create is the body of POST /crus/session. Every field is required; pointers tell a
// missing field from a zero value.
type Create struct {
	StartingLabel       *string `json:"starting_label"`
	UpgradingLabel      *string `json:"upgrading_label"`
	FailedLabel         *string `json:"failed_label"`
	UpgradeStepSize     *int    `json:"upgrade_step_size"`
	UpgradeTemplateID   *string `json:"upgrade_template_id"`
	WorkloadManagerType *string `json:"workload_manager_type"`
}

// FieldErrors maps a field name to what is wrong with it (the 422 body's "errors").
type FieldErrors map[string][]string

func (f FieldErrors) add(field, format string, args ...any) {
	f[field] = append(f[field], fmt.Sprintf(format, args...))
}

// Messages of schema validation, worded as CRUS's marshmallow schema words them.
const (
	msgMissing  = "Missing data for required field."
	msgShort    = "Shorter than minimum length 1."
	msgStepSize = "Must be greater than or equal to 1."
	msgWLMType  = "Must be one of: slurm."
)

// Validate checks the schema (CRUS's marshmallow rules) and the label rules this
// implementation adds: the three labels differ (CRUS empties the failed group at the
// start, so a starting label reused as the failed label would lose the node list). It
// returns nil when the body is valid.
func (c *Create) Validate() FieldErrors {
	errs := FieldErrors{}
	str := func(field string, v *string) {
		switch {
		case v == nil:
			errs.add(field, msgMissing)
		case *v == "":
			errs.add(field, msgShort)
		}
	}
	str("starting_label", c.StartingLabel)
	str("upgrading_label", c.UpgradingLabel)
	str("failed_label", c.FailedLabel)
	str("upgrade_template_id", c.UpgradeTemplateID)
	switch {
	case c.UpgradeStepSize == nil:
		errs.add("upgrade_step_size", msgMissing)
	case *c.UpgradeStepSize < 1:
		errs.add("upgrade_step_size", msgStepSize)
	}
	switch {
	case c.WorkloadManagerType == nil:
		errs.add("workload_manager_type", msgMissing)
	case *c.WorkloadManagerType != WorkloadManagerSlurm:
		errs.add("workload_manager_type", msgWLMType)
	}
	if len(errs) == 0 {
		labels := map[string]string{}
		for _, f := range []struct{ name, v string }{
			{"starting_label", *c.StartingLabel}, {"upgrading_label", *c.UpgradingLabel}, {"failed_label", *c.FailedLabel},
		} {
			if other, ok := labels[f.v]; ok {
				errs.add(f.name, "Must differ from %s (both are '%s').", other, f.v)
				continue
			}
			labels[f.v] = f.name
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Stage is where the controller is within the current step (CRUS's stages).
type Stage string

// Stages, in the order a step goes through them.
const (
	StageStarting   Stage = "STARTING"
	StageQuiescing  Stage = "QUIESCING"
	StageQuiesced   Stage = "QUIESCED"
	StageBooting    Stage = "BOOTING"
	StageBooted     Stage = "BOOTED"
	StageWLMWaiting Stage = "WLM_WAITING"
	StageCleanup    Stage = "CLEANUP"
)

// Progress is the controller's private state of one session, stored with it (CRUS keeps
// the same in its upgrade_progress and boot_progress records). It is never shown by the
// API. Node lists hold xnames.
type Progress struct {
	Stage Stage `json:"stage"`
	Step  int   `json:"step"`

	// FailedCleared: the failed group was emptied (once, at the start of step 0).
	FailedCleared bool `json:"failed_cleared,omitempty"`
	// Snapshotted: Nodes holds the starting group as it was when the session started;
	// steps slice this list, so later changes to the group do not shift them.
	Snapshotted bool     `json:"snapshotted,omitempty"`
	Nodes       []string `json:"nodes,omitempty"`
	// WLMNames maps each node to its Slurm node name (nid%06d of its HSM NID).
	WLMNames map[string]string `json:"wlm_names,omitempty"`

	// StageStart is when the current stage began (its timeout counts from here).
	StageStart time.Time `json:"stage_start"`
	// BootStart is when the step's boot was requested: a node counts as rebooted only
	// with a Slurm boot time no earlier than this.
	BootStart time.Time `json:"boot_start"`
	// BOSSession is the step's BOS v2 session name.
	BOSSession string `json:"bos_session,omitempty"`
	// Active are the step's nodes still being upgraded (neither failed nor given up).
	Active []string `json:"active,omitempty"`
	// Prior maps a step node that was drained before CRUS drained it to the drain reason
	// it had; that drain is restored instead of resuming the node.
	Prior map[string]string `json:"prior,omitempty"`
	// Resumed are step nodes handed back to Slurm; Done are those Slurm runs again.
	Resumed []string `json:"resumed,omitempty"`
	Done    []string `json:"done,omitempty"`
	// Failed maps every node that failed in this session to its reason.
	Failed map[string]string `json:"failed,omitempty"`
	// Upgraded counts the nodes that completed the upgrade.
	Upgraded int `json:"upgraded"`
	// Pending are actions decided and stored but not yet known to be done (the outbox):
	// the controller performs them before it looks at the world again.
	Pending []Action `json:"pending,omitempty"`
	// Remove: delete the record once Pending is done (a deleted session's last step).
	Remove bool `json:"remove,omitempty"`
}

// Record is what the store keeps per session: the public session, the controller's
// progress, and a version every write increments (compare-and-set across processes).
type Record struct {
	Session
	Created  time.Time `json:"created"`
	Version  int64     `json:"version"`
	Progress Progress  `json:"progress"`
}

// StepNodes returns the nodes of step (0-based): nodes[step*size : (step+1)*size],
// clipped; empty once the steps are used up.
func StepNodes(nodes []string, step, size int) []string {
	if size < 1 || step < 0 {
		return nil
	}
	lo := step * size
	if lo >= len(nodes) {
		return nil
	}
	return nodes[lo:min(lo+size, len(nodes))]
}
