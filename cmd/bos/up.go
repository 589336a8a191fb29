package main

import (
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/webui"
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
		power          string
		pprofListen    string
		optionFlags    []string
		urlsFrom       string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run BOS and the whole simulated data centre in one process, and boot it",
		Long: `up starts every simulator of a cluster and BOS (API and reconciler) in this process,
on an embedded Redis unless --redis-url names one. It seeds a CFS configuration
"` + stack.DefaultConfigurationName + `" and a session template "` + stack.DefaultTemplateName + `" that boots every compute node
on the seeded compute image.

It is ready once warm: HSM has discovered every BMC and BOS has subscribed to their
power events (it prints how long that took). With --urls-from it runs only BOS, on the
simulators a URLs file names (bos sim shards, merged by "bos urls merge").

With --boot it then creates a session on that template, shows its progress by phase, and
prints the session's status when it completes; it exits then unless --stay is given.
When nodes failed it also prints them grouped by cause and the command that retries them;
when --timeout expires first, where the nodes are. Without --boot it serves until Ctrl-C.

` + optionsRule + `

Exit status: 0 every node booted (or, without --boot, stopped by Ctrl-C); 1 an error
(bad flags, a service failed, the session could not run); 3 the session completed with
failed nodes; 4 --timeout expired before it completed; 130 interrupted (Ctrl-C).`,
		Example: `  bos up --nodes 1000 --boot
  bos up --nodes 10000 --boot --delay-scale 0
  bos up --nodes 200 --boot --fault reset-503=0.02 --fault no-report=0.01
  bos up --nodes 100 --urls-file urls.json   # then: curl $(jq -r .bos urls.json)/v2/components`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			defer func() {
				if err != nil && cmd.Context().Err() != nil {
					err = errInterrupted // whatever failed, Ctrl-C caused it
				}
			}()
			if operation != bos.OpBoot && operation != bos.OpReboot && operation != bos.OpShutdown {
				return fmt.Errorf("--operation must be boot, reboot or shutdown, not %q", operation)
			}
			opts, err := f.stackOptions()
			if err != nil {
				return err
			}
			overrides, err := parseOptionFlags(optionFlags)
			if err != nil {
				return err
			}
			opts.RedisURL, opts.TenantsFile, opts.Reconcile, opts.RedfishTimeout = redisURL, tenants, true, redfishTimeout
			if opts.Power, err = powerFlag(power); err != nil {
				return err
			}
			if err := sf.apply(&opts); err != nil {
				return err
			}
			if urlsFrom != "" {
				if err := runOnly(&opts, urlsFrom); err != nil {
					return err
				}
			}
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if f.verbose {
				opts.LogLevel = new(slog.LevelVar) // INFO until the logging_level option says otherwise
				opts.Logger = newLogger(errw, f.logFormat, opts.LogLevel)
			}
			ctx := cmd.Context()
			servePprof(pprofListen)
			started := time.Now()
			st, err := stack.Start(ctx, opts)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := f.writeCA(st); err != nil {
				return err
			}
			if err := st.Seed(ctx); err != nil {
				return err
			}
			options := simulatedOptions(*opts.Sim.Timing, len(st.Topology.Nodes))
			maps.Copy(options, overrides)
			if _, err := st.BOSClient.PatchOptions(ctx, options); err != nil {
				return fmt.Errorf("setting BOS's options: %w", err)
			}
			fmt.Fprintf(errw, "stack up in %s: %d nodes behind %d BMCs, BOS at %s\nBOS options: %s\n",
				time.Since(started).Round(time.Millisecond), len(st.Topology.Nodes), len(st.URLs.BMCs), st.URLs.BOS, describeOptions(options))
			// Ready only once warm: a boot must not pay for discovery and subscriptions.
			warmStart := time.Now()
			warm, err := st.WaitWarm(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(errw, "warm in %s: %s\n", time.Since(warmStart).Round(time.Millisecond), describeWarm(warm))
			fmt.Fprintf(errw, "web view: %s\n", st.URLs.BOS+webui.Path)
			if err := sf.started(ctx, st, errw); err != nil {
				return err
			}
			if !boot {
				if err := writeURLs(f.urlsFile, st.URLs); err != nil {
					return err
				}
				printURLs(cmd, st, append(stack.Simulators, stack.BOS, stack.PCS))
				<-ctx.Done()
				return nil
			}
			sess, err := st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: operation, TemplateName: stack.DefaultTemplateName})
			if err != nil {
				return fmt.Errorf("create session: %w", err)
			}
			fmt.Fprintf(errw, "session %s: %s of template %s\n", sess.Name, operation, stack.DefaultTemplateName)
			err = follow(ctx, v2View{c: st.BOSClient, name: sess.Name}, followConfig{
				name: sess.Name, timeout: timeout, interval: 250 * time.Millisecond,
				out: out, err: errw, format: "json", progress: newProgress(errw),
			})
			if ctx.Err() == nil {
				// Written once the boot is over, so a script that waits for the file (or a
				// person who types the next command) finds the cluster booted.
				if werr := writeURLs(f.urlsFile, st.URLs); werr != nil && err == nil {
					err = werr
				}
			}
			if stay && ctx.Err() == nil {
				fmt.Fprintln(errw, "still serving; Ctrl-C to stop")
				<-ctx.Done()
			}
			return err
		},
	}
	f.register(cmd.Flags(), 0.05)
	cmd.Flags().Lookup("urls-file").Usage = `write {"bos": URL, "hsm": URL, ..., "bmcs": {...}} to this file once everything listens and is seeded; with --boot, once that session has completed`
	sf.register(cmd.Flags())
	fl := cmd.Flags()
	fl.BoolVar(&boot, "boot", false, "create a session on the default template and follow it to completion")
	fl.StringVar(&operation, "operation", bos.OpBoot, "operation of that session: boot, reboot or shutdown")
	fl.BoolVar(&stay, "stay", false, "keep serving after the session completes")
	fl.StringVar(&redisURL, "redis-url", "", "redis://host:port/db for BOS's state (default: an embedded Redis in this process)")
	fl.StringVar(&tenants, "tenants", "", "YAML or JSON file of tenants and their nodes (the TAPMS stand-in)")
	fl.DurationVar(&timeout, "timeout", time.Hour, "give up following the session after this long")
	fl.DurationVar(&redfishTimeout, "redfish-timeout", 10*time.Second, "how long BOS waits for one BMC request")
	fl.StringVar(&power, "power", stack.PowerRedfish, "how BOS powers nodes: redfish (straight to the BMCs) or pcs (through a simulated PCS, as BOS 2.50 does)")
	fl.StringArrayVar(&optionFlags, "option", nil, "set a BOS option after the scaling, KEY=VALUE (e.g. max_boot_wait_time=60); repeatable")
	fl.StringVar(&urlsFrom, "urls-from", "", "run only BOS, at the bos URL of this URLs file, on the simulators it names (bos urls merge of bos sim shards); give the cluster's flags (--nodes ..., --delay-scale) as they were given to them")
	registerPprof(fl, &pprofListen)
	return cmd
}

// runOnly makes opts run BOS alone on the simulators the URLs file at path names,
// listening at its bos URL, where their nodes report.
func runOnly(opts *stack.Options, path string) error {
	from, err := stack.LoadURLs(path)
	if err != nil {
		return err
	}
	u, err := url.Parse(from.BOS)
	if from.BOS == "" || err != nil || u.Host == "" {
		return fmt.Errorf("--urls-from %s: no bos URL (bos sim --bos-url): BOS must listen where the nodes report", path)
	}
	if err := stack.CheckReachable(from); err != nil {
		return fmt.Errorf("--urls-from %s: %w", path, err)
	}
	opts.Services, opts.BOSAddr = []string{stack.BOS}, u.Host
	from.BOS = ""
	opts.External = from
	return nil
}

// describeWarm says what the warm-up waited for.
func describeWarm(w stack.Warm) string {
	events := "BOS reads power with GETs (no event subscriptions)"
	if w.Subscribed >= 0 {
		events = fmt.Sprintf("BOS takes power events from %d BMCs", w.Subscribed)
	}
	return fmt.Sprintf("HSM discovered %d of %d BMCs, %s", w.Discovered, w.BMCs, events)
}
