package simulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/internal/topology"
)

// Simulator is a set of Redfish BMCs with their virtual nodes. All state hangs off it;
// several can run in one process (on different addresses or ports).
type Simulator struct {
	cfg    Config
	timing Timing
	log    *slog.Logger
	now    func() time.Time

	bmcs    []*bmc
	bmcByID map[string]*bmc
	bmcByIP map[netip.Addr]*bmc
	// bmcByPort finds a BMC by the port it listens on, with Config.ListenAddress (a port
	// per BMC); written by bindAll before any connection is served.
	bmcByPort map[int]*bmc
	nodes     []*node
	nodeByID  map[string]*node
	nodeIDs   []string // topology order, for rate-based faults
	bmcIDs    []string

	services atomic.Pointer[Services]

	rngMu sync.Mutex
	rng   *rand.Rand

	mux     *http.ServeMux
	srv     *http.Server
	tlsConf *tls.Config
	certs   *certAuthority

	// ctx is cancelled by Close: it aborts the node agents' and event workers' requests.
	ctx    context.Context
	cancel context.CancelFunc

	agents *workPool   // node agent steps (HTTP to BSS, BOS, CFS)
	events []*workPool // event delivery, one single-worker shard per slot (per-BMC order)
	hc     *http.Client

	conns      *connQueue // every BMC's accepted connections, for srv
	serverOnce sync.Once
	lnMu       sync.Mutex // guards port, started, closed and every bmc.ln
	port       int
	started    bool
	closed     bool
	serveWG    sync.WaitGroup

	// collected is the outbox of each Config.Subscriptions[i] with Collect, every BMC's.
	collected map[int]*outbox
	// cfsReports are the CFS reports waiting for their batch (Config.BatchCFSReports),
	// sent by cfsSender's one worker.
	cfsReports pending[cfsReport]
	cfsSender  *workPool

	eventSeq atomic.Uint64
	stats    counters
	hanging  atomic.Int64 // requests held by FaultHang
}

// bmc is one Redfish service.
type bmc struct {
	xname              string
	index              int
	addr               netip.Addr // its own loopback address; with a port per BMC, the host's
	port               int        // with a port per BMC, its port (known once bound)
	username, password string
	mountain           bool       // HPE Cray EX blade BMC (Node0/Node1, manager "BMC"), else a rack server ("Self")
	tree               staticTree // the static inventory, shared by every BMC of the model
	faults             atomic.Uint32
	ln                 net.Listener // guarded by Simulator.lnMu

	mu          sync.Mutex // guards everything below and the nodes' mutable fields
	nodes       []*node
	sessions    map[string]*session // by Id
	tokens      map[string]*session // by X-Auth-Token
	nextSession uint64
	subs        []*subscription // copy on write: readers may keep the slice
	nextSub     uint64
}

// system returns the node whose ComputerSystem Id is id.
func (b *bmc) system(id string) *node {
	for _, n := range b.nodes {
		if n.systemID == id {
			return n
		}
	}
	return nil
}

func (b *bmc) managerID() string {
	if b.mountain {
		return "BMC"
	}
	return "Self"
}

// New builds the simulator: BMCs, nodes, addresses, faults. Nothing listens until Start;
// Handler works without it.
func New(cfg Config) (*Simulator, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	s := &Simulator{
		cfg: cfg, timing: *cfg.Timing, log: cfg.Logger, now: cfg.Now,
		bmcByID: make(map[string]*bmc, len(cfg.Topology.BMCs)), bmcByIP: make(map[netip.Addr]*bmc, len(cfg.Topology.BMCs)),
		nodeByID: make(map[string]*node, len(cfg.Topology.Nodes)),
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed)),
		port:     cfg.Port, bmcByPort: map[int]*bmc{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	svc := cfg.Services
	s.services.Store(&svc)
	if err := s.build(); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if err := s.assignTrees(); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if err := s.applyConfigFaults(cfg.Faults, cfg.Seed); err != nil {
		return nil, fmt.Errorf("simulator: faults: %w", err)
	}
	if cfg.TLS {
		ca, err := newCertAuthority()
		if err != nil {
			return nil, fmt.Errorf("simulator: tls: %w", err)
		}
		s.certs = ca
		s.tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"},
			GetCertificate: s.certificateFor}
	}
	s.mux = s.routes()
	s.conns = newConnQueue()
	var handler http.Handler = http.HandlerFunc(s.serveConn)
	if cfg.WrapHandler != nil {
		handler = cfg.WrapHandler(handler)
	}
	s.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// Real BMCs speak HTTP/1.1; an empty map keeps Go from negotiating h2.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ConnContext:  s.connContext,
		ErrorLog:     log.New(io.Discard, "", 0),
	}
	var transport http.RoundTripper = &http.Transport{
		DialContext:  cfg.Dial,
		MaxIdleConns: 0,
		// The agents and the event workers may all call one host at once (BOS takes
		// reports and events): keep a connection for each, not redial the surplus.
		MaxIdleConnsPerHost: cfg.AgentWorkers + cfg.EventWorkers,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // simulated nodes trust any service, as the test stack uses self-signed certs
	}
	if cfg.WrapTransport != nil {
		transport = cfg.WrapTransport(transport)
	}
	s.hc = &http.Client{Transport: transport}
	s.agents = newWorkPool(cfg.AgentWorkers, len(s.nodes)+1024)
	s.cfsSender = newWorkPool(1, 2) // one batch sent at a time, the next one scheduled
	for range cfg.EventWorkers {
		s.events = append(s.events, newWorkPool(1, cfg.EventQueue))
	}
	return s, nil
}

// build creates the BMCs and nodes from the topology and assigns addresses.
func (s *Simulator) build() error {
	topo := s.cfg.Topology
	byNode := make(map[string]topology.Node, len(topo.Nodes))
	for _, n := range topo.Nodes {
		byNode[n.Xname] = n
	}
	// Explicit addresses first, so assigned ones skip them.
	for _, tb := range topo.BMCs {
		if tb.Address == "" {
			continue
		}
		if s.portPerBMC() {
			return fmt.Errorf("bmc %s: a topology address (%s) needs the BMCs on loopback addresses, not ListenAddress", tb.Xname, tb.Address)
		}
		a, err := netip.ParseAddr(tb.Address)
		if err != nil || !a.Is4() || !a.IsLoopback() {
			return fmt.Errorf("bmc %s: address %q must be an IPv4 loopback address", tb.Xname, tb.Address)
		}
		if s.bmcByIP[a] != nil {
			return fmt.Errorf("bmc %s: address %s is also given to %s", tb.Xname, a, s.bmcByIP[a].xname)
		}
		s.bmcByIP[a] = &bmc{xname: tb.Xname} // placeholder, replaced below
	}
	next, skip := netip.MustParseAddr(s.cfg.FirstAddress), s.cfg.SkipAddresses
	var err error
	initial := Off
	if s.cfg.InitialPower == "On" {
		initial = On
	}
	for i, tb := range topo.BMCs {
		b := &bmc{xname: tb.Xname, index: i, username: s.cfg.Username, password: s.cfg.Password,
			sessions: map[string]*session{}, tokens: map[string]*session{}}
		if tb.Username != "" {
			b.username = tb.Username
		}
		if tb.Password != "" {
			b.password = tb.Password
		}
		switch {
		case s.portPerBMC():
			b.addr = s.hostAddr()
		case tb.Address != "":
			b.addr = netip.MustParseAddr(tb.Address)
		default:
			if b.addr, err = s.nextAddress(&next, &skip); err != nil {
				return fmt.Errorf("bmc %s: %w", tb.Xname, err)
			}
		}
		if !s.portPerBMC() {
			s.bmcByIP[b.addr] = b
		}
		s.bmcByID[b.xname] = b
		s.bmcs = append(s.bmcs, b)
		s.bmcIDs = append(s.bmcIDs, b.xname)
		for ord, id := range tb.Nodes {
			tn, ok := byNode[id]
			if !ok {
				return fmt.Errorf("bmc %s lists node %s, which is not in the topology", tb.Xname, id)
			}
			if tn.Class == topology.ClassMountain {
				b.mountain = true
			}
			n := &node{xname: id, name: tn.Name, arch: tn.Arch, mac: strings.ToLower(tn.MAC), mountain: tn.Class == topology.ClassMountain,
				systemID: topology.SystemIDOf(tn, ord), bmc: b, power: initial, etag: 1, override: defaultOverride}
			if initial == On {
				n.booted, n.progress = true, progressOSRunning
			}
			if f, ok := s.cfg.SlowNodes[id]; ok {
				n.slow = f
			}
			b.nodes = append(b.nodes, n)
			s.nodeByID[id] = n
		}
		for j, sub := range s.cfg.Subscriptions {
			b.nextSub++
			bs := newSubscription(b, b.nextSub, sub.Destination, b.xname, sub.EventTypes, sub.RegistryPrefixes)
			if sub.Collect {
				bs.outbox = s.collectedOutbox(j)
			}
			b.subs = append(b.subs, bs)
		}
	}
	// Nodes in topology order (the order rate-based faults permute).
	for _, tn := range topo.Nodes {
		if n := s.nodeByID[tn.Xname]; n != nil {
			s.nodes = append(s.nodes, n)
			s.nodeIDs = append(s.nodeIDs, n.xname)
		}
	}
	for id := range s.cfg.SlowNodes {
		if s.nodeByID[id] == nil {
			return fmt.Errorf("SlowNodes names %s, which is not a node of the topology", id)
		}
	}
	return nil
}

// Start binds one listener per BMC (each on its own address, all on one port; or, with
// ListenAddress, each on its own port of that address) and serves them. It returns once every BMC is listening. ctx bounds the start-up only; the
// simulator runs until Close.
func (s *Simulator) Start(ctx context.Context) error {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	if s.closed {
		return errors.New("simulator: start: closed")
	}
	if s.started {
		return errors.New("simulator: start: already started")
	}
	if err := raiseFDLimit(len(s.bmcs) + 1024); err != nil {
		return fmt.Errorf("simulator: start: %w", err)
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.bindAll(ctx); err == nil || s.cfg.Port != 0 || s.portPerBMC() || ctx.Err() != nil {
			break
		}
		// The free port we got for the first BMC was taken on another address: retry.
		s.port = 0
	}
	if err != nil {
		return fmt.Errorf("simulator: start: %w", err)
	}
	s.started = true
	for _, b := range s.bmcs {
		if b.ln != nil {
			s.serve(b.ln)
		}
	}
	if s.portPerBMC() {
		s.log.Info("simulator listening", "bmcs", len(s.bmcs), "nodes", len(s.nodes), "address", s.cfg.ListenAddress,
			"advertised as", s.cfg.Advertise, "tls", s.cfg.TLS)
	} else {
		s.log.Info("simulator listening", "bmcs", len(s.bmcs), "nodes", len(s.nodes), "port", s.port, "tls", s.cfg.TLS)
	}
	return nil
}

// nextAddress takes the next free BMC address from *next, after skipping *skip of them
// (x.y.z.0, x.y.z.255 and topology addresses are never taken nor counted).
func (s *Simulator) nextAddress(next *netip.Addr, skip *int) (netip.Addr, error) {
	for {
		if !next.IsValid() || !next.IsLoopback() {
			return netip.Addr{}, fmt.Errorf("ran out of loopback addresses after %s", s.cfg.FirstAddress)
		}
		a := *next
		*next = next.Next()
		last := a.As4()[3]
		if last == 0 || last == 255 || s.bmcByIP[a] != nil {
			continue
		}
		if *skip > 0 {
			*skip--
			continue
		}
		return a, nil
	}
}

// portPerBMC says the BMCs share the host's ListenAddress, each on its own port.
func (s *Simulator) portPerBMC() bool { return s.cfg.ListenAddress != "" }

// hostAddr is the address a BMC reports as its own with a port per BMC: the advertised
// one if it is an address, else the listen address.
func (s *Simulator) hostAddr() netip.Addr {
	if a, err := netip.ParseAddr(s.cfg.Advertise); err == nil {
		return a.Unmap()
	}
	return netip.MustParseAddr(s.cfg.ListenAddress).Unmap()
}

// listenOn is the address b binds: its loopback address on the common port, or with
// ListenAddress the host's address on b's port (at first Port + its index in the whole
// cluster, or 0 for a free one).
func (s *Simulator) listenOn(b *bmc) string {
	if !s.portPerBMC() {
		return netip.AddrPortFrom(b.addr, uint16(s.port)).String()
	}
	port := b.port
	if port == 0 && s.cfg.Port != 0 {
		port = s.cfg.Port + s.cfg.SkipAddresses + b.index
	}
	return net.JoinHostPort(s.cfg.ListenAddress, strconv.Itoa(port))
}

// network is "tcp4" for the loopback addresses, "tcp" for a ListenAddress (IPv4 or 6).
func (s *Simulator) network() string {
	if s.portPerBMC() {
		return "tcp"
	}
	return "tcp4"
}

// bindAll listens on every BMC address; on failure it closes what it opened.
func (s *Simulator) bindAll(ctx context.Context) error {
	if s.portPerBMC() {
		return s.bindPorts(ctx)
	}
	for _, b := range s.bmcs {
		if err := ctx.Err(); err != nil {
			s.closeListeners()
			return err
		}
		if faultSet(b.faults.Load()).has(FaultUnreachable) {
			continue
		}
		ln, err := s.cfg.Listen("tcp4", netip.AddrPortFrom(b.addr, uint16(s.port)).String())
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("bmc %s: listen: %w", b.xname, err)
		}
		if s.port == 0 { // the first BMC bound picks the port for all
			s.port = ln.Addr().(*net.TCPAddr).Port
		}
		b.ln = ln
	}
	if s.port == 0 {
		// Every BMC is unreachable: pick a port anyway so BMCURLs is meaningful.
		ln, err := s.cfg.Listen("tcp4", netip.AddrPortFrom(s.bmcs[0].addr, 0).String())
		if err != nil {
			return fmt.Errorf("pick a port: %w", err)
		}
		s.port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	return nil
}

// bindPorts listens on a port per BMC of ListenAddress and records each BMC's port. A
// BMC unreachable from the start gets a port too (bound and closed at once), so its URL
// is known and it reopens there.
func (s *Simulator) bindPorts(ctx context.Context) error {
	for _, b := range s.bmcs {
		if err := ctx.Err(); err != nil {
			s.closeListeners()
			return err
		}
		ln, err := s.cfg.Listen(s.network(), s.listenOn(b))
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("bmc %s: listen: %w", b.xname, err)
		}
		if b.port, err = portOf(ln.Addr()); err != nil {
			ln.Close()
			s.closeListeners()
			return fmt.Errorf("bmc %s: %w", b.xname, err)
		}
		s.bmcByPort[b.port] = b
		if faultSet(b.faults.Load()).has(FaultUnreachable) {
			ln.Close()
			continue
		}
		b.ln = ln
	}
	return nil
}

// portOf is the port of a listener's address.
func portOf(a net.Addr) (int, error) {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port, nil
	}
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0, fmt.Errorf("listener address %s: %w", a, err)
	}
	return strconv.Atoi(p)
}

func (s *Simulator) closeListeners() {
	for _, b := range s.bmcs {
		if b.ln != nil {
			b.ln.Close()
			b.ln = nil
		}
	}
}

// serve accepts ln's connections for the one http.Server of every BMC. A goroutine per
// BMC waits in Accept (Go has no other way to wait on many listeners), but a bare accept
// loop with a small stack, not an http.Server.Serve each: 5,000 BMCs hold 5,000 of them.
func (s *Simulator) serve(ln net.Listener) {
	s.startServer()
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
					return // the listener closed (fault or Close)
				}
				time.Sleep(10 * time.Millisecond) // out of descriptors, say: as http.Server does, wait and retry
				continue
			}
			if !s.conns.put(resetAfterPeerClose(c)) {
				c.Close()
				return
			}
		}
	}()
}

// startServer runs the http.Server on the accepted connections of every BMC, once.
func (s *Simulator) startServer() {
	s.serverOnce.Do(func() {
		var ln net.Listener = s.conns
		if s.tlsConf != nil {
			ln = tls.NewListener(ln, s.tlsConf)
		}
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			_ = s.srv.Serve(ln) // returns when Close closes s.conns
		}()
	})
}

// setBMCFault flips a BMC fault; FaultUnreachable closes or reopens the listener.
func (s *Simulator) setBMCFault(b *bmc, f Fault, on bool) error {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	for {
		old := b.faults.Load()
		nv := old | uint32(f.bit())
		if !on {
			nv = old &^ uint32(f.bit())
		}
		if b.faults.CompareAndSwap(old, nv) {
			break
		}
	}
	if f != FaultUnreachable || !s.started || s.closed {
		return nil
	}
	if on && b.ln != nil {
		b.ln.Close()
		b.ln = nil
	}
	if !on && b.ln == nil {
		ln, err := s.cfg.Listen(s.network(), s.listenOn(b))
		if err != nil {
			return fmt.Errorf("bmc %s: listen again: %w", b.xname, err)
		}
		b.ln = ln
		s.serve(ln)
	}
	return nil
}

type ctxKey struct{}

// connContext tags each accepted connection with the BMC whose address it reached.
func (s *Simulator) connContext(ctx context.Context, c net.Conn) context.Context {
	if b := s.bmcAt(c.LocalAddr()); b != nil {
		return context.WithValue(ctx, ctxKey{}, b)
	}
	return ctx
}

// bmcAt is the BMC a client reached at local, the connection's local address: by its
// address on loopback, by its port with ListenAddress; nil for none.
func (s *Simulator) bmcAt(local net.Addr) *bmc {
	ta, ok := local.(*net.TCPAddr)
	if !ok {
		return nil
	}
	if s.portPerBMC() {
		return s.bmcByPort[ta.Port]
	}
	return s.bmcByIP[ta.AddrPort().Addr().Unmap()]
}

func bmcFrom(r *http.Request) *bmc {
	b, _ := r.Context().Value(ctxKey{}).(*bmc)
	return b
}

// Handler serves one BMC's Redfish API without a listener (for httptest). It returns nil
// for an unknown BMC xname.
func (s *Simulator) Handler(bmcXname string) http.Handler {
	b := s.bmcByID[bmcXname]
	if b == nil {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveBMC(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, b)), b)
	})
}

// serveConn is the server's handler: the BMC comes from the connection's context.
func (s *Simulator) serveConn(w http.ResponseWriter, r *http.Request) {
	b := bmcFrom(r)
	if b == nil {
		writeError(w, http.StatusNotFound, msgResourceMissingAtURI, r.URL.Path)
		return
	}
	s.serveBMC(w, r, b)
}

// BMCURLs maps every BMC xname to scheme://address:port, or with ListenAddress to
// scheme://advertised-host:port (the ports are known after Start).
func (s *Simulator) BMCURLs() map[string]string {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	scheme := "http"
	if s.cfg.TLS {
		scheme = "https"
	}
	out := make(map[string]string, len(s.bmcs))
	for _, b := range s.bmcs {
		if s.portPerBMC() {
			out[b.xname] = scheme + "://" + net.JoinHostPort(s.cfg.Advertise, strconv.Itoa(b.port))
		} else {
			out[b.xname] = scheme + "://" + b.addr.String() + ":" + strconv.Itoa(s.port)
		}
	}
	return out
}

// BMCInfo describes one simulated BMC for wiring (HSM RedfishEndpoints, clients).
type BMCInfo struct {
	Xname    string
	URL      string // scheme://address:port
	Address  string // the loopback IP; with a port per BMC, the host's (Config.Advertise's if an IP)
	Username string
	Password string
	// Systems maps node xname to its ComputerSystem Id (Node0, Node1, Self).
	Systems map[string]string
}

// BMCs describes every BMC, in topology order.
func (s *Simulator) BMCs() []BMCInfo {
	urls := s.BMCURLs()
	out := make([]BMCInfo, 0, len(s.bmcs))
	for _, b := range s.bmcs {
		info := BMCInfo{Xname: b.xname, URL: urls[b.xname], Address: b.addr.String(), Username: b.username,
			Password: b.password, Systems: make(map[string]string, len(b.nodes))}
		for _, n := range b.nodes {
			info.Systems[n.xname] = n.systemID
		}
		out = append(out, info)
	}
	return out
}

// ListenAddress is the host address every BMC listens on, each on its own port; "" when
// each BMC has a loopback address of its own (Config.ListenAddress).
func (s *Simulator) ListenAddress() string { return s.cfg.ListenAddress }

// CACertPEM is the PEM certificate of the CA that signs the BMCs' certificates (TLS only).
func (s *Simulator) CACertPEM() []byte {
	if s.certs == nil {
		return nil
	}
	return s.certs.certPEM
}

// SetServices changes the BSS, BOS and CFS base URLs; nodes use them from their next request.
func (s *Simulator) SetServices(svc Services) {
	svc = svc.trimmed()
	s.services.Store(&svc)
}

// Close stops everything: listeners, connections, timers, node agents and event delivery.
func (s *Simulator) Close() error {
	s.lnMu.Lock()
	if s.closed {
		s.lnMu.Unlock()
		return nil
	}
	s.closed = true
	s.lnMu.Unlock()
	s.cancel()
	s.lnMu.Lock()
	s.closeListeners() // their accept loops end
	s.lnMu.Unlock()
	err := s.srv.Close() // closes s.conns and every connection
	s.conns.Close()      // when srv never served
	for _, b := range s.bmcs {
		b.mu.Lock()
		for _, n := range b.nodes {
			n.stopTimer()
			n.endBoot()
		}
		b.mu.Unlock()
	}
	s.serveWG.Wait()
	s.agents.close()
	s.cfsSender.close()
	for _, p := range s.events {
		p.close()
	}
	s.hc.CloseIdleConnections()
	return err
}

// nodeDelay is a hardware delay of node n: jittered, times the node's SlowNodes factor.
func (s *Simulator) nodeDelay(n *node, d time.Duration) time.Duration {
	d = s.jittered(d)
	if n.slow > 0 {
		d = time.Duration(float64(d) * n.slow)
	}
	return d
}

// jittered turns a configured delay into a real one: d × Scale × (1 ± Jitter).
func (s *Simulator) jittered(d time.Duration) time.Duration {
	if d <= 0 || s.timing.Scale == 0 {
		return 0
	}
	f := s.timing.Scale
	if j := s.timing.Jitter; j > 0 {
		s.rngMu.Lock()
		u := s.rng.Float64()
		s.rngMu.Unlock()
		f *= 1 + j*(2*u-1)
	}
	return time.Duration(float64(d) * f)
}

// Stats are counters for tests and benchmarks.
type Stats struct {
	Resets       int64 // Reset actions accepted (Apply or NoOp)
	PowerChanges int64 // PowerState changes
	// Events counts records (an Event POST carries one or more, see events.go).
	EventsQueued    int64
	EventsDelivered int64
	EventsFailed    int64 // given up after the retries
	EventsDropped   int64 // a delivery queue or a subscription's outbox was full
	// EventPosts counts the Event POSTs sent to subscribers, retries included, and the
	// deliveries of collected events to a Subscription.Local.
	EventPosts int64
	// SubscriptionsTerminated counts subscriptions deleted by their TerminateAfterRetries
	// policy when an event could not be delivered.
	SubscriptionsTerminated int64
	BootScripts             int64 // boot script fetch attempts
	Boots                   int64 // OS came up
	Reports                 int64 // BOS reports accepted
	CFSReports              int64 // CFS reports accepted (a node's, alone or in a batch)
	CFSPatches              int64 // CFS PATCHes sent (one node's, or a batch) or Config.CFSReport calls, retries included
}

type counters struct {
	resets, powerChanges, eventsQueued, eventsDelivered, eventsFailed, eventsDropped, eventPosts,
	bootScripts, boots, reports, cfsReports, cfsPatches, subscriptionsTerminated atomic.Int64
}

// Stats returns the counters so far.
func (s *Simulator) Stats() Stats {
	c := &s.stats
	return Stats{Resets: c.resets.Load(), PowerChanges: c.powerChanges.Load(), EventsQueued: c.eventsQueued.Load(),
		EventsDelivered: c.eventsDelivered.Load(), EventsFailed: c.eventsFailed.Load(), EventsDropped: c.eventsDropped.Load(), EventPosts: c.eventPosts.Load(),
		BootScripts: c.bootScripts.Load(), Boots: c.boots.Load(), Reports: c.reports.Load(), CFSReports: c.cfsReports.Load(), CFSPatches: c.cfsPatches.Load(),
		SubscriptionsTerminated: c.subscriptionsTerminated.Load()}
}
