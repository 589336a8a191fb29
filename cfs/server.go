package cfs

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Timing shapes the simulated batcher. Durations are real time.
type Timing struct {
	// ConfigureDelay is how long a batch's session runs before its results land.
	// Default 0 (results as soon as the batch closes; sessions take at least 1 ms).
	ConfigureDelay time.Duration
	// Jitter adds a uniform random [0, Jitter) to each batch's run time, drawn from Seed.
	// Default 0.
	Jitter time.Duration
	// Scale multiplies the run time (ConfigureDelay + jitter), to slow down or speed up a
	// whole scenario at once. Default (zero or negative) 1.
	Scale float64
	// BatchWindow is how long a batch collects members after its first one. Default 0: the
	// batch closes as soon as the request that made its members pending is done, so the
	// components of one bulk PATCH share a session.
	BatchWindow time.Duration
	// BatchSize is the most components one batch holds; a full batch launches at once.
	// Default (zero) 100.
	BatchSize int
}

// Config configures a Server.
type Config struct {
	// Components are pre-created (enabled, no desired configuration, no state), as CSM's
	// hardware sync agent creates one CFS component per HSM node. Pass every node xname.
	Components []string
	// Timing shapes the batcher.
	Timing Timing
	// Seed seeds the batcher's random draws (jitter, failures, session names).
	Seed int64
	// FailRate is the probability, 0..1, that a component's session fails. Default 0.
	FailRate float64
	// FailComponents always fail until SetFailing(ids, false).
	FailComponents []string
	// DefaultRetryPolicy is default_batcher_retry_policy: the retry limit of components with
	// no retry_policy. -1 means unlimited. Default (zero) 3.
	DefaultRetryPolicy int
	// PageSize is default_page_size: the limit of GET pages when the query has none.
	// Default (zero) 1000.
	PageSize int
	// Sources maps CFS source names to clone URLs; a layer may name a source instead of a
	// clone_url. A source not listed here is rejected (400) as CFS rejects unknown sources.
	Sources map[string]string
	// MaxBody limits request bodies, in bytes. Default (zero) 8 MiB.
	MaxBody int64
	// Logger receives batcher activity at debug level. Nil discards.
	Logger *slog.Logger
	// Now stamps last_updated fields. Default time.Now.
	Now func() time.Time
}

// Server is one simulated CFS. All state hangs off it; it is safe for concurrent use.
type Server struct {
	timing       Timing
	defaultRetry int
	pageSize     int
	sources      map[string]string
	maxBody      int64
	log          *slog.Logger
	now          func() time.Time

	mu      sync.RWMutex
	comps   map[string]*record
	ids     []string // sorted keys of comps
	configs map[string]*cfsapi.Configuration

	// batcher state, under mu
	open     *batch
	running  map[*batch]struct{}
	closed   bool
	batchSeq uint64
	rng      *rand.Rand
	failRate float64
	failing  map[string]bool
	stats    batchStats

	// options and sessions, under mu
	stored          Options // the options that only are stored
	batcherDisabled bool
	sessions        map[string]*Session
}

// batchStats counts batch results, for the logs and tests.
type batchStats struct{ configured, failed, stale int }

// New builds a Server with the configured components pre-created.
func New(cfg Config) (*Server, error) {
	if cfg.FailRate < 0 || cfg.FailRate > 1 {
		return nil, fmt.Errorf("cfs: FailRate %v is not within [0, 1]", cfg.FailRate)
	}
	if cfg.DefaultRetryPolicy < -1 {
		return nil, fmt.Errorf("cfs: DefaultRetryPolicy %d is below -1", cfg.DefaultRetryPolicy)
	}
	if cfg.Timing.ConfigureDelay < 0 || cfg.Timing.Jitter < 0 || cfg.Timing.BatchWindow < 0 || cfg.Timing.BatchSize < 0 {
		return nil, errors.New("cfs: Timing values must not be negative")
	}
	s := &Server{
		timing: cfg.Timing, defaultRetry: cfg.DefaultRetryPolicy, pageSize: cfg.PageSize,
		sources: map[string]string{}, maxBody: cfg.MaxBody, log: cfg.Logger, now: cfg.Now,
		comps: make(map[string]*record, len(cfg.Components)), configs: map[string]*cfsapi.Configuration{},
		running: map[*batch]struct{}{}, failRate: cfg.FailRate, failing: map[string]bool{},
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		stored: defaultOptions(), sessions: map[string]*Session{},
	}
	if s.timing.Scale <= 0 {
		s.timing.Scale = 1
	}
	if s.timing.BatchSize == 0 {
		s.timing.BatchSize = 100
	}
	if s.defaultRetry == 0 {
		s.defaultRetry = 3
	}
	if s.pageSize <= 0 {
		s.pageSize = 1000
	}
	for k, v := range cfg.Sources {
		s.sources[k] = v
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
	for _, id := range cfg.FailComponents {
		s.failing[id] = true
	}
	now := s.now()
	for _, id := range cfg.Components {
		if id == "" {
			return nil, errors.New("cfs: empty component id")
		}
		if _, dup := s.comps[id]; dup {
			continue
		}
		s.comps[id] = newRecord(id, &patchBody{DesiredConfig: cfsapi.Ptr(""), Enabled: cfsapi.Ptr(true)}, now)
		s.ids = append(s.ids, id)
	}
	sort.Strings(s.ids)
	return s, nil
}

// Handler serves the CFS v3 API under /v3 and under the gateway prefix /apis/cfs/v3;
// requests no route serves get CFS's (connexion's) 404 and 405 problems.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"", "/apis/cfs"} {
		mux.HandleFunc("GET "+p+"/healthz", s.getHealthz)
		mux.HandleFunc("GET "+p+"/v3/components", problem.Handler(s.getComponents))
		mux.HandleFunc("PUT "+p+"/v3/components", problem.Handler(s.putComponents))
		mux.HandleFunc("PATCH "+p+"/v3/components", problem.Handler(s.patchComponents))
		mux.HandleFunc("GET "+p+"/v3/components/{id}", problem.Handler(s.getComponent))
		mux.HandleFunc("PUT "+p+"/v3/components/{id}", problem.Handler(s.putComponent))
		mux.HandleFunc("PATCH "+p+"/v3/components/{id}", problem.Handler(s.patchComponent))
		mux.HandleFunc("DELETE "+p+"/v3/components/{id}", problem.Handler(s.deleteComponent))
		mux.HandleFunc("GET "+p+"/v3/configurations", problem.Handler(s.getConfigurations))
		mux.HandleFunc("GET "+p+"/v3/configurations/{name}", problem.Handler(s.getConfiguration))
		mux.HandleFunc("PUT "+p+"/v3/configurations/{name}", problem.Handler(s.putConfiguration))
		mux.HandleFunc("PATCH "+p+"/v3/configurations/{name}", problem.Handler(s.patchConfiguration))
		mux.HandleFunc("DELETE "+p+"/v3/configurations/{name}", problem.Handler(s.deleteConfiguration))
		mux.HandleFunc("GET "+p+"/v3/options", s.getOptions)
		mux.HandleFunc("PATCH "+p+"/v3/options", problem.Handler(s.patchOptions))
		mux.HandleFunc("GET "+p+"/v3/sessions", problem.Handler(s.getSessions))
		mux.HandleFunc("POST "+p+"/v3/sessions", problem.Handler(s.postSession))
		mux.HandleFunc("DELETE "+p+"/v3/sessions", problem.Handler(s.deleteSessions))
		mux.HandleFunc("GET "+p+"/v3/sessions/{name}", problem.Handler(s.getSession))
		mux.HandleFunc("DELETE "+p+"/v3/sessions/{name}", problem.Handler(s.deleteSession))
	}
	return problem.Routes(mux)
}

func (s *Server) getHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"db_status": "ok", "kafka_status": "ok"})
}

// ---- components ----

// componentOut is a component on the wire; pointers let state and desired_state appear as
// [] when asked for and be absent otherwise.
type componentOut struct {
	ID                  string                 `json:"id"`
	DesiredConfig       string                 `json:"desired_config"`
	Enabled             bool                   `json:"enabled"`
	ErrorCount          int                    `json:"error_count"`
	RetryPolicy         *int                   `json:"retry_policy,omitempty"`
	ConfigurationStatus string                 `json:"configuration_status"`
	State               *[]cfsapi.StateLayer   `json:"state,omitempty"`
	DesiredState        *[]cfsapi.DesiredLayer `json:"desired_state,omitempty"`
	Tags                map[string]string      `json:"tags"`
}

// render builds the reply for r. Caller holds s.mu (read); the result shares r's immutable
// slices and map, so it may be encoded after the lock is dropped.
func (s *Server) render(r *record, status string, stateDetails, configDetails bool) componentOut {
	out := componentOut{ID: r.id, DesiredConfig: r.desiredConfig, Enabled: r.enabled, ErrorCount: r.errorCount,
		RetryPolicy: r.retryPolicy, ConfigurationStatus: status, Tags: r.tags}
	if configDetails {
		st, desired := configurationStatus(r.statusInput(), s.configs[r.desiredConfig], s.sources, s.defaultRetry, true)
		if desired == nil {
			desired = []cfsapi.DesiredLayer{}
		}
		out.ConfigurationStatus, out.DesiredState = st, &desired
	}
	if stateDetails {
		state := r.state
		if state == nil {
			state = []cfsapi.StateLayer{}
		}
		out.State = &state
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out
}

func (s *Server) status(r *record) string {
	st, _ := configurationStatus(r.statusInput(), s.configs[r.desiredConfig], s.sources, s.defaultRetry, false)
	return st
}

// filter is the component selection shared by GET and the bulk PATCH.
type filter struct {
	ids        []string
	status     map[string]bool
	enabled    *bool
	configName string
	tags       [][2]string
}

// match reports whether r passes every filter but ids, and its status.
func (s *Server) match(r *record, f *filter) (string, bool) {
	if f.enabled != nil && r.enabled != *f.enabled {
		return "", false
	}
	if f.configName != "" && r.desiredConfig != f.configName {
		return "", false
	}
	for _, kv := range f.tags {
		if v, ok := r.tags[kv[0]]; !ok || v != kv[1] {
			return "", false
		}
	}
	st := s.status(r)
	if len(f.status) > 0 && !f.status[st] {
		return "", false
	}
	return st, true
}

// candidates yields the ids to scan in order: the asked-for ids that exist (sorted), or
// every id; in both cases only those after afterID. Caller holds s.mu.
func (s *Server) candidates(f *filter, afterID string) []string {
	if len(f.ids) == 0 {
		return s.ids[sort.Search(len(s.ids), func(i int) bool { return s.ids[i] > afterID }):]
	}
	out := make([]string, 0, len(f.ids))
	seen := make(map[string]bool, len(f.ids))
	for _, id := range f.ids {
		if _, ok := s.comps[id]; ok && id > afterID && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func parseFilter(ids, status, enabled, configName, tags string) (*filter, *problem.Details) {
	f := &filter{ids: splitList(ids), configName: configName}
	for _, st := range splitList(status) {
		switch st {
		case cfsapi.StatusUnconfigured, cfsapi.StatusFailed, cfsapi.StatusPending, cfsapi.StatusConfigured:
			if f.status == nil {
				f.status = map[string]bool{}
			}
			f.status[st] = true
		default:
			return nil, cfsProblem(http.StatusBadRequest, "Error parsing the status provided.",
				fmt.Sprintf("status %q is not one of unconfigured, failed, pending, configured", st))
		}
	}
	if enabled != "" {
		b, err := strconv.ParseBool(enabled)
		if err != nil {
			return nil, cfsProblem(http.StatusBadRequest, "Error parsing the enabled value provided.",
				fmt.Sprintf("enabled %q is not a boolean", enabled))
		}
		f.enabled = &b
	}
	for _, kv := range splitList(tags) {
		parts := strings.Split(kv, "=")
		if len(parts) != 2 {
			return nil, cfsProblem(http.StatusBadRequest, "Error parsing the tags provided.",
				fmt.Sprintf("tag %q is not of the form key=value", kv))
		}
		f.tags = append(f.tags, [2]string{parts[0], parts[1]})
	}
	return f, nil
}

func (s *Server) getComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	f, d := parseFilter(q.Get("ids"), q.Get("status"), q.Get("enabled"), q.Get("config_name"), q.Get("tags"))
	if d != nil {
		return d
	}
	stateDetails, d1 := parseBool(q, "state_details")
	configDetails, d2 := parseBool(q, "config_details")
	limit, d3 := s.parseLimit(q)
	for _, d := range []*problem.Details{d1, d2, d3} {
		if d != nil {
			return d
		}
	}
	afterID := q.Get("after_id")

	page := []componentOut{}
	more := false
	s.mu.RLock()
	for _, id := range s.candidates(f, afterID) {
		rec := s.comps[id]
		st, ok := s.match(rec, f)
		if !ok {
			continue
		}
		if limit > 0 && len(page) == limit {
			more = true
			break
		}
		page = append(page, s.render(rec, st, stateDetails, configDetails))
	}
	s.mu.RUnlock()

	reply := struct {
		Components []componentOut         `json:"components"`
		Next       *cfsapi.ComponentsNext `json:"next"`
	}{Components: page}
	if more {
		reply.Next = &cfsapi.ComponentsNext{IDs: q.Get("ids"), Status: q.Get("status"), Enabled: f.enabled,
			ConfigName: f.configName, StateDetails: stateDetails, ConfigDetails: configDetails, Tags: q.Get("tags"),
			Limit: limit, AfterID: page[len(page)-1].ID}
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

func (s *Server) getComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	stateDetails, d1 := parseBool(q, "state_details")
	configDetails, d2 := parseBool(q, "config_details")
	for _, d := range []*problem.Details{d1, d2} {
		if d != nil {
			return d
		}
	}
	id := r.PathValue("id")
	s.mu.RLock()
	rec, ok := s.comps[id]
	var out componentOut
	if ok {
		out = s.render(rec, s.status(rec), stateDetails, configDetails)
	}
	s.mu.RUnlock()
	if !ok {
		return notFound(id)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func notFound(id string) *problem.Details {
	return cfsProblem(http.StatusNotFound, "Component not found.", fmt.Sprintf("Component %s could not be found", id))
}

// putComponents replaces (or creates) every component of the array.
func (s *Server) putComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	var body []patchBody
	if d := problem.DecodeJSON(w, r, &body, s.maxBody); d != nil {
		return d
	}
	if d := validateList(body); d != nil {
		return d
	}
	ids := make([]string, 0, len(body))
	s.mu.Lock()
	now := s.now()
	var added []string
	for i := range body {
		id := *body[i].ID
		if _, ok := s.comps[id]; !ok {
			added = append(added, id)
		}
		s.replace(id, &body[i], now)
		ids = append(ids, id)
	}
	s.ids = insertIDs(s.ids, dedupNew(added))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cfsapi.ComponentIDs{ComponentIDs: ids})
	return nil
}

// replace stores a fresh record for id. Its generation continues the old record's, so a
// batch result for the old record is recognised as stale. Caller holds s.mu and updates
// s.ids for new ids.
func (s *Server) replace(id string, p *patchBody, now time.Time) *record {
	rec := newRecord(id, p, now)
	if old, ok := s.comps[id]; ok {
		rec.gen += old.gen
	}
	s.comps[id] = rec
	s.evaluate(rec)
	return rec
}

func dedupNew(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Server) putComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	var body patchBody
	if d := problem.DecodeJSON(w, r, &body, s.maxBody); d != nil {
		return d
	}
	if d := body.validate(); d != nil {
		return d
	}
	id := r.PathValue("id")
	s.mu.Lock()
	_, existed := s.comps[id]
	rec := s.replace(id, &body, s.now())
	if !existed {
		s.ids = insertIDs(s.ids, []string{id})
	}
	out := s.render(rec, s.status(rec), true, false)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) patchComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	id := r.PathValue("id")
	var body patchBody
	// cfs-state-reporter's PATCH, a node a boot: the faster decoding, the same problems.
	if d := problem.DecodeJSONFast(w, r, &body, s.maxBody); d != nil {
		return d
	}
	if d := body.validate(); d != nil {
		return d
	}
	s.mu.Lock()
	rec, ok := s.comps[id]
	if !ok {
		s.mu.Unlock()
		return notFound(id)
	}
	rec.apply(&body, s.now())
	s.evaluate(rec)
	out := s.render(rec, s.status(rec), true, false)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Reenable is cfs-state-reporter's PATCH /v3/components/{id} {"state": [], "enabled":
// true} for a caller in this process (the simulated nodes), without a request: the
// same change, and the status the handler answers (200, or 404 for an unknown
// component). No body is rendered: the reporter reads none.
func (s *Server) Reenable(id string) int {
	enabled, state := true, []cfsapi.StateLayer{}
	body := patchBody{Enabled: &enabled, State: &state}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.comps[id]
	if !ok {
		return http.StatusNotFound
	}
	rec.apply(&body, s.now())
	s.evaluate(rec)
	return http.StatusOK
}

// patchComponents is the bulk PATCH: an array of records with ids (404 if any id is
// unknown, and then nothing is written), or {"patch": {...}, "filters": {...}} where an
// empty filter matches every component.
func (s *Server) patchComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", s.maxBody)
	}
	trimmed := bytes.TrimSpace(raw)
	if d := problem.CheckBody(trimmed); d != nil && len(trimmed) > 0 {
		return d
	}
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		s.patchList(w, trimmed)
	case len(trimmed) > 0 && trimmed[0] == '{':
		s.patchFiltered(w, trimmed)
	case len(trimmed) == 0:
		problem.Write(w, http.StatusBadRequest, "request body is empty; a JSON value is required")
	default:
		problem.WriteDetails(w, cfsProblem(http.StatusBadRequest, "Error parsing the data provided.",
			"expected a list of components or an object with patch and filters"))
	}
	return nil
}

func (s *Server) patchList(w http.ResponseWriter, raw []byte) {
	var body []patchBody
	if d := problem.DecodeFast(bytes.NewReader(raw), &body); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	if d := validateList(body); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	ids := make([]string, 0, len(body))
	s.mu.Lock()
	for i := range body {
		if _, ok := s.comps[*body[i].ID]; !ok {
			s.mu.Unlock()
			problem.WriteDetails(w, notFound(*body[i].ID))
			return
		}
	}
	now := s.now()
	for i := range body {
		rec := s.comps[*body[i].ID]
		rec.apply(&body[i], now)
		s.evaluate(rec)
		ids = append(ids, rec.id)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cfsapi.ComponentIDs{ComponentIDs: ids})
}

type bulkPatch struct {
	Patch   *patchBody   `json:"patch"`
	Filters *bulkFilters `json:"filters"`
}

type bulkFilters struct {
	IDs        string `json:"ids"`
	Status     string `json:"status"`
	Enabled    *bool  `json:"enabled"`
	ConfigName string `json:"config_name"`
	Tags       string `json:"tags"`
}

func (s *Server) patchFiltered(w http.ResponseWriter, raw []byte) {
	var body bulkPatch
	if d := problem.DecodeFast(bytes.NewReader(raw), &body); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	patch := body.Patch
	if patch == nil {
		patch = &patchBody{}
	}
	patch.ID = nil // CFS ignores an id inside the patch
	if d := patch.validate(); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	bf := body.Filters
	if bf == nil {
		bf = &bulkFilters{}
	}
	enabled := ""
	if bf.Enabled != nil {
		enabled = strconv.FormatBool(*bf.Enabled)
	}
	f, d := parseFilter(bf.IDs, bf.Status, enabled, bf.ConfigName, bf.Tags)
	if d != nil {
		problem.WriteDetails(w, d)
		return
	}
	ids := []string{}
	s.mu.Lock()
	now := s.now()
	// Select first, then write: status filters see the state before this patch.
	var selected []*record
	for _, id := range s.candidates(f, "") {
		if rec := s.comps[id]; rec != nil {
			if _, ok := s.match(rec, f); ok {
				selected = append(selected, rec)
			}
		}
	}
	for _, rec := range selected {
		rec.apply(patch, now)
		s.evaluate(rec)
		ids = append(ids, rec.id)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cfsapi.ComponentIDs{ComponentIDs: ids})
}

func (s *Server) deleteComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	id := r.PathValue("id")
	s.mu.Lock()
	rec, ok := s.comps[id]
	if ok {
		rec.gen++ // any batch result for it is now stale
		delete(s.comps, id)
		s.ids = removeID(s.ids, id)
	}
	s.mu.Unlock()
	if !ok {
		return notFound(id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- configurations ----

func (s *Server) getConfigurations(w http.ResponseWriter, r *http.Request) *problem.Details {
	q := r.URL.Query()
	limit, d := s.parseLimit(q)
	if d != nil {
		return d
	}
	var inUse *bool
	if v := q.Get("in_use"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfsProblem(http.StatusBadRequest, "Error parsing the in_use value provided.", fmt.Sprintf("in_use %q is not a boolean", v))
		}
		inUse = &b
	}
	afterID := q.Get("after_id")
	page := []cfsapi.Configuration{}
	more := false
	s.mu.RLock()
	used := map[string]bool{}
	if inUse != nil {
		for _, rec := range s.comps {
			used[rec.desiredConfig] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.configs)) {
		if name <= afterID || (inUse != nil && used[name] != *inUse) {
			continue
		}
		if limit > 0 && len(page) == limit {
			more = true
			break
		}
		page = append(page, cloneConfiguration(s.configs[name]))
	}
	s.mu.RUnlock()
	reply := cfsapi.ConfigurationsPage{Configurations: page}
	if more {
		reply.Next = &cfsapi.ConfigurationsNext{InUse: inUse, Limit: limit, AfterID: page[len(page)-1].Name}
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

func (s *Server) getConfiguration(w http.ResponseWriter, r *http.Request) *problem.Details {
	name := r.PathValue("name")
	s.mu.RLock()
	cfg, ok := s.configs[name]
	var out cfsapi.Configuration
	if ok {
		out = cloneConfiguration(cfg)
	}
	s.mu.RUnlock()
	if !ok {
		return configNotFound(name)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func configNotFound(name string) *problem.Details {
	return cfsProblem(http.StatusNotFound, "Configuration not found", fmt.Sprintf("Configuration %s could not be found", name))
}

// configurationBody is a PUT body; name, last_updated and tenant_name (read-only or
// multi-tenancy fields a GET may return) are accepted and ignored.
type configurationBody struct {
	cfsapi.ConfigurationRequest
	Name        json.RawMessage `json:"name"`
	LastUpdated json.RawMessage `json:"last_updated"`
	TenantName  json.RawMessage `json:"tenant_name"`
}

func (s *Server) putConfiguration(w http.ResponseWriter, r *http.Request) *problem.Details {
	name := r.PathValue("name")
	dropBranches, d := parseBool(r.URL.Query(), "drop_branches")
	if d != nil {
		return d
	}
	var body configurationBody
	if d := problem.DecodeJSON(w, r, &body, s.maxBody); d != nil {
		return d
	}
	cfg := &cfsapi.Configuration{Name: name, Description: body.Description, Layers: body.Layers,
		AdditionalInventory: body.AdditionalInventory}
	if d := s.prepare(cfg, dropBranches, false); d != nil {
		return d
	}
	s.mu.Lock()
	s.storeConfiguration(cfg)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cloneConfiguration(cfg))
	return nil
}

// patchConfiguration re-resolves branches (to the same made-up commits) and restamps.
func (s *Server) patchConfiguration(w http.ResponseWriter, r *http.Request) *problem.Details {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.configs[name]
	if !ok {
		return configNotFound(name)
	}
	cfg := cloneConfiguration(old)
	if d := s.prepare(&cfg, false, true); d != nil {
		return d
	}
	s.storeConfiguration(&cfg)
	writeJSON(w, http.StatusOK, cloneConfiguration(&cfg))
	return nil
}

// storeConfiguration stores cfg and re-evaluates the components that use it. Caller holds s.mu.
func (s *Server) storeConfiguration(cfg *cfsapi.Configuration) {
	s.configs[cfg.Name] = cfg
	for _, rec := range s.comps {
		if rec.desiredConfig == cfg.Name {
			s.evaluate(rec)
		}
	}
}

// prepare validates cfg as CFS does and fills in what CFS computes: branch → commit, the
// default playbook, last_updated. A stored configuration being re-resolved (PATCH) has both
// branch and commit by then, which is not an error.
func (s *Server) prepare(cfg *cfsapi.Configuration, dropBranches, stored bool) *problem.Details {
	if cfg.Layers == nil {
		return cfsProblem(http.StatusBadRequest, "Error parsing the data provided.", "layers is required")
	}
	if !stored {
		if d := checkPatterns(cfg); d != nil {
			return d
		}
	}
	type ref struct{ cloneURL, source, commit, branch string }
	check := func(what string, r ref) *problem.Details {
		switch {
		case r.cloneURL != "" && r.source != "":
			return cfsProblem(http.StatusBadRequest, "Error handling source", what+": only source or clone_url should be specified for each layer, not both.")
		case r.cloneURL == "" && r.source == "":
			return cfsProblem(http.StatusBadRequest, "Error handling source", what+": either source or clone_url must be specified for each layer.")
		case r.source != "" && s.sources[r.source] == "":
			return cfsProblem(http.StatusBadRequest, "Source does not exist", fmt.Sprintf("The source %s does not exist.", r.source))
		case r.branch != "" && r.commit != "" && !stored:
			return cfsProblem(http.StatusBadRequest, "Error handling branches", what+": only branch or commit should be specified for each layer, not both.")
		}
		return nil
	}
	seen := map[[2]string]bool{}
	for i := range cfg.Layers {
		l := &cfg.Layers[i]
		if d := check(fmt.Sprintf("layer %d", i), ref{l.CloneURL, l.Source, l.Commit, l.Branch}); d != nil {
			return d
		}
		if l.Playbook == "" {
			l.Playbook = cfsapi.DefaultPlaybook
		}
		key := [2]string{l.CloneURL + "\x00" + l.Source, l.Playbook}
		if seen[key] {
			return cfsProblem(http.StatusBadRequest, "Error with conflicting layers",
				"Two or more layers apply the same playbook from the same repo, but have different commit ids.")
		}
		seen[key] = true
		if l.Branch != "" {
			l.Commit = commitFor(layerCloneURL(*l, s.sources), l.Branch)
			if dropBranches {
				l.Branch = ""
			}
		}
	}
	if inv := cfg.AdditionalInventory; inv != nil {
		if d := check("additional_inventory", ref{inv.CloneURL, inv.Source, inv.Commit, inv.Branch}); d != nil {
			return d
		}
		if inv.Branch != "" {
			url := inv.CloneURL
			if url == "" {
				url = s.sources[inv.Source]
			}
			inv.Commit = commitFor(url, inv.Branch)
			if dropBranches {
				inv.Branch = ""
			}
		}
	}
	cfg.LastUpdated = s.now().UTC().Format(time.RFC3339)
	return nil
}

// Patterns of CFS 1.31's V3ConfigurationLayer and additional inventory: a commit is a
// full git SHA-1, lower case.
var (
	commitPattern = regexp.MustCompile(`^[a-f0-9]{40}$`)
	refPattern    = noSpaceOrSemicolon
)

// checkPatterns checks the layers' fields against the document's patterns, as connexion
// validates the body before CFS's code runs: the first mismatch is a 400 "Bad Request"
// whose detail is jsonschema's message and the field's path, e.g. "'c1' does not match
// '^[a-f0-9]{40}$' - 'layers.0.commit'".
func checkPatterns(cfg *cfsapi.Configuration) *problem.Details {
	type field struct {
		name, value string
		re          *regexp.Regexp
	}
	check := func(path string, fields []field) *problem.Details {
		for _, f := range fields {
			if f.value != "" && !f.re.MatchString(f.value) {
				return cfsProblem(http.StatusBadRequest, "Bad Request",
					fmt.Sprintf("%s does not match %s - '%s.%s'", pyRepr(f.value), pyRepr(f.re.String()), path, f.name))
			}
		}
		return nil
	}
	for i, l := range cfg.Layers {
		if d := check(fmt.Sprintf("layers.%d", i), []field{{"clone_url", l.CloneURL, refPattern},
			{"playbook", l.Playbook, refPattern}, {"commit", l.Commit, commitPattern}, {"branch", l.Branch, refPattern}}); d != nil {
			return d
		}
	}
	if inv := cfg.AdditionalInventory; inv != nil {
		return check("additional_inventory", []field{{"clone_url", inv.CloneURL, refPattern},
			{"commit", inv.Commit, commitPattern}, {"branch", inv.Branch, refPattern}})
	}
	return nil
}

// pyRepr quotes s as Python's repr does (jsonschema's messages quote values with it).
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// commitFor makes up the commit a branch points at: stable for a repository and branch.
func commitFor(cloneURL, branch string) string {
	sum := sha1.Sum([]byte(cloneURL + "\x00" + branch))
	return hex.EncodeToString(sum[:])
}

func (s *Server) deleteConfiguration(w http.ResponseWriter, r *http.Request) *problem.Details {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.configs[name]; !ok {
		return configNotFound(name)
	}
	for _, rec := range s.comps {
		if rec.desiredConfig == name {
			return cfsProblem(http.StatusBadRequest, "Configuration is in use.",
				fmt.Sprintf("Configuration %s is referenced by the desired state of some components", name))
		}
	}
	delete(s.configs, name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// cloneConfiguration deep-copies a configuration so stored data never escapes.
func cloneConfiguration(c *cfsapi.Configuration) cfsapi.Configuration {
	out := *c
	out.Layers = make([]cfsapi.Layer, len(c.Layers))
	copy(out.Layers, c.Layers)
	for i := range out.Layers {
		if sp := out.Layers[i].SpecialParameters; sp != nil {
			raw, _ := json.Marshal(sp)
			out.Layers[i].SpecialParameters = nil
			_ = json.Unmarshal(raw, &out.Layers[i].SpecialParameters)
		}
	}
	if c.AdditionalInventory != nil {
		inv := *c.AdditionalInventory
		out.AdditionalInventory = &inv
	}
	return out
}

// ---- helpers ----

// parseLimit reads limit: absent means the page size, 0 means no limit.
func (s *Server) parseLimit(q url.Values) (int, *problem.Details) {
	v := q.Get("limit")
	if v == "" {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.pageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, cfsProblem(http.StatusBadRequest, "Error parsing the limit provided.", fmt.Sprintf("limit %q is not a non-negative integer", v))
	}
	return n, nil
}

// parseBool reads a boolean query parameter the way Python clients send it (True/False,
// true/false, 1/0); absent or empty is false.
func parseBool(q url.Values, key string) (bool, *problem.Details) {
	v := q.Get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, cfsProblem(http.StatusBadRequest, "Error parsing the "+key+" value provided.", fmt.Sprintf("%s %q is not a boolean", key, v))
	}
	return b, nil
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
