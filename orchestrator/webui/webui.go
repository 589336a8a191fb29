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
	Power  PowerReader
	Logger *slog.Logger
	// Tick overrides Tick (tests).
	Tick time.Duration
}

// View serves the web view. Notify must be called with the ids of every component write.
type View struct {
	cfg Config
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
	v := &View{cfg: cfg}
	v.hub = newHub(cfg.Store, cfg.Tick, cfg.Logger)
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

// Snapshot is every component's state in compact form: Codes[i] is Ids[i]'s (see Code).
type Snapshot struct {
	Statuses []string `json:"statuses"`
	IDs      []string `json:"ids"`
	Codes    []uint8  `json:"codes"`
}

// Changes is one message of the events stream: Codes[i] is the new code of IDs[i].
type Changes struct {
	IDs   []string `json:"ids"`
	Codes []uint8  `json:"codes"`
}

// readSnapshot reads every component in the scope.
func (v *View) readSnapshot(ctx context.Context, sc scope) (Snapshot, error) {
	raws, err := v.cfg.Store.ListComponentsJSON(ctx, store.Filter{})
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Statuses: statusNames, IDs: make([]string, 0, len(raws)), Codes: make([]uint8, 0, len(raws))}
	for _, raw := range raws {
		id, code, err := codeOfJSON(raw)
		if err != nil {
			return Snapshot{}, err
		}
		if sc.within(id) {
			snap.IDs = append(snap.IDs, id)
			snap.Codes = append(snap.Codes, code)
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
	// History is the node's history, newest first (store.ComponentHistory).
	History []orchestrator.HistoryEntry `json:"history"`
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
	d := componentDetail{Component: raw, History: hist}
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
