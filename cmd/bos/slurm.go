package main

// `bos slurm scontrol|sinfo|squeue ...`: Slurm's command-line tools, the subset the
// simulator implements, against a Slurm controller simulator (bos up --slurm, bos sim
// slurm). And the --slurm flags of bos up and bos sim.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/slurmsim"
)

// Environment variables the slurm commands read.
const (
	envSlurmURL = "BOS_SLURM_URL" // the Slurm simulator's address, as --url
)

func newSlurmCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slurm scontrol|sinfo|squeue [--url URL | --urls-file FILE] ARGS...",
		Short: "Slurm's scontrol, sinfo and squeue against the Slurm simulator",
		Long: `slurm runs the simulator's front ends of Slurm's tools. Arguments are Slurm's own,
passed through unchanged (scontrol reboot ASAP nextstate=RESUME reason="Rolling Reboot" ALL).

The simulator's address comes from --url, $` + envSlurmURL + `, or the "slurm" entry of a URLs
file (--urls-file or $` + envURLsFile + `, as "bos up --slurm" writes it). These two flags go
right after the tool's name, before Slurm's arguments.`,
		Example: `  bos up --nodes 100 --slurm --workload 0.7 --urls-file urls.json &
  export BOS_URLS_FILE=urls.json
  bos slurm sinfo
  bos slurm scontrol reboot ASAP nextstate=RESUME reason="Rolling Reboot" ALL
  bos slurm scontrol show node nid000001
  bos slurm squeue -t all`,
	}
	for _, tool := range []struct {
		name, usage string
		run         func(cmd *cobra.Command, c *slurmapi.Client, args []string) error
	}{
		{"scontrol", slurmsim.ScontrolUsage, func(cmd *cobra.Command, c *slurmapi.Client, args []string) error {
			return slurmsim.Scontrol(cmd.Context(), c, args, cmd.OutOrStdout())
		}},
		{"sinfo", slurmsim.SinfoUsage, func(cmd *cobra.Command, c *slurmapi.Client, args []string) error {
			return slurmsim.Sinfo(cmd.Context(), c, args, cmd.OutOrStdout())
		}},
		{"squeue", slurmsim.SqueueUsage, func(cmd *cobra.Command, c *slurmapi.Client, args []string) error {
			return slurmsim.Squeue(cmd.Context(), c, args, cmd.OutOrStdout())
		}},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   tool.name + " [--url URL | --urls-file FILE] ARGS...",
			Short: "Slurm's " + tool.name + " (the simulator's subset)",
			Long:  tool.usage,
			// Slurm's own options (-N, -o "%N %t") pass through; ours are read by hand.
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) == 1 && (args[0] == "--help" || args[0] == "-help") {
					return cmd.Help()
				}
				url, rest, err := slurmAddress(args)
				if err != nil {
					return err
				}
				return tool.run(cmd, slurmapi.NewClient(url, &http.Client{Timeout: time.Minute}), rest)
			},
		})
	}
	return cmd
}

// slurmAddress takes --url and --urls-file (either "--flag value" or "--flag=value")
// from the front of args and resolves the simulator's address: --url, $BOS_SLURM_URL,
// then the "slurm" entry of the URLs file (--urls-file or $BOS_URLS_FILE).
func slurmAddress(args []string) (url string, rest []string, err error) {
	var urlsFile string
	for len(args) > 0 {
		name, value, hasValue := strings.Cut(args[0], "=")
		if name != "--url" && name != "--urls-file" {
			break
		}
		if !hasValue {
			if len(args) < 2 {
				return "", nil, fmt.Errorf("%s needs a value", name)
			}
			value, args = args[1], args[1:]
		}
		args = args[1:]
		if name == "--url" {
			url = value
		} else {
			urlsFile = value
		}
	}
	if url == "" {
		url = os.Getenv(envSlurmURL)
	}
	if url == "" {
		if urlsFile == "" {
			urlsFile = os.Getenv(envURLsFile)
		}
		if urlsFile == "" {
			return "", nil, fmt.Errorf("no Slurm address: give --url URL, set %s, or name a URLs file with --urls-file (or %s)", envSlurmURL, envURLsFile)
		}
		urls, err := readURLs(urlsFile)
		if err != nil {
			return "", nil, err
		}
		if urls.Slurm == "" {
			return "", nil, fmt.Errorf("urls file %s has no \"slurm\" entry (start the stack with --slurm)", urlsFile)
		}
		url = urls.Slurm
	}
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	return strings.TrimRight(url, "/"), args, nil
}

// readURLs reads a URLs file as bos up and bos sim write it.
func readURLs(path string) (stack.URLs, error) {
	var u stack.URLs
	raw, err := os.ReadFile(path)
	if err != nil {
		return u, fmt.Errorf("urls file: %w", err)
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return u, fmt.Errorf("urls file %s: %w", path, err)
	}
	return u, nil
}

// slurmFlags add the Slurm controller to bos up and bos sim.
type slurmFlags struct {
	enabled       bool
	workload      float64
	jobMin        time.Duration
	jobMax        time.Duration
	jobNodes      int
	resumeTimeout time.Duration
	program       string
}

func (f *slurmFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "slurm", false, "also run a Slurm controller simulator over the compute nodes (its RebootProgram applies staged BOS state: see bos slurm-reboot)")
	fs.Float64Var(&f.workload, "workload", 0, "with --slurm: keep this share of the compute nodes busy with synthetic jobs (0..1; 0 = no jobs)")
	fs.DurationVar(&f.jobMin, "job-min", time.Minute, "with --workload: shortest job")
	fs.DurationVar(&f.jobMax, "job-max", 10*time.Minute, "with --workload: longest job")
	fs.IntVar(&f.jobNodes, "job-nodes", 4, "with --workload: largest job, in nodes (each job takes 1..job-nodes)")
	fs.DurationVar(&f.resumeTimeout, "resume-timeout", 0, "with --slurm: Slurm's ResumeTimeout (0 = twice a simulated reboot plus a minute, at least 60s)")
	fs.StringVar(&f.program, "slurm-reboot-program", "", "with --slurm: run this executable as Slurm's RebootProgram, as slurmctld does (default: the same code in process)")
}

// apply puts the flags into the stack options.
func (f *slurmFlags) apply(o *stack.Options) error {
	if !f.enabled {
		if f.workload != 0 || f.program != "" || f.resumeTimeout != 0 {
			return errors.New("--workload, --resume-timeout and --slurm-reboot-program need --slurm")
		}
		return nil
	}
	if f.workload < 0 || f.workload > 1 {
		return fmt.Errorf("--workload %v: want a share between 0 and 1", f.workload)
	}
	o.WithSlurm = true
	o.Slurm.ResumeTimeout = f.resumeTimeout
	o.SlurmRebootProgram = f.program
	return nil
}

// NextTemplate is the session template bos up --slurm seeds for trying a rolling
// upgrade: every compute node on the newer seeded compute image.
const NextTemplate = "compute-next"

// started seeds NextTemplate (when BOS and IMS run here), starts the workload if asked
// for, and says where Slurm listens.
func (f *slurmFlags) started(ctx context.Context, st *stack.Stack, w io.Writer) error {
	if st.Slurm == nil {
		return nil
	}
	if st.BOSClient != nil && st.IMS != nil {
		path, err := st.ImagePath(ims.ImageComputeNext)
		if err != nil {
			return err
		}
		if _, err := st.BOSClient.PutTemplate(ctx, NextTemplate, stack.DefaultTemplate(path, stack.DefaultConfigurationName)); err != nil {
			return fmt.Errorf("seed template %s: %w", NextTemplate, err)
		}
	}
	if f.workload > 0 {
		err := st.Slurm.StartWorkload(slurmapi.WorkloadConfig{BusyShare: f.workload, MaxNodes: max(1, min(f.jobNodes, len(st.Slurm.Nodes()))),
			MinDuration: f.jobMin, MaxDuration: f.jobMax, Seed: 1})
		if err != nil {
			return fmt.Errorf("--workload: %w", err)
		}
	}
	fmt.Fprintf(w, "slurm %s (bos slurm sinfo --url %s)\n", st.URLs.Slurm, st.URLs.Slurm)
	return nil
}
