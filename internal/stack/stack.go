// Package stack starts the simulated data centre, and optionally BOS, in one process:
// the BMCs with their virtual nodes, HSM, BSS, CFS, the image store (IMS and S3), PCS and,
// on request, a Slurm controller (slurm.go); and BOS, the composition of
// orchestrator/server that `bos serve` runs too, wired to them (startBOS). Seed creates what
// `bos up` boots with. `bos up`, `bos sim` and the end-to-end tests all build the cluster
// through Start, so they run the same wiring.
package stack

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/bss"
	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/inproc"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/simmetrics"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/server"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
	"github.com/cray-bos/bos/pcs"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// Service names, as in the URLs file and `bos sim <service>`.
const (
	BMCs = "bmcs"
	HSM  = "hsm"
	BSS  = "bss"
	CFS  = "cfs"
	IMS  = "ims" // serves both "ims" and "s3"
	BOS  = "bos"
	// Slurm is the Slurm controller simulator; it runs only when named or WithSlurm is set.
	Slurm = "slurm"
	// PCS is the Power Control Service simulator; it runs when named, or, when Services
	// is empty, when Power is PowerPCS.
	PCS = "pcs"
)

// Simulators lists the services `bos sim` starts by default.
var Simulators = []string{BMCs, HSM, BSS, CFS, IMS}

// URLs says where each service listens: scheme://host:port, no API path.
type URLs struct {
	BOS   string            `json:"bos,omitempty"`
	HSM   string            `json:"hsm,omitempty"`
	BSS   string            `json:"bss,omitempty"`
	CFS   string            `json:"cfs,omitempty"`
	S3    string            `json:"s3,omitempty"`
	IMS   string            `json:"ims,omitempty"`
	Slurm string            `json:"slurm,omitempty"`
	PCS   string            `json:"pcs,omitempty"`
	BMCs  map[string]string `json:"bmcs,omitempty"`
}

// Options say what to start and how.
type Options struct {
	Topology *topology.Topology
	// Shard, when set, is the part of Topology whose BMCs run here (topology.Shard); the
	// other services here still serve the whole. With HSM elsewhere, the BMCs here are
	// registered with it (registerBMCs), so it knows where every shard's BMCs listen.
	Shard *topology.Shard
	// Services to run (BMCs, HSM, BSS, CFS, IMS, BOS, Slurm); empty means every simulator
	// and BOS, without Slurm.
	Services []string
	// External gives the URLs of services that run elsewhere (used by those that run here).
	External URLs
	// Host is the address the services listen on (default 127.0.0.1); PortBase, when
	// non-zero, gives them fixed ports: hsm, bss, cfs, s3, ims, bos, slurm, pcs at
	// PortBase+0..7.
	Host     string
	PortBase int
	// Advertise, when set, is the host name or address the URLs of the services here
	// carry (how other hosts reach them, e.g. with Host 0.0.0.0); default Host.
	Advertise string
	// BOSAddr, when set, is the host:port BOS listens on, overriding Host and PortBase.
	BOSAddr string

	// Simulator settings (Topology, SkipAddresses, Services and Subscriptions are filled in here).
	Sim simulator.Config
	// InProcessCalls serves the virtual nodes' and BMCs' requests to the HSM, BSS and CFS
	// of this stack (boot scripts, CFS reports, HSM's power events) in-process, without a
	// loopback socket: the simulated data centre's own traffic then costs no HTTP. BOS's
	// requests, and the simulators' requests to BOS, always go over the network.
	InProcessCalls bool
	// CFS settings (Components is filled in here).
	CFS cfs.Config
	// WithSlurm also runs the Slurm controller; Slurm holds its settings (see slurm.go for
	// what is filled in: nodes, initial state, ResumeTimeout, the RebootProgram).
	WithSlurm bool
	Slurm     slurmsim.Config
	// SlurmRebootProgram, when set, is the path of an executable Slurm runs as its
	// RebootProgram (e.g. bos installed as slurm-reboot) instead of the in-process one.
	SlurmRebootProgram string
	// CRUS bounds the waits of the CRUS controller, which runs with BOS whenever HSM and
	// Slurm URLs are known (crus.go).
	CRUS crus.Timing
	// RolloutPoll is how often the rollout controller looks (0: its 5 s); it runs with
	// BOS under the same conditions as CRUS.
	RolloutPoll time.Duration
	// Scontrol, when set, has the rollouts drive a real slurmctld through this scontrol
	// (server.Services.Scontrol) instead of the stack's Slurm.
	Scontrol string

	// RedisURL selects a real Redis for BOS; empty runs an embedded miniredis.
	RedisURL, RedisKeyPrefix string
	// TenantsFile loads the tenant registry (the TAPMS stand-in); empty = no tenants.
	TenantsFile string
	// Auth, when set, makes the BOS API require bearer tokens (api.Config.Auth). The
	// stack's own BOS clients (BOSClient, CRUS) send none: only `bos serve` sets it.
	Auth api.Authenticator
	// Reconcile runs the BOS reconciler with the API (default in `bos up`).
	Reconcile bool
	// RedfishScheme is how the reconciler reaches BMCs (default: that of the simulator).
	RedfishScheme string
	// RedfishTimeout bounds one Redfish request of the reconciler (default 10 s).
	RedfishTimeout time.Duration
	// Power is how the reconciler powers nodes: PowerRedfish ("" too) straight to the
	// BMCs, or PowerPCS through PCS (this stack's, or External.PCS).
	Power string
	// BMCCredentials are the BMC credentials the reconciler uses (the stand-in for the
	// Vault PCS reads: HSM never returns passwords). Nil: BMCCredentialsFile if set, else
	// those of the BMCs this stack runs, with root/initial0 (or Sim's) for any other BMC.
	BMCCredentials *power.Credentials
	// BMCCredentialsFile is a YAML or JSON credentials file (power.LoadCredentials).
	BMCCredentialsFile string
	// Workers and BatchSize tune the reconciler (0 = its defaults).
	Workers, BatchSize int
	// WrapPower, when set, wraps the reconciler's power driver (tests inject faults and
	// crashes there; see CrashReconciler).
	WrapPower func(power.PowerControl) power.PowerControl
	// DropStoreOnClose deletes every key of the store (under RedisKeyPrefix) on Close:
	// for tests on a shared Redis.
	DropStoreOnClose bool
	// V1 paces and bounds the BOS v1 lockstep agent, which runs with the reconciler
	// (zero fields: BOA's defaults).
	V1 lockstep.Timing

	// Net, when set, carries every listener and connection of the stack instead of the
	// host's TCP, and BOS's embedded Redis is reached through pipes: the end-to-end tests
	// run the stack so, inside a testing/synctest bubble with a fake clock.
	Net *memnet.Network

	Logger *slog.Logger
	// LogLevel, when set, is the level of Logger's handler; BOS's API and reconciler set it
	// from the logging_level option.
	LogLevel *slog.LevelVar
}

// Stack is a running set of services. Fields are nil for services that are not running here.
type Stack struct {
	URLs     URLs
	Topology *topology.Topology
	Shard    *topology.Shard // the part of Topology whose BMCs run here; nil: all
	Sim      *simulator.Simulator
	HSM      *hsm.Server
	BSS      *bss.Server
	// BSSReplica is this process's read replica of the BSS running elsewhere (a BMC
	// shard's, with InProcessCalls): the nodes' boot scripts, served here.
	BSSReplica *bss.Replica
	CFS        *cfs.Server
	IMS        *ims.Server
	Slurm      *slurmsim.Server
	PCS        *pcs.Server
	// BOS is BOS's composition (API, reconciler, v1 agent, CRUS); Store is its store.
	BOS   *server.BOS
	Store *store.Store
	// BOSClient talks to this stack's BOS API (nil without BOS).
	BOSClient *bosapi.Client
	// SimMetrics is the simulators' Prometheus registry, served at /metrics on every
	// simulator's listener (BOS serves its own).
	SimMetrics *simmetrics.Metrics

	net     *memnet.Network
	hc      *http.Client  // on net; nil on the host's TCP
	local   *inproc.Hosts // the simulator's in-process calls (Options.InProcessCalls); nil without
	servers []*http.Server
	closers []func()
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	// localHSM is HSM once it runs here, with InProcessCalls: the BMCs' collected power
	// events go to it in-process (applyEvents), set after the simulator starts. So are
	// localBSS, for the nodes' boot scripts (bootScript), and localCFS, for their CFS
	// reports (cfsReport).
	localHSM atomic.Pointer[hsm.Server]
	localBSS atomic.Pointer[bss.Server]
	localCFS atomic.Pointer[cfs.Server]
}

func (o *Options) runs(svc string) bool {
	switch svc {
	case Slurm:
		return o.WithSlurm || slices.Contains(o.Services, Slurm)
	case PCS:
		return slices.Contains(o.Services, PCS) || len(o.Services) == 0 && o.Power == PowerPCS
	}
	return len(o.Services) == 0 || slices.Contains(o.Services, svc)
}

// Start binds every listener, starts the services and returns once all of them answer.
// ctx bounds the start only (opening BOS's store, ...): the services run until Close.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.Topology == nil {
		return nil, errors.New("stack: a topology is required")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Power != "" && o.Power != PowerRedfish && o.Power != PowerPCS {
		return nil, fmt.Errorf("stack: power must be %s or %s, not %q", PowerRedfish, PowerPCS, o.Power)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s = &Stack{Topology: o.Topology, Shard: o.Shard, URLs: o.External, cancel: cancel, net: o.Net, SimMetrics: simmetrics.New()}
	if o.Net != nil {
		s.hc = o.Net.HTTPClient(0)
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// Listeners first, so every service knows every URL before it starts.
	ports := map[string]int{HSM: 0, BSS: 1, CFS: 2, "s3": 3, IMS: 4, BOS: 5, Slurm: 6, PCS: 7}
	listeners := map[string]net.Listener{}
	for _, svc := range []string{HSM, BSS, CFS, "s3", IMS, BOS, Slurm, PCS} {
		owner := svc
		if svc == "s3" {
			owner = IMS
		}
		if !o.runs(owner) {
			continue
		}
		port := 0
		if o.PortBase != 0 {
			port = o.PortBase + ports[svc]
		}
		addr := net.JoinHostPort(o.Host, fmt.Sprint(port))
		if svc == BOS && o.BOSAddr != "" {
			addr = o.BOSAddr
		}
		ln, err := s.listen(addr)
		if err != nil {
			return s, fmt.Errorf("stack: listen for %s: %w", svc, err)
		}
		listeners[svc] = ln
		url := "http://" + ln.Addr().String()
		if o.Advertise != "" && !(svc == BOS && o.BOSAddr != "") {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			url = "http://" + net.JoinHostPort(o.Advertise, port)
		}
		switch svc {
		case HSM:
			s.URLs.HSM = url
		case BSS:
			s.URLs.BSS = url
		case CFS:
			s.URLs.CFS = url
		case "s3":
			s.URLs.S3 = url
		case IMS:
			s.URLs.IMS = url
		case BOS:
			s.URLs.BOS = url
		case Slurm:
			s.URLs.Slurm = url
		case PCS:
			s.URLs.PCS = url
		}
	}
	if ln := listeners[Slurm]; ln != nil { // before the simulator, whose hooks feed it
		if err := s.startSlurm(runCtx, o, ln); err != nil {
			return s, err
		}
	}

	if o.runs(BMCs) {
		cfg := o.Sim
		cfg.Topology = o.Topology
		if o.Shard != nil {
			cfg.Topology, cfg.SkipAddresses = o.Shard.Topology, o.Shard.FirstBMC
		}
		cfg.Services = simulator.Services{BSS: s.URLs.BSS, BOS: s.URLs.BOS, CFS: s.URLs.CFS}
		// The nodes' CFS reports to a CFS elsewhere (a BMC shard's) go in batches, as
		// their power events to HSM do: a request per batch, not per node.
		cfg.BatchCFSReports = s.URLs.CFS != "" && !o.runs(CFS)
		if h := cmp.Or(cfg.Advertise, cfg.ListenAddress); h != "" && !localOnly(h) {
			if err := checkServicesReachable(s.URLs, "the BMCs here listen on "+cfg.ListenAddress+" for other hosts"); err != nil {
				return s, fmt.Errorf("stack: %w", err)
			}
		}
		if s.URLs.HSM != "" {
			// HSM's stand-in for hmcollector: every BMC sends its power events there,
			// collected, as hmcollector forwards them: a POST carries many BMCs' events.
			sub := simulator.Subscription{Destination: s.URLs.HSM + "/hsm/v2/RedfishEvents", Collect: true}
			if o.InProcessCalls && o.runs(HSM) {
				sub.Local = s.applyEvents // no JSON, no request: HSM applies them as its POST does
			}
			cfg.Subscriptions = append(cfg.Subscriptions, sub)
		}
		if cfg.Logger == nil {
			cfg.Logger = o.Logger
		}
		cfg.OnBooted, cfg.OnPowerChange = s.slurmHooks(cfg.OnBooted, cfg.OnPowerChange)
		if next := cfg.OnPowerChange; next != nil {
			cfg.OnPowerChange = func(xname, state string) { s.SimMetrics.PowerChanged(xname, state); next(xname, state) }
		} else {
			cfg.OnPowerChange = s.SimMetrics.PowerChanged
		}
		cfg.WrapHandler = func(h http.Handler) http.Handler { return s.SimMetrics.Middleware(BMCs, h) }
		if s.net != nil {
			cfg.Listen, cfg.Dial = s.net.Listen, s.net.DialContext
		}
		if o.InProcessCalls {
			s.local = &inproc.Hosts{}
			cfg.WrapTransport = func(next http.RoundTripper) http.RoundTripper { s.local.Next = next; return s.local }
			if s.URLs.BSS != "" && !o.runs(BSS) {
				if err := s.startBSSReplica(ctx, runCtx, o, cfg.Topology); err != nil {
					return s, err
				}
			}
			cfg.BootScript = s.bootScript
			cfg.CFSReport = s.cfsReport
		}
		// The simulator's errors name it already ("simulator: ...").
		if s.Sim, err = simulator.New(cfg); err != nil {
			return s, fmt.Errorf("stack: %w", err)
		}
		if err := s.Sim.Start(runCtx); err != nil {
			return s, fmt.Errorf("stack: %w", err)
		}
		s.closers = append(s.closers, func() { _ = s.Sim.Close() })
		s.URLs.BMCs = s.Sim.BMCURLs()
		s.SimMetrics.Watch(s.Sim)
		if s.URLs.HSM != "" && !o.runs(HSM) {
			if err := s.registerBMCs(ctx); err != nil {
				return s, err
			}
		}
	}

	if ln := listeners[HSM]; ln != nil {
		eps := map[string]hsm.BMCEndpoint{}
		if s.Sim != nil {
			for _, b := range s.Sim.BMCs() {
				eps[b.Xname] = hsm.BMCEndpoint{FQDN: hostPort(b.URL), User: b.Username, Password: b.Password}
			}
		}
		// Discovery (POST /Inventory/Discover) reaches the BMCs as the drivers do; a few
		// connections kept idle at most, not one per BMC for good (a discovery reads a BMC
		// once, and every shard's BMCs are discovered here).
		bmcs := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: s.dial(),
			MaxIdleConns: 64, IdleConnTimeout: 30 * time.Second,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // as HSM: BMC certificates are self-signed
		if s.HSM, err = hsm.New(hsm.Config{Topology: o.Topology, BMCs: eps, Logger: o.Logger,
			BMCClient: bmcs, BMCScheme: s.redfishScheme(o)}); err != nil {
			return s, fmt.Errorf("stack: hsm: %w", err)
		}
		s.serveLocal(ln, s.URLs.HSM, s.SimMetrics.Middleware(HSM, s.HSM.Handler()))
		if o.InProcessCalls {
			s.localHSM.Store(s.HSM)
		}
	}
	if ln := listeners[PCS]; ln != nil {
		if err := s.startPCS(o, ln); err != nil {
			return s, err
		}
	}
	if ln := listeners[BSS]; ln != nil {
		var inv bss.Inventory = bss.FromTopology(o.Topology)
		if s.URLs.HSM != "" {
			inv = bss.NewHTTPInventory(s.URLs.HSM, s.HTTPClient())
		}
		if s.BSS, err = bss.New(bss.Config{Inventory: inv, S3URL: s.URLs.S3, Logger: o.Logger, ReplicaClient: s.HTTPClient()}); err != nil {
			return s, fmt.Errorf("stack: bss: %w", err)
		}
		s.serveLocal(ln, s.URLs.BSS, s.SimMetrics.Middleware(BSS, s.BSS.Handler()))
		if o.InProcessCalls {
			s.localBSS.Store(s.BSS)
		}
	}
	if ln := listeners[CFS]; ln != nil {
		cfg := o.CFS
		for _, n := range o.Topology.Nodes {
			cfg.Components = append(cfg.Components, n.Xname)
		}
		if cfg.Logger == nil {
			cfg.Logger = o.Logger
		}
		if s.CFS, err = cfs.New(cfg); err != nil {
			return s, fmt.Errorf("stack: cfs: %w", err)
		}
		s.closers = append(s.closers, s.CFS.Close)
		s.serveLocal(ln, s.URLs.CFS, s.SimMetrics.Middleware(CFS, s.CFS.Handler()))
		if o.InProcessCalls {
			s.localCFS.Store(s.CFS)
		}
	}
	if ln := listeners[IMS]; ln != nil {
		if s.IMS, err = ims.New(ims.Config{Logger: o.Logger}); err != nil {
			return s, fmt.Errorf("stack: ims: %w", err)
		}
		s.serve(ln, s.SimMetrics.Middleware(IMS, s.IMS.IMSHandler()))
		s.serve(listeners["s3"], s.SimMetrics.Middleware("s3", s.IMS.S3Handler()))
	}
	if ln := listeners[BOS]; ln != nil {
		if err := s.startBOS(ctx, runCtx, o, ln); err != nil {
			return s, err
		}
	}
	return s, nil
}

// startBOS builds BOS (orchestrator/server) on the stack's services and network, serves
// it on ln and runs it until Close.
func (s *Stack) startBOS(ctx, runCtx context.Context, o Options, ln net.Listener) error {
	var tenants tenant.Registry
	if o.TenantsFile != "" {
		reg, err := tenant.Load(o.TenantsFile)
		if err != nil {
			return fmt.Errorf("stack: tenants: %w", err)
		}
		tenants = reg
	}
	cfg := server.Config{
		URL:   s.URLs.BOS,
		Store: store.Config{URL: o.RedisURL, KeyPrefix: o.RedisKeyPrefix, EmbeddedOverPipes: s.net != nil},
		Services: server.Services{HSM: s.URLs.HSM, BSS: s.URLs.BSS, CFS: s.URLs.CFS, S3: s.URLs.S3, IMS: s.URLs.IMS,
			PCS: s.URLs.PCS, Slurm: s.URLs.Slurm, Scontrol: o.Scontrol},
		HTTPClient: s.HTTPClient(), Dial: s.dial(),
		Reconcile: o.Reconcile, Power: o.Power,
		RedfishScheme: s.redfishScheme(o), RedfishTimeout: o.RedfishTimeout,
		Workers: o.Workers, BatchSize: o.BatchSize, WrapPower: o.WrapPower,
		V1: o.V1, CRUS: o.CRUS, RolloutPoll: o.RolloutPoll,
		Tenants: tenants, Auth: o.Auth, Logger: o.Logger, LogLevel: o.LogLevel,
	}
	if o.Reconcile && o.Power != PowerPCS {
		creds, err := s.bmcCredentials(o)
		if err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		cfg.BMCCredentials = creds
	}
	b, err := server.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.BOS, s.Store = b, b.Store()
	s.closers = append(s.closers, func() {
		if o.DropStoreOnClose {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.Store().DeleteAll(ctx); err != nil {
				o.Logger.Error("dropping the store's keys", "err", err)
			}
		}
		b.Close()
	})
	s.BOSClient = bosapi.NewClient(s.URLs.BOS, s.HTTPClient())
	s.serve(ln, b.Handler())
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = b.Run(runCtx) }()
	return nil
}

// redfishScheme is how the stack's drivers reach BMCs: o.RedfishScheme, else that of
// the simulator.
func (s *Stack) redfishScheme(o Options) string {
	switch {
	case o.RedfishScheme != "":
		return o.RedfishScheme
	case o.Sim.TLS:
		return "https"
	}
	return "http"
}

// applyEvents gives HSM running here the BMCs' collected power events, as its POST
// /RedfishEvents would; false (the events are POSTed) until it runs.
func (s *Stack) applyEvents(events []simulator.EventRecord) bool {
	h := s.localHSM.Load()
	if h == nil {
		return false
	}
	ev := hsmapi.RedfishEvent{Events: make([]hsmapi.RedfishEventRecord, len(events))}
	for i, e := range events {
		ev.Events[i] = hsmapi.RedfishEventRecord{Context: e.Context, MessageID: e.MessageID, MessageArgs: e.MessageArgs,
			OriginOfCondition: &hsmapi.ODataID{ID: e.OriginOfCondition}}
	}
	h.HandleRedfishEvent(ev)
	return true
}

// bootScript answers a node's boot-script request to this stack's BSS in-process, as its
// handler would: by the BSS replica here, else by BSS running here; status 0 (HTTP)
// for another BSS, one not running yet, or a node the replica leaves to the primary.
func (s *Stack) bootScript(ctx context.Context, url, xname string) (int, string) {
	if url != s.URLs.BSS {
		return 0, ""
	}
	if r := s.BSSReplica; r != nil {
		return r.BootScript(ctx, xname)
	}
	if b := s.localBSS.Load(); b != nil {
		return b.BootScript(ctx, xname)
	}
	return 0, ""
}

// cfsReport answers a node's CFS report to this stack's CFS in-process, as its handler
// would; status 0 (HTTP) for another CFS, or one not running yet.
func (s *Stack) cfsReport(url, xname string) int {
	if c := s.localCFS.Load(); c != nil && url == s.URLs.CFS {
		return c.Reenable(xname)
	}
	return 0
}

// serveLocal serves h on ln and, with InProcessCalls, to the simulator's requests to url.
func (s *Stack) serveLocal(ln net.Listener, url string, h http.Handler) {
	if s.local != nil {
		s.local.Handle(hostPort(url), h)
	}
	s.serve(ln, h)
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	s.servers = append(s.servers, srv)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = srv.Serve(ln) }()
}

// Close stops every service and waits for them.
func (s *Stack) Close() {
	s.cancel()
	// Graceful for a moment, then closed: a connection that never sent a request counts
	// as busy for 5 s in net/http's Shutdown, which would stall every stop.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if srv.Shutdown(ctx) != nil {
				_ = srv.Close()
			}
		}()
	}
	wg.Wait()
	s.wg.Wait()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// listen binds addr on the stack's network.
func (s *Stack) listen(addr string) (net.Listener, error) {
	if s.net != nil {
		return s.net.Listen("tcp", addr)
	}
	return net.Listen("tcp", addr)
}

// dial is the stack's dialer: nil (a net.Dialer) on the host's TCP.
func (s *Stack) dial() func(ctx context.Context, network, address string) (net.Conn, error) {
	if s.net != nil {
		return s.net.DialContext
	}
	return nil
}

// HTTPClient is what the stack's service clients use, and what a caller's clients of
// this stack should use: nil (http.DefaultClient) on the host's TCP, else one on the
// stack's network.
func (s *Stack) HTTPClient() *http.Client { return s.hc }

// hostPort strips the scheme of a URL ("http://127.1.0.1:8443" → "127.1.0.1:8443").
func hostPort(url string) string {
	for _, p := range []string{"https://", "http://"} {
		if len(url) > len(p) && url[:len(p)] == p {
			return url[len(p):]
		}
	}
	return url
}

// Names of what Seed creates.
const (
	DefaultTemplateName      = "compute"
	DefaultConfigurationName = "compute-config"
)

// Seed creates what `bos up` boots with: the CFS configuration DefaultConfigurationName
// (one layer) and the session template DefaultTemplateName for the seeded compute image.
// It needs BOS running here, and CFS and IMS here or elsewhere.
func (s *Stack) Seed(ctx context.Context) error {
	if s.URLs.CFS == "" || s.URLs.IMS == "" || s.BOSClient == nil {
		return errors.New("seed: needs cfs and ims, and bos in this process")
	}
	_, err := cfsapi.NewClient(s.URLs.CFS, s.HTTPClient()).PutConfiguration(ctx, DefaultConfigurationName, cfsapi.ConfigurationRequest{
		Description: "Compute node configuration",
		Layers: []cfsapi.Layer{{Name: "compute", CloneURL: "https://vcs.cmn.example/vcs/cray/csm-config-management.git",
			Playbook: "compute_nodes.yml", Branch: "main"}},
	})
	if err != nil {
		return fmt.Errorf("seed cfs configuration: %w", err)
	}
	path, err := s.ImagePath(ims.ImageCompute)
	if err != nil {
		return err
	}
	if _, err := s.BOSClient.PutTemplate(ctx, DefaultTemplateName, DefaultTemplate(path, DefaultConfigurationName)); err != nil {
		return fmt.Errorf("seed session template: %w", err)
	}
	return nil
}

// ImagePath is the S3 manifest path of a seeded image, by name (ims.ImageCompute...), from
// the IMS here or at URLs.IMS.
func (s *Stack) ImagePath(name string) (string, error) {
	if s.IMS == nil && s.URLs.IMS != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		img, err := imsapi.NewClient(s.URLs.IMS, s.HTTPClient()).GetImage(ctx, ims.ImageID(name))
		if err != nil || img.Link == nil {
			return "", fmt.Errorf("image %s is not in the image store at %s (%v)", name, s.URLs.IMS, err)
		}
		return img.Link.Path, nil
	}
	if s.IMS == nil {
		return "", errors.New("no image store")
	}
	img, ok := s.IMS.Image(ims.ImageID(name))
	if !ok || img.Link == nil {
		return "", fmt.Errorf("image %s is not in the image store", name)
	}
	return img.Link.Path, nil
}

// DefaultTemplate is the session template Seed creates: every compute node boots the
// image at s3Path and is configured with configuration.
func DefaultTemplate(s3Path, configuration string) bos.SessionTemplate {
	return bos.SessionTemplate{
		Description: "All compute nodes on the seeded compute image",
		EnableCFS:   configuration != "",
		CFS:         &bos.CFS{Configuration: configuration},
		BootSets: map[string]bos.BootSet{
			"compute": {Path: s3Path, Type: "s3", NodeRolesGroups: []string{"Compute"}, Arch: "X86", KernelParameters: "console=ttyS0,115200"},
		},
	}
}

// bmcCredentials picks the reconciler's BMC credentials (see Options.BMCCredentials).
func (s *Stack) bmcCredentials(o Options) (*power.Credentials, error) {
	switch {
	case o.BMCCredentials != nil:
		return o.BMCCredentials, nil
	case o.BMCCredentialsFile != "":
		return power.LoadCredentials(o.BMCCredentialsFile)
	}
	// The simulator's defaults, as it applies them (simulator.Config).
	c := &power.Credentials{Default: power.Credential{Username: cmp.Or(o.Sim.Username, "root"),
		Password: cmp.Or(o.Sim.Password, "initial0")}}
	if s.Sim != nil {
		c.BMCs = map[string]power.Credential{}
		for _, b := range s.Sim.BMCs() {
			c.BMCs[b.Xname] = power.Credential{Username: b.Username, Password: b.Password}
		}
	}
	return c, nil
}

// CrashReconciler kills BOS's reconciler as kill -9 would (server.BOS.CrashReconciler);
// it does not wait, so a power driver's fault hook may call it.
func (s *Stack) CrashReconciler() {
	if s.BOS != nil {
		s.BOS.CrashReconciler()
	}
}

// RestartReconciler restarts BOS's reconciler on the same store, as a restarted BOS would
// (server.BOS.RestartReconciler).
func (s *Stack) RestartReconciler() {
	if s.BOS != nil {
		s.BOS.RestartReconciler()
	}
}
