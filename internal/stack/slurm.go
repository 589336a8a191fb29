package stack

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmreboot"
	"github.com/cray-bos/bos/slurmsim"
)

// Slurm wiring. What startSlurm fills in when Options.Slurm leaves it zero:
//
//   - Nodes: the topology's compute nodes (slurmsim.NodesFromTopology), named nid%06d and
//     keyed by xname, so the simulator's hooks find them.
//   - InitialState: UNKNOWN when the virtual nodes run here and start powered off (each
//     node joins Slurm when it first boots, as on a cold cluster); IDLE otherwise (nodes
//     that start On, or BMCs elsewhere whose boots this process never sees).
//   - ResumeTimeout: longer than a simulated reboot (see resumeTimeout); Slurm's 60 s
//     default would mark every node DOWN "reboot timed out" at realistic delays.
//   - RebootProgram: SlurmRebootProgram run as slurmctld runs it (slurmsim.ExecProgram,
//     with BOS_URL and BOS_HSM_URL in its environment), else the in-process
//     slurmreboot.Program, the code `bos slurm-reboot` runs. Without a BOS URL there is no
//     program, and `scontrol reboot` answers "RebootProgram isn't defined", as Slurm does.
//   - Logger: Options.Logger.
//
// The simulator's OnBooted (a booted node's slurmd registers) and OnPowerChange (power off
// stops slurmd) hooks are chained after any the caller set in Options.Sim.

// startSlurm builds the controller, serves its API on ln and ticks it until runCtx ends;
// running RebootProgram calls are cancelled then.
func (s *Stack) startSlurm(runCtx context.Context, o Options, ln net.Listener) error {
	cfg := o.Slurm
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = slurmsim.NodesFromTopology(o.Topology)
	}
	if cfg.InitialState == "" {
		cfg.InitialState = "IDLE"
		if o.runs(BMCs) && !strings.EqualFold(o.Sim.InitialPower, "On") {
			cfg.InitialState = "UNKNOWN"
		}
	}
	if cfg.ResumeTimeout == 0 {
		cfg.ResumeTimeout = resumeTimeout(o.Sim.Timing)
	}
	if cfg.Logger == nil {
		cfg.Logger = o.Logger
	}
	if cfg.RebootProgram == nil {
		prog, err := s.rebootProgram(o)
		if err != nil {
			return err
		}
		cfg.RebootProgram = prog
	}
	srv, err := slurmsim.New(cfg)
	if err != nil {
		return fmt.Errorf("stack: slurm: %w", err)
	}
	s.Slurm = srv
	// Cancel RebootProgram calls when the stack stops, so Run's wait for them is short.
	context.AfterFunc(runCtx, func() { _ = srv.Close() })
	s.serve(ln, s.SimMetrics.Middleware(Slurm, srv.Handler()))
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = srv.Run(runCtx) }()
	return nil
}

// rebootProgram is the RebootProgram Options ask for (nil: none can be made).
func (s *Stack) rebootProgram(o Options) (slurmsim.RebootProgram, error) {
	if s.URLs.BOS == "" {
		return nil, nil
	}
	if o.SlurmRebootProgram != "" {
		return slurmsim.ExecProgram{Path: o.SlurmRebootProgram, Env: []string{
			"BOS_URL=" + s.URLs.BOS, "BOS_HSM_URL=" + s.URLs.HSM,
		}}, nil
	}
	prog, err := slurmreboot.New(slurmreboot.Config{BOSURL: s.URLs.BOS, HSMURL: s.URLs.HSM, HTTPClient: s.HTTPClient(), Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("stack: slurm reboot program: %w", err)
	}
	return prog, nil
}

// resumeTimeout is twice the longest simulated reboot (graceful shutdown, power off and
// on, POST, boot, each at its jitter's top) plus a minute for BOS's own pacing, and at
// least Slurm's default.
func resumeTimeout(t *simulator.Timing) time.Duration {
	timing := simulator.DefaultTiming()
	if t != nil {
		timing = *t
	}
	reboot := float64(timing.GracefulShutdown+timing.PowerOff+timing.PowerOn+timing.POST+timing.Boot) *
		timing.Scale * (1 + timing.Jitter)
	return max(slurmsim.DefaultResumeTimeout, 2*time.Duration(reboot)+time.Minute)
}

// slurmHooks chains the Slurm controller's node hooks after the caller's (either may be
// nil). Without Slurm here, the caller's come back unchanged.
func (s *Stack) slurmHooks(booted func(string, time.Time), power func(string, string)) (func(string, time.Time), func(string, string)) {
	if s.Slurm == nil {
		return booted, power
	}
	srv := s.Slurm
	return func(xname string, at time.Time) {
			if booted != nil {
				booted(xname, at)
			}
			srv.OnBooted(xname, at)
		}, func(xname, state string) {
			if power != nil {
				power(xname, state)
			}
			srv.OnPowerChange(xname, state)
		}
}
