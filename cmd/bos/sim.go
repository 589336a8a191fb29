package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/cray-bos/bos/internal/simmetrics"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
)

func newSimCommand() *cobra.Command {
	var f simFlags
	var sf slurmFlags
	var dump bool
	var ext stack.URLs
	var shard, urlsFrom, cpuprofile, pprofListen string
	var cpuprofileFromSignal bool
	cmd := &cobra.Command{
		Use:   "sim [bmcs|hsm|bss|cfs|ims|slurm|pcs ...]",
		Short: "Run the simulated data centre: Redfish BMCs with virtual nodes, HSM, BSS, CFS, IMS/S3",
		Long: `sim runs every simulator of one cluster in this process, or only those named.
Services started elsewhere are named with --hsm-url, --bss-url, ... so the ones here can
reach them (the BMCs' virtual nodes fetch boot scripts from BSS, report to BOS and CFS).
Slurm and PCS (the Power Control Service, for "bos serve --power pcs") run only when
named.

--shard K/N runs the K-th of N parts of the cluster's BMCs (whole BMCs, neighbours
together), each on the address it has in the whole cluster, so several processes hold
one cluster: the first runs the services and its BMCs, the others "bmcs" alone with
--urls-from the first's URLs file; they register their BMCs with that HSM. "bos urls
merge" joins their URLs files (docs/scale-out.md).

Each BMC listens on its own loopback address (127.1.0.1, 127.1.0.2, ...) on one port,
so Redfish clients such as gofish, redfishtool and sushy work against it unchanged.
Credentials default to root / initial0.

--bmc-listen ADDRESS instead gives each BMC a port of its own on that address of this
host (0.0.0.0, or a NIC's), for BOS on another host; the URLs carry --bmc-advertise (or
--advertise). The services the BMCs and their nodes call (BOS, HSM, BSS, CFS) must then
be reachable from this host too: not loopback URLs (--advertise names the services of
this process). The BMCs' credentials are test credentials: expose them on a test
network only.

Stops cleanly on Ctrl-C or SIGTERM.`,
		Example: `  bos sim --nodes 1000 --urls-file urls.json
  bos sim --dump-topology --nodes 4 > cluster.yaml
  bos sim --topology cluster.yaml --fault reset-503=0.01 --fault hang=x1000c0s0b0
  bos sim hsm bss --port-base 27700
  bos sim --nodes 20000 --shard 1/2 --bos-url http://127.0.0.1:8080 --urls-file shard1.json
  bos sim bmcs --nodes 20000 --shard 2/2 --urls-from shard1.json --urls-file shard2.json
  bos sim bmcs --nodes 20000 --shard 2/2 --urls-from shard1.json --bmc-listen 0.0.0.0 --advertise sim2.example --urls-file shard2.json`,
		ValidArgs: append(slices.Clone(stack.Simulators), stack.Slurm, stack.PCS),
		Args:      cobra.OnlyValidArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.stackOptions()
			if err != nil {
				return err
			}
			servePprof(pprofListen)
			if dump {
				raw, err := opts.Topology.YAML()
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(raw)
				return err
			}
			if cpuprofile != "" {
				prof, err := startCPUProfile(cpuprofile, cpuprofileFromSignal)
				if err != nil {
					return err
				}
				defer prof.stop()
			}
			opts.Services = stack.Simulators
			if len(args) > 0 {
				opts.Services = args
			}
			if shard != "" {
				k, n, err := topology.ParseShard(shard)
				if err != nil {
					return fmt.Errorf("--shard: %w", err)
				}
				if err := setShard(&opts, k, n); err != nil {
					return fmt.Errorf("--shard: %w", err)
				}
			}
			if urlsFrom != "" {
				from, err := stack.LoadURLs(urlsFrom)
				if err != nil {
					return err
				}
				fillEmpty(&ext.HSM, from.HSM)
				fillEmpty(&ext.BSS, from.BSS)
				fillEmpty(&ext.CFS, from.CFS)
				fillEmpty(&ext.S3, from.S3)
				fillEmpty(&ext.BOS, from.BOS)
			}
			opts.External = ext
			if err := sf.apply(&opts); err != nil {
				return err
			}
			if f.verbose {
				opts.Logger = newLogger(cmd.ErrOrStderr(), f.logFormat, slog.LevelInfo)
			}
			limit := setSimMemoryLimit(opts)
			gcPercent := setSimGC(limit, bmcsOnly(opts))
			procs := setSimProcs(opts.Shard, opts.External.BOS)
			if opts.Logger != nil {
				opts.Logger.Info("sim: Go memory limit", "MiB", limit>>20, "set by", map[bool]string{true: "GOMEMLIMIT", false: "node count"}[os.Getenv(simMemoryLimitEnvName) != ""], "GOGC", gcPercent)
				opts.Logger.Info("sim: GOMAXPROCS", "procs", procs)
			}
			st, err := stack.Start(cmd.Context(), opts)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := f.writeCA(st); err != nil {
				return err
			}
			if err := writeURLs(f.urlsFile, st.URLs); err != nil {
				return err
			}
			printURLs(cmd, st, opts.Services)
			if err := sf.started(cmd.Context(), st, cmd.ErrOrStderr()); err != nil {
				return err
			}
			<-cmd.Context().Done()
			return nil
		},
	}
	f.register(cmd.Flags(), 1)
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&dump, "dump-topology", false, "print the cluster description as YAML (the --topology file format) and exit")
	cmd.Flags().StringVar(&ext.HSM, "hsm-url", "", "HSM running elsewhere (scheme://host:port)")
	cmd.Flags().StringVar(&ext.BSS, "bss-url", "", "BSS running elsewhere")
	cmd.Flags().StringVar(&ext.CFS, "cfs-url", "", "CFS running elsewhere")
	cmd.Flags().StringVar(&ext.S3, "s3-url", "", "S3 object store running elsewhere")
	cmd.Flags().StringVar(&ext.BOS, "bos-url", "", "BOS the virtual nodes report to")
	cmd.Flags().StringVar(&urlsFrom, "urls-from", "", "take the URLs of hsm, bss, cfs, s3 and bos not given by their flags from this URLs file (another shard's --urls-file)")
	registerPprof(cmd.Flags(), &pprofListen)
	cmd.Flags().StringVar(&shard, "shard", "", "run only the K-th of N parts of the BMCs, K/N (e.g. 2/3): several processes hold one cluster")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of this process to this file (until it stops)")
	cmd.Flags().BoolVar(&cpuprofileFromSignal, "cpuprofile-from-signal", false, "with --cpuprofile, start profiling at the first SIGUSR1 instead of at once")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	_ = cmd.Flags().MarkHidden("cpuprofile-from-signal")
	return cmd
}

// setShard makes opts run the index-th of count shards of its topology. A process of
// BMCs alone keeps only its shard's part: the whole cluster's topology (35 MB at 100,000
// nodes) would stay live in it for nothing, and its collector would mark it at each cycle.
func setShard(opts *stack.Options, index, count int) error {
	part, err := opts.Topology.Shard(index, count)
	if err != nil {
		return err
	}
	opts.Shard = &part
	if bmcsOnly(*opts) {
		opts.Topology = part.Topology
	}
	return nil
}

// isLoopbackIP says a is a loopback IP address.
func isLoopbackIP(a string) bool {
	ip, err := netip.ParseAddr(a)
	return err == nil && ip.IsLoopback()
}

// fillEmpty sets *dst to v when it is empty.
func fillEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func printURLs(cmd *cobra.Command, st *stack.Stack, services []string) {
	w := cmd.ErrOrStderr()
	u := st.URLs
	for _, row := range [][2]string{{"bos", u.BOS}, {"hsm", u.HSM}, {"bss", u.BSS}, {"cfs", u.CFS}, {"s3", u.S3}, {"ims", u.IMS}, {"pcs", u.PCS}} {
		if row[1] != "" && (slices.Contains(services, row[0]) || row[0] == "s3" && slices.Contains(services, stack.IMS)) {
			fmt.Fprintf(w, "%-4s %s\n", row[0], row[1])
		}
	}
	if len(u.BMCs) > 0 {
		first, last := "", ""
		for x := range u.BMCs {
			if first == "" || x < first {
				first = x
			}
			if x > last {
				last = x
			}
		}
		nodes, shard := len(st.Topology.Nodes), ""
		if s := st.Shard; s != nil {
			nodes, shard = len(s.Topology.Nodes), fmt.Sprintf(", shard %d/%d of %d BMCs", s.Index+1, s.Count, s.WholeBMCs)
		}
		fmt.Fprintf(w, "bmcs %d BMCs for %d nodes%s, e.g. %s at %s (root/initial0)\n", len(u.BMCs), nodes, shard, first, u.BMCs[first])
	}
	if st.Sim != nil {
		if h := st.Sim.ListenAddress(); h != "" && !isLoopbackIP(h) {
			fmt.Fprintf(w, "the BMCs listen on %s, reachable from other hosts: their credentials are test credentials\n", h)
		}
	}
	if m := simMetricsURL(st); m != "" {
		fmt.Fprintf(w, "metrics %s (the simulators'; on every simulator's URL)\n", m)
	}
	fmt.Fprintln(w, "Ctrl-C to stop")
}

// simMetricsURL is the simulators' Prometheus metrics on the first of them that runs here,
// not an external service ("" for none); BOS serves its own at its URL + /metrics.
func simMetricsURL(st *stack.Stack) string {
	u := st.URLs
	for _, svc := range []struct {
		here bool
		url  string
	}{{st.HSM != nil, u.HSM}, {st.BSS != nil, u.BSS}, {st.CFS != nil, u.CFS}, {st.IMS != nil, u.IMS}, {st.PCS != nil, u.PCS}, {st.Slurm != nil, u.Slurm}} {
		if svc.here && svc.url != "" {
			return svc.url + simmetrics.Path
		}
	}
	return ""
}

// writeURLs writes the URLs file atomically (a temporary file, then rename), so a reader
// polling for it never sees half of it.
func writeURLs(path string, u stack.URLs) error {
	if path == "" {
		return nil
	}
	raw, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(raw, '\n'), "urls file")
}

// writeFileAtomic writes data to a temporary file beside path, then renames it over path.
func writeFileAtomic(path string, data []byte, what string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bos-*")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
