package main

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/simulator"
)

// simFlags are the settings of the simulated data centre shared by `bos sim` and `bos up`.
type simFlags struct {
	topo       topologyFlags
	urlsFile   string
	host       string
	advertise  string
	portBase   int
	bmcPort    int
	bmcFirst   string
	bmcListen  string
	bmcAdvert  string
	tls        bool
	caFile     string
	user, pass string
	delayScale float64
	seed       int64
	faults     []string
	cfsFail    float64
	inProcess  bool
	verbose    bool
	logFormat  logFormat
}

func (f *simFlags) register(fs *pflag.FlagSet, defaultScale float64) {
	f.topo.register(fs)
	fs.StringVar(&f.urlsFile, "urls-file", "", `write {"hsm": URL, ..., "bmcs": {...}} to this file once everything listens`)
	fs.StringVar(&f.host, "host", "127.0.0.1", "address the services (not the BMCs) listen on")
	fs.StringVar(&f.advertise, "advertise", "", "host name or address other hosts reach this one at: the host of the services' URLs (default --host), and of the BMCs' with --bmc-listen unless --bmc-advertise")
	fs.IntVar(&f.portBase, "port-base", 0, "fixed ports: hsm, bss, cfs, s3, ims, bos on port-base+0..5 (0 = any free ports)")
	fs.IntVar(&f.bmcPort, "bmc-port", 0, "port every BMC listens on, each on its own loopback address (0 = a free one); with --bmc-listen the first BMC's port, the cluster's Nth BMC on bmc-port+N-1 (0 = a free port each)")
	fs.StringVar(&f.bmcFirst, "bmc-first-address", "127.1.0.1", "loopback address of the first BMC; the others count up from it")
	fs.StringVar(&f.bmcListen, "bmc-listen", "", "an address of this host (e.g. 0.0.0.0 or a NIC's) the BMCs listen on, each on a port of its own, for BOS on another host (default: a loopback address each, this host only)")
	fs.StringVar(&f.bmcAdvert, "bmc-advertise", "", "with --bmc-listen, the host name or address the BMCs' URLs carry (default --advertise, else --bmc-listen)")
	fs.BoolVar(&f.tls, "tls", false, "BMCs serve HTTPS with ECDSA certificates")
	fs.StringVar(&f.caFile, "tls-ca-file", "", "with --tls, write the PEM certificate of the CA that signs the BMCs' certificates to this file, so clients can verify them")
	fs.StringVar(&f.user, "bmc-user", "root", "BMC user name")
	fs.StringVar(&f.pass, "bmc-password", "initial0", "BMC password")
	fs.Float64Var(&f.delayScale, "delay-scale", defaultScale, "multiplies every simulated hardware delay (power on 5 s, POST 60 s, boot 120 s, graceful shutdown 30 s, CFS run 60 s); 0 = instant")
	fs.Int64Var(&f.seed, "seed", 1, "seed of delay jitter and of which nodes get rate-based faults")
	fs.StringArrayVar(&f.faults, "fault", nil, "inject a fault: NAME=RATE (a share of nodes or BMCs) or NAME=XNAME[,XNAME...]; names: "+faultNames()+"; repeatable")
	fs.Float64Var(&f.cfsFail, "cfs-fail-rate", 0, "share of CFS configuration runs that fail")
	fs.BoolVar(&f.inProcess, "in-process-calls", true, "the virtual nodes' and BMCs' requests to HSM, BSS and CFS running in this process skip the loopback socket (requests to and from BOS never do)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log what the services do")
	f.logFormat.register(fs)
}

func faultNames() string {
	names := make([]string, len(simulator.AllFaults))
	for i, f := range simulator.AllFaults {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// parseFaults turns --fault values into the simulator's fault settings.
func parseFaults(values []string) (simulator.Faults, error) {
	out := simulator.Faults{Set: map[string][]simulator.Fault{}, Rates: map[simulator.Fault]float64{}}
	for _, v := range values {
		name, arg, ok := strings.Cut(v, "=")
		if !ok || arg == "" {
			return out, fmt.Errorf("--fault %q: want NAME=RATE or NAME=XNAME[,XNAME...]", v)
		}
		f := simulator.Fault(name)
		known := false
		for _, k := range simulator.AllFaults {
			known = known || k == f
		}
		if !known {
			return out, fmt.Errorf("--fault %q: unknown fault %q (known: %s)", v, name, faultNames())
		}
		if rate, err := strconv.ParseFloat(arg, 64); err == nil {
			if rate < 0 || rate > 1 {
				return out, fmt.Errorf("--fault %q: a rate is between 0 and 1", v)
			}
			out.Rates[f] = rate
			continue
		}
		for _, id := range strings.Split(arg, ",") {
			out.Set[id] = append(out.Set[id], f)
		}
	}
	return out, nil
}

// stackOptions builds the stack options these flags describe.
func (f *simFlags) stackOptions() (stack.Options, error) {
	topo, err := f.topo.build()
	if err != nil {
		return stack.Options{}, err
	}
	if f.delayScale < 0 {
		return stack.Options{}, fmt.Errorf("--delay-scale must not be negative")
	}
	if f.caFile != "" && !f.tls {
		return stack.Options{}, fmt.Errorf("--tls-ca-file needs --tls")
	}
	bmcAdvert, err := f.bmcAdvertise()
	if err != nil {
		return stack.Options{}, err
	}
	faults, err := parseFaults(f.faults)
	if err != nil {
		return stack.Options{}, err
	}
	timing := simulator.DefaultTiming()
	timing.Scale = f.delayScale
	// The node agent's retry waits are scaled too, so a fast demo stays fast.
	timing.BootScriptRetry = scaled(timing.BootScriptRetry, f.delayScale, 100*time.Millisecond)
	timing.ReportBackoffCap = scaled(timing.ReportBackoffCap, f.delayScale, time.Second)
	timing.ReportBackoff = scaled(timing.ReportBackoff, f.delayScale, 100*time.Millisecond)
	cfsDelay := scaled(60*time.Second, f.delayScale, 0)
	return stack.Options{
		Topology: topo, Host: f.host, Advertise: f.advertise, PortBase: f.portBase, InProcessCalls: f.inProcess,
		Sim: simulator.Config{
			FirstAddress: f.bmcFirst, Port: f.bmcPort, ListenAddress: f.bmcListen, Advertise: bmcAdvert,
			TLS: f.tls, Username: f.user, Password: f.pass,
			Timing: &timing, Seed: f.seed, Faults: faults,
		},
		CFS: cfs.Config{Timing: cfs.Timing{ConfigureDelay: cfsDelay, Jitter: cfsDelay / 5, Scale: 1, BatchWindow: 50 * time.Millisecond, BatchSize: 500},
			Seed: f.seed, FailRate: f.cfsFail},
	}, nil
}

// bmcAdvertise checks --bmc-listen, --bmc-advertise and --advertise and says what the
// BMCs' URLs carry with --bmc-listen.
func (f *simFlags) bmcAdvertise() (string, error) {
	for _, h := range []struct{ flag, v string }{{"--advertise", f.advertise}, {"--bmc-advertise", f.bmcAdvert}} {
		if h.v == "" {
			continue
		}
		if a, err := netip.ParseAddr(h.v); err == nil && a.IsUnspecified() || strings.ContainsAny(h.v, ":/ ") && err != nil {
			return "", fmt.Errorf("%s %q: want a host name or address to dial, without scheme or port", h.flag, h.v)
		}
	}
	if f.bmcListen == "" {
		if f.bmcAdvert != "" {
			return "", fmt.Errorf("--bmc-advertise needs --bmc-listen")
		}
		return "", nil
	}
	a, err := netip.ParseAddr(f.bmcListen)
	if err != nil {
		return "", fmt.Errorf("--bmc-listen %q: want an address of this host, e.g. 0.0.0.0 or a NIC's", f.bmcListen)
	}
	adv := cmp.Or(f.bmcAdvert, f.advertise)
	if adv == "" && a.IsUnspecified() {
		return "", fmt.Errorf("--bmc-listen %s needs --bmc-advertise or --advertise: the host name or address other hosts reach the BMCs at", a)
	}
	return adv, nil
}

// writeCA writes the BMCs' CA certificate to --tls-ca-file, if given.
func (f *simFlags) writeCA(st *stack.Stack) error {
	if f.caFile == "" {
		return nil
	}
	if st.Sim == nil {
		return fmt.Errorf("--tls-ca-file: no BMCs run here")
	}
	return writeFileAtomic(f.caFile, st.Sim.CACertPEM(), "CA file")
}

// scaled multiplies d by scale, but never below floor (when scale > 0) nor above d.
func scaled(d time.Duration, scale float64, floor time.Duration) time.Duration {
	s := time.Duration(float64(d) * scale)
	if s < floor {
		s = floor
	}
	if s > d {
		s = d
	}
	return s
}
