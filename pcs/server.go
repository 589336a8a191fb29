package pcs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/pcsapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// Reading is a node's power as its BMC reported it: StateOn or StateOff, or Err.
type Reading struct {
	State string
	Err   error
}

// Node is a node HSM knows, with the ResetType values its BMC allows
// (ComponentEndpoints' ResetType@Redfish.AllowableValues), from which PCS derives the
// operations the node supports.
type Node struct {
	Xname      string
	ResetTypes []string
}

// Driver is PCS's reach into the hardware: HSM's node list and the nodes' BMCs.
type Driver interface {
	// Nodes lists the nodes HSM knows.
	Nodes(ctx context.Context) ([]Node, error)
	// PowerStates reads the power of nodes; a node it cannot read has Err set.
	PowerStates(ctx context.Context, xnames []string) map[string]Reading
	// Reset asks the nodes' BMCs for action; the map holds the nodes that refused.
	Reset(ctx context.Context, xnames []string, action Action) map[string]error
}

// Config configures a Server.
type Config struct {
	Driver Driver
	// Reservations, when set, is HSM's service reservations: transitions reserve their
	// nodes (or check the deputy keys given) before acting. nil: no reservations, as PCS
	// with locking disabled.
	Reservations Reservations
	// PollInterval is how often a transition re-reads the power of nodes it waits for
	// (default 5 s).
	PollInterval time.Duration
	// Retention is how long finished transition records are kept (default 24 h, as PCS).
	Retention time.Duration
	Logger    *slog.Logger
}

// Server is the PCS simulator. Close stops the transitions in progress.
type Server struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex // guards transitions, aborts, seen and the node cache; never held across I/O
	transitions map[string]*pcsapi.Transition
	aborts      map[string]context.CancelCauseFunc // of the transitions running
	nodeCache   map[string][]string                // xname → ResetTypes
	nodesRead   time.Time
	// seen holds, per xname and power state, when PCS last read the node in that state,
	// by a power-status request or a transition's poll: like the real service's status
	// monitor, one view of the hardware serves both, so a task sees a state a client saw.
	seen map[string]map[string]time.Time
}

// New returns a server over cfg.Driver.
func New(cfg Config) (*Server, error) {
	if cfg.Driver == nil {
		return nil, fmt.Errorf("pcs: a driver is required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, ctx: ctx, cancel: cancel, transitions: map[string]*pcsapi.Transition{}, aborts: map[string]context.CancelCauseFunc{}, seen: map[string]map[string]time.Time{}}, nil
}

// Close cancels the transitions in progress and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Handler serves the API under /power-control/v1 and /apis/power-control/v1.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/power-control/v1", "/apis/power-control/v1"} {
		mux.HandleFunc("POST "+p+"/transitions", s.createTransition)
		mux.HandleFunc("GET "+p+"/transitions", s.listTransitions)
		mux.HandleFunc("GET "+p+"/transitions/{id}", s.getTransition)
		mux.HandleFunc("DELETE "+p+"/transitions/{id}", s.abortTransition)
		mux.HandleFunc("GET "+p+"/power-status", s.getPowerStatus)
		mux.HandleFunc("POST "+p+"/power-status", s.postPowerStatus)
		mux.HandleFunc("GET "+p+"/liveness", noContent)
		mux.HandleFunc("GET "+p+"/readiness", noContent)
	}
	return problem.Routes(mux)
}

func noContent(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

func (s *Server) createTransition(w http.ResponseWriter, r *http.Request) {
	var req pcsapi.TransitionCreate
	if d := problem.DecodeJSON(w, r, &req, 0); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	op, ok := operation(req.Operation)
	if !ok {
		problem.Write(w, http.StatusBadRequest, "invalid Operation type %s", req.Operation)
		return
	}
	deadline := 5
	if req.TaskDeadlineMinutes != nil {
		deadline = *req.TaskDeadlineMinutes
	}
	if deadline < -1 {
		problem.Write(w, http.StatusBadRequest, "taskDeadlineMinutes must be -1 (no deadline), 0 (no wait) or more")
		return
	}
	xnames, err := normalize(locationXnames(req.Location))
	if err != nil {
		problem.Write(w, http.StatusBadRequest, "%s", err)
		return
	}
	if len(xnames) == 0 {
		problem.Write(w, http.StatusBadRequest, "location must name at least one xname")
		return
	}
	deputy := map[string]string{}
	for _, l := range req.Location {
		if l.DeputyKey != "" {
			n, _, _ := xname.Parse(l.Xname)
			deputy[n] = l.DeputyKey
		}
	}
	now := time.Now()
	t := &pcsapi.Transition{
		TransitionID: newID(), CreateTime: now.UTC().Format("2006-01-02T15:04:05"),
		AutomaticExpirationTime: now.Add(s.cfg.Retention).UTC(),
		TransitionStatus:        pcsapi.TransitionNew, Operation: op,
	}
	for _, x := range xnames {
		t.Tasks = append(t.Tasks, pcsapi.Task{Xname: x, TaskStatus: pcsapi.TaskNew, TaskStatusDescription: "Task is new"})
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	s.mu.Lock()
	s.prune(now)
	s.transitions[t.TransitionID] = t
	s.aborts[t.TransitionID] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(ctx, t.TransitionID, op, deadline, deputy, xnames)
		s.mu.Lock()
		delete(s.aborts, t.TransitionID)
		s.mu.Unlock()
		cancel(nil)
	}()
	w.Header().Set("Location", "../transitions/"+t.TransitionID)
	writeJSON(w, http.StatusOK, pcsapi.TransitionStart{TransitionID: t.TransitionID, Operation: op})
}

func locationXnames(locs []pcsapi.Location) []string {
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.Xname
	}
	return out
}

// normalize checks and normalizes xnames and drops repeats; the error names every bad one.
func normalize(ids []string) ([]string, error) {
	var bad []string
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		n, _, err := xname.Parse(id)
		if err != nil {
			bad = append(bad, strconv.Quote(id))
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid xnames detected: %s", strings.Join(bad, ", "))
	}
	return out, nil
}

func (s *Server) listTransitions(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.prune(time.Now())
	list := pcsapi.TransitionList{Transitions: []pcsapi.Transition{}}
	for _, t := range s.transitions {
		c := *t
		c.Tasks = nil
		list.Transitions = append(list.Transitions, c)
	}
	s.mu.Unlock()
	slices.SortFunc(list.Transitions, func(a, b pcsapi.Transition) int {
		return strings.Compare(a.CreateTime+a.TransitionID, b.CreateTime+b.TransitionID)
	})
	writeJSON(w, http.StatusOK, list)
}

// transitionID reads the {id} of a request: a UUID (400 otherwise), canonical lower case.
func transitionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if len(id) != 36 {
		problem.Write(w, http.StatusBadRequest, "invalid UUID length: %d", len(id))
		return "", false
	}
	for i, c := range id {
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if dash != (c == '-') || !dash && !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			problem.Write(w, http.StatusBadRequest, "invalid UUID format")
			return "", false
		}
	}
	return strings.ToLower(id), true
}

// notFound is PCS's answer for a transition it does not hold.
func notFound(w http.ResponseWriter) {
	problem.Write(w, http.StatusNotFound, "TransitionID does not exist")
}

// abortTransition signals a running transition to stop, as PCS's AbortTransitionID: 202
// (also when already aborted), 400 once completed.
func (s *Server) abortTransition(w http.ResponseWriter, r *http.Request) {
	id, ok := transitionID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	t, found := s.transitions[id]
	status := ""
	if found {
		status = t.TransitionStatus
		if status == pcsapi.TransitionNew || status == pcsapi.TransitionInProgress {
			t.TransitionStatus = pcsapi.TransitionAbortSignaled
			if cancel := s.aborts[id]; cancel != nil {
				cancel(errAborted)
			}
		}
	}
	s.mu.Unlock()
	switch {
	case !found:
		notFound(w)
	case status == pcsapi.TransitionCompleted:
		problem.Write(w, http.StatusBadRequest, "Transition is already finished and cannot be aborted.")
	default:
		writeJSON(w, http.StatusAccepted, pcsapi.TransitionAbort{AbortStatus: "Accepted - abort initiated"})
	}
}

func (s *Server) getTransition(w http.ResponseWriter, r *http.Request) {
	id, ok := transitionID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	t, ok := s.transitions[id]
	var c pcsapi.Transition
	if ok {
		c = *t
		c.Tasks = slices.Clone(t.Tasks)
	}
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// prune drops finished transitions past their expiration. Call with s.mu held.
func (s *Server) prune(now time.Time) {
	maps.DeleteFunc(s.transitions, func(_ string, t *pcsapi.Transition) bool {
		return (t.TransitionStatus == pcsapi.TransitionCompleted || t.TransitionStatus == pcsapi.TransitionAborted) && now.After(t.AutomaticExpirationTime)
	})
}

func (s *Server) getPowerStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "xname" && k != "powerStateFilter" && k != "managementStateFilter" {
			problem.Write(w, http.StatusBadRequest, "unknown query parameter %q", k)
			return
		}
	}
	s.powerStatus(w, r.Context(), pcsapi.PowerStatusQuery{Xname: q["xname"], PowerStateFilter: q.Get("powerStateFilter"), ManagementStateFilter: q.Get("managementStateFilter")})
}

func (s *Server) postPowerStatus(w http.ResponseWriter, r *http.Request) {
	var q pcsapi.PowerStatusQuery
	if d := problem.DecodeJSON(w, r, &q, 0); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	s.powerStatus(w, r.Context(), q)
}

func (s *Server) powerStatus(w http.ResponseWriter, ctx context.Context, q pcsapi.PowerStatusQuery) {
	if !slices.Contains([]string{"", pcsapi.StateOn, pcsapi.StateOff, pcsapi.StateUndefined}, strings.ToLower(q.PowerStateFilter)) {
		problem.Write(w, http.StatusBadRequest, "invalid powerStateFilter %q: on, off or undefined", q.PowerStateFilter)
		return
	}
	if !slices.Contains([]string{"", pcsapi.ManagementAvailable, pcsapi.ManagementUnavailable}, strings.ToLower(q.ManagementStateFilter)) {
		problem.Write(w, http.StatusBadRequest, "invalid managementStateFilter %q: available or unavailable", q.ManagementStateFilter)
		return
	}
	ids, err := normalize(q.Xname)
	if err != nil {
		problem.Write(w, http.StatusBadRequest, "%s", err)
		return
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		problem.Write(w, http.StatusInternalServerError, "reading HSM: %s", err)
		return
	}
	if len(ids) == 0 {
		ids = slices.Sorted(maps.Keys(nodes))
	}
	readings := s.read(ctx, ids)
	now := time.Now().UTC()
	out := pcsapi.PowerStatusAll{Status: []pcsapi.PowerStatus{}}
	for _, id := range ids {
		ps := status(id, readings[id], nodes[id], now)
		if (q.PowerStateFilter == "" || strings.EqualFold(q.PowerStateFilter, ps.PowerState)) &&
			(q.ManagementStateFilter == "" || strings.EqualFold(q.ManagementStateFilter, ps.ManagementState)) {
			out.Status = append(out.Status, ps)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// status is one node's power-status entry; resetTypes are those its BMC allows.
func status(id string, rd Reading, resetTypes []string, now time.Time) pcsapi.PowerStatus {
	ps := pcsapi.PowerStatus{Xname: id, PowerState: rd.State, ManagementState: pcsapi.ManagementAvailable,
		SupportedPowerTransitions: supportedTransitions(resetTypes), LastUpdated: now}
	switch {
	case rd.Err != nil:
		msg := rd.Err.Error()
		ps.PowerState, ps.ManagementState, ps.Error, ps.SupportedPowerTransitions = pcsapi.StateUndefined, pcsapi.ManagementUnavailable, &msg, []string{}
	case rd.State != pcsapi.StateOn && rd.State != pcsapi.StateOff:
		msg := "power state not read"
		ps.PowerState, ps.ManagementState, ps.Error, ps.SupportedPowerTransitions = pcsapi.StateUndefined, pcsapi.ManagementUnavailable, &msg, []string{}
	}
	return ps
}

// nodeCacheTTL is how long the node list read from HSM serves (PCS keeps HSM's data in
// memory and refreshes it periodically).
const nodeCacheTTL = 10 * time.Second

// nodes returns HSM's nodes with their BMCs' ResetTypes, read at most every nodeCacheTTL.
func (s *Server) nodes(ctx context.Context) (map[string][]string, error) {
	s.mu.Lock()
	if s.nodeCache != nil && time.Since(s.nodesRead) < nodeCacheTTL {
		defer s.mu.Unlock()
		return s.nodeCache, nil
	}
	s.mu.Unlock()
	list, err := s.cfg.Driver.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string][]string, len(list))
	for _, n := range list {
		m[n.Xname] = n.ResetTypes
	}
	s.mu.Lock()
	s.nodeCache, s.nodesRead = m, time.Now()
	s.mu.Unlock()
	return m, nil
}

// read reads the power of xnames and remembers what it saw.
func (s *Server) read(ctx context.Context, xnames []string) map[string]Reading {
	readings := s.cfg.Driver.PowerStates(ctx, xnames)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for x, rd := range readings {
		if rd.Err != nil {
			continue
		}
		if s.seen[x] == nil {
			s.seen[x] = map[string]time.Time{}
		}
		s.seen[x][rd.State] = now
	}
	return readings
}

// seenSince says whether x was read in state since t.
func (s *Server) seenSince(x, state string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.seen[x][state]
	return ok && !at.Before(t)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newID is a random (version 4) UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
