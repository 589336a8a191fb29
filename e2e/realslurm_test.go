//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/bosbin"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestRealSlurmctldRebootProgram checks that `bos slurm-reboot` works unchanged as the
// RebootProgram of a real slurmctld (SlurmctldParameters=reboot_from_controller), not
// only of slurmsim. One host runs munged, slurmctld and one slurmd (node nid000001,
// NodeHostname=localhost), all in the test's temporary directory on free loopback
// ports, and the BOS stack in process. The bos binary is built and linked as
// slurm-reboot; slurmctld gets BOS_URL and BOS_HSM_URL in its environment.
//
// Every compute node is staged on the next image; `scontrol reboot ASAP nextstate=resume
// reason="Rolling Reboot" nid000001` makes slurmctld exec the program with
// "nid000001", which applies nid000001's stage: the virtual node reboots into the staged
// image, the other compute nodes stay staged and untouched. Slurm keeps the node
// DOWN+REBOOT_ISSUED when a slurmd that did not reboot registers; `slurmd -b` (a fresh
// boot, as the rebooted node's slurmd would report) returns it to service. A second reboot, with the
// stage consumed (clear_stage), makes the program exit 1: slurmctld logs "RebootProgram
// exit status of 1" and the program's log says BOS ignored the node.
//
// Needs root and Debian's slurm-wlm and munge (22.05.8 and 0.5.15 on Debian 12);
// skipped otherwise.
func TestRealSlurmctldRebootProgram(t *testing.T) {
	r, program := newRealSlurm(t, 90*time.Second)
	bins, ctx := r.bins, r.ctx

	// BOS and the data centre: every compute node booted on the seeded image, then
	// staged on the next one (nothing reboots).
	c := startCluster(t, storetest.Mini, clusterOptions{nodes: 3, hostNetwork: true, options: map[string]any{"polling_frequency": 1, "clear_stage": true}})
	next, err := c.st.ImagePath(ims.ImageComputeNext)
	require.NoError(t, err)
	_, err = c.st.BOSClient.PutTemplate(c.ctx(), rollingTemplate, stack.DefaultTemplate(next, stack.DefaultConfigurationName))
	require.NoError(t, err)
	c.waitComplete(c.session(bos.OpBoot, "", "", false), 30*time.Second)
	staged := c.session(bos.OpReboot, rollingTemplate, "", true)
	r.waitFor("every compute node staged", 20*time.Second, func() bool {
		for _, comp := range c.components() {
			if slices.Contains(c.computes, comp.ID) && comp.StagedState.Session != staged {
				return false
			}
		}
		return true
	})
	var target string // nid000001's xname
	for _, n := range c.st.Topology.Nodes {
		if n.Name == realSlurmNode {
			target = n.Xname
		}
	}
	require.Contains(t, c.computes, target, "%s is a compute node", realSlurmNode)
	nextID := ims.ImageID(ims.ImageComputeNext)

	// munged, slurmctld (the program's settings in its environment) and slurmd.
	r.startMunge()
	r.writeConfig(program)
	r.env = append(os.Environ(), "SLURM_CONF="+r.conf,
		"BOS_URL="+c.st.URLs.BOS, "BOS_HSM_URL="+c.st.URLs.HSM, "BOS_URLS_FILE=", "BOS_TENANT=", "BOS_TOKEN_FILE=",
		"BOS_SLURM_REBOOT_LOG="+r.path("slurm-reboot.log"), "BOS_SLURM_REBOOT_TIMEOUT=20s")
	r.start("slurmctld", bins["slurmctld"], "-D")
	version := func(bin string) string {
		out, _ := exec.CommandContext(ctx, bin, "-V").CombinedOutput()
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	t.Logf("%s (slurmctld), %s", version(bins["slurmctld"]), version(bins["munged"]))
	slurmd := r.start("slurmd", bins["slurmd"], "-D", "-N", realSlurmNode)
	r.waitNode("slurmd registered: node IDLE", 30*time.Second, func(state, _ string) bool { return state == "IDLE" })

	// The rolling reboot of nid000001.
	r.scontrol("reboot", "ASAP", "nextstate=resume", "reason=Rolling Reboot", realSlurmNode)
	r.waitFor("slurm-reboot ran and exited 0", 20*time.Second, func() bool {
		return strings.Contains(r.read("slurm-reboot.log"), "slurm-reboot: exit status 0")
	})
	issued := time.Now() // slurmctld set the node's boot request time before running the program
	log := r.read("slurm-reboot.log")
	assert.Contains(t, log, `argv="slurm-reboot `+realSlurmNode+`"`, "argv[0] the link's base name, argv[1] the node list")
	assert.Contains(t, log, "list="+realSlurmNode)
	assert.Contains(t, log, "succeeded=1 failed=0 ignored=0")
	assert.Contains(t, r.read("slurmctld.log"), "Issuing reboot request for nodes "+realSlurmNode)
	assert.NotContains(t, r.read("slurmctld.log"), "RebootProgram exit status")

	// BOS applied the stage of nid000001 only, and the virtual node booted the staged image.
	comp := c.components()[target]
	assert.Empty(t, comp.StagedState.Session, "applystaged consumed the stage (clear_stage)")
	assert.Contains(t, comp.DesiredState.BootArtifacts.Kernel, nextID, "desired state is the staged image")
	r.waitFor("the node rebooted into the staged image", 30*time.Second, func() bool {
		n := c.node(target)
		return n.Booted && n.BootCount == 2 && strings.Contains(n.Kernel, nextID)
	})
	r.waitFor("BOS saw the node booted and configured", 30*time.Second, func() bool {
		comp := c.components()[target]
		return comp.Status.Status == bos.StatusStable && !comp.Enabled && strings.Contains(comp.ActualState.BootArtifacts.Kernel, nextID)
	})
	c.requireBooted([]string{target}, stack.DefaultConfigurationName)
	comps := c.components()
	for _, id := range c.computes {
		if id != target {
			assert.Equal(t, staged, comps[id].StagedState.Session, "%s: not rebooted by Slurm, still staged", id)
			assert.Equal(t, 1, c.node(id).BootCount, "%s: not rebooted", id)
		}
	}

	// Slurm waits for a fresh boot: a slurmd restarted without a reboot (it reports the
	// host's uptime) leaves the node DOWN+REBOOT_ISSUED. The rebooted node's slurmd
	// (slurmd -b: booted now) returns it to service.
	waiting := func() int {
		return strings.Count(r.read("slurmctld.log"), "Still waiting for boot of node "+realSlurmNode)
	}
	r.stop(slurmd)
	seen := waiting()
	slurmd = r.start("slurmd", bins["slurmd"], "-D", "-N", realSlurmNode)
	r.waitFor("slurmctld ignored the registration of a slurmd that did not reboot", 20*time.Second, func() bool {
		return waiting() > seen
	})
	state, reason := r.node()
	assert.Equal(t, "DOWN+DRAIN+REBOOT_ISSUED", state)
	assert.Equal(t, "Rolling Reboot : reboot issued", reason)
	r.stop(slurmd)
	// Slurm counts in whole seconds: slurmctld takes the node's boot time as now minus
	// the uptime slurmd reports, and a boot less than a second after the request can be
	// rounded to before it ("Still waiting for boot" forever). A real reboot takes
	// minutes; here the fresh slurmd starts two seconds after the request at least.
	time.Sleep(time.Until(issued.Add(2 * time.Second)))
	r.start("slurmd", bins["slurmd"], "-D", "-b", "-N", realSlurmNode)
	r.waitNode("back in service after slurmd -b", 30*time.Second, func(state, reason string) bool {
		return state == "IDLE" && reason == ""
	})
	assert.Contains(t, r.read("slurmctld.log"), "node "+realSlurmNode+" returned to service")

	// Nothing staged any more: BOS ignores the node, the program exits 1 and says why.
	before := len(r.read("slurm-reboot.log"))
	r.scontrol("reboot", realSlurmNode)
	r.waitFor("slurmctld logged the exit status", 20*time.Second, func() bool {
		return strings.Contains(r.read("slurmctld.log"), "error: RebootProgram exit status of 1")
	})
	log = r.read("slurm-reboot.log")[before:]
	assert.Contains(t, log, "slurm-reboot: exit status 1")
	assert.Contains(t, log, "ignored: "+target)
	assert.Equal(t, 2, c.node(target).BootCount, "nothing was applied, nothing rebooted")
	state, _ = r.node()
	assert.Equal(t, "DOWN+REBOOT_ISSUED", state, "Slurm only logs the exit status: the node waits for ResumeTimeout")
}

// newRealSlurm finds the binaries (or skips), makes the test's directory and bounds the
// test by timeout; it finds or builds bos and returns the link that makes it slurm-reboot.
func newRealSlurm(t *testing.T, timeout time.Duration) (*realSlurm, string) {
	t.Helper()
	if testing.Short() { // CI's race stage: the plain run has run it
		t.Skip("-short: real slurmctld, slurmd and munged in real time")
	}
	bins := realSlurmBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	dir := t.TempDir() // before the daemons, so it is removed after every process stopped
	r := &realSlurm{t: t, ctx: ctx, dir: dir, bins: bins}
	t.Cleanup(r.dumpOnFailure)
	return r, buildRebootProgram(t, ctx, dir)
}

// buildRebootProgram links the bos binary (BOS_TEST_BIN's, or one built into dir) under
// the name that makes it `bos slurm-reboot` in dir, and returns the link.
func buildRebootProgram(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	bosBin := bosbin.Path(ctx, t, dir)
	program := filepath.Join(dir, "slurm-reboot")
	require.NoError(t, os.Symlink(bosBin, program))
	return program
}

// TestRealSlurmctldRollout is one small rollout against a real slurmctld, BOS driving
// it through scontrol and squeue (server.Services.Scontrol): of three staged compute
// nodes, the one Slurm knows (nid000001) is handed over with `scontrol reboot ASAP`,
// slurmctld runs `bos slurm-reboot`, the node boots the staged image, its slurmd
// registers a fresh boot (slurmd -b) and the rollout completes with it healthy; the two
// nodes Slurm does not know are cancelled, their stage cleared. Same needs as
// TestRealSlurmctldRebootProgram.
func TestRealSlurmctldRollout(t *testing.T) {
	r, program := newRealSlurm(t, 120*time.Second)
	bins := r.bins
	t.Setenv("SLURM_CONF", r.path("slurm.conf")) // BOS's scontrol and squeue read it

	c := startCluster(t, storetest.Mini, clusterOptions{nodes: 3, hostNetwork: true,
		options: map[string]any{"polling_frequency": 1, "clear_stage": true},
		tweak: func(o *stack.Options) {
			o.Scontrol, o.RolloutPoll = bins["scontrol"], 250*time.Millisecond
		}})
	next, err := c.st.ImagePath(ims.ImageComputeNext)
	require.NoError(t, err)
	_, err = c.st.BOSClient.PutTemplate(c.ctx(), rollingTemplate, stack.DefaultTemplate(next, stack.DefaultConfigurationName))
	require.NoError(t, err)
	c.waitComplete(c.session(bos.OpBoot, "", "", false), 30*time.Second)

	r.startMunge()
	r.writeConfig(program)
	r.env = append(os.Environ(), "SLURM_CONF="+r.conf,
		"BOS_URL="+c.st.URLs.BOS, "BOS_HSM_URL="+c.st.URLs.HSM, "BOS_URLS_FILE=", "BOS_TENANT=", "BOS_TOKEN_FILE=",
		"BOS_SLURM_REBOOT_LOG="+r.path("slurm-reboot.log"), "BOS_SLURM_REBOOT_TIMEOUT=20s")
	r.start("slurmctld", bins["slurmctld"], "-D")
	slurmd := r.start("slurmd", bins["slurmd"], "-D", "-N", realSlurmNode)
	r.waitNode("slurmd registered: node IDLE", 30*time.Second, func(state, _ string) bool { return state == "IDLE" })

	ro, err := c.st.BOSClient.CreateRollout(c.ctx(), bos.RolloutCreate{Name: "real", TemplateName: rollingTemplate,
		Policy: bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: 1}, NodeTimeoutSeconds: 90, SteerJobs: new(true)}})
	require.NoError(t, err)
	describe := func() string {
		got, err := c.st.BOSClient.GetRollout(c.ctx(), ro.Name)
		return fmt.Sprintf("rollout %s (%s) %+v, err %v", got.State, got.Reason, got.Counts, err)
	}
	r.waitFor("the rollout handed nid000001 over and slurm-reboot exited 0", 40*time.Second, func() bool {
		return strings.Contains(r.read("slurm-reboot.log"), "slurm-reboot: exit status 0")
	}, describe)
	issued := time.Now()
	assert.Contains(t, r.read("slurmctld.log"), "Issuing reboot request for nodes "+realSlurmNode)

	// The rebooted node's slurmd registers a fresh boot (whole seconds: see above).
	r.stop(slurmd)
	time.Sleep(time.Until(issued.Add(2 * time.Second)))
	r.start("slurmd", bins["slurmd"], "-D", "-b", "-N", realSlurmNode)
	var got bos.Rollout
	r.waitFor("the rollout complete", 40*time.Second, func() bool {
		got, err = c.st.BOSClient.GetRollout(c.ctx(), ro.Name)
		return err == nil && got.Final()
	}, describe)
	require.Equal(t, bos.RolloutComplete, got.State, got.Reason)
	assert.Equal(t, bos.RolloutCounts{Total: 3, Healthy: 1, Cancelled: 2}, got.Counts)
	nextID := ims.ImageID(ims.ImageComputeNext)
	comps := c.components()
	for _, n := range got.Nodes {
		if n.Name == realSlurmNode {
			assert.Equal(t, bos.NodeHealthy, n.Phase)
			assert.Contains(t, comps[n.Xname].ActualState.BootArtifacts.Kernel, nextID, "booted the staged image")
			continue
		}
		assert.Equal(t, bos.NodeCancelled, n.Phase, n.Xname)
		assert.Empty(t, comps[n.Xname].StagedState.Session, "%s: stage cleared", n.Xname)
		assert.Equal(t, 1, c.node(n.Xname).BootCount, "%s: not rebooted", n.Xname)
	}
	state, _ := r.node()
	assert.Equal(t, "IDLE", state, "back in service")
	// Steering raised the node's weight (scontrol update weight=; a refused update would
	// have stopped the rollout at its outbox) and the hand-over put it back.
	assert.Contains(t, r.scontrol("-o", "show", "node", realSlurmNode), " Weight=1 ")
}

// realSlurmNode is the one Slurm node (nid000001 is the first compute node's name).
const realSlurmNode = "nid000001"

// realSlurmBinaries finds the daemons and scontrol, or skips the test.
func realSlurmBinaries(t *testing.T) map[string]string {
	t.Helper()
	bins := map[string]string{}
	for _, name := range []string{"slurmctld", "slurmd", "scontrol", "munged"} {
		path, err := exec.LookPath(name)
		if err != nil { // root's daemons may live outside a user's PATH
			path, err = exec.LookPath(filepath.Join(string(filepath.Separator)+"usr", "sbin", name))
		}
		if err != nil {
			t.Skip("slurmctld not installed: apt-get install -y slurm-wlm munge")
		}
		bins[name] = path
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: slurmd and slurmctld run as SlurmUser=root")
	}
	return bins
}

// realSlurm runs munged, slurmctld and slurmd for one test, every file in dir.
type realSlurm struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	bins map[string]string
	conf string   // slurm.conf
	env  []string // the daemons' and scontrol's environment
}

func (r *realSlurm) path(name string) string { return filepath.Join(r.dir, name) }

// read returns a file of dir ("" if missing).
func (r *realSlurm) read(name string) string {
	raw, _ := os.ReadFile(r.path(name))
	return string(raw)
}

// startMunge writes a key and starts munged on its own socket.
func (r *realSlurm) startMunge() {
	key := make([]byte, 1024)
	_, _ = rand.Read(key)
	require.NoError(r.t, os.WriteFile(r.path("munge.key"), key, 0o600))
	sock := r.path("munge.sock")
	r.env = os.Environ()
	// -F: foreground. -f: run although the socket's directory is not open to every user
	// (the temporary directory is 0700; only root talks to this munged).
	r.start("munged", r.bins["munged"], "-F", "-f", "--socket="+sock, "--key-file="+r.path("munge.key"),
		"--pid-file="+r.path("munged.pid"), "--log-file="+r.path("munged.log"), "--seed-file="+r.path("munged.seed"))
	r.waitFor("munged socket", 10*time.Second, func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})
}

// writeConfig writes slurm.conf: one node on this host, reboots run from the controller.
func (r *realSlurm) writeConfig(program string) {
	r.conf = r.path("slurm.conf")
	for _, d := range []string{"state", "spool"} {
		require.NoError(r.t, os.Mkdir(r.path(d), 0o700))
	}
	ports := freePorts(r.t, 2)
	conf := fmt.Sprintf(`ClusterName=bostest
SlurmctldHost=localhost
SlurmctldPort=%d
SlurmdPort=%d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=%s
StateSaveLocation=%s
SlurmdSpoolDir=%s
SlurmctldPidFile=%s
SlurmdPidFile=%s
SlurmctldLogFile=%s
SlurmdLogFile=%s
SlurmctldDebug=debug
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SlurmctldParameters=reboot_from_controller
RebootProgram=%s
ResumeTimeout=600
ReturnToService=1
NodeName=%s NodeHostname=localhost CPUs=1 RealMemory=100 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`, ports[0], ports[1], r.path("munge.sock"), r.path("state"), r.path("spool"),
		r.path("slurmctld.pid"), r.path("slurmd.pid"), r.path("slurmctld.log"), r.path("slurmd.log"), program, realSlurmNode)
	require.NoError(r.t, os.WriteFile(r.conf, []byte(conf), 0o644))
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close() // held until all are chosen, so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// daemon is a process started in its own process group.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// start runs a daemon with r.env, output to <name>.out; it is stopped at the end.
func (r *realSlurm) start(name, path string, args ...string) *daemon {
	r.t.Helper()
	out, err := os.OpenFile(r.path(name+".out"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(r.t, err)
	defer out.Close()
	cmd := exec.CommandContext(r.ctx, path, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, r.env, out, out
	// Own process group, so stopping takes its children; killed if the test dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	require.NoError(r.t, cmd.Start(), name)
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	r.t.Cleanup(func() { r.stop(d) })
	return d
}

// stop sends SIGTERM to the daemon's process group, then SIGKILL after 5 s, and waits.
func (r *realSlurm) stop(d *daemon) {
	d.once.Do(func() {
		pgid := d.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-d.done:
			case <-time.After(5 * time.Second):
				r.t.Errorf("%s (pid %d) did not stop", d.name, pgid)
			}
		}
		// Anything left of the group goes too (slurmctld may exit before reaping its
		// slurmscriptd).
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

// scontrol runs scontrol against this cluster and fails the test on an error.
func (r *realSlurm) scontrol(args ...string) string {
	r.t.Helper()
	out, err := r.scontrolErr(args...)
	require.NoError(r.t, err, "scontrol %s: %s", strings.Join(args, " "), out)
	return out
}

func (r *realSlurm) scontrolErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bins["scontrol"], args...)
	cmd.Env = r.env
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var nodeStateRE = regexp.MustCompile(`(?:^|\s)State=(\S+)`)

// node returns nid000001's state and reason (without its [user@time] suffix) as
// `scontrol -o show node` prints them; "" when slurmctld does not answer.
func (r *realSlurm) node() (state, reason string) {
	out, err := r.scontrolErr("-o", "show", "node", realSlurmNode)
	if err != nil {
		return "", ""
	}
	if m := nodeStateRE.FindStringSubmatch(out); m != nil {
		state = m[1]
	}
	if _, after, ok := strings.Cut(strings.TrimSpace(out), " Reason="); ok {
		reason, _, _ = strings.Cut(after, " [")
	}
	return state, reason
}

// waitNode polls the node's state until cond holds.
func (r *realSlurm) waitNode(what string, timeout time.Duration, cond func(state, reason string) bool) {
	r.t.Helper()
	var state, reason string
	r.waitFor(what, timeout, func() bool {
		state, reason = r.node()
		return cond(state, reason)
	}, func() string { return fmt.Sprintf("last State=%s Reason=%q", state, reason) })
}

// waitFor polls cond every 100 ms until it holds, failing after timeout or the test's
// deadline.
func (r *realSlurm) waitFor(what string, timeout time.Duration, cond func() bool, detail ...func() string) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			msg := fmt.Sprintf("%s: not within %s", what, timeout)
			if errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
				msg += " (the test's overall deadline passed)"
			}
			for _, d := range detail {
				msg += "; " + d()
			}
			r.t.Fatal(msg)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

// dumpOnFailure logs the end of every log of the run.
func (r *realSlurm) dumpOnFailure() {
	if !r.t.Failed() {
		return
	}
	for _, name := range []string{"slurm-reboot.log", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out", "munged.out"} {
		text := r.read(name)
		if len(text) > 4000 {
			text = "..." + text[len(text)-4000:]
		}
		r.t.Logf("--- %s:\n%s", name, text)
	}
}
