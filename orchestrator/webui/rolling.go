package webui

import (
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/orchestrator"
)

// Rolling is where a node is in a rolling upgrade: a staged session applied node by node
// by Slurm's RebootProgram (docs/rolling-upgrades.md), or any later driver that stages a
// node and applies the stage when the node is free.
type Rolling uint8

// Rolling states, in the order a node goes through them.
const (
	RollingNone          Rolling = iota // no stage for the node, none applied
	RollingStaged                       // staged, Slurm not yet asked to reboot it
	RollingWaitingForJob                // reboot requested, not drained: its jobs run on
	RollingDraining                     // drained by Slurm (no new jobs), reboot pending
	RollingRebooting                    // reboot issued or the stage applied: BOS is booting it
	RollingBackInService                // booted the stage, BOS stable, Slurm takes jobs
	RollingFailed                       // BOS failed the node, or Slurm holds it DOWN or FAIL
)

// rollingNames are the names of the Rolling states, indexed by them (Snapshot.Rolling).
var rollingNames = []string{"", "staged", "waiting_for_jobs", "draining", "rebooting", "back_in_service", "failed"}

func (r Rolling) String() string {
	if int(r) < len(rollingNames) {
		return rollingNames[r]
	}
	return "invalid"
}

// RollingNode is what a node's rolling state is decided from.
type RollingNode struct {
	// Pending: a stage waits for the node (BOS: staged_state names a session the node has
	// not been applied to yet).
	Pending bool
	// Applied: the stage was applied to the node (BOS: its session is a staged session).
	Applied bool
	// Status is BOS's status.status of the node.
	Status string
	// Slurm is the node as Slurm reports it; nil when Slurm does not know it or BOS reads
	// no Slurm.
	Slurm *SlurmNode
}

// SlurmNode is one node as the view read it from Slurm.
type SlurmNode struct {
	Name   string
	State  slurmapi.NodeState
	Reason string
	Jobs   []int // running jobs
}

// busy: jobs run on the node (or their epilogs do).
func (s *SlurmNode) busy() bool {
	st := s.State
	return st.Base == slurmapi.StateAllocated || st.Base == slurmapi.StateMixed ||
		st.Has(slurmapi.FlagCompleting) || len(s.Jobs) > 0
}

// slurmStep is what Slurm is doing with a node, as far as a rolling reboot is concerned.
type slurmStep uint8

const (
	slurmInService slurmStep = iota // takes jobs
	slurmWaiting                    // reboot requested, jobs still run and may start
	slurmDraining                   // drained with a reboot pending, or still running jobs
	slurmDrained                    // drained, idle, no reboot pending
	slurmRebooting                  // reboot issued
	slurmDown                       // DOWN or FAIL without a reboot under way
)

func stepOf(s *SlurmNode) slurmStep {
	if s == nil {
		return slurmInService
	}
	st := s.State
	requested := st.Has(slurmapi.FlagRebootRequested)
	switch {
	case st.Has(slurmapi.FlagRebootIssued):
		return slurmRebooting
	case st.Base == slurmapi.StateDown || st.Has(slurmapi.FlagFail):
		return slurmDown
	case st.Has(slurmapi.FlagDrain) && (requested || s.busy()):
		return slurmDraining
	case st.Has(slurmapi.FlagDrain):
		return slurmDrained
	case requested:
		return slurmWaiting
	}
	return slurmInService
}

// RollingStateOf decides a node's rolling state. Pure: the view calls it for every node on
// every change of BOS's record or of Slurm's state.
func RollingStateOf(n RollingNode) Rolling {
	step := stepOf(n.Slurm)
	switch {
	case n.Pending:
		// Slurm drives the node up to the reboot; the stage is applied once it is issued.
		switch step {
		case slurmWaiting:
			return RollingWaitingForJob
		case slurmDraining:
			return RollingDraining
		case slurmRebooting:
			return RollingRebooting
		case slurmDown:
			return RollingFailed
		}
		return RollingStaged
	case n.Applied:
		switch {
		case n.Status == orchestrator.StatusFailed:
			return RollingFailed
		case n.Status != orchestrator.StatusStable:
			return RollingRebooting // BOS powers it off, boots it, configures it
		}
		// BOS is done: the node is back when Slurm has it back.
		switch step {
		case slurmRebooting:
			return RollingRebooting
		case slurmWaiting:
			return RollingWaitingForJob
		case slurmDraining, slurmDrained:
			return RollingDraining
		case slurmDown:
			return RollingFailed
		}
		return RollingBackInService
	}
	return RollingNone
}
