package slurmsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RebootProgram is slurm.conf's RebootProgram as run with
// SlurmctldParameters=reboot_from_controller: one call per batch of nodes whose reboot
// the controller issued in the same pass, with the fully expanded node names. The
// controller only logs the outcome; node states never depend on it.
type RebootProgram interface {
	Reboot(ctx context.Context, nodes []string) error
}

// ProgramFunc adapts a Go function for in-process use (tests, the all-in-one stack).
type ProgramFunc func(ctx context.Context, nodes []string) error

// Reboot calls f.
func (f ProgramFunc) Reboot(ctx context.Context, nodes []string) error { return f(ctx, nodes) }

// ExecProgram runs an executable the way slurmctld 22.05 does (agent.c
// _reboot_from_ctld): argv[0] is the path's base name, argv[1] the comma-separated node
// names (nid000001,nid000002: never ranged), no shell, stdin/stdout/stderr not connected
// (slurmctld closes them; here they are /dev/null), in a new process group, with the
// controller's environment and working directory. The call waits for the program without
// a time limit of its own; cancelling ctx (Server.Close) kills it.
type ExecProgram struct {
	Path string
	// Env is added to the controller's environment for the program (what slurmctld's own
	// environment, e.g. its systemd unit's Environment=, would carry).
	Env []string
}

// Reboot runs the program once for nodes. A non-zero exit becomes an error reading
// "RebootProgram exit status of N", the line slurmctld logs.
func (p ExecProgram) Reboot(ctx context.Context, nodes []string) error {
	if p.Path == "" {
		return errors.New("RebootProgram isn't defined")
	}
	cmd := exec.CommandContext(ctx, p.Path, strings.Join(nodes, ","))
	cmd.Args[0] = filepath.Base(p.Path)
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	setProcessGroup(cmd)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return fmt.Errorf("RebootProgram exit status of %d", exit.ExitCode())
	case errors.As(err, &exit):
		return fmt.Errorf("RebootProgram terminated: %s", exit.ProcessState)
	default:
		return fmt.Errorf("RebootProgram: %w", err)
	}
}
