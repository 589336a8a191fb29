package bss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Read replicas: a simulator process that runs BMCs but not BSS (a shard of a cluster,
// docs/scale-out.md) keeps a copy of what the boot scripts of its nodes are made of (the
// boot parameters, the images' params, the inventory and BSS's script settings), so that
// its nodes' boot-script fetches are served in its own process rather than by a request
// to the process that runs BSS. The BSS users talk to stays the one BSS: its URL, API and
// data. The replication is simulator-internal, under ReplicaPathPrefix, outside the real
// API's paths.
//
//   - A replica registers with the primary (POST ReplicaPathPrefix/replicas, its own URL;
//     refused, 502, when the primary cannot reach that URL) and gets the whole state in
//     the answer; from then on the primary sends it every
//     change (PUT {replica}ReplicaPathPrefix/replica): the keys a write changed, and the
//     inventory when a refresh swapped it. Writes and their replication go one at a time,
//     numbered: a replica applies change N+1 only on top of N (else it answers 409, stops
//     serving and registers again).
//   - A write of boot parameters is answered only once every replica has applied it (BOS
//     writes boot parameters, then resets the node: the node must never boot the image
//     before). A write costs a request per replica, not per node.
//   - A replica serves only while its lease holds: it renews it every Lease/10 (POST
//     ReplicaPathPrefix/replicas/{id}, which also carries the boot-script fetches it
//     served, for GET /endpoint-history), and stops serving Lease×0.9 after sending the
//     last renewal the primary accepted. A replica the primary cannot reach (or that
//     refuses a change) is dropped: its renewals are refused from then on, and the write
//     is answered once its lease has run out (at most Lease after its last renewal), so
//     the write succeeds after a bounded wait and the replica's nodes fetch from the
//     primary over HTTP until it has registered again.
//   - A replica answers only boot-script requests for nodes its inventory knows; anything
//     else (an unknown node, which may make the primary re-read HSM) goes to the primary.

// ReplicaPathPrefix is the root of the replication requests, on the primary and on each
// replica.
const ReplicaPathPrefix = "/sim/bss"

// DefaultReplicaLease is Config.ReplicaLease's default.
const DefaultReplicaLease = 10 * time.Second

// replicaChange is what a replica is sent: the whole state (at registration) or the
// keys one write changed. A nil entry or image params is a deletion.
type replicaChange struct {
	Seq      uint64                   `json:"seq"`
	Settings *replicaSettings         `json:"settings,omitempty"` // the whole state only
	Hosts    map[string]*replicaEntry `json:"hosts,omitempty"`
	Kernels  map[string]*string       `json:"kernels,omitempty"`
	Initrds  map[string]*string       `json:"initrds,omitempty"`
	// Inventory, when HasInventory, replaces the replica's inventory.
	Inventory    []bssapi.Host `json:"inventory,omitempty"`
	HasInventory bool          `json:"has_inventory,omitempty"`
}

// replicaEntry is the part of an entry a boot script is made of (cloud-init data is not
// replicated: a replica serves boot scripts only).
type replicaEntry struct {
	Params string `json:"params,omitempty"`
	Kernel string `json:"kernel,omitempty"`
	Initrd string `json:"initrd,omitempty"`
	Token  string `json:"token,omitempty"`
}

// replicaSettings are the primary's settings that appear in boot scripts.
type replicaSettings struct {
	S3URL      string        `json:"s3_url"`
	Advertise  string        `json:"advertise"`
	ChainBase  string        `json:"chain_base"`
	RetryDelay time.Duration `json:"retry_delay"`
}

type registration struct {
	URL string `json:"url"`
	// Nodes, when set, are the only nodes the replica serves: it is sent their inventory
	// and entries, and every entry not stored under a node's xname (roles, Default,
	// MACs), rather than the whole cluster's.
	Nodes []string `json:"nodes,omitempty"`
}

type registered struct {
	ID    string        `json:"id"`
	Lease time.Duration `json:"lease"`
	State replicaChange `json:"state"`
}

// renewal carries the boot-script fetches a replica served since its last renewal.
type renewal struct {
	History map[string]int64 `json:"history,omitempty"`
}

// ---- the primary ----

// replicas is the primary's side: its registered replicas and the write lock.
type replicas struct {
	sem   chan struct{} // held by a write and its replication: one at a time
	mu    sync.Mutex    // guards the fields below
	peers map[string]*peer
	next  int
	seq   uint64     // the last change sent
	inv   *nodeIndex // the inventory the replicas have
}

type peer struct {
	id, url string
	nodes   map[string]bool // the nodes it serves (registration.Nodes); nil: all
	renewed time.Time       // when its last renewal was accepted
	dropped bool
}

// forPeer is c as p is sent it: with p's nodes only, of the inventory and of the entries
// stored under a node's xname (inv says which keys are nodes).
func (c *replicaChange) forPeer(p *peer, inv *nodeIndex) *replicaChange {
	if p.nodes == nil {
		return c
	}
	out := *c
	if c.Hosts != nil {
		out.Hosts = make(map[string]*replicaEntry, len(c.Hosts))
		for k, e := range c.Hosts {
			if _, node := inv.byID[k]; !node || p.nodes[k] {
				out.Hosts[k] = e
			}
		}
	}
	if c.HasInventory {
		out.Inventory = make([]bssapi.Host, 0, len(p.nodes))
		for _, h := range c.Inventory {
			if p.nodes[h.ID] {
				out.Inventory = append(out.Inventory, h)
			}
		}
	}
	return &out
}

// lockWrites takes the write lock (a channel, so that a waiter can give up with its
// request, and a testing/synctest bubble sees it blocked).
func (s *Server) lockWrites(ctx context.Context) *problem.Details {
	select {
	case s.repl.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return problem.New(http.StatusServiceUnavailable, "waiting for another write of boot parameters: %v", ctx.Err())
	}
}

func (s *Server) unlockWrites() { <-s.repl.sem }

// replicate sends what the write that holds the write lock changed (and the inventory,
// if a refresh swapped it since) to every replica, and returns once each has applied it
// or been dropped (after its lease ran out).
func (s *Server) replicate(ctx context.Context) {
	s.mu.Lock()
	ch := s.store.takeChanges()
	s.mu.Unlock()
	inv := s.inv.Load()
	s.repl.mu.Lock()
	if inv != s.repl.inv {
		s.repl.inv = inv
		ch.Inventory, ch.HasInventory = inv.hosts, true
	}
	var to []*peer
	for _, p := range s.repl.peers {
		if !p.dropped {
			to = append(to, p)
		}
	}
	if len(to) == 0 || ch.empty() {
		s.repl.mu.Unlock()
		return
	}
	s.repl.seq++
	ch.Seq = s.repl.seq
	s.repl.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range to {
		wg.Go(func() {
			body, err := json.Marshal(ch.forPeer(p, inv))
			if err != nil {
				s.log.Error("bss: encoding a change for a replica", "err", err)
				return
			}
			s.sendChange(ctx, p, body)
		})
	}
	wg.Wait()
}

// sendChange PUTs one change to p. On failure p is dropped and the call returns once
// p's lease has run out, so p serves nothing older than the change.
func (s *Server) sendChange(ctx context.Context, p *peer, body []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lease)
	defer cancel()
	status, err := s.replicaCall(ctx, http.MethodPut, p.url+ReplicaPathPrefix+"/replica", body, nil)
	if err == nil && status == http.StatusNoContent {
		return
	}
	s.repl.mu.Lock()
	p.dropped = true
	delete(s.repl.peers, p.id)
	end := p.renewed.Add(s.lease)
	s.repl.mu.Unlock()
	s.log.Warn("bss: a replica did not apply a change; dropped, its nodes fetch from here until it registers again",
		"replica", p.url, "status", status, "err", err)
	if wait := time.Until(end); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		<-t.C
	}
}

// replicaCall sends one replication request and decodes a JSON answer into out (when
// not nil and the status is 2xx).
func (s *Server) replicaCall(ctx context.Context, method, url string, body []byte, out any) (int, error) {
	return doReplica(ctx, s.replicaClient, method, url, body, out)
}

func doReplica(ctx context.Context, hc *http.Client, method, url string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
	return resp.StatusCode, nil
}

// postReplica registers a replica: it is sent the whole state, taken under the write
// lock, so every later change is numbered after it.
func (s *Server) postReplica(w http.ResponseWriter, r *http.Request) *problem.Details {
	var reg registration
	if d := problem.DecodeJSON(w, r, &reg, 1<<20); d != nil {
		return d
	}
	if reg.URL == "" {
		return problem.New(http.StatusBadRequest, "url is required")
	}
	// A replica this BSS cannot reach would hold every write for a lease, be dropped and
	// register again: refuse it at once.
	ctx, cancel := context.WithTimeout(r.Context(), s.lease/2)
	status, err := s.replicaCall(ctx, http.MethodGet, reg.URL+ReplicaPathPrefix+"/replica", nil, nil)
	cancel()
	if err != nil || status != http.StatusNoContent {
		return problem.New(http.StatusBadGateway, "BSS cannot reach the replica at %s (status %d, %v): its nodes fetch from BSS", reg.URL, status, err)
	}
	if d := s.lockWrites(r.Context()); d != nil {
		return d
	}
	defer s.unlockWrites()
	inv := s.inv.Load()
	p := &peer{url: reg.URL, renewed: time.Now()}
	if reg.Nodes != nil {
		p.nodes = make(map[string]bool, len(reg.Nodes))
		for _, n := range reg.Nodes {
			p.nodes[n] = true
		}
	}
	s.mu.RLock()
	all := s.store.snapshot()
	s.mu.RUnlock()
	all.Inventory, all.HasInventory = inv.hosts, true
	st := *all.forPeer(p, inv)
	st.Settings = &replicaSettings{S3URL: s.s3URL, Advertise: s.advertise, ChainBase: s.chainBase, RetryDelay: s.retryDelay}
	s.repl.mu.Lock()
	s.repl.next++
	p.id = strconv.Itoa(s.repl.next)
	if s.repl.peers == nil {
		s.repl.peers = map[string]*peer{}
	}
	s.repl.peers[p.id] = p
	if s.repl.inv == nil { // else a refresh not replicated yet goes with the next change, to all
		s.repl.inv = inv
	}
	st.Seq = s.repl.seq
	s.repl.mu.Unlock()
	s.log.Info("bss: replica registered", "replica", reg.URL, "id", p.id)
	writeJSON(w, http.StatusOK, registered{ID: p.id, Lease: s.lease, State: st})
	return nil
}

// renewReplica extends a registered replica's lease and records the boot-script fetches
// it served; 404 for a replica dropped or never registered.
func (s *Server) renewReplica(w http.ResponseWriter, r *http.Request) *problem.Details {
	var body renewal
	if d := problem.DecodeJSON(w, r, &body, s.maxBody); d != nil {
		return d
	}
	s.repl.mu.Lock()
	p := s.repl.peers[r.PathValue("id")]
	if p != nil {
		p.renewed = time.Now()
	}
	s.repl.mu.Unlock()
	if p == nil {
		return problem.New(http.StatusNotFound, "no replica %s: register again", r.PathValue("id"))
	}
	if len(body.History) > 0 {
		s.histMu.Lock()
		for name, t := range body.History {
			k := historyKey{name, bssapi.EndpointBootscript}
			s.history[k] = max(s.history[k], t)
		}
		s.histMu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// takeChanges returns the keys changed since the last call, with their values now.
func (s *store) takeChanges() replicaChange {
	c := s.changed
	s.changed = changes{}
	var out replicaChange
	for k := range c.hosts {
		if out.Hosts == nil {
			out.Hosts = map[string]*replicaEntry{}
		}
		out.Hosts[k] = nil
		if e, ok := s.hosts[k]; ok {
			out.Hosts[k] = &replicaEntry{Params: e.params, Kernel: e.kernel, Initrd: e.initrd, Token: e.token}
		}
	}
	out.Kernels = imageChanges(c.kernels, s.kernels)
	out.Initrds = imageChanges(c.initrds, s.initrds)
	return out
}

func imageChanges(keys map[string]struct{}, images map[string]string) map[string]*string {
	if len(keys) == 0 {
		return nil
	}
	out := make(map[string]*string, len(keys))
	for k := range keys {
		out[k] = nil
		if v, ok := images[k]; ok {
			out[k] = &v
		}
	}
	return out
}

// snapshot is the whole store as one change.
func (s *store) snapshot() replicaChange {
	out := replicaChange{Hosts: make(map[string]*replicaEntry, len(s.hosts)),
		Kernels: make(map[string]*string, len(s.kernels)), Initrds: make(map[string]*string, len(s.initrds))}
	for k, e := range s.hosts {
		out.Hosts[k] = &replicaEntry{Params: e.params, Kernel: e.kernel, Initrd: e.initrd, Token: e.token}
	}
	for k, v := range s.kernels {
		out.Kernels[k] = &v
	}
	for k, v := range s.initrds {
		out.Initrds[k] = &v
	}
	return out
}

func (c *replicaChange) empty() bool {
	return len(c.Hosts)+len(c.Kernels)+len(c.Initrds) == 0 && !c.HasInventory
}

// apply writes c into the store (without noting changes: a replica sends none).
func (s *store) apply(c *replicaChange) {
	for k, e := range c.Hosts {
		if e == nil {
			delete(s.hosts, k)
			continue
		}
		s.hosts[k] = &entry{params: e.Params, kernel: e.Kernel, initrd: e.Initrd, token: e.Token}
	}
	for k, v := range c.Kernels {
		if v == nil {
			delete(s.kernels, k)
		} else {
			s.kernels[k] = *v
		}
	}
	for k, v := range c.Initrds {
		if v == nil {
			delete(s.initrds, k)
		} else {
			s.initrds[k] = *v
		}
	}
}

// ---- the replica ----

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	// Primary is the BSS replicated (scheme://host:port); URL is where this replica's
	// Handler is served, as the primary reaches it.
	Primary, URL string
	// Nodes, when set, are the nodes whose boot scripts the replica serves (a shard's):
	// it keeps only their inventory and entries, not the whole cluster's.
	Nodes []string
	// Client makes the replica's requests to the primary; nil: http.DefaultClient.
	Client *http.Client
	Logger *slog.Logger
}

// Replica is a read replica of a BSS (see above): Run keeps it registered, Handler takes
// the primary's changes, Route picks the boot-script requests it answers.
type Replica struct {
	cfg    ReplicaConfig
	srv    *Server      // renders boot scripts from the replicated state
	script http.Handler // srv's GET /bootscript

	gate chan struct{} // held while registering: a change waits for the state it follows
	mu   sync.Mutex    // guards the fields below
	id   string
	seq  uint64
	// until is when the lease ends (zero: not serving); lease the primary's.
	until time.Time
	lease time.Duration
	lost  chan struct{} // signalled when the replica must register again

	served atomic.Int64 // boot-script requests routed here
}

// Served counts the boot-script requests the replica took (Route picked it).
func (r *Replica) Served() int64 { return r.served.Load() }

// NewReplica makes a replica that serves nothing until Run has registered it.
func NewReplica(cfg ReplicaConfig) *Replica {
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv := &Server{store: newStore(), history: map[historyKey]int64{}, log: cfg.Logger, now: time.Now,
		refreshInterval: -1, maxBody: problem.DefaultMaxBody}
	srv.inv.Store(newNodeIndex(nil))
	return &Replica{cfg: cfg, srv: srv, script: problem.Handler(srv.getBootScript), gate: make(chan struct{}, 1), lost: make(chan struct{}, 1)}
}

// Run keeps the replica registered with the primary until ctx ends: it registers (unless
// Register did), renews the lease every lease/10 and registers again whenever the primary
// dropped it. A primary that does not answer is asked again every DefaultReplicaLease;
// one without replication (404: a real BSS, or an older simulator) is left alone.
// Meanwhile Route picks nothing and every request goes to the primary.
func (r *Replica) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if !r.registered() {
			if err := r.Register(ctx); errors.Is(err, errNoReplication) {
				r.cfg.Logger.Info("bss replica: the primary has no replication; its boot scripts are fetched from it", "primary", r.cfg.Primary)
				return
			} else if err != nil {
				r.cfg.Logger.Warn("bss replica: registering with the primary failed; its requests go there", "primary", r.cfg.Primary, "err", err)
				if !sleep(ctx, DefaultReplicaLease) {
					return
				}
				continue
			}
		}
		r.renewLoop(ctx)
	}
}

var errNoReplication = errors.New("the primary has no replication")

func (r *Replica) registered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.until.IsZero()
}

// Register asks the primary for the whole state and takes it, holding the gate so that
// a change sent right after waits for it.
func (r *Replica) Register(ctx context.Context) error {
	select {
	case r.gate <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.gate }()
	r.stopServing()
	body, _ := json.Marshal(registration{URL: r.cfg.URL, Nodes: r.cfg.Nodes})
	var reg registered
	sent := time.Now()
	status, err := doReplica(ctx, r.cfg.Client, http.MethodPost, r.cfg.Primary+ReplicaPathPrefix+"/replicas", body, &reg)
	switch {
	case err == nil && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed):
		err = errNoReplication
	case err == nil && status != http.StatusOK:
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		return err
	}
	st := reg.State
	srv := r.srv
	srv.mu.Lock()
	if set := st.Settings; set != nil {
		srv.s3URL, srv.advertise, srv.chainBase, srv.retryDelay = set.S3URL, set.Advertise, set.ChainBase, set.RetryDelay
	}
	srv.store = newStore()
	srv.store.apply(&st)
	srv.inv.Store(newNodeIndex(st.Inventory))
	srv.mu.Unlock()
	r.mu.Lock()
	r.id, r.seq, r.lease = reg.ID, st.Seq, reg.Lease
	r.until = sent.Add(r.lease * 9 / 10)
	r.mu.Unlock()
	select { // a loss signalled before this registration is over
	case <-r.lost:
	default:
	}
	r.cfg.Logger.Info("bss replica: registered", "primary", r.cfg.Primary, "id", reg.ID, "hosts", len(st.Hosts))
	return nil
}

// renewLoop renews the lease every lease/10 until the primary refuses it, a change could
// not be applied, or ctx ends.
func (r *Replica) renewLoop(ctx context.Context) {
	r.mu.Lock()
	id, lease := r.id, r.lease
	r.mu.Unlock()
	t := time.NewTicker(max(lease/10, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.lost:
			return
		case <-t.C:
		}
		hist := r.srv.takeHistory()
		body, _ := json.Marshal(renewal{History: hist})
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, lease)
		status, err := doReplica(cctx, r.cfg.Client, http.MethodPost, r.cfg.Primary+ReplicaPathPrefix+"/replicas/"+id, body, nil)
		cancel()
		switch {
		case err == nil && status == http.StatusNoContent:
			r.mu.Lock()
			if r.id == id && !r.until.IsZero() {
				r.until = sent.Add(lease * 9 / 10)
			}
			r.mu.Unlock()
		case err == nil && status == http.StatusNotFound:
			r.cfg.Logger.Warn("bss replica: dropped by the primary; registering again", "primary", r.cfg.Primary)
			r.stopServing()
			return
		default: // the lease runs out by itself if this goes on; the history is sent again
			r.srv.putHistory(hist)
		}
	}
}

func (r *Replica) stopServing() {
	r.mu.Lock()
	r.until = time.Time{}
	r.mu.Unlock()
}

// Serving says whether the replica answers boot-script requests now.
func (r *Replica) Serving() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Now().Before(r.until)
}

// Handler takes the primary's changes (PUT ReplicaPathPrefix/replica) and answers its
// probe at registration (GET, 204).
func (r *Replica) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+ReplicaPathPrefix+"/replica", problem.Handler(r.putChange))
	mux.HandleFunc("GET "+ReplicaPathPrefix+"/replica", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return mux
}

func (r *Replica) putChange(w http.ResponseWriter, req *http.Request) *problem.Details {
	var c replicaChange
	if d := problem.DecodeJSON(w, req, &c, 1<<30); d != nil {
		return d
	}
	select { // a registration in flight first
	case r.gate <- struct{}{}:
	case <-req.Context().Done():
		return problem.New(http.StatusServiceUnavailable, "%v", req.Context().Err())
	}
	defer func() { <-r.gate }()
	r.mu.Lock()
	if r.id == "" || c.Seq != r.seq+1 {
		want := r.seq + 1
		r.until = time.Time{}
		r.mu.Unlock()
		select {
		case r.lost <- struct{}{}:
		default:
		}
		return problem.New(http.StatusConflict, "change %d does not follow this replica's %d: registering again", c.Seq, want-1)
	}
	r.seq = c.Seq
	r.mu.Unlock()
	srv := r.srv
	srv.mu.Lock()
	srv.store.apply(&c)
	if c.HasInventory {
		srv.inv.Store(newNodeIndex(c.Inventory))
	}
	srv.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Route returns the handler of a boot-script request the replica answers now (GET
// .../boot/v1/bootscript for a node its inventory knows, while its lease holds), else nil:
// the request is the primary's.
func (r *Replica) Route(req *http.Request) http.Handler {
	if req.Method != http.MethodGet || (req.URL.Path != "/boot/v1/bootscript" && req.URL.Path != "/apis/bss/boot/v1/bootscript") {
		return nil
	}
	if !r.Serving() {
		return nil
	}
	q := req.URL.Query()
	sr := scriptRequest{mac: q.Get("mac"), name: q.Get("name"), nid: -1}
	if v := q.Get("nid"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil
		}
		sr.nid = n
	}
	if sr.mac == "" && sr.name == "" && sr.nid < 0 || !knows(r.srv.inv.Load(), sr) {
		return nil
	}
	r.served.Add(1)
	return r.script
}

// BootScript is Route and the answer together, for a node's request in this process:
// status 0 when the request is the primary's (Route would pick nothing).
func (r *Replica) BootScript(ctx context.Context, name string) (int, string) {
	if name == "" || !r.Serving() || !knows(r.srv.inv.Load(), scriptRequest{name: name, nid: -1}) {
		return 0, ""
	}
	r.served.Add(1)
	return r.srv.BootScript(ctx, name)
}

// takeHistory returns and forgets the boot-script fetches recorded.
func (s *Server) takeHistory() map[string]int64 {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if len(s.history) == 0 {
		return nil
	}
	out := make(map[string]int64, len(s.history))
	for k, t := range s.history {
		out[k.name] = t
	}
	clear(s.history)
	return out
}

// putHistory gives back fetches a renewal could not deliver.
func (s *Server) putHistory(h map[string]int64) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	for name, t := range h {
		k := historyKey{name, bssapi.EndpointBootscript}
		s.history[k] = max(s.history[k], t)
	}
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
