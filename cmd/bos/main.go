// Command bos is the one binary of this project: the BOS server (`bos serve`), the
// simulators of the data centre (`bos sim`), both in one process (`bos up`), the clients
// (`bos v2 ...`, `bos v1 ...`, `bos crus ...`, `bos hsm ...`) and the Slurm tools (`bos
// slurm ...`, `bos slurm-reboot`).
//
// `bos serve` and `bos up` run the same BOS, orchestrator/server's composition: serve maps
// its flags onto server.Config (serveFlags.config) and serves it; up reaches it through
// internal/stack, which also starts the simulators and seeds them.
//
// main turns the first SIGINT or SIGTERM into the end of the commands' context
// (signalContext; a second exits at once) and maps errors to exit codes (exitStatus); run
// builds the command tree so tests can drive it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signalContext()
	defer stop()
	err := run(ctx, argsFor(os.Args), os.Stdout, os.Stderr)
	msg, code := exitStatus(err)
	if msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	if code != 0 {
		stop()
		os.Exit(code)
	}
}

// run executes the command line args, writing to stdout and stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// errSilent is returned when the command has already told the user what went wrong.
var errSilent = errors.New("silent failure")

// signalContext is cancelled by the first SIGINT or SIGTERM, so servers shut down cleanly;
// a second signal exits at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "shutting down (signal again to exit at once)")
		cancel()
		<-ch
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}
