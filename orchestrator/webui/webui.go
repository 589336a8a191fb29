package webui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Paths where orchestrator/server mounts the view (its root, with the trailing slash).
const (
	Path        = "/ui/"
	GatewayPath = "/apis/bos/ui/"
)

// Tick is how often changes are sent to a browser, at most.
const Tick = 250 * time.Millisecond

// maxSessions bounds the sessions panel (the newest first).
const maxSessions = 50

//go:embed static
var static embed.FS

// PowerReader reads the power of one node as BOS's power driver sees it ("on", "off",
// "unknown").
type PowerReader func(ctx context.Context, id string) (string, error)

// Config configures the view.
type Config struct {
	Store *store.Store // required
	// Tenants resolves a tenant's nodes (nil: no tenants exist).
	Tenants tenant.Registry
	// Auth, when set, requires bearer tokens on the data endpoints, as on GET /v2/components.
	Auth api.Authenticator
	// Power, when set, reads a node's power for its detail panel (nil: not shown).
	Power PowerReader
	// Slurm, when set, is read for the rolling view and the detail panel, at most once per
	// RefreshEvery (nil: no Slurm; rolling states come from BOS alone).
	Slurm Slurm
	// NIDs names Slurm's nidNNNNNN nodes (nil: only nodes Slurm names by xname are known).
	NIDs   NIDs
	Logger *slog.Logger
	// Tick and RefreshEvery override Tick and RefreshEvery (tests).
	Tick         time.Duration
	RefreshEvery time.Duration
}

// View serves the web view. Notify must be called with the ids of every component write.
type View struct {
	cfg Config
	in  *rollingInputs
	hub *hub
	mux *http.ServeMux
}

// New builds the view.
func New(cfg Config) *View {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tenants == nil {
		cfg.Tenants = tenant.NewMemory()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = Tick
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = RefreshEvery
	}
	v := &View{cfg: cfg}
	v.in = &rollingInputs{st: cfg.Store, slurm: cfg.Slurm, nids: cfg.NIDs, every: cfg.RefreshEvery, log: cfg.Logger}
	v.hub = newHub(cfg.Store, v.in, cfg.Tick, cfg.Logger)
	v.in.changed = v.hub.notify
	assets, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(assets))
	mux.HandleFunc("GET /api/snapshot", v.withTenant(v.snapshot))
	mux.HandleFunc("GET /api/components/{id}", v.withTenant(v.component))
	mux.HandleFunc("GET /api/sessions", v.withTenant(v.sessions))
	mux.HandleFunc("GET /events", v.withTenant(v.events))
	v.mux = mux
	return v
}

// Notify marks components as changed (the store's OnComponentsChanged). It never blocks.
func (v *View) Notify(ids []string) { v.hub.notify(ids) }

// Handler serves the view under Path and GatewayPath (the caller mounts it at both);
// "/ui" and "/apis/bos/ui" redirect to the slashed roots.
func (v *View) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, root := range []string{GatewayPath, Path} {
			if r.URL.Path == strings.TrimSuffix(root, "/") {
				http.Redirect(w, r, root, http.StatusMovedPermanently)
				return
			}
			if rest, ok := strings.CutPrefix(r.URL.Path, root); ok {
				r2 := r.Clone(r.Context())
				r2.URL.Path = "/" + rest
				r2.URL.RawPath = ""
				w.Header().Set("Cache-Control", "no-cache")
				v.mux.ServeHTTP(w, r2)
				return
			}
		}
		http.NotFound(w, r)
	})
}

// scope is who a data request is for: every component (t nil) or a tenant's.
type scope struct {
	name string
	t    *tenant.Tenant
}

func (s scope) within(id string) bool { return s.t == nil || s.t.Has(id) }

func (s scope) filter() func(string) bool {
	if s.t == nil {
		return nil
	}
	return s.t.Has
}

// withTenant authorizes a data request as GET /v2/components would and resolves its tenant.
func (v *View) withTenant(h func(http.ResponseWriter, *http.Request, scope)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, p := api.AuthorizeRead(r, v.cfg.Auth)
		if p != nil {
			if p.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bos"`)
			}
			problem.WriteDetails(w, p)
			return
		}
		sc := scope{name: name}
		if name != "" {
			t, err := v.cfg.Tenants.Get(r.Context(), name)
			if errors.Is(err, tenant.ErrNotFound) {
				problem.Write(w, http.StatusBadRequest, "Tenant '%s' does not exist", name)
				return
			}
			if err != nil {
				v.fail(w, err)
				return
			}
			sc.t = t
		}
		h(w, r, sc)
	}
}

func (v *View) fail(w http.ResponseWriter, err error) {
	v.cfg.Logger.Warn("web view", "err", err)
	problem.Write(w, http.StatusServiceUnavailable, "%s", "the store could not be read")
}

// Snapshot is every component's state in compact form: Codes[i] is IDs[i]'s (see Code),
// Rolling[i] its rolling state (an index in RollingStates).
type Snapshot struct {
	Statuses      []string `json:"statuses"`
	RollingStates []string `json:"rolling_states"`
	IDs           []string `json:"ids"`
	Codes         []uint8  `json:"codes"`
	Rolling       []uint8  `json:"rolling"`
}

// Changes is one message of the events stream: Codes[i] and Rolling[i] are the new code
// and rolling state of IDs[i].
type Changes struct {
	IDs     []string `json:"ids"`
	Codes   []uint8  `json:"codes"`
	Rolling []uint8  `json:"rolling"`
}

// readSnapshot reads every component in the scope.
func (v *View) readSnapshot(ctx context.Context, sc scope) (Snapshot, error) {
	raws, err := v.cfg.Store.ListComponentsJSON(ctx, store.Filter{})
	if err != nil {
		return Snapshot{}, err
	}
	in := v.in.get(ctx)
	n := len(raws)
	snap := Snapshot{Statuses: statusNames, RollingStates: rollingNames,
		IDs: make([]string, 0, n), Codes: make([]uint8, 0, n), Rolling: make([]uint8, 0, n)}
	for _, raw := range raws {
		id, c, err := cellOfJSON(raw, in)
		if err != nil {
			return Snapshot{}, err
		}
		if sc.within(id) {
			snap.IDs = append(snap.IDs, id)
			snap.Codes = append(snap.Codes, c.code)
			snap.Rolling = append(snap.Rolling, c.rolling)
		}
	}
	return snap, nil
}

func (v *View) snapshot(w http.ResponseWriter, r *http.Request, sc scope) {
	snap, err := v.readSnapshot(r.Context(), sc)
	if err != nil {
		v.fail(w, err)
		return
	}
	writeJSON(w, snap)
}

// componentDetail is the detail panel's data.
type componentDetail struct {
	Component json.RawMessage `json:"component"`
	Power     *powerReading   `json:"power"` // null: BOS reads no power here
	// Rolling is the node's rolling state (RollingStates' names; "" none).
	Rolling string `json:"rolling"`
	// Slurm is the node as Slurm reported it last (null: BOS reads no Slurm).
	Slurm *slurmDetail `json:"slurm"`
	// History is the node's history, newest first (store.ComponentHistory).
	History []orchestrator.HistoryEntry `json:"history"`
}

// slurmDetail is one node in Slurm; Name is "" when Slurm does not know the node.
type slurmDetail struct {
	Name   string   `json:"name"`
	State  []string `json:"state"` // the base state, then the flags
	Sinfo  string   `json:"sinfo"` // sinfo's %T: DRAINING@, REBOOT^...
	Reason string   `json:"reason"`
	Jobs   []int    `json:"jobs"` // running
	Error  string   `json:"error,omitempty"`
}

// slurmDetailOf is id's Slurm detail from the inputs read (nil without Slurm).
func (v *View) slurmDetailOf(id string, in inputsView) *slurmDetail {
	if v.cfg.Slurm == nil {
		return nil
	}
	d := &slurmDetail{State: []string{}, Jobs: []int{}, Error: in.slurmErr}
	if n := in.nodes[id]; n != nil {
		d.Name, d.State, d.Sinfo, d.Reason = n.Name, n.State.List(), n.State.Long(), n.Reason
		d.Jobs = append(d.Jobs, n.Jobs...)
	}
	return d
}

type powerReading struct {
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

func (v *View) component(w http.ResponseWriter, r *http.Request, sc scope) {
	id := r.PathValue("id")
	c, err := v.cfg.Store.GetComponent(r.Context(), id)
	if orchestrator.IsNotFound(err) || err == nil && !sc.within(c.ID) {
		problem.Write(w, http.StatusNotFound, "Component '%s' could not be found", id)
		return
	}
	if err != nil {
		v.fail(w, err)
		return
	}
	raw, err := json.Marshal(c)
	if err != nil {
		v.fail(w, err)
		return
	}
	hist, err := v.cfg.Store.ComponentHistory(r.Context(), id)
	if err != nil && !orchestrator.IsNotFound(err) { // deleted since: no history, as now
		v.fail(w, err)
		return
	}
	in := v.in.get(r.Context())
	d := componentDetail{Component: raw, History: hist,
		Rolling: RollingStateOf(rollingNodeOf(&c, in)).String(), Slurm: v.slurmDetailOf(c.ID, in)}
	if v.cfg.Power != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		state, err := v.cfg.Power(ctx, c.ID)
		cancel()
		d.Power = &powerReading{State: state}
		if err != nil {
			d.Power.Error = err.Error()
		}
	}
	writeJSON(w, d)
}

// sessionRow is one session of the sessions panel.
type sessionRow struct {
	Session  orchestrator.Session               `json:"session"`
	Extended orchestrator.SessionExtendedStatus `json:"extended_status"`
}

func (v *View) sessions(w http.ResponseWriter, r *http.Request, sc scope) {
	ctx := r.Context()
	now := time.Now()
	list, err := v.cfg.Store.ListSessions(ctx, sc.name, sc.name == "", orchestrator.SessionFilter{}, now)
	if err != nil {
		v.fail(w, err)
		return
	}
	slices.SortFunc(list, func(a, b orchestrator.Session) int { return b.Status.StartTime.Compare(a.Status.StartTime) })
	list = list[:min(len(list), maxSessions)]
	rows := make([]sessionRow, 0, len(list))
	for _, sess := range list {
		st, err := v.cfg.Store.SessionStatus(ctx, sess, sc.filter(), now)
		if err != nil {
			v.fail(w, err)
			return
		}
		sess.Status.Epoch = 0
		rows = append(rows, sessionRow{Session: sess, Extended: st})
	}
	writeJSON(w, rows)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
