//go:build unix

package slurmsim

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the program in its own process group, as slurmctld's setpgid(0, 0).
func setProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
