package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/internal/xname"
)

// Config says what New builds. Only Topology is required.
type Config struct {
	// Topology is the cluster: one BMC per topology.BMC, one ComputerSystem per node.
	Topology *topology.Topology
	// FirstAddress is the loopback address of the first BMC without a topology Address;
	// the next ones count up from it, skipping x.y.z.0 and x.y.z.255. Default "127.1.0.1".
	FirstAddress string
	// SkipAddresses is how many of those addresses the first BMC skips: a shard of a
	// cluster (topology.Shard) skips those of the BMCs before it, so every BMC has the
	// address it would have in the whole, whichever process runs it.
	SkipAddresses int
	// Port is the TCP port every BMC listens on (each on its own address). 0 picks a free
	// port when the first BMC binds and uses it for all others. With ListenAddress it is
	// the first port: the BMC at index i of the whole cluster (SkipAddresses + its index
	// here) listens on Port+i, and 0 gives each BMC a free port.
	Port int
	// ListenAddress, when set, gives every BMC a port of its own on this address of the
	// host (e.g. "0.0.0.0", or a NIC's address) instead of an address of its own on
	// loopback, so BMCs can be reached from other hosts. Empty (the default): loopback
	// addresses from FirstAddress, reachable from this host only.
	ListenAddress string
	// Advertise is the host name or address the BMCs' URLs carry with ListenAddress: how
	// clients reach this host. Default ListenAddress, which then must not be unspecified
	// (0.0.0.0 is no address to dial).
	Advertise string
	// TLS serves HTTPS (HTTP/1.1 only) with ECDSA P-256 certificates signed by a CA made
	// in New (see CACertPEM). Default plain HTTP.
	TLS bool
	// Username and Password are the BMC credentials unless a topology BMC overrides them.
	// Default root / initial0.
	Username, Password string
	// InitialPower is the state every system starts in: "Off" (default) or "On". "On"
	// systems count as booted long ago: no boot script fetch, no report.
	InitialPower string
	// MaxSessions caps the open sessions per BMC (503 SessionLimitExceeded beyond it);
	// 0 means no cap.
	MaxSessions int
	// Timing holds every simulated delay; nil means DefaultTiming().
	Timing *Timing
	// Seed drives the jitter and the rate-based fault selection. Same seed, same cluster.
	Seed int64
	// Faults are injected from the start; SetFault/ClearFault change them later.
	Faults Faults
	// SlowNodes multiplies the hardware delays (power transitions, OS shutdown, POST,
	// boot) of the named nodes by their factor, on top of Timing's Scale and Jitter: 5
	// makes a node five times slower, 0.5 twice as fast. For clusters whose nodes do not
	// all boot at the same pace. Factors must be positive and every xname a node of the
	// topology; unnamed nodes keep factor 1.
	SlowNodes map[string]float64
	// Services are the BSS, BOS and CFS base URLs the virtual nodes talk to; SetServices
	// changes them at run time.
	Services Services
	// Subscriptions are pre-seeded on every BMC's EventService, each with Context set to
	// that BMC's xname. "{bmc}" in a Destination is replaced by the BMC xname.
	Subscriptions []Subscription
	// EventWorkers is the size of the event delivery pool shared by all BMCs (default 32);
	// EventQueue is each worker's queue length (default 4096) and the most events a
	// subscription holds waiting for delivery; events beyond them are dropped and counted in
	// Stats.
	EventWorkers, EventQueue int
	// AgentWorkers bounds the virtual nodes' concurrent HTTP calls to BSS, BOS and CFS
	// (default 64), so 10,000 nodes booting at once do not open 10,000 sockets.
	AgentWorkers int
	// BatchCFSReports sends the nodes' CFS reports together, as the collected events
	// are: one PATCH /v3/components (CFS's bulk patch, by ids) carries the reports of up
	// to maxCollectedPerPost nodes queued while the previous one was sent, instead of a
	// PATCH per node. For a CFS in another process (a BMC shard's).
	BatchCFSReports bool
	// OnBooted is called when a node's OS is up (after the boot delay, before it reports).
	// It runs on a pool worker: keep it short.
	OnBooted func(xname string, at time.Time)
	// OnPowerChange is called on every PowerState change, outside the simulator's locks
	// (so, unlike the events, calls for changes made at one instant by different
	// goroutines may come in either order).
	OnPowerChange func(xname, state string)
	// WrapHandler, when set, wraps the BMCs' HTTP handler (metrics middleware).
	WrapHandler func(http.Handler) http.Handler
	// WrapTransport, when set, wraps the transport of every request the simulator makes
	// (nodes to BSS, BOS and CFS; events to subscribers): the stack serves those to
	// services in its own process without a socket (inproc.Hosts).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// BootScript, when set, answers a node's GET {bss}/boot/v1/bootscript?name=<xname>
	// in this process, without a request (the BSS, or its replica, runs here): the
	// status and the script. Status 0 leaves the request to HTTP. Its context ends after
	// Timing.HTTPTimeout, as the request's would.
	BootScript func(ctx context.Context, bss, xname string) (int, string)
	// CFSReport, when set, answers a node's PATCH {cfs}/v3/components/<xname> {"state":
	// [], "enabled": true} in this process, without a request (the CFS runs here): the
	// status. Status 0 leaves the report to HTTP (or to BatchCFSReports).
	CFSReport func(cfs, xname string) int
	// OnReset is called on every Reset action the BMC accepted (applied or a no-op), with
	// its ResetType, outside the simulator's locks: tests count resets per type there.
	OnReset func(xname, resetType string)
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
	// Listen and Dial replace the host's TCP for the BMCs' listeners and for every
	// connection the simulator makes (nodes to BSS, BOS and CFS; events to subscribers);
	// nil means listenTCP (net.Listen without TCP keep-alive on accepted connections) and
	// a net.Dialer. Tests run the stack on an in-memory network (internal/memnet) this way.
	Listen func(network, address string) (net.Listener, error)
	Dial   func(ctx context.Context, network, address string) (net.Conn, error)
	// Now is the clock for timestamps and session expiry; nil means time.Now. Delays are
	// real timers (scaled), not driven by this clock.
	Now func() time.Time
}

// Services are base URLs, scheme://host:port with no API path: the node adds
// /boot/v1/bootscript, /v2/components/{xname} and /v3/components/{xname}. Empty skips
// that step of the boot.
type Services struct {
	BSS, BOS, CFS string
}

// Subscription is a pre-seeded EventService subscription.
type Subscription struct {
	// Destination is the URL events are POSTed to.
	Destination string
	// Collect sends the events of every BMC of the simulator together, as hmcollector
	// forwards BMCs' events: one POST carries records of several BMCs (up to
	// maxCollectedPerPost), each record's Context naming its BMC (a property the Event
	// schema deprecates; HSM's parser reads it) and the Event's Context empty. A BMC's
	// events still arrive in the order of its changes. For HSM's RedfishEvents, not for a
	// subscriber that reads only the Event's Context.
	Collect bool
	// EventTypes and RegistryPrefixes filter like a POSTed subscription's (empty = all).
	EventTypes       []string
	RegistryPrefixes []string
	// Local, when set on a collected subscription, takes its events in this process
	// instead of a POST (the destination runs here: no JSON either way). It applies
	// them as the POST would, in order, and reports false when it cannot take them (they
	// are POSTed then).
	Local func(events []EventRecord) bool
}

// EventRecord is what a collected subscription's Local gets of each event: the fields
// HSM reads of a record (its Context names the BMC).
type EventRecord struct {
	Context           string
	MessageID         string
	MessageArgs       []string
	OriginOfCondition string
}

// Timing holds the simulated delays and the node agent's retry pacing.
//
// Hardware delays (PowerOn, PowerOff, GracefulShutdown, POST, Boot) are real
// time multiplied by Scale, each varied by ±Jitter with the seeded RNG; zero is allowed
// and means "at once". Client-side pacing (BootScriptRetry, ReportBackoff,
// ReportBackoffCap, HTTPTimeout, SessionTimeout) is not scaled; zero means the default.
type Timing struct {
	PowerOn          time.Duration // PoweringOn -> On. Default 5s.
	PowerOff         time.Duration // PoweringOff -> Off for ForceOff and restarts. Default 2s.
	GracefulShutdown time.Duration // OS shutdown, PoweringOff -> Off. Default 30s.
	POST             time.Duration // On -> boot script fetch. Default 60s.
	Boot             time.Duration // kernel loaded -> OS up (OnBooted, reports). Default 120s.
	Jitter           float64       // fraction, 0.2 = ±20%. Default 0.2.
	Scale            float64       // multiplies hardware delays; 0 = instant. Default 1.

	BootScriptRetry  time.Duration // wait before fetching the boot script again. Default 30s (BSS_RETRY_DELAY).
	ReportBackoff    time.Duration // linear backoff step of the BOS/CFS reports. Default 1s.
	ReportBackoffCap time.Duration // cap of that backoff. Default 30s (bos-reporter).
	HTTPTimeout      time.Duration // per request of the node agent and event delivery. Default 10s.
	SessionTimeout   time.Duration // idle Redfish session lifetime. Default 30m.
	RetryAfter       time.Duration // Retry-After of FaultReset503. Default 5s.
	SlowLatency      time.Duration // added by FaultSlow to every request. Default 2s.
}

// DefaultTiming is a realistic, unscaled cluster: a reboot takes about three minutes.
func DefaultTiming() Timing {
	return Timing{
		PowerOn: 5 * time.Second, PowerOff: 2 * time.Second, GracefulShutdown: 30 * time.Second,
		POST: 60 * time.Second, Boot: 120 * time.Second,
		Jitter: 0.2, Scale: 1,
	}
}

// withDefaults fills the zero client-side fields.
func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.BootScriptRetry, 30*time.Second)
	def(&t.ReportBackoff, time.Second)
	def(&t.ReportBackoffCap, 30*time.Second)
	def(&t.HTTPTimeout, 10*time.Second)
	def(&t.SessionTimeout, 30*time.Minute)
	def(&t.RetryAfter, 5*time.Second)
	def(&t.SlowLatency, 2*time.Second)
	return t
}

func (t Timing) validate() error {
	for name, d := range map[string]time.Duration{"PowerOn": t.PowerOn, "PowerOff": t.PowerOff,
		"GracefulShutdown": t.GracefulShutdown, "POST": t.POST, "Boot": t.Boot} {
		if d < 0 {
			return fmt.Errorf("timing: %s must not be negative", name)
		}
	}
	if t.Jitter < 0 || t.Jitter > 1 {
		return errors.New("timing: Jitter must be within [0, 1]")
	}
	if t.Scale < 0 {
		return errors.New("timing: Scale must not be negative")
	}
	return nil
}

// validate checks cfg and fills its defaults.
func (cfg *Config) validate() error {
	if cfg.Topology == nil || len(cfg.Topology.BMCs) == 0 {
		return errors.New("config: a topology with at least one BMC is required")
	}
	if cfg.FirstAddress == "" {
		cfg.FirstAddress = "127.1.0.1"
	}
	a, err := netip.ParseAddr(cfg.FirstAddress)
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return fmt.Errorf("config: FirstAddress %q must be an IPv4 loopback address", cfg.FirstAddress)
	}
	if cfg.SkipAddresses < 0 {
		return fmt.Errorf("config: SkipAddresses %d is negative", cfg.SkipAddresses)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("config: Port %d out of range", cfg.Port)
	}
	if err := cfg.validateListen(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if cfg.Username == "" {
		cfg.Username = "root"
	}
	if cfg.Password == "" {
		cfg.Password = "initial0"
	}
	switch cfg.InitialPower {
	case "", "Off":
		cfg.InitialPower = "Off"
	case "On":
	default:
		return fmt.Errorf("config: InitialPower %q must be On or Off", cfg.InitialPower)
	}
	if cfg.MaxSessions < 0 {
		return errors.New("config: MaxSessions must not be negative")
	}
	if cfg.Timing == nil {
		t := DefaultTiming()
		cfg.Timing = &t
	}
	t := cfg.Timing.withDefaults()
	if err := t.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg.Timing = &t
	if cfg.EventWorkers <= 0 {
		cfg.EventWorkers = 32
	}
	if cfg.EventQueue <= 0 {
		cfg.EventQueue = 4096
	}
	if cfg.AgentWorkers <= 0 {
		cfg.AgentWorkers = 64
	}
	for i, sub := range cfg.Subscriptions {
		if err := checkDestination(sub.Destination); err != nil {
			return fmt.Errorf("config: subscription %d: %w", i, err)
		}
	}
	cfg.Services = cfg.Services.trimmed()
	if len(cfg.SlowNodes) > 0 {
		slow := make(map[string]float64, len(cfg.SlowNodes))
		for id, f := range cfg.SlowNodes {
			if !(f > 0) || math.IsInf(f, 0) {
				return fmt.Errorf("config: SlowNodes[%s] = %v must be a positive factor", id, f)
			}
			slow[xname.Normalize(id)] = f
		}
		cfg.SlowNodes = slow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == nil {
		cfg.Listen = listenTCP
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

func (s Services) trimmed() Services {
	return Services{BSS: strings.TrimRight(s.BSS, "/"), BOS: strings.TrimRight(s.BOS, "/"), CFS: strings.TrimRight(s.CFS, "/")}
}

// listenTCP is net.Listen whose accepted connections get no TCP keep-alive: Go would
// otherwise set four socket options on each (SO_KEEPALIVE and its idle, interval and count),
// a system call apiece on every connection a BMC accepts, for probes that an idle
// connection never needs here: the server's IdleTimeout closes it first.
func listenTCP(network, address string) (net.Listener, error) {
	return (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), network, address)
}

// validateListen checks ListenAddress and Advertise (a port per BMC) and fills Advertise.
func (cfg *Config) validateListen() error {
	if cfg.ListenAddress == "" {
		if cfg.Advertise != "" {
			return errors.New("Advertise needs ListenAddress: loopback BMCs are reached at their own addresses")
		}
		return nil
	}
	a, err := netip.ParseAddr(cfg.ListenAddress)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("ListenAddress %q is not an IP address", cfg.ListenAddress)
	}
	if cfg.Advertise == "" {
		if a.IsUnspecified() {
			return fmt.Errorf("ListenAddress %s needs Advertise: the host name or address clients reach the BMCs at", a)
		}
		cfg.Advertise = a.String()
	}
	if err := checkHost(cfg.Advertise); err != nil {
		return fmt.Errorf("Advertise: %w", err)
	}
	if cfg.Port != 0 {
		if last := cfg.Port + cfg.SkipAddresses + len(cfg.Topology.BMCs) - 1; last > 65535 {
			return fmt.Errorf("Port %d: the BMC ports would run to %d, past 65535", cfg.Port, last)
		}
	}
	return nil
}

// checkHost accepts a host name or an IP address, with no scheme, port or path.
func checkHost(h string) error {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.IsUnspecified() {
			return fmt.Errorf("%s is no address to dial", h)
		}
		return nil
	}
	if h == "" || len(h) > 253 || strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" ||
		strings.HasPrefix(h, "-") || strings.HasPrefix(h, ".") {
		return fmt.Errorf("%q is not a host name or an IP address", h)
	}
	return nil
}
