package slurmapi

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var utc1 = time.FixedZone("UTC+1", 3600)

// TestParseShowNode reads a captured `scontrol -o show node`: values with spaces (OS),
// a Reason holding words shaped Key=, '*' as not responding, flags not modelled,
// times in the controller's zone, None as no time.
func TestParseShowNode(t *testing.T) {
	out, err := os.ReadFile("testdata/scontrol-show-node.txt")
	require.NoError(t, err)
	nodes, err := ParseShowNode(out, utc1)
	require.NoError(t, err)
	require.Len(t, nodes, 4)
	boot := time.Date(2026, 12, 6, 9, 58, 1, 0, utc1)
	tests := []struct {
		name   string
		state  NodeState
		reason string
		boot   time.Time
	}{
		{"nid000001", NodeState{Base: StateIdle, Flags: FlagDrain | FlagRebootRequested}, "BOS rollout up", boot},
		{"nid000002", NodeState{Base: StateAllocated}, "", boot},
		{"nid000003", NodeState{Base: StateDown, Flags: FlagDrain | FlagNotResponding}, "BOS rollout up: failed, state=DOWN Comment=x", time.Time{}},
		{"nid000004", NodeState{Base: StateMixed, Flags: FlagRebootIssued}, "Reboot ASAP", boot},
	}
	for i, tt := range tests {
		n := nodes[i]
		assert.Equal(t, tt.name, n.Name)
		assert.Equal(t, tt.state, n.State, tt.name)
		assert.Equal(t, tt.reason, n.Reason, tt.name)
		assert.True(t, tt.boot.Equal(n.BootTime), "%s: boot %s", tt.name, n.BootTime)
	}
	assert.Equal(t, []string{"compute", "debug"}, nodes[0].Partitions)
	assert.Equal(t, 2, nodes[1].AllocCPUs)
	assert.Equal(t, 1, nodes[1].Weight)
}

func TestParseShowNodeRefusesBadLines(t *testing.T) {
	for _, in := range []string{
		"Arch=x86_64 State=IDLE",                              // no NodeName
		"NodeName=n1 Arch=x86_64",                             // no State
		"NodeName=n1 State=SLEEPY",                            // unknown base state
		"NodeName=n1 State=IDLE BootTime=2026-13-40T99:00:00", // bad time
	} {
		_, err := ParseShowNode([]byte(in+"\n"), time.UTC)
		assert.Error(t, err, in)
	}
}

func TestParseSqueue(t *testing.T) {
	out := "101|nid[000001-000002]|2026-12-06T10:10:00\n102_3|nid000004|2026-12-06T10:11:30\n103|nid000005|NONE\n\n"
	jobs, err := ParseSqueue([]byte(out), utc1)
	require.NoError(t, err)
	require.Len(t, jobs, 3)
	assert.Equal(t, Job{ID: 101, State: JobRunning, Nodes: "nid[000001-000002]", EndTime: time.Date(2026, 12, 6, 10, 10, 0, 0, utc1)}, jobs[0])
	assert.Equal(t, 102, jobs[1].ID)
	assert.True(t, jobs[2].EndTime.IsZero(), "no end time")
	for _, bad := range []string{"101|nid1\n", "x|nid1|NONE\n", "1|nid1|2026-99-01T00:00:00\n"} {
		_, err := ParseSqueue([]byte(bad), time.UTC)
		assert.Error(t, err, bad)
	}
}

// TestCommandArgs: each call runs the command line scontrol documents, each value one
// argument (no shell); a refused cancel_reboot of an issued reboot is a conflict.
func TestCommandArgs(t *testing.T) {
	var got []string
	fail := ""
	c := &Command{Scontrol: "/opt/slurm/bin/scontrol", Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		got = append(got, name+" "+strings.Join(args, "|"))
		if fail != "" {
			return []byte(fail), errors.New("exit status 1")
		}
		return nil, nil
	}}
	ctx := context.Background()
	require.NoError(t, c.Reboot(ctx, RebootRequest{Nodes: "nid[000001-000003]", ASAP: true, NextState: "RESUME", Reason: "BOS rollout up"}))
	require.NoError(t, c.CancelReboot(ctx, "nid000002"))
	require.NoError(t, c.UpdateNode(ctx, NodeUpdate{Nodes: "nid000003", State: "DRAIN", Reason: "BOS rollout up: failed"}))
	require.NoError(t, c.UpdateNode(ctx, NodeUpdate{Nodes: "nid[000004-000005]", Weight: 1000001}))
	_, _ = c.Jobs(ctx)
	assert.Equal(t, []string{
		"/opt/slurm/bin/scontrol reboot|ASAP|nextstate=RESUME|reason=BOS rollout up|nid[000001-000003]",
		"/opt/slurm/bin/scontrol cancel_reboot|nid000002",
		"/opt/slurm/bin/scontrol update|nodename=nid000003|state=DRAIN|reason=BOS rollout up: failed",
		"/opt/slurm/bin/scontrol update|nodename=nid[000004-000005]|weight=1000001",
		"squeue --noheader|--states=RUNNING|--format=%i|%N|%e",
	}, got)

	fail = "scontrol: error: Node nid000002 reboot already issued\n"
	err := c.CancelReboot(ctx, "nid000002")
	assert.Equal(t, CodeConflict, CodeOf(err), "%v", err)
	fail = "slurm_update error: Invalid node name specified\n"
	assert.Equal(t, CodeNotFound, CodeOf(c.UpdateNode(ctx, NodeUpdate{Nodes: "nope", State: "DRAIN", Reason: "r"})))
}
