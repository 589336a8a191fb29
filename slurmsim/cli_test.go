package slurmsim

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
)

// cliEnv is four nodes: job 1 on nid000001-2, job 2 pending, an ASAP reboot of all four
// (issued on the idle pair), one second after t0.
func cliEnv(t *testing.T) (*env, *slurmapi.Client) {
	e := newEnv(t, 4)
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	c := slurmapi.NewClient(srv.URL, srv.Client())
	e.submit(2, time.Hour)
	e.submit(3, time.Hour)
	run(t, c, Scontrol, "reboot", "ASAP", "nextstate=RESUME", "reason=rolling", "nid00000[1-4]")
	e.tick(time.Second)
	return e, c
}

func run(t *testing.T, c *slurmapi.Client, f func(context.Context, *slurmapi.Client, []string, io.Writer) error, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, f(context.Background(), c, args, &out))
	return out.String()
}

// local is how the front ends print a time the API carried as Unix seconds.
func local(t time.Time) string { return slurmTime(time.Unix(t.Unix(), 0)) }

func TestSinfo(t *testing.T) {
	_, c := cliEnv(t)
	assert.Equal(t, `PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST
workq*       up   infinite      2  drng@ nid[000001-000002]
workq*       up   infinite      2  boot^ nid[000003-000004]
`, run(t, c, Sinfo))

	assert.Equal(t, `NODELIST   NODES PARTITION STATE 
nid000001      1    workq* drng@ 
nid000002      1    workq* drng@ 
nid000003      1    workq* boot^ 
nid000004      1    workq* boot^ 
`, run(t, c, Sinfo, "-N"))

	assert.Equal(t, "REASON               USER      TIMESTAMP           NODELIST\n"+
		"rolling              root      "+local(t0)+" nid[000001-000002]\n"+
		"rolling : reboot iss root      "+local(t0.Add(time.Second))+" nid[000003-000004]\n",
		run(t, c, Sinfo, "-R"))

	assert.Equal(t, `nid000001 drng@ rolling
nid000002 drng@ rolling
nid000003 boot^ rolling : reboot issued
nid000004 boot^ rolling : reboot issued
`, run(t, c, Sinfo, "-N", "-h", "-o", "%N %t %E"))

	assert.Equal(t, "nid[000003-000004] reboot^\n", run(t, c, Sinfo, "-h", "--format=%N %T", "-n", "nid00000[3-4]"))
	assert.Equal(t, "", run(t, c, Sinfo, "-h", "-p", "debug"))

	var out bytes.Buffer
	assert.ErrorContains(t, Sinfo(context.Background(), c, []string{"-x"}, &out), "unrecognized option")
	assert.ErrorContains(t, Sinfo(context.Background(), c, []string{"-o", "%Z"}, &out), "invalid format")
	assert.ErrorContains(t, Sinfo(context.Background(), c, []string{"-o"}, &out), "requires an argument")
}

func TestSqueue(t *testing.T) {
	_, c := cliEnv(t)
	assert.Equal(t, `             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)
                 1     workq     wrap     root  R       0:01      2 nid[000001-000002]
                 2     workq     wrap     root PD       0:00      3 (Resources)
`, run(t, c, Squeue))
	assert.Equal(t, "1 RUNNING UNLIMITED\n", run(t, c, Squeue, "-h", "-o", "%i %T %l", "-t", "R"))
	assert.Equal(t, "2\n", run(t, c, Squeue, "-h", "-o%i", "-j", "2"))
	assert.Equal(t, "1\n", run(t, c, Squeue, "-h", "-o", "%i", "-w", "nid000002"))
	var out bytes.Buffer
	assert.ErrorContains(t, Squeue(context.Background(), c, []string{"--bogus"}, &out), "unrecognized option")
}

func TestScontrolShowNode(t *testing.T) {
	e, c := cliEnv(t)
	n := e.node("nid000003")
	want := `NodeName=nid000003 Arch=x86_64 CoresPerSocket=64 
   CPUAlloc=0 CPUEfctv=128 CPUTot=128 CPULoad=0.00
   NodeAddr=nid000003 NodeHostName=nid000003 Version=22.05.8
   RealMemory=1 AllocMem=0 FreeMem=N/A Sockets=2 Boards=1
   State=DOWN+DRAIN+REBOOT_ISSUED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A
   NextState=RESUME
   Partitions=workq 
   BootTime=` + local(n.BootTime) + ` SlurmdStartTime=` + local(n.SlurmdStartTime) + `
   LastBusyTime=None
   Reason=rolling : reboot issued [root@` + local(t0.Add(time.Second)) + `]
`
	assert.Equal(t, want, run(t, c, Scontrol, "show", "node", "nid000003"))
	all := run(t, c, Scontrol, "show", "nodes")
	assert.Equal(t, 4, strings.Count(all, "NodeName="))
	assert.Contains(t, all, "State=ALLOCATED+DRAIN+REBOOT_REQUESTED ")

	// CRUS-style parsing: key=value tokens, State only.
	for _, tok := range strings.Fields(run(t, c, Scontrol, "show", "node", "nid000001")) {
		if v, ok := strings.CutPrefix(tok, "State="); ok {
			assert.Equal(t, "ALLOCATED+DRAIN+REBOOT_REQUESTED", v)
		}
	}
	var out bytes.Buffer
	assert.EqualError(t, Scontrol(context.Background(), c, []string{"show", "node", "nid000009"}, &out), "Node nid000009 not found")
}

func TestScontrolCommands(t *testing.T) {
	e, c := cliEnv(t)
	ctx := context.Background()
	var out bytes.Buffer

	assert.Equal(t, "nid000006\nnid000007\n", run(t, c, Scontrol, "show", "hostnames", "nid00000[6-7]"))
	assert.Equal(t, "nid[000001-000002,000004]\n", run(t, c, Scontrol, "show", "hostlist", "nid000001,nid000002,nid000004"))
	assert.Equal(t, "a,b,nid[1-3]\n", run(t, c, Scontrol, "show", "hostlistsorted", "b,a,nid3,nid1,nid2"))
	assert.Contains(t, run(t, c, Scontrol, "show", "job", "2"), "JobState=PENDING Reason=Resources")
	assert.Contains(t, run(t, c, Scontrol, "show", "partition"), "PartitionName=workq\n   Default=YES MaxTime=UNLIMITED State=UP\n   Nodes=nid[000001-000004]")
	assert.Contains(t, run(t, c, Scontrol, "help"), "cancel_reboot <nodes>")

	// cancel_reboot: the busy pair can be cancelled, the issued pair cannot.
	err := Scontrol(ctx, c, []string{"cancel_reboot", "nid00000[1-4]"}, &out)
	assert.EqualError(t, err, "slurm_update error: REBOOT on node nid000004 already in progress -- unable to cancel")
	assert.Equal(t, "ALLOCATED", e.state("nid000001"))

	run(t, c, Scontrol, "update", "NodeName=nid000001", "State=DRAIN", "Reason=rolling-upgrade")
	assert.Equal(t, "ALLOCATED+DRAIN", e.state("nid000001"))
	run(t, c, Scontrol, "UPDATE", "nodename=nid000001", "state=resume")
	assert.Equal(t, "ALLOCATED", e.state("nid000001"))
	run(t, c, Scontrol, "reboot", "nid000001")
	assert.Equal(t, "ALLOCATED+REBOOT_REQUESTED", e.state("nid000001"))

	errs := []struct {
		args []string
		msg  string
	}{
		{[]string{}, "no command given"},
		{[]string{"frobnicate"}, "invalid keyword: frobnicate"},
		{[]string{"reboot", "ASAP"}, "Missing node list. Specify ALL|<NodeList>"},
		{[]string{"reboot", "nid000001", "nid000002"}, "Only one node list may be specified"},
		{[]string{"reboot", "nextstate=IDLE", "nid000001"}, "Invalid state: IDLE"},
		{[]string{"reboot", "weight=2", "nid000001"}, "Invalid input: weight=2"},
		{[]string{"reboot", "nid000099"}, "scontrol_reboot_nodes error: Invalid node name specified"},
		{[]string{"update", "NodeName=nid000002", "State=DRAIN"}, "You must specify a reason when DOWNING or DRAINING a node. Request denied"},
		{[]string{"update", "State=DRAIN", "Reason=x"}, "Input line must include \"NodeName\""},
		{[]string{"update", "NodeName=nid000002", "Features=x"}, "Update of this parameter is not supported: Features=x"},
		{[]string{"update", "NodeName=nid000002", "Weight=0"}, "Invalid weight: 0"},
		{[]string{"update", "NodeName=nid000002", "State=BOGUS"}, "slurm_update error: Invalid input: State=BOGUS"},
		{[]string{"cancel_reboot"}, "Missing node list"},
		{[]string{"show"}, "too few arguments"},
		{[]string{"show", "licenses"}, "invalid entity:licenses"},
		{[]string{"show", "hostnames", "nid[2-1]"}, "invalid hostlist"},
		{[]string{"show", "job", "99"}, "slurm_load_jobs error: Invalid job id specified"},
		{[]string{"show", "partition", "debug"}, "Partition debug not found"},
	}
	for _, tt := range errs {
		err := Scontrol(ctx, c, tt.args, &out)
		assert.ErrorContains(t, err, tt.msg, "%v", tt.args)
	}
}
