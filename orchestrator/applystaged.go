package orchestrator

import "fmt"

// StagedOutcome is the list applystaged puts a component in.
type StagedOutcome string

// The three applystaged outcomes.
const (
	StagedIgnored   StagedOutcome = "ignored"
	StagedSucceeded StagedOutcome = "succeeded"
	StagedFailed    StagedOutcome = "failed"
)

// ApplyStaged decides what /v2/applystaged does to one component (reference 1.8). sess is
// the staged session as looked up in the caller's tenant, nil when it does not exist.
//
//   - ignored (nil patch): nothing is staged (staged_state.session is empty);
//   - succeeded: the staged operation's artifacts are consistent (shutdown: all empty;
//     boot and reboot: kernel, kernel_parameters and initrd all set); desired_state becomes
//     the staged artifacts and configuration, enabled = true, error cleared; a reboot also
//     empties actual_state so the node is power-cycled;
//   - failed: the session is missing or the artifacts do not fit its operation; error
//     says why and enabled = false.
//
// Both succeeded and failed set session to the staged session and last_action to
// apply_staged, and empty staged_state when clearStage is set. The caller applies the
// auto fields (SetAutoFields) and merges the patch (ApplyTo).
func ApplyStaged(c *Component, sess *Session, clearStage bool) (StagedOutcome, *ComponentPatch) {
	name := c.StagedState.Session
	if name == "" {
		return StagedIgnored, nil
	}
	p := &ComponentPatch{
		Session:    ptr(name),
		LastAction: &LastActionPatch{Action: ptr(ActionApplyStaged), Failed: ptr(false)},
	}
	if clearStage {
		p.StagedState = &StagedStatePatch{BootArtifacts: ArtifactsPatch(BootArtifacts{}), Configuration: ptr(""), Session: ptr("")}
	}
	if err := stagedFits(&c.StagedState, sess, name); err != nil {
		p.Error = ptr(err.Error())
		p.Enabled = ptr(false)
		return StagedFailed, p
	}
	staged := c.StagedState
	p.DesiredState = &DesiredStatePatch{
		BootArtifacts: ArtifactsPatch(staged.BootArtifacts),
		Configuration: ptr(staged.Configuration),
		BSSToken:      ptr(""),
	}
	p.Enabled = ptr(true)
	p.Error = ptr("")
	if sess.Operation == OpReboot {
		p.ActualState = &ActualStatePatch{BootArtifacts: ArtifactsPatch(BootArtifacts{}), BSSToken: ptr("")}
	}
	return StagedSucceeded, p
}

// stagedFits checks the staged artifacts against the staged session's operation.
func stagedFits(staged *StagedState, sess *Session, name string) error {
	if sess == nil {
		return fmt.Errorf("staged session '%s' does not exist", name)
	}
	a := staged.BootArtifacts
	switch sess.Operation {
	case OpShutdown:
		if !a.IsEmpty() {
			return fmt.Errorf("staged session '%s' is a shutdown but staged boot artifacts are set", name)
		}
	case OpBoot, OpReboot:
		if a.Kernel == "" || a.KernelParameters == "" || a.Initrd == "" {
			return fmt.Errorf("staged session '%s' is a %s but the staged kernel, kernel_parameters or initrd is empty", name, sess.Operation)
		}
	default:
		return fmt.Errorf("staged session '%s' has invalid operation %q", name, sess.Operation)
	}
	return nil
}
