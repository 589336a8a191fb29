package power

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Endpoint is where a node's ComputerSystem lives and how to reset it, as HSM's
// ComponentEndpoints and RedfishEndpoints describe it.
type Endpoint struct {
	Node        string
	BMC         string   // BMC xname
	FQDN        string   // host[:port] of the BMC
	SystemPath  string   // e.g. /redfish/v1/Systems/Node0
	ResetTarget string   // the Reset action's target
	ResetTypes  []string // ResetType@Redfish.AllowableValues
	User        string
	Password    string
}

// EndpointSource lists the Redfish endpoints of every node.
type EndpointSource interface {
	Endpoints(ctx context.Context) ([]Endpoint, error)
}

// HSMEndpoints reads endpoints from HSM (ComponentEndpoints of type Node joined with their
// RedfishEndpoints), which is where PCS finds them too. HSM never returns passwords, so
// credentials come from Credentials (PCS reads Vault); nil leaves them to RedfishConfig.
type HSMEndpoints struct {
	Client      *hsmapi.Client
	Credentials *Credentials
}

func (h HSMEndpoints) Endpoints(ctx context.Context) ([]Endpoint, error) {
	ces, err := h.Client.ComponentEndpoints(ctx, hsmapi.EndpointFilter{Type: []string{"Node"}})
	if err != nil {
		return nil, fmt.Errorf("hsm component endpoints: %w", err)
	}
	res, err := h.Client.RedfishEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("hsm redfish endpoints: %w", err)
	}
	creds := make(map[string]hsmapi.RedfishEndpoint, len(res))
	for _, re := range res {
		creds[re.ID] = re
	}
	eps := make([]Endpoint, 0, len(ces))
	for _, ce := range ces {
		ep := Endpoint{Node: ce.ID, BMC: ce.RedfishEndpointID, FQDN: ce.RedfishEndpointFQDN, SystemPath: ce.OdataID}
		if si := ce.RedfishSystemInfo; si != nil && si.Actions != nil {
			ep.ResetTarget = si.Actions.Reset.Target
			ep.ResetTypes = si.Actions.Reset.AllowableValues
		}
		if re, ok := creds[ce.RedfishEndpointID]; ok && ep.FQDN == "" {
			ep.FQDN = re.FQDN
		}
		if h.Credentials != nil {
			c := h.Credentials.For(ce.RedfishEndpointID)
			ep.User, ep.Password = c.Username, c.Password
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// StateSource reads HSM's view of nodes' power: its Component State, which HSM keeps
// from the BMCs' power events. A node it does not know (or knows neither on nor off) is
// left out.
type StateSource interface {
	States(ctx context.Context, ids []string) (map[string]Power, error)
}

// States reads the nodes' State from HSM, 1,000 ids a query: Off is off; On, Ready,
// Standby and Halt are on.
func (h HSMEndpoints) States(ctx context.Context, ids []string) (map[string]Power, error) {
	out := make(map[string]Power, len(ids))
	for chunk := range slices.Chunk(ids, 1000) {
		comps, err := h.Client.QueryComponents(ctx, chunk, hsmapi.ComponentFilter{})
		if err != nil {
			return nil, err
		}
		for _, c := range comps {
			switch c.State {
			case "Off":
				out[c.ID] = PowerOff
			case "On", "Ready", "Standby", "Halt":
				out[c.ID] = PowerOn
			}
		}
	}
	return out, nil
}

// RedfishConfig configures the Redfish power driver.
type RedfishConfig struct {
	Endpoints EndpointSource
	// Scheme of BMC URLs: "https" (default, as PCS assumes) or "http".
	Scheme string
	// Username and Password are used for BMCs whose HSM record has no credentials.
	Username, Password string
	// Timeout bounds one Redfish request (default 10 s); a hung BMC costs this much.
	Timeout time.Duration
	// Parallel bounds concurrent Redfish requests across all BMCs (default 64); a request
	// running past a tenth of Timeout no longer counts (a hung BMC must not hold the
	// bound). Each BMC address serves one request at a time, as real BMCs prefer, and
	// its requests go back to back, on one connection (lanes.go).
	Parallel int
	// EventDestination is the URL BMCs POST power events to (EventsHandler must be served
	// there); empty means no subscriptions, every reading is a GET.
	EventDestination string
	// Owner names this BOS deployment on the BMCs (default "bos"): its subscriptions carry
	// the Context "<bmc xname>:<owner>:<key id>", by which a restart finds and replaces them.
	// Two BOS deployments driving the same BMCs need different owners.
	Owner string
	// EventSecret is what BMCs must send back in the EventTokenHeader of every event (set
	// on subscribe as an HttpHeaders entry); empty means a random one per driver, so each
	// start replaces its subscriptions. Keep it out of logs.
	EventSecret string
	// CacheTTL is how long a power state learned from an event is trusted (default 30 s).
	CacheTTL time.Duration
	// States, when set, gives the power of nodes without a fresh event, in one read for
	// a batch, instead of a GET per node (HSM's State), for the nodes of BMCs whose last
	// call from this driver succeeded. The others are read first-hand (a GET: a hung or
	// refusing BMC's nodes fail with its error), and so is a node this driver reset,
	// until an event about it arrives, or that States leaves out.
	States StateSource
	// OnPowerChange is called with the node whose power an event reported, and that power.
	OnPowerChange func(node string, p Power)
	// MaxConns bounds the connections open to BMCs, all BMCs together (default 4 ×
	// Parallel): every BMC client shares one transport, so BOS's file descriptors do not
	// grow with the number of BMCs. Half of them at most are kept idle for reuse.
	MaxConns int
	// Dial opens connections to BMCs; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// WrapTransport, when set, wraps the transport the BMC clients share (metrics).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	Logger        *slog.Logger
	Now           func() time.Time
}

// Redfish drives power through gofish's Redfish schemas, every BMC on one bounded pool of
// kept-alive connections (no state kept per BMC but its outage), power states from the BMCs' ResourcePowerStateChanged
// events with a GET when no fresh event is known, and resets with the ResetType spelled as
// the BMC lists it.
type Redfish struct {
	cfg    RedfishConfig
	lanes  *lanes       // Parallel slots, and the calls to each BMC address in turn
	hc     *http.Client // shared by every BMC's client: one bounded connection pool (calls bounded by bmcClient)
	pool   *idleTracker // under hc (and WrapTransport)
	dialer *slotDialer  // under pool

	mu          sync.RWMutex
	eps         map[string]Endpoint     // node → endpoint
	bySystem    map[string]string       // bmc + system path → node
	cache       map[string]reading      // node → last event
	resetSince  map[string]bool         // nodes reset since their last event: not read from States
	subs        map[string]subscription // BMC → our subscription there: whose events we receive
	secret      string                  // EventSecret
	context     string                  // ":<owner>:<key id>", after the BMC xname in a subscription's Context
	down        map[string]outage       // BMCs that failed at the transport level, by xname
	answered    map[string]bool         // BMCs whose last call to them succeeded
	lastRefresh time.Time
	refreshing  ctxLock // held while reading HSM's endpoints
	refusals    refusalLog
}

// refusalLog logs refused events at most once per refusalLogEvery, with the number refused
// since its last line: after a start with a new secret (a rotated one, another owner's)
// every BMC's events on the old subscriptions are refused until it is subscribed again,
// thousands of them.
type refusalLog struct {
	mu    sync.Mutex
	last  time.Time
	count int
}

const refusalLogEvery = 10 * time.Second

func (l *refusalLog) warn(log *slog.Logger, now time.Time, msg string, args ...any) {
	l.mu.Lock()
	l.count++
	if !l.last.IsZero() && now.Sub(l.last) < refusalLogEvery {
		l.mu.Unlock()
		return
	}
	n := l.count
	l.count, l.last = 0, now
	l.mu.Unlock()
	log.Warn(msg, append(args, "refused_since_last_line", n)...)
}

type reading struct {
	power Power
	at    time.Time
}

// outage remembers a BMC that did not answer: until retryAt, calls to it fail at once
// with err instead of waiting out the timeout again, so one dead BMC does not stall every
// batch that holds one of its nodes. The wait doubles with each failure (1 s to 1 min).
type outage struct {
	failures int
	retryAt  time.Time
	err      error
}

// ctxLock is a mutex for waits that cross the network: a caller queued behind a hung
// BMC or HSM gives up when its context ends instead of waiting out the holder. (Waiting
// on a channel also lets a synctest bubble see the waiter as blocked, which a
// sync.Mutex would hide.)
type ctxLock chan struct{}

func newCtxLock() ctxLock { return make(ctxLock, 1) }

func (l ctxLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l ctxLock) unlock() { <-l }

// NewRedfish returns a driver; call Refresh (and Subscribe) before use, or let the first
// call load the endpoints.
func NewRedfish(cfg RedfishConfig) *Redfish {
	if cfg.Scheme == "" {
		cfg.Scheme = "https"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 64
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4 * cfg.Parallel
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		cfg.Owner = "bos"
	}
	cfg.Owner = strings.ReplaceAll(cfg.Owner, ":", "-") // the Context's separator
	secret := cfg.EventSecret
	if secret == "" {
		secret = rand.Text()
	}
	cfg.EventSecret = ""
	keyID := sha256.Sum256([]byte(secret))
	dialer := newSlotDialer(cfg.MaxConns, cfg.Timeout, cfg.Dial)
	pool := bmcTransport(dialer)
	var transport http.RoundTripper = pool
	if cfg.WrapTransport != nil {
		transport = cfg.WrapTransport(transport)
	}
	return &Redfish{cfg: cfg, lanes: newLanes(cfg.Parallel, cfg.Timeout/10), hc: &http.Client{Transport: transport}, pool: pool, dialer: dialer,
		eps:      map[string]Endpoint{},
		bySystem: map[string]string{}, cache: map[string]reading{}, resetSince: map[string]bool{},
		refreshing: newCtxLock(), secret: secret, context: ":" + cfg.Owner + ":" + hex.EncodeToString(keyID[:6]),
		subs: map[string]subscription{}, down: map[string]outage{}, answered: map[string]bool{}}
}

// check fails fast for a BMC in an outage.
func (r *Redfish) check(bmc string) error {
	r.mu.RLock()
	o, ok := r.down[bmc]
	r.mu.RUnlock()
	if ok && r.cfg.Now().Before(o.retryAt) {
		return o.err // the failure that started the outage, so every node behind it says the same
	}
	return nil
}

// observe records the outcome of a call to bmc: a transport failure starts or extends its
// outage; anything else ends it.
func (r *Redfish) observe(bmc string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller gave up (BOS stopping): nothing learnt about the BMC
	}
	var re *schemas.Error
	transport := err != nil && !errors.As(err, &re)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.answered[bmc] = true
	} else {
		delete(r.answered, bmc)
	}
	if !transport {
		delete(r.down, bmc)
		return
	}
	o := r.down[bmc]
	o.failures++
	o.err = r.bmcError(bmc, err)
	wait := min(time.Second<<min(o.failures-1, 6), time.Minute)
	o.retryAt = r.cfg.Now().Add(wait)
	r.down[bmc] = o
	if o.failures == 1 {
		r.cfg.Logger.Warn("BMC unreachable: its calls fail at once until it is tried again", "bmc", bmc, "err", err, "next_try", wait)
	}
}

var _ PowerControl = (*Redfish)(nil)

// Refresh reloads the endpoints from the source.
func (r *Redfish) Refresh(ctx context.Context) error {
	if err := r.refreshing.lock(ctx); err != nil {
		return err
	}
	defer r.refreshing.unlock()
	return r.refreshLocked(ctx)
}

func (r *Redfish) refreshLocked(ctx context.Context) error {
	eps, err := r.cfg.Endpoints.Endpoints(ctx)
	if err != nil {
		return err
	}
	byNode := make(map[string]Endpoint, len(eps))
	bySystem := make(map[string]string, len(eps))
	for _, ep := range eps {
		byNode[ep.Node] = ep
		bySystem[ep.BMC+ep.SystemPath] = ep.Node
	}
	r.mu.Lock()
	r.eps, r.bySystem, r.lastRefresh = byNode, bySystem, r.cfg.Now()
	r.mu.Unlock()
	return nil
}

// endpoint returns the node's endpoint, reloading HSM's list at most every 5 s on a miss
// (a node added since the last load).
func (r *Redfish) endpoint(ctx context.Context, node string) (Endpoint, error) {
	r.mu.RLock()
	ep, ok := r.eps[node]
	r.mu.RUnlock()
	if ok {
		return ep, nil
	}
	if err := r.refreshing.lock(ctx); err != nil {
		return Endpoint{}, fmt.Errorf("read Redfish endpoints from HSM: %w", err)
	}
	r.mu.RLock()
	ep, ok = r.eps[node]
	stale := r.cfg.Now().Sub(r.lastRefresh) > 5*time.Second
	r.mu.RUnlock()
	if !ok && stale {
		if err := r.refreshLocked(ctx); err != nil {
			r.refreshing.unlock()
			return Endpoint{}, err
		}
		r.mu.RLock()
		ep, ok = r.eps[node]
		r.mu.RUnlock()
	}
	r.refreshing.unlock()
	if !ok {
		return Endpoint{}, fmt.Errorf("%w for %s in HSM", errNoEndpoint, node)
	}
	return ep, nil
}

// errNoEndpoint: HSM, read successfully, lists no Redfish endpoint for the node.
var errNoEndpoint = errors.New("no Redfish endpoint")

// client returns a client of the endpoint's BMC for calls under ctx (nothing is kept
// per BMC: bmcclient.go), or at once the error of the BMC's outage.
func (r *Redfish) client(ctx context.Context, ep Endpoint) (*bmcClient, error) {
	if err := r.check(ep.BMC); err != nil {
		return nil, err
	}
	user, pass := ep.User, ep.Password
	if user == "" {
		user, pass = r.cfg.Username, r.cfg.Password
	}
	return &bmcClient{ctx: ctx, hc: r.hc, timeout: r.cfg.Timeout, base: r.cfg.Scheme + "://" + ep.FQDN, user: user, password: pass}, nil
}

// forEach runs fn for every id with at most Parallel running at once, the ids of one
// BMC address (keyOf) one after another, back to back (see lanes). A call that has run
// a tenth of the Timeout gives its slot back: one stuck on a hung BMC puts no load on
// anything, and calls to healthy BMCs must not queue behind it.
func (r *Redfish) forEach(ctx context.Context, ids []string, keyOf func(id string) string, fn func(id string)) {
	groups := map[string][]string{}
	var keys []string
	for _, id := range ids {
		k := keyOf(id)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], id)
	}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		r.lanes.do(ctx, k, func(t *turn) {
			for _, id := range groups[k] {
				t.call(func() { fn(id) })
			}
		}, wg.Done)
	}
	wg.Wait()
}

// nodeAddress gives the lane key of a node: its BMC's address, loading HSM's endpoints
// if the node is not known yet (a node HSM does not list goes alone, and its call fails).
func (r *Redfish) nodeAddress(ctx context.Context) func(id string) string {
	return func(id string) string {
		ep, err := r.endpoint(ctx, id)
		if err != nil {
			return "node " + id
		}
		return address(ep)
	}
}

// address is where the endpoint's BMC answers: the connection its calls share.
func address(ep Endpoint) string {
	if ep.FQDN != "" {
		return ep.FQDN
	}
	return "bmc " + ep.BMC
}

// PowerStates reads each node's power: from the latest event when its BMC sends them and
// one arrived within CacheTTL, else from States, else with a GET of its ComputerSystem.
func (r *Redfish) PowerStates(ctx context.Context, ids []string) map[string]PowerReading {
	out, missing := r.KnownStates(ctx, ids)
	r.readAll(ctx, missing, out)
	return out
}

// KnownStates is PowerStates without the GETs: the readings known from events and
// States, and the nodes left to read from their BMCs.
func (r *Redfish) KnownStates(ctx context.Context, ids []string) (known map[string]PowerReading, missing []string) {
	known = make(map[string]PowerReading, len(ids))
	var ask []string
	now := r.cfg.Now()
	r.mu.RLock()
	for _, id := range ids {
		ep, listed := r.eps[id]
		c, cached := r.cache[id]
		switch {
		case cached && now.Sub(c.at) < r.cfg.CacheTTL && listed && r.subs[ep.BMC].uri != "":
			known[id] = PowerReading{Power: c.power}
		case r.cfg.States != nil && r.answered[ep.BMC] && !r.resetSince[id]:
			ask = append(ask, id)
		default:
			missing = append(missing, id)
		}
	}
	r.mu.RUnlock()
	if len(ask) == 0 {
		return known, missing
	}
	states, err := r.cfg.States.States(ctx, ask)
	if err != nil {
		r.cfg.Logger.Debug("power from HSM's states unavailable; reading the BMCs", "nodes", len(ask), "err", err)
	}
	for _, id := range ask {
		if p, ok := states[id]; ok {
			known[id] = PowerReading{Power: p}
		} else {
			missing = append(missing, id)
		}
	}
	return known, missing
}

// readAll reads the power of ids with GETs, in parallel under the bound, into out.
func (r *Redfish) readAll(ctx context.Context, ids []string, out map[string]PowerReading) {
	var mu sync.Mutex
	r.forEach(ctx, ids, r.nodeAddress(ctx), func(id string) {
		p, err := r.readPower(ctx, id)
		mu.Lock()
		out[id] = PowerReading{Power: p, Err: err}
		mu.Unlock()
	})
}

// Polled is a view of r that reads every power state with a GET, never from events, and
// shares r's connections and circuit breakers. The v1 agent reads power this way, as
// BOA polled CAPMC: its lockstep decisions are final, so a stale event must not decide one.
func (r *Redfish) Polled() PowerControl { return polled{r} }

type polled struct{ *Redfish }

func (p polled) PowerStates(ctx context.Context, ids []string) map[string]PowerReading {
	out := make(map[string]PowerReading, len(ids))
	p.readAll(ctx, ids, out)
	return out
}

// readPower reads a node's power with a GET. As PCS, which reports what HSM lists, it
// answers PowerNotReported for a node HSM has no Redfish endpoint for and for a
// PowerState that is neither on nor off (PCS's "undefined"); a BMC that cannot be read is
// PowerUnknown with the reason (PCS's error for the node), which BOS takes as "not off".
func (r *Redfish) readPower(ctx context.Context, node string) (Power, error) {
	ep, err := r.endpoint(ctx, node)
	if errors.Is(err, errNoEndpoint) {
		return PowerNotReported, err
	}
	if err != nil {
		return PowerUnknown, err
	}
	c, err := r.client(ctx, ep)
	if err != nil {
		return PowerUnknown, err
	}
	sys, err := schemas.GetComputerSystem(c, ep.SystemPath)
	r.observe(ep.BMC, err)
	if err != nil {
		return PowerUnknown, r.bmcError(ep.BMC, err)
	}
	p := powerOf(string(sys.PowerState))
	if p == PowerUnknown {
		return PowerNotReported, fmt.Errorf("BMC %s reports power state %q for %s", ep.BMC, sys.PowerState, node)
	}
	// Not cached: only events feed the cache. A GET answered before an event (or before
	// the BMC's subscription began) would otherwise overwrite newer news with older.
	return p, nil
}

// powerOf maps a Redfish PowerState: a node powering on is not on yet, a node powering
// off is not off yet (as HSM maps them).
func powerOf(state string) Power {
	switch state {
	case "On", "PoweringOff":
		return PowerOn
	case "Off", "PoweringOn":
		return PowerOff
	}
	return PowerUnknown
}

func (r *Redfish) remember(node string, p Power) {
	r.mu.Lock()
	r.cache[node] = reading{power: p, at: r.cfg.Now()}
	delete(r.resetSince, node)
	r.mu.Unlock()
}

// resetNames are the ResetType values that perform each kind, in order of preference.
var resetNames = map[ResetKind][]string{
	ResetOn:              {"On", "ForceOn"},
	ResetGracefulOff:     {"GracefulShutdown"},
	ResetForceOff:        {"ForceOff", "Off"},
	ResetGracefulRestart: {"GracefulRestart"},
}

// resetBodies holds the body of a reset by ResetType, as json.Marshal writes
// {"ResetType": t}: the same few bodies for thousands of resets.
var resetBodies sync.Map // string → []byte

func resetBody(resetType string) []byte {
	if b, ok := resetBodies.Load(resetType); ok {
		return b.([]byte)
	}
	b, err := json.Marshal(map[string]string{"ResetType": resetType})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	resetBodies.Store(resetType, b)
	return b
}

// Reset performs kind on every node; the result holds an error per node that failed.
func (r *Redfish) Reset(ctx context.Context, ids []string, kind ResetKind) map[string]error {
	errs := map[string]error{}
	var mu sync.Mutex
	r.forEach(ctx, ids, r.nodeAddress(ctx), func(id string) {
		if err := r.reset(ctx, id, kind); err != nil {
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		}
	})
	return errs
}

func (r *Redfish) reset(ctx context.Context, node string, kind ResetKind) error {
	ep, err := r.endpoint(ctx, node)
	if err != nil {
		return err
	}
	resetType := pickResetType(kind, ep.ResetTypes)
	if resetType == "" {
		return fmt.Errorf("BMC %s does not offer %s for %s (allowed: %s)", ep.BMC, resetNames[kind][0], node, strings.Join(ep.ResetTypes, ", "))
	}
	target := ep.ResetTarget
	if target == "" {
		target = ep.SystemPath + "/Actions/ComputerSystem.Reset"
	}
	c, err := r.client(ctx, ep)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.resetSince[node] = true // HSM may not have heard of it yet: read it first-hand
	r.mu.Unlock()
	resp, err := c.send(http.MethodPost, target, resetBody(resetType), nil)
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.observe(ep.BMC, err)
	if err != nil {
		return r.bmcError(ep.BMC, err)
	}
	return nil
}

// BMCError is a failed call to a BMC, with a short text that names the cause and nothing
// that varies from node to node or call to call (no URL, node, timing), so BOS's
// error_summary groups the nodes by cause. Unwrap gives the original error.
type BMCError struct {
	msg string
	err error
}

func (e *BMCError) Error() string { return e.msg }
func (e *BMCError) Unwrap() error { return e.err }

// maxBMCMessage bounds the Redfish message quoted in an error.
const maxBMCMessage = 200

// bmcError describes err from a call to bmc: "BMC answered 503 Service Unavailable:
// <Redfish message>" for an error answer, "BMC unreachable: <why>" for a transport
// failure.
func (r *Redfish) bmcError(bmc string, err error) error {
	var be *BMCError
	if err == nil || errors.As(err, &be) || errors.Is(err, context.Canceled) {
		return err
	}
	var re *schemas.Error
	if errors.As(err, &re) {
		msg := fmt.Sprintf("BMC answered %d %s", re.HTTPReturnedStatusCode, http.StatusText(re.HTTPReturnedStatusCode))
		if text := redfishMessage(re); text != "" {
			msg += ": " + text
		}
		return &BMCError{msg: msg, err: err}
	}
	return &BMCError{msg: "BMC unreachable: " + r.transportCause(err), err: err}
}

// transportCause names why a BMC did not answer without its name or address: the node's
// xname names the BMC, and the log names it when its outage starts.
func (r *Redfish) transportCause(err error) string {
	var ne net.Error
	var errno syscall.Errno
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", r.cfg.Timeout)
	case errors.As(err, &errno):
		return errno.Error() // "connection refused", "connection reset by peer"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	case errors.As(err, &op):
		return op.Err.Error()
	case errors.As(err, &ue):
		return ue.Err.Error() // without the method and URL, which name the node
	}
	return err.Error()
}

// redfishMessage is the most specific message of a Redfish error body: the first
// @Message.ExtendedInfo message, else the error's own message (gofish puts a body that is
// not a Redfish error there whole); one line, spaces collapsed, at most maxBMCMessage runes.
// The text stops before the first sentence that quotes a numeric MessageArg (a Retry-After
// countdown, a count), unless that is the first: it is timing, not the cause.
func redfishMessage(e *schemas.Error) string {
	text := e.Message
	var args []string
	for _, m := range e.ExtendedInfos {
		if m.Message != "" {
			text, args = m.Message, m.MessageArgs
			break
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	text = beforeNumericArg(text, args)
	if r := []rune(text); len(r) > maxBMCMessage {
		text = string(r[:maxBMCMessage]) + "…"
	}
	return text
}

// beforeNumericArg returns text up to the first sentence after the first that has one of
// the numeric args as a word.
func beforeNumericArg(text string, args []string) string {
	numeric := map[string]bool{}
	for _, a := range args {
		if _, err := strconv.ParseFloat(a, 64); err == nil {
			numeric[a] = true
		}
	}
	if len(numeric) == 0 {
		return text
	}
	sentences := strings.SplitAfter(text, ". ")
	for i, sentence := range sentences[1:] {
		for _, w := range strings.Fields(sentence) {
			if numeric[strings.Trim(w, ".,;:'\"()")] {
				return strings.TrimSpace(strings.Join(sentences[:i+1], ""))
			}
		}
	}
	return text
}

// pickResetType returns the BMC's own spelling of the first acceptable ResetType for kind.
func pickResetType(kind ResetKind, allowed []string) string {
	for _, want := range resetNames[kind] {
		if len(allowed) == 0 {
			return want // the BMC lists nothing: send the standard name
		}
		for _, a := range allowed {
			if strings.EqualFold(a, want) {
				return a
			}
		}
	}
	return ""
}

// EventTokenHeader carries the deployment's EventSecret in every event a BMC POSTs
// (DMTF EventDestination.HttpHeaders); EventsHandler refuses events without it.
const EventTokenHeader = "X-BOS-Event-Token"

const subscriptionsPath = "/redfish/v1/EventService/Subscriptions"

// subscription is one of ours on a BMC.
type subscription struct {
	uri     string // its @odata.id
	context string // "<bmc>:<owner>:<key id>"
}

// Subscribe makes sure every BMC holds exactly one subscription of this deployment that
// POSTs its events to EventDestination with the secret, and returns how many do. On each
// BMC it reads the subscriptions: one with our Context (owner and secret's key id) and
// Destination is kept; any other of this owner (an older start's, or a subscription of
// BOS before owners, Context = xname and our Destination's path) is deleted; if none was
// kept, one is created with DeliveryRetryPolicy TerminateAfterRetries, so a BMC forgets it
// once BOS is gone for good. BMCs that refuse are read with GETs instead. BMCs this
// driver has subscribed to already are skipped (KeepSubscribed calls it again for the
// others).
func (r *Redfish) Subscribe(ctx context.Context) (int, error) {
	if r.cfg.EventDestination == "" {
		return 0, nil
	}
	if err := r.Refresh(ctx); err != nil {
		return 0, err
	}
	byBMC := r.unsubscribed()
	bmcs := slices.Collect(maps.Keys(byBMC))
	var mu sync.Mutex
	n := 0
	r.forEach(ctx, bmcs, func(bmc string) string { return address(byBMC[bmc]) }, func(bmc string) {
		sub, err := r.subscribe(ctx, byBMC[bmc])
		if err != nil {
			r.cfg.Logger.Warn("event subscription failed; power of its nodes will be polled", "bmc", bmc, "err", err)
			return
		}
		mu.Lock()
		n++
		mu.Unlock()
		r.mu.Lock()
		r.subs[bmc] = sub
		r.mu.Unlock()
	})
	return n, nil
}

// unsubscribed returns an endpoint of each BMC that holds no subscription of this driver.
func (r *Redfish) unsubscribed() map[string]Endpoint {
	r.mu.RLock()
	defer r.mu.RUnlock()
	byBMC := map[string]Endpoint{}
	for _, ep := range r.eps {
		if _, ok := r.subs[ep.BMC]; !ok {
			byBMC[ep.BMC] = ep
		}
	}
	return byBMC
}

// KeepSubscribed runs Subscribe, then again for the BMCs still without this driver's
// subscription, first after a second, then twice as long each time up to a minute,
// until every BMC holds one or ctx ends: a BMC too busy to answer at start (a large
// cluster subscribing at once) or down then gets its events later instead of never.
// It returns how many BMCs hold the subscription; afterFirst, when not nil, is told that
// number once the first pass has ended.
func (r *Redfish) KeepSubscribed(ctx context.Context, afterFirst func(n int)) int {
	wait := time.Second
	for {
		if _, err := r.Subscribe(ctx); err != nil {
			r.cfg.Logger.Warn("subscribing to BMC events; power will be polled meanwhile", "err", err)
		}
		r.mu.RLock()
		n := len(r.subs)
		r.mu.RUnlock()
		if afterFirst != nil {
			afterFirst(n)
			afterFirst = nil
		}
		if r.cfg.EventDestination == "" || len(r.unsubscribed()) == 0 {
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// eventDestination is the part of an EventDestination Subscribe reads.
type eventDestination struct {
	ID          string `json:"@odata.id"`
	Destination string `json:"Destination"`
	Context     string `json:"Context"`
}

func (r *Redfish) subscribe(ctx context.Context, ep Endpoint) (subscription, error) {
	want := subscription{context: ep.BMC + r.context}
	c, err := r.client(ctx, ep)
	if err != nil {
		return want, err
	}
	var list struct {
		Members []struct {
			ID string `json:"@odata.id"`
		} `json:"Members"`
	}
	if err := r.getJSON(ep.BMC, c, subscriptionsPath, &list); err != nil {
		return want, err
	}
	var stale []string
	for _, m := range list.Members {
		var d eventDestination
		if err := r.getJSON(ep.BMC, c, m.ID, &d); err != nil {
			if statusOf(err) == http.StatusNotFound {
				continue // deleted meanwhile
			}
			return want, err
		}
		switch {
		case d.Context == want.context && d.Destination == r.cfg.EventDestination && want.uri == "":
			want.uri = m.ID
		case strings.HasPrefix(d.Context, ep.BMC+":"+r.cfg.Owner+":"), d.Context == ep.BMC && samePath(d.Destination, r.cfg.EventDestination):
			stale = append(stale, m.ID)
		}
	}
	if want.uri == "" {
		resp, err := c.Post(subscriptionsPath, map[string]any{
			"Destination": r.cfg.EventDestination, "Context": want.context, "Protocol": "Redfish",
			"HttpHeaders":         []map[string]string{{EventTokenHeader: r.secret}},
			"DeliveryRetryPolicy": "TerminateAfterRetries",
		})
		if err != nil {
			r.observe(ep.BMC, err)
			return want, r.bmcError(ep.BMC, err)
		}
		var d eventDestination
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want.uri = resp.Header.Get("Location")
		if u, err := url.Parse(want.uri); err == nil && u.Path != "" {
			want.uri = u.Path
		}
		if want.uri == "" {
			want.uri = d.ID
		}
		if want.uri == "" {
			return want, fmt.Errorf("BMC %s created a subscription without saying where", ep.BMC)
		}
	}
	for _, uri := range stale {
		if err := r.delete(ep.BMC, c, uri); err != nil {
			r.cfg.Logger.Warn("could not delete an old BOS event subscription", "bmc", ep.BMC, "subscription", uri, "err", err)
		}
	}
	return want, nil
}

// samePath reports whether two URLs have the same path (a destination of BOS on another port).
func samePath(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Path != "" && ua.Path == ub.Path
}

func statusOf(err error) int {
	var re *schemas.Error
	if errors.As(err, &re) {
		return re.HTTPReturnedStatusCode
	}
	return 0
}

// getJSON GETs a Redfish resource of bmc into v.
func (r *Redfish) getJSON(bmc string, c schemas.Client, uri string, v any) error {
	resp, err := c.Get(uri)
	r.observe(bmc, err)
	if err != nil {
		return r.bmcError(bmc, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("BMC %s sent an unreadable %s: %w", bmc, uri, err)
	}
	return nil
}

// delete DELETEs a resource of bmc; one already gone counts as deleted.
func (r *Redfish) delete(bmc string, c schemas.Client, uri string) error {
	resp, err := c.Delete(uri)
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.observe(bmc, err)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return r.bmcError(bmc, err)
	}
	return nil
}

// Unsubscribe deletes this driver's subscriptions (on a clean stop, so BMCs stop sending
// to a BOS that is gone) and returns how many BMCs it could not reach; their
// subscriptions end by themselves after failed deliveries (TerminateAfterRetries) or are
// replaced at the next start.
func (r *Redfish) Unsubscribe(ctx context.Context) int {
	r.mu.Lock()
	subs := r.subs
	r.subs = map[string]subscription{}
	eps := map[string]Endpoint{}
	for _, ep := range r.eps {
		if _, ok := subs[ep.BMC]; ok {
			eps[ep.BMC] = ep
		}
	}
	r.mu.Unlock()
	bmcs := slices.Collect(maps.Keys(subs))
	var mu sync.Mutex
	failed := 0
	r.forEach(ctx, bmcs, func(bmc string) string { return address(eps[bmc]) }, func(bmc string) {
		c, err := r.client(ctx, eps[bmc])
		if err == nil {
			err = r.delete(bmc, c, subs[bmc].uri)
		}
		if err != nil {
			r.cfg.Logger.Warn("could not delete the event subscription", "bmc", bmc, "err", err)
			mu.Lock()
			failed++
			mu.Unlock()
		}
	})
	return failed
}

// redfishEvent is the body a BMC POSTs to a subscriber.
type redfishEvent struct {
	Context string `json:"Context"`
	Events  []struct {
		MessageID         string   `json:"MessageId"`
		MessageArgs       []string `json:"MessageArgs"`
		OriginOfCondition struct {
			ID string `json:"@odata.id"`
		} `json:"OriginOfCondition"`
	} `json:"Events"`
}

// eventBodies are the buffers events are read into.
var eventBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeEvent reads an Event (at most 1 MiB) as encoding/json's Decoder reads it (the
// first JSON value of the body), from the v2 engine (half encoding/json's CPU). The body
// is read whole into a pooled buffer and unmarshalled: an event a node, twice a boot,
// thousands a second, and the streaming Decoder cost twice the time and seven times the
// allocations (BenchmarkEventsHandler). Only a body Unmarshal refuses (something after
// the value, or no event at all) goes through the Decoder, for its answer.
func decodeEvent(body io.Reader) (redfishEvent, error) {
	buf := eventBodies.Get().(*bytes.Buffer)
	defer eventBodies.Put(buf)
	buf.Reset()
	var ev redfishEvent
	if _, err := buf.ReadFrom(io.LimitReader(body, 1<<20)); err != nil {
		return ev, err
	}
	if jsonv1.Unmarshal(buf.Bytes(), &ev) == nil {
		return ev, nil
	}
	ev = redfishEvent{}
	return ev, jsonv1.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(&ev)
}

// EventsHandler receives the BMCs' Redfish events: ResourcePowerStateChanged updates the
// node's power and wakes it through OnPowerChange; anything else is acknowledged. Only
// events of this driver's subscriptions are taken: the EventTokenHeader must carry the
// secret (else 401) and the Context must be the one this driver gives its subscription on
// the BMC it names (else 403), and only systems of that BMC are updated. Refusals are RFC 7807 problems.
func (r *Redfish) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			problem.Write(w, http.StatusMethodNotAllowed, "POST Redfish events here")
			return
		}
		if subtle.ConstantTimeCompare([]byte(req.Header.Get(EventTokenHeader)), []byte(r.secret)) != 1 {
			r.refusals.warn(r.cfg.Logger, r.cfg.Now(), "refused a Redfish event without this BOS's token", "from", req.RemoteAddr)
			problem.Write(w, http.StatusUnauthorized, "not an event of a BOS subscription: %s missing or wrong", EventTokenHeader)
			return
		}
		ev, err := decodeEvent(req.Body)
		if err != nil {
			problem.Write(w, http.StatusBadRequest, "not a Redfish event: %s", err)
			return
		}
		// The Context BOS gives its subscription on that BMC, known before the BMC answers
		// the subscribe (its first events may come first).
		bmc, rest, _ := strings.Cut(ev.Context, ":")
		if ":"+rest != r.context {
			r.refusals.warn(r.cfg.Logger, r.cfg.Now(), "refused a Redfish event with another Context than this BOS gives its subscriptions", "from", req.RemoteAddr, "context", ev.Context)
			problem.Write(w, http.StatusForbidden, "Context %q is not that of a subscription of this BOS", ev.Context)
			return
		}
		for _, e := range ev.Events {
			if !strings.HasSuffix(e.MessageID, "ResourcePowerStateChanged") || len(e.MessageArgs) < 2 {
				continue
			}
			uri := e.OriginOfCondition.ID
			if uri == "" {
				uri = e.MessageArgs[0]
			}
			r.mu.RLock()
			node, ok := r.bySystem[bmc+uri]
			r.mu.RUnlock()
			if !ok {
				continue
			}
			p := powerOf(e.MessageArgs[1])
			if p == PowerUnknown {
				continue
			}
			r.remember(node, p)
			if r.cfg.OnPowerChange != nil {
				r.cfg.OnPowerChange(node, p)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// ConnectionsOpened is how many connections to BMCs the driver has opened.
func (r *Redfish) ConnectionsOpened() uint64 { return r.dialer.opened.Load() }

// Close logs nothing out (clients use Basic auth) and closes idle connections.
func (r *Redfish) Close() { r.pool.CloseIdleConnections() }
