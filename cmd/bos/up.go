package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with --pprof-listen
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
)

func newUpCommand() *cobra.Command {
	var f simFlags
	var sf slurmFlags
	var (
		boot, stay     bool
		operation      string
		redisURL       string
		tenants        string
		timeout        time.Duration
		redfishTimeout time.Duration
		pprofListen    string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run BOS and the whole simulated data centre in one process, and boot it",
		Long: `up starts every simulator of a cluster and BOS (API and reconciler) in this process,
on an embedded Redis unless --redis-url names one. It seeds a CFS configuration
"` + stack.DefaultConfigurationName + `" and a session template "` + stack.DefaultTemplateName + `" that boots every compute node
on the seeded compute image.

With --boot it then creates a session on that template, shows its progress by phase, and
prints the session's status when it completes; it exits then unless --stay is given.
Without --boot it serves until Ctrl-C.`,
		Example: `  bos up --nodes 1000 --boot
  bos up --nodes 10000 --boot --delay-scale 0
  bos up --nodes 200 --boot --fault reset-503=0.02 --fault no-report=0.01
  bos up --nodes 100 --urls-file urls.json   # then: curl $(jq -r .bos urls.json)/v2/components`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if operation != bos.OpBoot && operation != bos.OpReboot && operation != bos.OpShutdown {
				return fmt.Errorf("--operation must be boot, reboot or shutdown, not %q", operation)
			}
			opts, err := f.stackOptions()
			if err != nil {
				return err
			}
			opts.RedisURL, opts.TenantsFile, opts.Reconcile, opts.RedfishTimeout = redisURL, tenants, true, redfishTimeout
			if err := sf.apply(&opts); err != nil {
				return err
			}
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if f.verbose {
				opts.Logger = slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			ctx := cmd.Context()
			if pprofListen != "" {
				go func() { _ = http.ListenAndServe(pprofListen, nil) }() //nolint:gosec // a developer's debugging aid
			}
			started := time.Now()
			st, err := stack.Start(ctx, opts)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Seed(ctx); err != nil {
				return err
			}
			if err := writeURLs(f.urlsFile, st.URLs); err != nil {
				return err
			}
			fmt.Fprintf(errw, "stack up in %s: %d nodes behind %d BMCs, BOS at %s\n",
				time.Since(started).Round(time.Millisecond), len(st.Topology.Nodes), len(st.URLs.BMCs), st.URLs.BOS)
			if err := sf.started(ctx, st, errw); err != nil {
				return err
			}
			if !boot {
				printURLs(cmd, st, append(stack.Simulators, stack.BOS))
				<-ctx.Done()
				return nil
			}
			status, err := runSession(ctx, st.BOSClient, operation, timeout, errw)
			if err != nil {
				return err
			}
			raw, _ := json.MarshalIndent(status, "", "  ")
			fmt.Fprintln(out, string(raw))
			if stay {
				fmt.Fprintln(errw, "still serving; Ctrl-C to stop")
				<-ctx.Done()
			}
			if status.PercentFailed > 0 {
				return fmt.Errorf("%.2f%% of the nodes failed (see error_summary)", status.PercentFailed)
			}
			return nil
		},
	}
	f.register(cmd.Flags(), 0.05)
	sf.register(cmd.Flags())
	fl := cmd.Flags()
	fl.BoolVar(&boot, "boot", false, "create a session on the default template and follow it to completion")
	fl.StringVar(&operation, "operation", bos.OpBoot, "operation of that session: boot, reboot or shutdown")
	fl.BoolVar(&stay, "stay", false, "keep serving after the session completes")
	fl.StringVar(&redisURL, "redis-url", "", "redis://host:port/db for BOS's state (default: an embedded Redis in this process)")
	fl.StringVar(&tenants, "tenants", "", "YAML or JSON file of tenants and their nodes (the TAPMS stand-in)")
	fl.DurationVar(&timeout, "timeout", time.Hour, "give up following the session after this long")
	fl.DurationVar(&redfishTimeout, "redfish-timeout", 10*time.Second, "how long BOS waits for one BMC request")
	fl.StringVar(&pprofListen, "pprof-listen", "", "serve Go's /debug/pprof on this address (for profiling)")
	_ = fl.MarkHidden("pprof-listen")
	return cmd
}

// runSession creates a session on the default template and reports its progress until it
// completes.
func runSession(ctx context.Context, c *api.Client, operation string, timeout time.Duration, w io.Writer) (bos.SessionExtendedStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess, err := c.CreateSession(ctx, bos.SessionCreate{Operation: operation, TemplateName: stack.DefaultTemplateName})
	if err != nil {
		return bos.SessionExtendedStatus{}, fmt.Errorf("create session: %w", err)
	}
	fmt.Fprintf(w, "session %s: %s of template %s\n", sess.Name, operation, stack.DefaultTemplateName)
	start := time.Now()
	p := newProgress(w)
	for {
		status, err := c.SessionStatus(ctx, sess.Name)
		if err == nil {
			p.show(time.Since(start), status)
			if status.Status == bos.SessionComplete {
				p.done()
				s, _ := c.GetSession(ctx, sess.Name)
				if s.Status.Error != nil && *s.Status.Error != "" {
					return status, fmt.Errorf("session %s failed: %s", sess.Name, *s.Status.Error)
				}
				return status, nil
			}
		}
		select {
		case <-ctx.Done():
			return status, fmt.Errorf("following session %s: %w", sess.Name, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// progress prints a live line of the session's phases: rewritten in place on a terminal,
// a new line every few seconds otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	last     time.Time
	lastLine string
}

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty}
}

func (p *progress) show(elapsed time.Duration, s bos.SessionExtendedStatus) {
	done := s.PercentSuccessful + s.PercentFailed
	const width = 30
	filled := int(done / 100 * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	line := fmt.Sprintf("%7s %s %5.1f%%  %d nodes: powering off %.0f%% · powering on %.0f%% · configuring %.0f%% · done %.0f%% · failed %.0f%%",
		elapsed.Round(100*time.Millisecond), bar, done, s.ManagedComponentsCount,
		s.Phases.PercentPoweringOff, s.Phases.PercentPoweringOn, s.Phases.PercentConfiguring, s.PercentSuccessful, s.PercentFailed)
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	case time.Since(p.last) >= 2*time.Second && line != p.lastLine, s.Status == bos.SessionComplete:
		fmt.Fprintln(p.w, line)
		p.last, p.lastLine = time.Now(), line
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
