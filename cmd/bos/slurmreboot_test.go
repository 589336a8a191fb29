package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

func TestArgsFor(t *testing.T) {
	for _, tc := range []struct {
		argv, want []string
	}{
		{[]string{"/usr/bin/bos", "up", "--slurm"}, []string{"up", "--slurm"}},
		{[]string{"bos"}, []string{}},
		{[]string{"/usr/libexec/slurm-reboot", "nid000001,nid000002"}, []string{"slurm-reboot", "nid000001,nid000002"}},
		{[]string{"slurm-reboot.py", "nid000001"}, []string{"slurm-reboot", "nid000001"}},
		{[]string{"/opt/slurm-rebooter", "nid000001"}, []string{"nid000001"}},
	} {
		assert.Equal(t, tc.want, argsFor(tc.argv), "%v", tc.argv)
	}
}

// rebootProgramLink links the test binary as slurm-reboot: run with reexecEnv set it is
// the bos binary (TestMain runs main), and main picks the command from argv[0].
func rebootProgramLink(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), rebootProgramName)
	require.NoError(t, os.Symlink(self, link))
	return link
}

// cli runs the bos command line in process.
func cli(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	err = run(testwait.Context(t), args, &out, &errw)
	return out.String(), errw.String(), err
}

// TestSlurmRebootAsRebootProgram runs the real executable the way slurmctld does: a
// stack whose Slurm has the bos binary (linked as slurm-reboot) as RebootProgram, `bos
// slurm scontrol reboot` of two staged nodes, and the program applies them: they reboot
// into the staged image and resume. A second reboot of a node whose stage was consumed
// is ignored by BOS, so the program exits 1 and says why in its log.
func TestSlurmRebootAsRebootProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a stack and the binary")
	}
	logFile := filepath.Join(t.TempDir(), "slurm-reboot.log")
	t.Setenv(reexecEnv, "1")        // inherited by the program: the test binary runs main
	t.Setenv(envRebootLog, logFile) // slurmctld's environment would name the log
	ctx := testwait.Context(t)
	topo, err := topology.Generate(topology.DefaultOptions(4))
	require.NoError(t, err)
	timing := stacktest.FastTiming()
	st, err := stack.Start(ctx, stack.Options{
		Topology: topo, Reconcile: true, WithSlurm: true, SlurmRebootProgram: rebootProgramLink(t), RedfishTimeout: time.Second,
		Sim:   simulator.Config{Timing: &timing, Seed: 5},
		CFS:   cfs.Config{Timing: cfs.Timing{BatchWindow: 20 * time.Millisecond, Scale: 1}},
		Slurm: slurmsim.Config{TickInterval: 50 * time.Millisecond},
	})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Seed(ctx))
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{"polling_frequency": 1, "max_power_off_wait_time": 3, "clear_stage": true})
	require.NoError(t, err)
	_, err = st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpBoot, TemplateName: stack.DefaultTemplateName})
	require.NoError(t, err)
	slurm := func() string {
		return fmt.Sprintf("Slurm %+v, %d of 4 IDLE", st.Slurm.Stats(), countState(st.Slurm, "IDLE"))
	}
	testwait.Until(t, "every node booted and joined Slurm", func() bool { return countState(st.Slurm, "IDLE") == 4 }, slurm)

	var said bytes.Buffer
	require.NoError(t, (&slurmFlags{enabled: true}).started(ctx, st, &said), "seeds NextTemplate")
	assert.Contains(t, said.String(), st.URLs.Slurm)
	staged, err := st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: bos.OpReboot, TemplateName: NextTemplate, Stage: true})
	require.NoError(t, err)
	var comps []bos.Component
	testwait.Until(t, "every compute staged", func() bool {
		comps, err = st.BOSClient.ListComponents(ctx, bosapi.ComponentQuery{StagedSession: staged.Name})
		return err == nil && len(comps) == 4
	}, func() string { return fmt.Sprintf("%d of 4 staged", len(comps)) })

	_, stderr, err := cli(t, "slurm", "scontrol", "--url", st.URLs.Slurm, "reboot", "ASAP", "nextstate=RESUME", "reason=Rolling Reboot", "nid00000[1-2]")
	require.NoError(t, err, stderr)
	testwait.Until(t, "2 reboots completed", func() bool { return st.Slurm.Stats().RebootsCompleted == 2 }, slurm)
	st.Slurm.WaitPrograms()
	stats := st.Slurm.Stats()
	assert.Equal(t, 1, stats.RebootProgramCalls)
	assert.Zero(t, stats.RebootProgramFailures, "exit status 0")
	for _, name := range []string{"nid000001", "nid000002"} {
		n, err := st.Slurm.Node(name)
		require.NoError(t, err)
		assert.Equal(t, "IDLE", n.State.String(), name)
		node, _ := st.Sim.Node(n.Xname)
		assert.Contains(t, node.Kernel, ims.ImageID(ims.ImageComputeNext), "%s boots the staged image", name)
	}
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	log := string(raw)
	assert.Contains(t, log, "argv=\"slurm-reboot nid000001,nid000002\"", "argv[0] is the base name, argv[1] the expanded list")
	assert.Contains(t, log, "succeeded=2 failed=0 ignored=0")
	assert.Contains(t, log, "exit status 0")

	// nid000001's stage was consumed (clear_stage): BOS ignores it, the program fails.
	_, stderr, err = cli(t, "slurm", "scontrol", "--url="+st.URLs.Slurm, "reboot", "nid000001")
	require.NoError(t, err, stderr)
	testwait.Until(t, "the second RebootProgram call", func() bool { return st.Slurm.Stats().RebootProgramCalls == 2 }, slurm)
	st.Slurm.WaitPrograms()
	assert.Equal(t, 1, st.Slurm.Stats().RebootProgramFailures, "exit status 1")
	raw, err = os.ReadFile(logFile)
	require.NoError(t, err)
	log = string(raw)
	assert.Contains(t, log, "exit status 1")
	assert.Contains(t, log, "ignored: "+topo.ByRole(topology.RoleCompute)[0])
}

// TestSlurmRebootMisconfigured: with no BOS address the program exits 1 and its log
// says what is missing; a bad node list is refused the same way.
func TestSlurmRebootMisconfigured(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log")
	prog := slurmsim.ExecProgram{Path: rebootProgramLink(t), Env: []string{
		reexecEnv + "=1", envRebootLog + "=" + logFile, envURL + "=", envURLsFile + "=",
	}}
	err := prog.Reboot(context.Background(), []string{"nid000001"})
	require.EqualError(t, err, "RebootProgram exit status of 1")
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "no BOS address")

	stdout, stderr, err := cli(t, "slurm-reboot", "nid[1-2]", "--bos-url", "http://127.0.0.1:1", "--log-file", "-")
	require.ErrorContains(t, err, "slurmctld passes expanded names")
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "exit status 1", "--log-file - logs to stderr")
}

// TestSlurmCommands: bos slurm scontrol|sinfo|squeue find the simulator by --url,
// $BOS_SLURM_URL or the URLs file and pass Slurm's own options through.
func TestSlurmCommands(t *testing.T) {
	s, err := slurmsim.New(slurmsim.Config{Nodes: []slurmsim.NodeSpec{{Name: "nid000001"}, {Name: "nid000002"}}})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	urls := filepath.Join(t.TempDir(), "urls.json")
	raw, _ := json.Marshal(stack.URLs{Slurm: srv.URL})
	require.NoError(t, os.WriteFile(urls, raw, 0o600))
	noSlurm := filepath.Join(t.TempDir(), "bos.json")
	require.NoError(t, os.WriteFile(noSlurm, []byte(`{"bos": "http://127.0.0.1:1"}`), 0o600))
	t.Setenv(envSlurmURL, "")
	t.Setenv(envURLsFile, "")

	out, _, err := cli(t, "slurm", "sinfo", "--url", srv.URL, "-N", "-h", "-o", "%N %t")
	require.NoError(t, err)
	assert.Equal(t, "nid000001 idle\nnid000002 idle\n", out)

	_, _, err = cli(t, "slurm", "scontrol", "--urls-file", urls, "update", "NodeName=nid000002", "State=DRAIN", "Reason=disk swap")
	require.NoError(t, err)
	out, _, err = cli(t, "slurm", "scontrol", "--urls-file="+urls, "show", "node", "nid000002")
	require.NoError(t, err)
	assert.Contains(t, out, "State=IDLE+DRAIN")
	assert.Contains(t, out, "Reason=disk swap")

	t.Setenv(envSlurmURL, srv.URL)
	out, _, err = cli(t, "slurm", "squeue", "-h")
	require.NoError(t, err)
	assert.Empty(t, out, "no jobs")

	t.Setenv(envSlurmURL, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"slurm", "sinfo"}, "no Slurm address"},
		{[]string{"slurm", "sinfo", "--urls-file", noSlurm}, `has no "slurm" entry`},
		{[]string{"slurm", "sinfo", "--url"}, "--url needs a value"},
		{[]string{"slurm", "scontrol", "--url", srv.URL, "reboot", "nid000009"}, "RebootProgram isn't defined"},
		{[]string{"slurm", "scontrol", "--url", srv.URL, "update", "NodeName=nid000001", "State=DOWN"}, "You must specify a reason"},
		{[]string{"slurm", "sinfo", "--url", srv.URL, "--bogus"}, "unrecognized option"},
		{[]string{"up", "--workload", "0.5"}, "need --slurm"},
		{[]string{"up", "--slurm", "--workload", "1.5"}, "want a share between 0 and 1"},
	} {
		_, _, err := cli(t, tc.args...)
		assert.ErrorContains(t, err, tc.want, strings.Join(tc.args, " "))
	}
}

func countState(s *slurmsim.Server, state string) int {
	n := 0
	for _, node := range s.Nodes() {
		if node.State.String() == state {
			n++
		}
	}
	return n
}

// TestSlurmRebootKillableWithSignalsBlocked: slurmctld starts its programs with SIGTERM
// blocked. The program must still stop on SIGTERM: Go's signal.Notify unblocks it. A
// python3 wrapper blocks SIGTERM and execs the program (skipped without python3); BOS
// never answers, so only the signal can end the run.
func TestSlurmRebootKillableWithSignalsBlocked(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to start a process with SIGTERM blocked")
	}
	received := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case received <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	// The wrapper: block SIGTERM and SIGINT, then execv(path, argv): its arguments.
	script := `import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
os.execv(sys.argv[1], sys.argv[2:])`
	if _, err := os.Stat("/proc/self/status"); err == nil { // Linux: check the wrapper works
		out, err := exec.Command(python, "-c", script, "/bin/cat", "cat", "/proc/self/status").Output()
		require.NoError(t, err)
		blocked := false
		for _, line := range strings.Split(string(out), "\n") {
			if mask, ok := strings.CutPrefix(line, "SigBlk:"); ok {
				m, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
				require.NoError(t, err)
				blocked = m&(1<<(syscall.SIGTERM-1)) != 0
			}
		}
		require.True(t, blocked, "the wrapper starts programs with SIGTERM blocked:\n%s", out)
	}

	logFile := filepath.Join(t.TempDir(), "log")
	link := rebootProgramLink(t)
	cmd := exec.Command(python, "-c", script, link, "slurm-reboot", "x1000c0s0b0n0")
	cmd.Env = append(os.Environ(), reexecEnv+"=1", envRebootLog+"="+logFile, envURL+"="+hang.URL, envRebootTimeout+"=1m")
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // if it hangs
	select {
	case <-received: // the program is waiting for BOS
	case err := <-done:
		t.Fatalf("exited early: %v", err)
	case <-time.After(testwait.Backstop):
		t.Fatal("the program never called BOS")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = testwait.Receive(t, done, "SIGTERM stops the program", nil)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "exit status 1")
	assert.Contains(t, string(raw), "context canceled")
}
