package slurmsim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/testwait"
)

// writeScript puts an executable shell script in dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
	return path
}

// TestMain doubles as a RebootProgram: with SLURMSIM_HELPER_OUT set, the test binary
// writes its argv there and exits (a shell script cannot see its own argv[0]).
func TestMain(m *testing.M) {
	if out := os.Getenv("SLURMSIM_HELPER_OUT"); out != "" {
		_ = os.WriteFile(out, []byte(strings.Join(os.Args, "\n")), 0o644)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestExecProgramArgv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "argv")
	t.Setenv("SLURMSIM_HELPER_OUT", out) // inherited: slurmctld passes its environment
	self, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, ExecProgram{Path: self}.Reboot(context.Background(), []string{"nid000001", "nid000002"}))
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Base(self), "nid000001,nid000002"}, strings.Split(string(raw), "\n"))
}

// TestExecProgramEnv: Env reaches the program on top of the controller's environment.
func TestExecProgramEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "argv")
	self, err := os.Executable()
	require.NoError(t, err)
	prog := ExecProgram{Path: self, Env: []string{"SLURMSIM_HELPER_OUT=" + out}}
	require.NoError(t, prog.Reboot(context.Background(), []string{"nid000003"}))
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Base(self), "nid000003"}, strings.Split(string(raw), "\n"))
}

// TestExecProgram runs a real script as slurmctld would and checks what it received:
// exactly one argument holding the expanded, comma-separated node names, no stdin, its
// own process group.
func TestExecProgram(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	script := writeScript(t, dir, "slurm-reboot.sh", `
{
  echo "argc=$#"
  echo "arg1=$1"
  if read -r line; then echo "stdin=open"; else echo "stdin=empty"; fi
  if [ -r /proc/$$/stat ]; then
    if [ "$(cut -d' ' -f5 /proc/$$/stat)" = "$$" ]; then echo "pgid_is_pid=yes"; else echo "pgid_is_pid=no"; fi
  else echo "pgid_is_pid=unknown"; fi
} > "`+out+`"
`)
	e := newEnv(t, 4, func(c *Config) { c.RebootProgram = ExecProgram{Path: script} })
	e.submit(1, time.Hour) // nid000001 stays busy
	e.reboot(slurmapi.RebootRequest{Nodes: "nid00000[1-4]", ASAP: true})
	require.Equal(t, []string{"nid000002", "nid000003", "nid000004"}, e.tick(time.Second))

	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	got := string(raw)
	assert.Contains(t, got, "argc=1\n")
	assert.Contains(t, got, "arg1=nid000002,nid000003,nid000004\n")
	assert.Contains(t, got, "stdin=empty\n")
	if !strings.Contains(got, "pgid_is_pid=unknown\n") { // no /proc off Linux
		assert.Contains(t, got, "pgid_is_pid=yes\n")
	}
	assert.Zero(t, e.s.Stats().RebootProgramFailures)
}

func TestExecProgramExitStatus(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "fail.sh", "exit 3\n")
	err := ExecProgram{Path: script}.Reboot(context.Background(), []string{"nid000001"})
	require.EqualError(t, err, "RebootProgram exit status of 3")

	e := newEnv(t, 1, func(c *Config) { c.RebootProgram = ExecProgram{Path: script} })
	e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
	e.tick(time.Second)
	assert.Equal(t, 1, e.s.Stats().RebootProgramFailures)
	assert.Equal(t, "DOWN+REBOOT_ISSUED", e.state("nid000001"), "the exit status changes no state")

	err = ExecProgram{Path: filepath.Join(dir, "missing")}.Reboot(context.Background(), []string{"nid000001"})
	assert.ErrorContains(t, err, "RebootProgram:")
	assert.EqualError(t, ExecProgram{}.Reboot(context.Background(), nil), "RebootProgram isn't defined")
}

func TestExecProgramCancelledByClose(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	script := writeScript(t, dir, "hang.sh", "touch "+started+"\nexec sleep 60\n")
	e := newEnv(t, 1, func(c *Config) { c.RebootProgram = ExecProgram{Path: script} })
	e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
	require.Equal(t, []string{"nid000001"}, e.s.Tick(e.clk.Advance(time.Second))) // not waiting
	testwait.Until(t, "the program starts", func() bool { _, err := os.Stat(started); return err == nil }, nil)
	closed := make(chan error, 1)
	go func() { closed <- e.s.Close() }()
	require.NoError(t, testwait.Receive(t, closed, "Close stops the program", nil))
	assert.Equal(t, 1, e.s.Stats().RebootProgramFailures, "killed")
}
