//go:build !unix

package slurmsim

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
