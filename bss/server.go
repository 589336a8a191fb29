package bss

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cray-bos/bos/internal/uuid"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Version is what GET /service/version reports: the hms-bss release this simulator follows.
const Version = "1.37.0"

// Config configures a Server. The zero value is usable: no nodes, CSM's defaults.
type Config struct {
	// Inventory supplies HSM's node data; read at New, on POST /hosts and, rate limited by
	// RefreshInterval, when a boot script request names a node it does not know.
	// Nil means an empty inventory (every node takes the unknown-node path).
	Inventory Inventory
	// S3URL is the HTTP base s3://bucket/key URLs are rewritten to in boot scripts, e.g.
	// "http://127.0.0.1:9000" gives http://127.0.0.1:9000/bucket/key. Default "": s3:// URLs
	// are served unchanged.
	S3URL string
	// AdvertiseAddress is the cloud-init address put on the kernel command line as
	// ds=nocloud-net;s=<AdvertiseAddress>/. Default "http://10.92.100.81:8888" (CSM's).
	AdvertiseAddress string
	// ChainURL is the base of the retry "chain" line: <ChainURL>/boot/v1/bootscript?....
	// Default "https://api-gw-service-nmn.local/apis/bss" (BSS_CHAIN_PROTO, BSS_IPXE_SERVER
	// and BSS_GW_URI defaults).
	ChainURL string
	// RetryDelay is the "sleep" before the retry chain, rounded down to whole seconds.
	// Default (zero) 30s.
	RetryDelay time.Duration
	// RefreshInterval is the least time between two inventory refreshes triggered by unknown
	// nodes asking for a boot script. Default (zero) 5s; negative disables those refreshes.
	RefreshInterval time.Duration
	// MaxBody limits request bodies, in bytes. Default (zero) 8 MiB.
	MaxBody int64
	// Logger receives request failures and inventory refreshes. Nil discards.
	Logger *slog.Logger
	// Now is the clock for endpoint history and the default ts of unknown-node scripts.
	// Default time.Now.
	Now func() time.Time
	// ReplicaLease is how long a read replica (replica.go) serves after its last renewal,
	// and so the longest a write waits for a replica that does not answer. Default
	// DefaultReplicaLease.
	ReplicaLease time.Duration
	// ReplicaClient sends the changes to the replicas; nil: http.DefaultClient.
	ReplicaClient *http.Client
}

// Server is one simulated BSS. All state hangs off it; it is safe for concurrent use.
type Server struct {
	inventory       Inventory
	s3URL           string
	advertise       string
	chainBase       string
	retryDelay      time.Duration
	refreshInterval time.Duration
	maxBody         int64
	log             *slog.Logger
	now             func() time.Time

	inv atomic.Pointer[nodeIndex] // swapped whole on refresh; read without locks

	refreshMu   sync.Mutex // serialises refreshes; guards lastAttempt
	lastAttempt time.Time
	hsmOK       atomic.Bool

	mu    sync.RWMutex // guards store
	store *store

	histMu  sync.Mutex
	history map[historyKey]int64

	repl          replicas
	lease         time.Duration
	replicaClient *http.Client
}

type historyKey struct{ name, endpoint string }

// New builds a Server and loads the inventory once. An unreachable HSM is not an error:
// BSS starts with no nodes, reports "bss-status-hsm":"error" and retries on the next
// POST /hosts or unknown-node boot script request.
func New(cfg Config) (*Server, error) {
	s := &Server{
		inventory:       cfg.Inventory,
		s3URL:           strings.TrimRight(cfg.S3URL, "/"),
		advertise:       cfg.AdvertiseAddress,
		chainBase:       strings.TrimRight(cfg.ChainURL, "/"),
		retryDelay:      cfg.RetryDelay,
		refreshInterval: cfg.RefreshInterval,
		maxBody:         cfg.MaxBody,
		log:             cfg.Logger,
		now:             cfg.Now,
		store:           newStore(),
		history:         map[historyKey]int64{},
		repl:            replicas{sem: make(chan struct{}, 1)},
		lease:           cfg.ReplicaLease,
		replicaClient:   cfg.ReplicaClient,
	}
	if s.lease <= 0 {
		s.lease = DefaultReplicaLease
	}
	if s.replicaClient == nil {
		s.replicaClient = http.DefaultClient
	}
	if s.s3URL != "" {
		if u, err := url.Parse(s.s3URL); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("bss: S3URL %q is not an absolute URL", cfg.S3URL)
		}
	}
	if s.advertise == "" {
		s.advertise = "http://10.92.100.81:8888"
	}
	if s.chainBase == "" {
		s.chainBase = "https://api-gw-service-nmn.local/apis/bss"
	}
	if s.retryDelay <= 0 {
		s.retryDelay = 30 * time.Second
	}
	if s.refreshInterval == 0 {
		s.refreshInterval = 5 * time.Second
	}
	if s.maxBody <= 0 {
		s.maxBody = problem.DefaultMaxBody
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.inv.Store(newNodeIndex(nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Refresh(ctx); err != nil {
		s.log.Warn("bss: initial HSM read failed; starting with no nodes", "err", err)
	}
	return s, nil
}

// Refresh re-reads the inventory and swaps it in. On failure the old data stays.
func (s *Server) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	err := s.refreshLocked(ctx)
	s.refreshMu.Unlock()
	if err == nil {
		s.replicateInventory(ctx)
	}
	return err
}

// replicateInventory sends a refreshed inventory to the replicas.
func (s *Server) replicateInventory(ctx context.Context) {
	if s.lockWrites(ctx) != nil {
		return // the next write carries it
	}
	defer s.unlockWrites()
	s.replicate(ctx)
}

func (s *Server) refreshLocked(ctx context.Context) error {
	s.lastAttempt = s.now()
	if s.inventory == nil {
		s.hsmOK.Store(true)
		return nil
	}
	hosts, err := s.inventory.Hosts(ctx)
	if err != nil {
		s.hsmOK.Store(false)
		return fmt.Errorf("bss: refresh inventory: %w", err)
	}
	s.inv.Store(newNodeIndex(hosts))
	s.hsmOK.Store(true)
	s.log.Debug("bss: inventory refreshed", "nodes", len(hosts))
	return nil
}

// refreshOnMiss refreshes the inventory unless one was attempted within refreshInterval.
// Callers that find a refresh running wait for it rather than starting another.
func (s *Server) refreshOnMiss(ctx context.Context) bool {
	if s.refreshInterval < 0 {
		return false
	}
	s.refreshMu.Lock()
	if s.now().Sub(s.lastAttempt) < s.refreshInterval {
		s.refreshMu.Unlock()
		return false
	}
	err := s.refreshLocked(ctx)
	s.refreshMu.Unlock()
	if err != nil {
		s.log.Warn("bss: refresh on unknown node failed", "err", err)
		return false
	}
	s.replicateInventory(ctx)
	return true
}

// Handler serves the BSS API under /boot/v1 and the cloud-init datasource at the root, each
// also under the gateway prefix /apis/bss.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/boot/v1", "/apis/bss/boot/v1"} {
		mux.HandleFunc("GET "+p+"/bootparameters", problem.Handler(s.getBootParameters))
		mux.HandleFunc("PUT "+p+"/bootparameters", s.putBootParameters)
		mux.HandleFunc("POST "+p+"/bootparameters", s.postBootParameters)
		mux.HandleFunc("PATCH "+p+"/bootparameters", problem.Handler(s.patchBootParameters))
		mux.HandleFunc("DELETE "+p+"/bootparameters", problem.Handler(s.deleteBootParameters))
		mux.HandleFunc("GET "+p+"/bootscript", problem.Handler(s.getBootScript))
		mux.HandleFunc("GET "+p+"/hosts", problem.Handler(s.getHosts))
		mux.HandleFunc("POST "+p+"/hosts", s.postHosts)
		mux.HandleFunc("GET "+p+"/dumpstate", s.getDumpState)
		mux.HandleFunc("GET "+p+"/endpoint-history", problem.Handler(s.getEndpointHistory))
		mux.HandleFunc("GET "+p+"/service/status", s.serviceStatus("bss-status"))
		mux.HandleFunc("GET "+p+"/service/version", s.serviceStatus("bss-version"))
		mux.HandleFunc("GET "+p+"/service/hsm", s.serviceStatus("bss-status-hsm"))
		mux.HandleFunc("GET "+p+"/service/etcd", s.serviceStatus("bss-status-etcd"))
		mux.HandleFunc("GET "+p+"/service/all", s.serviceStatus(""))
		mux.HandleFunc("GET "+p+"/service/status/all", s.serviceStatus("")) // the document's path for it
	}
	// The cloud-init datasource sits at the root, not under /boot/v1, as in the real BSS.
	for _, p := range []string{"", "/apis/bss"} {
		mux.HandleFunc("GET "+p+"/meta-data", s.getMetaData)
		mux.HandleFunc("GET "+p+"/user-data", problem.Handler(s.getUserData))
		mux.HandleFunc("POST "+p+"/phone-home", problem.Handler(s.postPhoneHome))
	}
	// The read replicas' registration and renewals (replica.go): simulator-internal.
	mux.HandleFunc("POST "+ReplicaPathPrefix+"/replicas", problem.Handler(s.postReplica))
	mux.HandleFunc("POST "+ReplicaPathPrefix+"/replicas/{id}", problem.Handler(s.renewReplica))
	return mux
}

// ---- /bootparameters ----

func (s *Server) getBootParameters(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	names, macs, nidStrs := splitList(q["name"]), splitList(q["mac"]), splitList(q["nid"])
	hasQuery := len(names)+len(macs)+len(nidStrs) > 0

	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", s.maxBody)
	}
	var sel bssapi.BootParams
	if len(strings.TrimSpace(string(raw))) > 0 {
		// The real BSS accepts the selection as a JSON body too; a bad body only matters
		// when there is no query to fall back on.
		var body bssapi.BootParams
		d := problem.Decode(strings.NewReader(string(raw)), &body)
		switch {
		case d == nil:
			sel = body
		case !hasQuery:
			d.Detail = "Failed to interpret request body: " + d.Detail
			return d
		}
	} else if !hasQuery {
		s.mu.RLock()
		all := s.store.all()
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, all)
		return nil
	}
	sel.Hosts = append(sel.Hosts, names...)
	sel.Macs = append(sel.Macs, macs...)
	for _, n := range nidStrs {
		v, err := strconv.ParseInt(n, 0, 32)
		if err != nil {
			return problem.New(http.StatusBadRequest, "Bad Request - Invalid nid '%s'", n)
		}
		sel.Nids = append(sel.Nids, int(v))
	}

	inv := s.inv.Load()
	s.mu.RLock()
	results := s.selectParams(&sel, inv)
	s.mu.RUnlock()
	if len(results) == 0 {
		var objs []string
		for _, o := range []struct {
			set  bool
			name string
		}{{len(sel.Hosts) > 0, "Hosts"}, {len(sel.Macs) > 0, "MACs"}, {len(sel.Nids) > 0, "NIDs"},
			{sel.Kernel != "", "kernel"}, {sel.Initrd != "", "initrd"}} {
			if o.set {
				objs = append(objs, o.name)
			}
		}
		if len(objs) == 0 {
			return problem.New(http.StatusBadRequest, "No specified data requested")
		}
		msg := "Cannot find boot parameters for requested " + strings.Join(objs[:len(objs)-1], ", ")
		if len(objs) > 1 {
			msg += " or "
		}
		return problem.New(http.StatusNotFound, "%s", msg+objs[len(objs)-1])
	}
	writeJSON(w, http.StatusOK, results)
	return nil
}

// selectParams finds the entries a GET selects: images by path; hosts by key, else through
// HSM (a name that is a node's xname or FQDN); MACs and NIDs through HSM to the node's
// entry, else the entry stored under the MAC or nid<N> itself. Caller holds s.mu.
func (s *Server) selectParams(sel *bssapi.BootParams, inv *nodeIndex) []bssapi.BootParams {
	var out []bssapi.BootParams
	if p, ok := s.store.kernels[sel.Kernel]; sel.Kernel != "" && ok {
		out = append(out, bssapi.BootParams{Kernel: sel.Kernel, Params: p})
	}
	if p, ok := s.store.initrds[sel.Initrd]; sel.Initrd != "" && ok {
		out = append(out, bssapi.BootParams{Initrd: sel.Initrd, Params: p})
	}
	seen := map[string]bool{}
	add := func(keys ...string) {
		for _, k := range keys {
			if e, ok := s.store.hosts[k]; k != "" && ok {
				if !seen[k] {
					seen[k] = true
					out = append(out, s.store.params(k, e))
				}
				return
			}
		}
	}
	for _, h := range sel.Hosts {
		id := ""
		if n, ok := inv.byNameOrFQDN(h); ok {
			id = n.ID
		}
		add(h, id)
	}
	for _, m := range sel.Macs {
		id := ""
		if n, ok := inv.byMACAddr(m); ok {
			id = n.ID
		}
		add(id, m)
	}
	for _, nid := range sel.Nids {
		id := ""
		if n, ok := inv.byNIDNum(nid); ok {
			id = n.ID
		}
		add(id, nidName(nid))
	}
	return out
}

func (s *Server) putBootParameters(w http.ResponseWriter, r *http.Request) {
	s.store1(w, r, false)
}

func (s *Server) postBootParameters(w http.ResponseWriter, r *http.Request) {
	s.store1(w, r, true)
}

// store1 is PUT (replace) and POST (create only). Both mint one referral token for the
// request, shared by every host it stores.
func (s *Server) store1(w http.ResponseWriter, r *http.Request, createOnly bool) {
	var bp bssapi.BootParams
	if d := problem.DecodeJSON(w, r, &bp, s.maxBody); d != nil {
		d.Detail = "Bad Request: " + d.Detail
		problem.WriteDetails(w, d)
		return
	}
	if d := validate(&bp); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	keys := targets(&bp, s.inv.Load())
	token := uuid.New()
	if d := s.lockWrites(r.Context()); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	defer s.unlockWrites()
	s.mu.Lock()
	if createOnly {
		if item := s.store.existing(&bp, keys); item != "" {
			s.mu.Unlock()
			problem.Write(w, http.StatusBadRequest, "Bad Request: Already exists: %s", item)
			return
		}
	}
	ok := s.store.put(&bp, keys, token)
	s.mu.Unlock()
	s.replicate(r.Context())
	if !ok {
		problem.Write(w, http.StatusBadRequest, "Nothing to Store")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if len(keys) > 0 {
		w.Header().Set(bssapi.ReferralTokenHeader, token)
	}
	if createOnly {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) patchBootParameters(w http.ResponseWriter, r *http.Request) *problem.Details {
	var bp bssapi.BootParams
	if d := problem.DecodeJSON(w, r, &bp, s.maxBody); d != nil {
		d.Detail = "Bad Request: " + d.Detail
		return d
	}
	if d := validate(&bp); d != nil {
		return d
	}
	inv := s.inv.Load()
	if d := s.lockWrites(r.Context()); d != nil {
		return d
	}
	defer s.unlockWrites()
	s.mu.Lock()
	keys, err := s.store.existingKeys(&bp, inv)
	if err != nil {
		s.mu.Unlock()
		return problem.New(http.StatusNotFound, "Not Found: %s", err)
	}
	s.store.patch(&bp, keys)
	s.mu.Unlock()
	s.replicate(r.Context())
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBootParameters(w http.ResponseWriter, r *http.Request) *problem.Details {
	var bp bssapi.BootParams
	if d := problem.DecodeJSON(w, r, &bp, s.maxBody); d != nil {
		d.Detail = "Bad Request: " + d.Detail
		return d
	}
	if len(bp.Hosts)+len(bp.Macs)+len(bp.Nids) == 0 && bp.Kernel == "" && bp.Initrd == "" {
		return problem.New(http.StatusBadRequest, "Bad Request: no hosts, macs, nids, kernel or initrd selected")
	}
	inv := s.inv.Load()
	if d := s.lockWrites(r.Context()); d != nil {
		return d
	}
	defer s.unlockWrites()
	s.mu.Lock()
	keys, err := s.store.existingKeys(&bp, inv)
	if err != nil {
		s.mu.Unlock()
		return problem.New(http.StatusBadRequest, "%s", err)
	}
	// An image that does not exist is nothing to remove, as in the real BSS.
	s.store.remove(keys, bp.Kernel, bp.Initrd)
	s.mu.Unlock()
	s.replicate(r.Context())
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

// ---- /bootscript ----

func (s *Server) getBootScript(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	req := scriptRequest{mac: strings.Join(q["mac"], ""), name: strings.Join(q["name"], ""),
		arch: strings.Join(q["arch"], ""), nid: -1, ts: s.now().Unix()}
	for _, k := range []string{"mac", "name", "arch"} {
		for _, v := range q[k] {
			if scriptWord(k, v) != nil {
				return problem.New(http.StatusBadRequest, "Bad Request - Invalid %s: control characters and white space are not allowed", k)
			}
		}
	}
	ints := []struct {
		key string
		dst *int64
	}{{"nid", new(int64)}, {"retry", new(int64)}, {"ts", &req.ts}}
	for _, p := range ints {
		v := strings.Join(q[p.key], "")
		if v == "" {
			*p.dst = -1
			continue
		}
		n, err := strconv.ParseInt(v, 0, 64)
		if err != nil || n < 0 || n > 1<<31 && p.key != "ts" {
			return problem.New(http.StatusBadRequest, "Bad Request - Invalid %s '%s'", p.key, v)
		}
		*p.dst = n
	}
	req.nid = int(*ints[0].dst)
	req.retry = max(int(*ints[1].dst), 0)
	if req.ts < 0 {
		req.ts = s.now().Unix()
	}
	if req.mac == "" && req.name == "" && req.nid < 0 {
		return problem.New(http.StatusBadRequest, "Need a mac=, name=, or nid= parameter")
	}

	script, d := s.serveScript(r.Context(), req)
	if d != nil {
		return d
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, script)
	return nil
}

// serveScript answers a checked boot-script request and records the fetch.
func (s *Server) serveScript(ctx context.Context, req scriptRequest) (string, *problem.Details) {
	inv := s.inv.Load()
	if !knows(inv, req) && s.refreshOnMiss(ctx) {
		inv = s.inv.Load()
	}
	s.mu.RLock()
	script, served, err := s.bootScript(inv, s.store, req)
	s.mu.RUnlock()
	if err != nil {
		s.log.Info("bss: boot script request failed", "err", err)
		return "", problem.New(http.StatusNotFound, "%s", err)
	}
	if served != "" {
		s.histMu.Lock()
		s.history[historyKey{served, bssapi.EndpointBootscript}] = s.now().Unix()
		s.histMu.Unlock()
	}
	return script, nil
}

// BootScript answers GET /boot/v1/bootscript?name=<name> as its handler does (the
// fetch recorded alike), for a caller in this process: the status and the script.
func (s *Server) BootScript(ctx context.Context, name string) (int, string) {
	if name == "" {
		return http.StatusBadRequest, ""
	}
	if d := scriptWord("name", name); d != nil {
		return d.Status, ""
	}
	script, d := s.serveScript(ctx, scriptRequest{name: name, nid: -1, ts: s.now().Unix()})
	if d != nil {
		return d.Status, ""
	}
	return http.StatusOK, script
}

func knows(inv *nodeIndex, req scriptRequest) bool {
	var ok bool
	switch {
	case req.mac != "":
		_, ok = inv.byMACAddr(req.mac)
	case req.name != "":
		_, ok = inv.byName(req.name)
	default:
		_, ok = inv.byNIDNum(req.nid)
	}
	return ok
}

// ---- /hosts, /dumpstate, /endpoint-history, /service ----

func (s *Server) getHosts(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	names, macs, nids := splitList(q["name"]), splitList(q["mac"]), splitList(q["nid"])
	inv := s.inv.Load()
	if len(names)+len(macs)+len(nids) == 0 {
		writeJSON(w, http.StatusOK, inv.hosts)
		return nil
	}
	out := []bssapi.Host{}
	for _, n := range names {
		h, ok := inv.byNameOrFQDN(n)
		if !ok {
			return problem.New(http.StatusNotFound, "Not Found - Unknown host name '%s'", n)
		}
		out = append(out, *h)
	}
	for _, m := range macs {
		h, ok := inv.byMACAddr(m)
		if !ok {
			return problem.New(http.StatusNotFound, "Not Found - Unknown MAC address '%s'", m)
		}
		out = append(out, *h)
	}
	for _, n := range nids {
		v, err := strconv.ParseInt(n, 0, 32)
		if err != nil {
			return problem.New(http.StatusBadRequest, "Bad Request - Invalid nid '%s'", n)
		}
		h, ok := inv.byNIDNum(int(v))
		if !ok {
			return problem.New(http.StatusNotFound, "Not Found - Unknown NID '%s'", n)
		}
		out = append(out, *h)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// postHosts re-reads HSM. Like the real BSS it answers 204 even when HSM is unreachable;
// the failure shows in GET /service/hsm.
func (s *Server) postHosts(w http.ResponseWriter, r *http.Request) {
	if err := s.Refresh(r.Context()); err != nil {
		s.log.Warn("bss: POST /hosts refresh failed", "err", err)
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getDumpState(w http.ResponseWriter, _ *http.Request) {
	st := bssapi.State{Components: s.inv.Load().hosts}
	s.mu.RLock()
	st.Params = s.store.all()
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, st)
}

// getEndpointHistory searches as the real BSS does: everything, one node's records, or one
// node and endpoint, where an endpoint the node never fetched is a record with last_epoch 0
// if its name is a known endpoint type (case-insensitively) and nothing otherwise. An
// endpoint without a name is not a search the real BSS can make: 500.
func (s *Server) getEndpointHistory(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	name, endpoint := strings.Join(q["name"], ""), strings.Join(q["endpoint"], "")
	if name == "" && endpoint != "" {
		return problem.New(http.StatusInternalServerError, "Failed to search for name: %s, endpoint: %s", name, endpoint)
	}
	out := []bssapi.EndpointAccess{}
	s.histMu.Lock()
	if endpoint != "" {
		t, ok := s.history[historyKey{name, endpoint}]
		if ok || strings.EqualFold(endpoint, bssapi.EndpointBootscript) || strings.EqualFold(endpoint, bssapi.EndpointUserData) {
			out = append(out, bssapi.EndpointAccess{Name: name, Endpoint: endpoint, LastEpoch: t})
		}
	} else {
		for k, t := range s.history {
			if name == "" || k.name == name {
				out = append(out, bssapi.EndpointAccess{Name: k.name, Endpoint: k.endpoint, LastEpoch: t})
			}
		}
	}
	s.histMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Endpoint < out[j].Endpoint
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

// serviceStatus answers one of the /service keys, or all of them for key "". As in the real
// BSS, a check that reports "error" makes the reply a 500 carrying the same keys.
func (s *Server) serviceStatus(key string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		status, hsm := http.StatusOK, "connected"
		if !s.hsmOK.Load() {
			hsm = "error"
		}
		all := map[string]string{"bss-status": "running", "bss-version": Version,
			"bss-status-hsm": hsm, "bss-status-etcd": "connected"}
		if key != "" {
			all = map[string]string{key: all[key]}
		}
		for _, v := range all {
			if v == "error" {
				status = http.StatusInternalServerError
			}
		}
		writeJSON(w, status, all)
	}
}

// ---- helpers ----

// splitList flattens repeated query values and comma lists, dropping empty items.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
