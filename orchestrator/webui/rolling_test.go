package webui

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/orchestrator"
)

// slurmNode is a Slurm node in scontrol's State= form ("ALLOCATED+DRAIN+REBOOT_REQUESTED").
func slurmNode(t *testing.T, state string, jobs ...int) *SlurmNode {
	t.Helper()
	st, err := slurmapi.ParseNodeState(strings.Split(state, "+"))
	require.NoError(t, err)
	return &SlurmNode{Name: "nid000001", State: st, Jobs: jobs}
}

func TestRollingStateOf(t *testing.T) {
	const (
		stable = orchestrator.StatusStable
		failed = orchestrator.StatusFailed
		off    = orchestrator.StatusPowerOffGracefullyCalled
		on     = orchestrator.StatusPowerOnCalled
		config = orchestrator.StatusConfiguring
	)
	for _, tc := range []struct {
		name    string
		pending bool
		applied bool
		status  string
		slurm   string // "": Slurm does not know the node
		jobs    []int
		want    Rolling
	}{
		{name: "no stage", status: stable, slurm: "IDLE", want: RollingNone},
		{name: "no stage, Slurm drains it for something else", status: stable, slurm: "ALLOCATED+DRAIN", want: RollingNone},
		{name: "no stage, BOS failed it", status: failed, want: RollingNone},

		{name: "staged, no Slurm", pending: true, status: stable, want: RollingStaged},
		{name: "staged, busy", pending: true, status: stable, slurm: "ALLOCATED", jobs: []int{7}, want: RollingStaged},
		{name: "staged, idle", pending: true, status: stable, slurm: "IDLE", want: RollingStaged},
		{name: "staged, drained by an admin", pending: true, status: stable, slurm: "IDLE+DRAIN", want: RollingStaged},
		{name: "reboot requested without ASAP: jobs run on", pending: true, status: stable, slurm: "ALLOCATED+REBOOT_REQUESTED", jobs: []int{7}, want: RollingWaitingForJob},
		{name: "reboot requested, mixed", pending: true, status: stable, slurm: "MIXED+REBOOT_REQUESTED", want: RollingWaitingForJob},
		{name: "reboot ASAP: draining its jobs", pending: true, status: stable, slurm: "ALLOCATED+DRAIN+REBOOT_REQUESTED", jobs: []int{7, 9}, want: RollingDraining},
		{name: "reboot ASAP: epilog running", pending: true, status: stable, slurm: "IDLE+COMPLETING+DRAIN+REBOOT_REQUESTED", want: RollingDraining},
		{name: "drained, reboot about to be issued", pending: true, status: stable, slurm: "IDLE+DRAIN+REBOOT_REQUESTED", want: RollingDraining},
		{name: "drain with jobs, no reboot asked", pending: true, status: stable, slurm: "ALLOCATED+DRAIN", jobs: []int{3}, want: RollingDraining},
		{name: "reboot issued, stage not applied yet", pending: true, status: stable, slurm: "DOWN+DRAIN+REBOOT_ISSUED", want: RollingRebooting},
		{name: "staged, Slurm has it DOWN", pending: true, status: stable, slurm: "DOWN", want: RollingFailed},
		{name: "staged, Slurm has it FAIL", pending: true, status: stable, slurm: "IDLE+FAIL", want: RollingFailed},

		{name: "applied, powering off", applied: true, status: off, slurm: "DOWN+DRAIN+REBOOT_ISSUED", want: RollingRebooting},
		{name: "applied, powering on, slurmd gone", applied: true, status: on, slurm: "DOWN+NOT_RESPONDING", want: RollingRebooting},
		{name: "applied, Slurm has it back, BOS configuring", applied: true, status: config, slurm: "IDLE", want: RollingRebooting},
		{name: "applied, stable, reboot still issued", applied: true, status: stable, slurm: "DOWN+DRAIN+REBOOT_ISSUED", want: RollingRebooting},
		{name: "back in service, idle", applied: true, status: stable, slurm: "IDLE", want: RollingBackInService},
		{name: "back in service, running jobs", applied: true, status: stable, slurm: "ALLOCATED", jobs: []int{12}, want: RollingBackInService},
		{name: "back, no Slurm", applied: true, status: stable, want: RollingBackInService},
		{name: "back, Slurm keeps it drained (nextstate not resume)", applied: true, status: stable, slurm: "IDLE+DRAIN", want: RollingDraining},
		{name: "back, another reboot requested", applied: true, status: stable, slurm: "ALLOCATED+REBOOT_REQUESTED", want: RollingWaitingForJob},
		{name: "reboot timed out in Slurm", applied: true, status: stable, slurm: "DOWN", want: RollingFailed},
		{name: "BOS failed it", applied: true, status: failed, slurm: "DOWN+DRAIN+REBOOT_ISSUED", want: RollingFailed},
		{name: "staged again after being applied (clear_stage false keeps both)", pending: true, applied: true, status: stable, slurm: "ALLOCATED+DRAIN+REBOOT_REQUESTED", want: RollingDraining},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := RollingNode{Pending: tc.pending, Applied: tc.applied, Status: tc.status}
			if tc.slurm != "" {
				n.Slurm = slurmNode(t, tc.slurm, tc.jobs...)
			}
			assert.Equal(t, tc.want.String(), RollingStateOf(n).String())
		})
	}
}
