package main

// `bos slurm-reboot`: Slurm's RebootProgram for BOS staged rolling reboots (the core is
// package slurmreboot). slurm.conf's RebootProgram must be a plain path that slurmctld
// execv()s with the node list as the only argument, so the binary also answers to the
// name slurm-reboot: link it (ln -s /usr/bin/bos /usr/libexec/slurm-reboot) and set
// RebootProgram=/usr/libexec/slurm-reboot.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cray-bos/bos/slurmreboot"
)

// Environment variables bos slurm-reboot reads (slurmctld passes its own environment, so
// these are set in its unit file, e.g. systemd's Environment=). BOS_URL and
// BOS_URLS_FILE are shared with the client commands.
const (
	envHSMURL        = "BOS_HSM_URL"              // HSM's address, as --hsm-url
	envRebootTenant  = "BOS_TENANT"               // as --tenant
	envRebootToken   = envTokenFile               // as --token-file
	envRebootLog     = "BOS_SLURM_REBOOT_LOG"     // as --log-file
	envRebootTimeout = "BOS_SLURM_REBOOT_TIMEOUT" // as --timeout (a Go duration: 90s, 2m)
)

// rebootProgramName is the name that makes the binary run as `bos slurm-reboot`.
const rebootProgramName = "slurm-reboot"

// defaultRebootLogs are tried in order when no log file is named: Slurm's usual log
// directory, then the system's temporary directory.
func defaultRebootLogs() []string {
	return []string{filepath.Join(string(filepath.Separator)+"var", "log", "slurm", "bos-slurm-reboot.log"),
		filepath.Join(os.TempDir(), "bos-slurm-reboot.log")}
}

// argsFor turns the process's argv into the command line run parses: started as
// slurm-reboot (or slurm-reboot.<anything>, e.g. a link named like HPE's slurm-reboot.py),
// the binary is `bos slurm-reboot`.
func argsFor(argv []string) []string {
	base := filepath.Base(argv[0])
	if base == rebootProgramName || strings.HasPrefix(base, rebootProgramName+".") {
		return append([]string{rebootProgramName}, argv[1:]...)
	}
	return argv[1:]
}

type rebootFlags struct {
	bosURL, hsmURL, urlsFile string
	tenant, tokenFile        string
	logFile                  string
	logFormat                logFormat
	timeout                  time.Duration
}

func newSlurmRebootCommand() *cobra.Command {
	var f rebootFlags
	cmd := &cobra.Command{
		Use:   rebootProgramName + " NODES [FEATURES]",
		Short: "Slurm's RebootProgram: apply the staged BOS state of the nodes Slurm reboots",
		Long: `slurm-reboot is what slurmctld runs (SlurmctldParameters=reboot_from_controller) for the
nodes whose "scontrol reboot" it issues: NODES is Slurm's comma-separated list of node
names (nid000001,nid000002). It maps them to xnames through HSM (by NID; a name that is
an xname stands for itself), POSTs /v2/applystaged to BOS once, and exits 1 unless every
node was applied: an unknown name, or an xname BOS failed or ignored (nothing staged),
fails the run. FEATURES (a features reboot) is logged and otherwise ignored. The whole
run is bounded by --timeout, since slurmctld waits for it without a limit.

slurmctld closes stdin, stdout and stderr, so everything goes to a log file: --log-file,
$` + envRebootLog + `, else ` + strings.Join(defaultRebootLogs(), ", else ") + `
(the first that can be opened; "-" is stderr). The error is also printed on stderr.

slurm.conf's RebootProgram is a plain path run with no options, so every setting is also
an environment variable, and the binary runs as this command when started under the name
` + rebootProgramName + `:

  ln -s /usr/bin/bos /usr/libexec/slurm-reboot
  # slurm.conf
  SlurmctldParameters=reboot_from_controller
  RebootProgram=/usr/libexec/slurm-reboot
  ResumeTimeout=1800          # longer than a BOS reboot
  # slurmctld's environment
  BOS_URL=https://api-gw-service-nmn.local/apis/bos
  BOS_HSM_URL=https://api-gw-service-nmn.local/apis/smd   BOS_TOKEN_FILE=/etc/slurm/bos-token

Then stage a BOS session ("stage": true) and ask Slurm:
  scontrol reboot ASAP nextstate=RESUME reason="Rolling Reboot" ALL`,
		Example: `  bos slurm-reboot nid000001,nid000002 --urls-file urls.json --log-file -
  BOS_URLS_FILE=urls.json slurm-reboot nid000001`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, closeLog := f.openLog(cmd.ErrOrStderr())
			defer closeLog()
			log = log.With("pid", os.Getpid())
			log.Info("slurm-reboot started", "argv", strings.Join(os.Args, " "))
			if len(args) == 2 {
				log.Info("slurm-reboot: features ignored", "features", args[1])
			}
			err := f.run(cmd, args[0], log)
			if err != nil {
				log.Error("slurm-reboot: exit status 1", "err", err)
				return err
			}
			log.Info("slurm-reboot: exit status 0")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.bosURL, "bos-url", "", "BOS address, scheme://host:port (default $"+envURL+", else the bos entry of the URLs file)")
	fl.StringVar(&f.hsmURL, "hsm-url", "", "HSM address (default $"+envHSMURL+", else the hsm entry of the URLs file)")
	fl.StringVar(&f.urlsFile, "urls-file", "", "a URLs file as bos up writes it (default $"+envURLsFile+")")
	fl.StringVar(&f.tenant, "tenant", "", "send Cray-Tenant-Name: TENANT (default $"+envRebootTenant+")")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding a bearer token for the API gateway (default $"+envRebootToken+")")
	fl.StringVar(&f.logFile, "log-file", "", "append the log here; - is stderr (default $"+envRebootLog+", see above)")
	f.logFormat.register(fl)
	fl.DurationVar(&f.timeout, "timeout", 0, fmt.Sprintf("bound on the whole run (default $%s, else %s)", envRebootTimeout, slurmreboot.DefaultTimeout))
	return cmd
}

// run resolves the configuration and applies the nodes' staged state.
func (f *rebootFlags) run(cmd *cobra.Command, nodeArg string, log *slog.Logger) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	cfg.Logger = log
	nodes, err := slurmreboot.ParseNodeList(nodeArg)
	if err != nil {
		return err
	}
	prog, err := slurmreboot.New(cfg)
	if err != nil {
		return err
	}
	res, err := prog.Run(cmd.Context(), nodes)
	if errors.Is(err, slurmreboot.ErrIncomplete) {
		for _, l := range []struct {
			what string
			ids  []string
		}{{"without xname", res.Unmapped}, {"failed", res.Failed}, {"ignored", res.Ignored}} {
			if len(l.ids) > 0 {
				err = fmt.Errorf("%w; %s: %s", err, l.what, strings.Join(l.ids, ","))
			}
		}
	}
	return err
}

// config reads flags, then the environment, then the URLs file.
func (f *rebootFlags) config() (slurmreboot.Config, error) {
	or := func(flag, env string) string {
		if flag != "" {
			return flag
		}
		return os.Getenv(env)
	}
	cfg := slurmreboot.Config{
		BOSURL: or(f.bosURL, envURL), HSMURL: or(f.hsmURL, envHSMURL), Tenant: or(f.tenant, envRebootTenant),
		Timeout: f.timeout,
	}
	if cfg.Timeout == 0 {
		if v := os.Getenv(envRebootTimeout); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("%s=%q: want a positive duration such as 90s", envRebootTimeout, v)
			}
			cfg.Timeout = d
		}
	}
	if cfg.BOSURL == "" || cfg.HSMURL == "" {
		if file := or(f.urlsFile, envURLsFile); file != "" {
			urls, err := readURLs(file)
			if err != nil {
				return cfg, err
			}
			cfg.BOSURL, cfg.HSMURL = firstNonEmpty(cfg.BOSURL, urls.BOS), firstNonEmpty(cfg.HSMURL, urls.HSM)
		}
	}
	if cfg.BOSURL == "" {
		return cfg, fmt.Errorf("no BOS address: give --bos-url, set %s, or name a URLs file (--urls-file, %s)", envURL, envURLsFile)
	}
	if token := or(f.tokenFile, envRebootToken); token != "" {
		raw, err := os.ReadFile(token)
		if err != nil {
			return cfg, fmt.Errorf("token file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(raw))
	}
	return cfg, nil
}

// firstNonEmpty returns a unless it is empty, then b.
func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// openLog opens the log: the named file ("-" = stderr), else the first default that
// opens, else stderr. It never fails: a program that cannot log must still do its job.
func (f *rebootFlags) openLog(stderr io.Writer) (*slog.Logger, func()) {
	path := f.logFile
	if path == "" {
		path = os.Getenv(envRebootLog)
	}
	candidates := []string{path}
	if path == "" {
		candidates = defaultRebootLogs()
	}
	for _, p := range candidates {
		if p == "-" {
			break
		}
		file, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err == nil {
			return newLogger(file, f.logFormat, nil), func() { _ = file.Close() }
		}
	}
	return newLogger(stderr, f.logFormat, nil), func() {}
}
