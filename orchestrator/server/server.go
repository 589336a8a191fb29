package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/inproc"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/orchestrator/metrics"
	"github.com/cray-bos/bos/orchestrator/ownership"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
	"github.com/cray-bos/bos/orchestrator/rollout"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
	"github.com/cray-bos/bos/orchestrator/webui"
)

// How BOS powers nodes (Config.Power).
const (
	PowerRedfish = "redfish" // straight to the BMCs (the default)
	PowerPCS     = "pcs"     // through PCS, as BOS 2.50 does
)

// PCSPath is PCS's API path under its URL.
const PCSPath = "/power-control/v1"

// RedfishEventsPath is where Handler takes the BMCs' power events (Power PowerRedfish).
const RedfishEventsPath = "/operator/redfish-events"

// Services says where the services BOS drives are: scheme://host:port, no API path; ""
// for a service that is not there.
type Services struct {
	// HSM, BSS, CFS, S3 and IMS are all needed by the reconciler; HSM alone lets session
	// creation check overlaps, IMS and S3 let it check boot sets.
	HSM, BSS, CFS, S3, IMS string
	// PCS powers nodes with Power PowerPCS.
	PCS string
	// Slurm (slurmrestd), with HSM, runs CRUS and rollouts.
	Slurm string
	// Scontrol, a path to scontrol (squeue beside it), has the rollouts drive a real
	// slurmctld through its commands instead of Slurm (slurmrestd has no reboot call).
	Scontrol string
}

// Config is everything BOS is made of. Only Store's choice of Redis is needed for the API
// alone; Reconcile asks for the rest.
type Config struct {
	// URL is where this BOS is reached (scheme://host:port): BMCs post their power events
	// to URL+RedfishEventsPath and CRUS calls BOS's API there. Empty: no event
	// subscriptions (power is read with GETs) and no CRUS.
	URL string
	// Store chooses the Redis (URL empty: an embedded one) and the key prefix; its
	// OnComponentsChanged is set here, to wake the reconciler, and OnComponentsWritten, to
	// feed the web view.
	Store    store.Config
	Services Services
	// HTTPClient carries BOS's calls to the services (nil: http.DefaultTransport); each
	// service's *_read_timeout option bounds them. Dial opens the Redfish driver's
	// connections to BMCs (nil: a net.Dialer).
	HTTPClient *http.Client
	Dial       func(ctx context.Context, network, address string) (net.Conn, error)

	// Reconcile runs the v2 reconciler and the v1 lockstep agent (Run); it needs HSM,
	// BSS, CFS, S3 and IMS.
	Reconcile bool
	// Power is how nodes are powered: PowerRedfish ("" too) or PowerPCS (Services.PCS).
	Power string
	// RedfishScheme is how BMCs are reached: "http" ("" too) or "https".
	RedfishScheme string
	// RedfishTimeout bounds one Redfish request (0: the driver's 10 s).
	RedfishTimeout time.Duration
	// BMCCredentials are the BMCs' credentials (the stand-in for the Vault PCS reads: HSM
	// never returns passwords). Nil: root/initial0 for every BMC.
	BMCCredentials *power.Credentials
	// Workers and BatchSize tune the reconciler (0: its defaults).
	Workers, BatchSize int
	// WrapPower, when set, wraps the reconciler's power driver (tests inject faults and
	// crashes there; see CrashReconciler).
	WrapPower func(power.PowerControl) power.PowerControl
	// V1 paces and bounds the v1 lockstep agent (zero fields: BOA's defaults).
	V1 lockstep.Timing
	// CRUS bounds the waits of the CRUS controller.
	CRUS crus.Timing
	// RolloutPoll is how often the rollout controller looks (0: its 5 s).
	RolloutPoll time.Duration

	// Replica, when its ID is set, makes this BOS one of several on one Redis: API
	// replicas serve the API only; operator replicas divide the nodes among themselves
	// through leases in Redis (orchestrator/ownership) and the leader among them sets
	// sessions up and runs the v1 agent, CRUS and rollouts.
	Replica Replica

	// Tenants is the tenant registry (the TAPMS stand-in); nil: no tenants.
	Tenants tenant.Registry
	// Auth, when set, makes the API require bearer tokens (api.Config.Auth).
	Auth api.Authenticator
	// Logger receives what BOS does (nil discards); LogLevel, when set, is its handler's
	// level, which the logging_level option sets.
	Logger   *slog.Logger
	LogLevel *slog.LevelVar
}

// BOS is one composed BOS: Handler serves its API, Run runs its agents.
type BOS struct {
	cfg     Config
	store   *store.Store
	handler http.Handler
	rec     *reconcilerRun // idle without Reconcile
	agent   *lockstep.Agent
	crus    *crus.Server
	rollout *rollout.Server            // nil without HSM, Slurm and URL
	redfish *power.Redfish             // nil when nodes are powered through PCS
	view    atomic.Pointer[webui.View] // set by build; the store's write hook reads it
	metrics *metrics.Metrics
	owner   *ownership.Owner // this replica's nodes; nil when BOS runs alone
	// subscribed is closed when Run's first pass of BMC event subscriptions has ended;
	// subscribedBMCs then says how many BMCs took one (-1: BOS subscribes to none).
	subscribed     chan struct{}
	subscribedBMCs atomic.Int64

	// rolloutHook is rollout, for the store's write hook: a waking write to a node a
	// rollout has in flight wakes its controller.
	rolloutHook atomic.Pointer[rollout.Server]

	// eventSecret is the secret of this BOS's BMC event subscriptions, kept in the store
	// (store.EventSecret); "" when it subscribes to none.
	eventSecret string
}

// New opens the store, migrates v1 templates in it to v2 form, and builds the API and,
// as cfg asks, the reconciler, v1 agent and CRUS. ctx bounds these steps only; Run runs
// BOS, Close releases it.
func New(ctx context.Context, cfg Config) (b *BOS, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tenants == nil {
		cfg.Tenants = tenant.NewMemory()
	}
	if cfg.Power == "" {
		cfg.Power = PowerRedfish
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b = &BOS{cfg: cfg, rec: &reconcilerRun{}, subscribed: make(chan struct{})}
	storeCfg := cfg.Store
	storeCfg.ShareWakes = cfg.Replica.ID != "" // the node's owner may be another replica
	storeCfg.OnComponentsChanged = func(ids []string) {
		b.rec.wake(ids...)
		if r := b.rolloutHook.Load(); r != nil {
			r.Notify(ids) // a node in flight reported (its boot): the rollout's next look
		}
	}
	storeCfg.OnComponentsWritten = func(ids []string) {
		if v := b.view.Load(); v != nil {
			v.Notify(ids)
		}
	}
	if b.store, err = store.Open(ctx, storeCfg); err != nil {
		return nil, fmt.Errorf("bos: %w", err)
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	b.metrics = b.newMetrics()
	if _, err := lockstep.MigrateTemplates(ctx, b.store, cfg.Logger); err != nil {
		return nil, fmt.Errorf("bos: %w", err)
	}
	if cfg.subscribes() {
		if b.eventSecret, err = b.store.EventSecret(ctx, cfg.Replica.subscriptionOwner()); err != nil {
			return nil, fmt.Errorf("bos: %w", err)
		}
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Config) validate() error {
	svc := c.Services
	switch {
	case c.Power != PowerRedfish && c.Power != PowerPCS:
		return fmt.Errorf("bos: power must be %s or %s, not %q", PowerRedfish, PowerPCS, c.Power)
	case c.Reconcile && (svc.HSM == "" || svc.BSS == "" || svc.CFS == "" || svc.S3 == "" || svc.IMS == ""):
		return errors.New("bos: the reconciler needs hsm, bss, cfs, s3 and ims URLs")
	case c.Reconcile && c.Power == PowerPCS && svc.PCS == "":
		return errors.New("bos: power through pcs needs a pcs URL")
	}
	return c.Replica.validate()
}

// build wires the API, the reconciler, the v1 agent and CRUS on the open store.
func (b *BOS) build() error {
	cfg, svc := b.cfg, b.cfg.Services
	// BOS's clients of BSS, CFS, HSM, IMS and PCS wait for an answer as long as the
	// *_read_timeout options say; the reconciler's passes keep them current.
	timeouts := &reconciler.ReadTimeouts{}
	clientOf := func(service string) *http.Client {
		var c http.Client // nil HTTPClient: the clients' default, http.DefaultTransport
		if cfg.HTTPClient != nil {
			c = *cfg.HTTPClient
		}
		c.Transport = b.metrics.Transport(service, timeouts.Transport(service, c.Transport))
		return &c
	}
	var checker bos.BootSetChecker
	if svc.IMS != "" && svc.S3 != "" {
		checker = bootsets.NewBootSetChecker(svc.IMS, svc.S3, clientOf(reconciler.ServiceIMS))
	}
	var (
		inventory reconciler.HSMInventory
		nodes     bos.NodeResolver // the overlap check of session creation needs HSM
		// handoff carries the inventory the overlap check read to the session's setup.
		handoff = &selection.Handoff{}
	)
	if svc.HSM != "" {
		inventory = reconciler.NewHSMInventory(svc.HSM, clientOf(reconciler.ServiceHSM))
		nodes = &selection.Resolver{Inventory: inventory, Tenants: cfg.Tenants, Handoff: handoff}
	}
	mux := http.NewServeMux()
	if cfg.Reconcile {
		driver, polled, err := b.powerDriver(inventory, clientOf(reconciler.ServicePCS), mux)
		if err != nil {
			return err
		}
		bssPort := countedBSS{reconciler.NewBSSBootParameters(svc.BSS, clientOf(reconciler.ServiceBSS)), b.metrics}
		cfsPort := countedCFS{reconciler.NewCFSConfiguration(svc.CFS, clientOf(reconciler.ServiceCFS)), b.metrics}
		images := bootsets.NewS3Images(svc.IMS, svc.S3, clientOf(reconciler.ServiceIMS))
		if cfg.WrapPower != nil {
			driver = cfg.WrapPower(driver)
		}
		// The readings known without asking each BMC (events, HSM's states), in one call
		// per batch; not under a test's wrapper, which must see every read.
		var knownPower func(context.Context, []string) (map[string]power.PowerReading, []string)
		if b.redfish != nil && cfg.WrapPower == nil {
			knownPower = b.redfish.KnownStates
		}
		driver, polled = countedPower{driver, b.metrics}, countedPower{polled, b.metrics}
		b.owner = b.newOwner()
		discovery := &sessions.Discovery{Store: b.store, Inventory: inventory} // one run for the reconciler and the v1 agent starting together
		b.rec.cfg = reconciler.Config{
			Store: b.store, Tenants: cfg.Tenants, Handoff: handoff,
			Inventory: inventory, Discovery: discovery, BSS: bssPort, CFS: cfsPort, Images: images,
			Power:      driver,
			KnownPower: knownPower,
			Workers:    cfg.Workers, BatchSize: cfg.BatchSize,
			BMCPatience: bmcPatience(cfg.RedfishTimeout),
			Logger:      cfg.Logger, LogLevel: cfg.LogLevel, ReadTimeouts: timeouts,
			OnPass: b.metrics.Pass,
		}
		if b.owner != nil {
			b.rec.cfg.Ownership = b.owner
			b.rec.cfg.Instance = b.owner.ID()
		}
		// The v1 agent acts through the same effects (BSS, CFS, power) as the reconciler,
		// reading power with GETs only (see Redfish.Polled).
		agent, err := lockstep.New(lockstep.Config{
			Store: b.store, Inventory: inventory, Discovery: discovery, Images: images, Handoff: handoff,
			Effects: &reconciler.Effects{Store: b.store, BSS: bssPort, CFS: cfsPort, Power: polled},
			Timing:  cfg.V1, Logger: cfg.Logger,
		})
		if err != nil {
			return fmt.Errorf("bos: %w", err)
		}
		b.agent = agent
	}
	var wakeV1 func()
	if b.agent != nil {
		wakeV1 = b.agent.Wake
	}
	var rollouts api.Rollouts
	if svc.HSM != "" && (svc.Slurm != "" || svc.Scontrol != "") && cfg.URL != "" {
		_, hsm, slurm := rollout.HTTPServices(cfg.URL, svc.HSM, svc.Slurm, cfg.HTTPClient)
		if svc.Scontrol != "" {
			slurm = &slurmapi.Command{Scontrol: svc.Scontrol, Squeue: filepath.Join(filepath.Dir(svc.Scontrol), "squeue")}
		}
		self := b.selfClient()
		bosAPI := func(tenant string) rollout.BOS { return self.WithTenant(tenant) }
		srv, err := rollout.New(rollout.Config{Store: b.store, BOS: bosAPI, HSM: hsm, Slurm: slurm,
			Poll: cfg.RolloutPoll, Logger: cfg.Logger})
		if err != nil {
			return fmt.Errorf("bos: rollout: %w", err)
		}
		b.rollout, rollouts = srv, srv
		b.rolloutHook.Store(srv)
	}
	mux.Handle("/", api.New(api.Config{Store: b.store, Tenants: cfg.Tenants, BootSets: checker, Logger: cfg.Logger,
		LogLevel: cfg.LogLevel, Nodes: nodes, WakeV1: wakeV1, WakeV2: b.rec.wakeSessions, Auth: cfg.Auth,
		Rollouts: rollouts}).Handler())
	viewCfg := webui.Config{Store: b.store, Tenants: cfg.Tenants, Auth: cfg.Auth, Power: b.powerReader(), Logger: cfg.Logger}
	if svc.Slurm != "" {
		viewCfg.Slurm = slurmapi.NewClient(svc.Slurm, cfg.HTTPClient)
		if svc.HSM != "" {
			viewCfg.NIDs = nidsOf(hsmapi.NewClient(svc.HSM, clientOf(reconciler.ServiceHSM)))
		}
	}
	view := webui.New(viewCfg)
	b.view.Store(view)
	for _, p := range []string{webui.Path, webui.GatewayPath} {
		mux.Handle(p, view.Handler())
		mux.Handle(strings.TrimSuffix(p, "/"), view.Handler())
	}
	mux.Handle(MetricsPath, b.metrics.Handler())
	mux.Handle(MetricsGatewayPath, b.metrics.Handler())
	if svc.HSM != "" && svc.Slurm != "" && cfg.URL != "" {
		hsmGroups, _, wlm := crus.HTTPServices(svc.HSM, cfg.URL, svc.Slurm, cfg.HTTPClient)
		srv, err := crus.New(crus.Config{Store: b.store, HSM: hsmGroups, BOS: b.selfClient(), WLM: wlm, Timing: cfg.CRUS, Logger: cfg.Logger})
		if err != nil {
			return fmt.Errorf("bos: crus: %w", err)
		}
		b.crus = srv
		mux.Handle(crus.PathPrefix+"/", srv.Handler())
	}
	b.handler = mux
	return nil
}

// selfClient is the BOS client of BOS's own controllers (rollouts, CRUS): it serves
// their requests on this BOS's handler in process, as the administrator (api.Internal),
// so they work with authentication on and reach this replica whatever is in front of it.
func (b *BOS) selfClient() *bosapi.Client {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.handler.ServeHTTP(w, r) })
	return bosapi.NewClient(b.cfg.URL, &http.Client{Transport: inproc.Transport{Handler: handler, Context: api.Internal}})
}

// powerDriver returns the reconciler's power driver and the one the v1 agent polls: PCS
// when Power says so, else Redfish (b.redfish, with its event sink served on mux).
func (b *BOS) powerDriver(inventory reconciler.HSMInventory, pcsClient *http.Client, mux *http.ServeMux) (driver, polled power.PowerControl, err error) {
	cfg := b.cfg
	if cfg.Power == PowerPCS {
		p := power.NewPCS(power.PCSConfig{URL: cfg.Services.PCS + PCSPath, HTTP: pcsClient})
		return p, p, nil
	}
	creds := cfg.BMCCredentials
	if creds == nil {
		creds = &power.Credentials{Default: power.Credential{Username: "root", Password: "initial0"}}
	}
	scheme := cfg.RedfishScheme
	if scheme == "" {
		scheme = "http"
	}
	var events string
	if cfg.URL != "" {
		events = cfg.URL + RedfishEventsPath
	}
	hsm := inventory.Endpoints(creds)
	b.redfish = power.NewRedfish(power.RedfishConfig{
		Endpoints: hsm, States: hsm, Scheme: scheme, Timeout: cfg.RedfishTimeout,
		EventDestination: events,
		Owner:            b.cfg.Replica.subscriptionOwner(),
		EventSecret:      b.eventSecret, // a restart's, too: it keeps the subscriptions it left
		OnPowerChange:    b.rec.wakePower,
		Dial:             cfg.Dial,
		WrapTransport:    func(rt http.RoundTripper) http.RoundTripper { return b.metrics.Transport(ServiceRedfish, rt) },
		Logger:           cfg.Logger,
	})
	b.metrics.BMCConnections(b.redfish.ConnectionsOpened)
	mux.Handle(RedfishEventsPath, b.redfish.EventsHandler())
	return b.redfish, b.redfish.Polled(), nil
}

// powerReader reads a node's power through the reconciler's driver for the web view (nil
// without the reconciler: no driver).
func (b *BOS) powerReader() webui.PowerReader {
	power := b.rec.cfg.Power
	if power == nil {
		return nil
	}
	return func(ctx context.Context, id string) (string, error) {
		r := power.PowerStates(ctx, []string{id})[id]
		return r.Power.String(), r.Err
	}
}

// nidsOf reads every node's NID from HSM for the web view, which names Slurm's nodes by it.
func nidsOf(hsm *hsmapi.Client) webui.NIDs {
	return func(ctx context.Context) (map[int]string, error) {
		comps, err := hsm.GetComponents(ctx, hsmapi.ComponentFilter{Type: []string{"Node"}, NIDOnly: true})
		if err != nil {
			return nil, err
		}
		out := make(map[int]string, len(comps))
		for _, c := range comps {
			if c.NID > 0 {
				out[c.NID] = c.ID
			}
		}
		return out, nil
	}
}

// bmcPatience is how long a reconciler batch waits for BMCs: a second, or a quarter of a
// shorter Redfish timeout (0 = the driver's default of 10 s).
func bmcPatience(redfishTimeout time.Duration) time.Duration {
	if redfishTimeout <= 0 {
		return time.Second
	}
	return min(time.Second, redfishTimeout/4)
}

// Handler serves BOS's API (v2, v1, CRUS under /crus), the BMCs' power events and the web
// view (/ui/ and /apis/bos/ui/, orchestrator/webui).
func (b *BOS) Handler() http.Handler { return b.handler }

// Store is BOS's store (tests read it directly).
func (b *BOS) Store() *store.Store { return b.store }

// Run runs the reconciler and the v1 agent (with Reconcile) and the CRUS controller until
// ctx ends, then waits for every goroutine it started and deletes BOS's event
// subscriptions from the BMCs (5 s at most; a BMC that does not answer forgets them after
// failed deliveries, or the next start replaces them). Call it once.
func (b *BOS) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	spawn := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	operate := b.cfg.Replica.operates()
	if b.crus != nil && operate {
		spawn(func(ctx context.Context) { b.leading(ctx, func(ctx context.Context) { _ = b.crus.Run(ctx) }) })
	}
	if b.rollout != nil && operate {
		spawn(func(ctx context.Context) { b.leading(ctx, func(ctx context.Context) { _ = b.rollout.Run(ctx) }) })
	}
	stopOwner := func() {}
	if b.cfg.Reconcile && operate {
		if b.owner != nil {
			stopOwner = b.runOwner(ctx, b.owner)
			spawn(func(ctx context.Context) {
				b.store.SubscribeWakes(ctx, func(ids []string) {
					b.rec.wake(ids...)
					if b.rollout != nil {
						b.rollout.Notify(ids) // another replica's write (a boot report) to a node in flight
					}
				})
			})
		}
		if b.subscribes() {
			// Subscribing connects to every BMC (seconds at 10,000 nodes): do it in the
			// background, again for the BMCs that did not answer; until a BMC has
			// subscribed, its nodes' power is read from HSM's states or with GETs.
			spawn(func(ctx context.Context) {
				n := b.redfish.KeepSubscribed(ctx, func(n int) {
					b.subscribedBMCs.Store(int64(n))
					close(b.subscribed)
				})
				b.cfg.Logger.Info("subscribed to BMC events", "bmcs", n)
			})
		}
		b.rec.begin(ctx)
		spawn(func(ctx context.Context) { b.leading(ctx, func(ctx context.Context) { _ = b.agent.Run(ctx) }) })
	}
	if !b.subscribes() {
		b.subscribedBMCs.Store(-1)
		close(b.subscribed)
	}
	<-ctx.Done()
	wg.Wait()
	b.rec.end()
	stopOwner()
	if b.subscribes() {
		// A clean stop deletes BOS's event subscriptions, so BMCs do not keep POSTing to
		// a BOS that is gone.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if n := b.redfish.Unsubscribe(ctx); n > 0 {
			b.cfg.Logger.Warn("event subscriptions left on BMCs that did not answer", "bmcs", n)
		}
	}
	return nil
}

// leading runs f: at once when BOS runs alone, else whenever this replica leads.
func (b *BOS) leading(ctx context.Context, f func(context.Context)) {
	if b.owner == nil {
		f(ctx)
		return
	}
	whileLeader(ctx, b.owner, time.Second, f)
}

// subscribes says whether Run subscribes to the BMCs' power events (Config.subscribes).
func (b *BOS) subscribes() bool { return b.redfish != nil && b.cfg.subscribes() }

// subscribes says whether a BOS of c subscribes to the BMCs' power events: the reconciler
// runs here, powers nodes through Redfish and BMCs can reach BOS at its URL.
func (c Config) subscribes() bool {
	return c.Reconcile && c.Power == PowerRedfish && c.Replica.operates() && c.URL != ""
}

// Subscribed waits until Run's first pass of BMC event subscriptions has ended and says
// how many BMCs took one; -1 when BOS subscribes to none (see subscribes). Until then
// BOS reads power with GETs and a boot pays for the subscriptions too.
func (b *BOS) Subscribed(ctx context.Context) (int, error) {
	select {
	case <-b.subscribed:
		return int(b.subscribedBMCs.Load()), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close releases the BMC clients and the store (stopping an embedded Redis). Call it after
// Run has returned and the HTTP server has stopped.
func (b *BOS) Close() {
	if b.redfish != nil {
		b.redfish.Close()
	}
	if b.store != nil {
		_ = b.store.Close()
	}
}
