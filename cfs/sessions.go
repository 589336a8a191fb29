package cfs

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// CFS sessions, as the simulator keeps them. Every batch the batcher runs is a session
// (named batcher-…, target dynamic, ansible limit = its members), running while the batch
// runs and complete with its result, as CFS's batcher launches one session per batch. A
// session created with POST runs at once: the layers of its configuration are recorded as
// applied on the components its ansible_limit names (every component when it names none),
// and it completes in the same request. Image customization (target definition "image")
// needs IMS and Ansible and is refused with 400. Completed sessions older than the
// session_ttl option are dropped.

// Session is a V3SessionData record.
type Session struct {
	Name           string               `json:"name"`
	Configuration  SessionConfiguration `json:"configuration"`
	Ansible        SessionAnsible       `json:"ansible"`
	Target         SessionTarget        `json:"target"`
	Status         SessionStatus        `json:"status"`
	Tags           map[string]string    `json:"tags"`
	DebugOnFailure bool                 `json:"debug_on_failure"`
}

type SessionConfiguration struct {
	Name  string `json:"name"`
	Limit string `json:"limit"`
}

type SessionAnsible struct {
	Config      string `json:"config"`
	Limit       string `json:"limit"`
	Verbosity   int    `json:"verbosity"`
	Passthrough string `json:"passthrough"`
}

type SessionTarget struct {
	Definition string         `json:"definition"`
	Groups     []SessionGroup `json:"groups"`
	ImageMap   []SessionImage `json:"image_map"`
}

type SessionGroup struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

type SessionImage struct {
	SourceID   string `json:"source_id"`
	ResultName string `json:"result_name"`
}

type SessionStatus struct {
	Artifacts []any              `json:"artifacts"`
	Session   SessionStatusState `json:"session"`
}

// SessionStatusState is status.session: status pending, running or complete; succeeded
// none (not complete), true or false; times in RFC 3339.
type SessionStatusState struct {
	Job            string `json:"job"`
	CompletionTime string `json:"completion_time,omitempty"`
	StartTime      string `json:"start_time"`
	Status         string `json:"status"`
	Succeeded      string `json:"succeeded"`
}

// SessionsPage is the reply of GET /v3/sessions.
type SessionsPage struct {
	Sessions []Session    `json:"sessions"`
	Next     *SessionNext `json:"next"`
}

// SessionNext echoes the query with after_id set, for the next page.
type SessionNext struct {
	Limit        int    `json:"limit"`
	AfterID      string `json:"after_id"`
	MinAge       string `json:"min_age,omitempty"`
	MaxAge       string `json:"max_age,omitempty"`
	Status       string `json:"status,omitempty"`
	NameContains string `json:"name_contains,omitempty"`
	Succeeded    string `json:"succeeded,omitempty"`
	Tags         string `json:"tags,omitempty"`
}

// SessionIDs is the reply of DELETE /v3/sessions.
type SessionIDs struct {
	SessionIDs []string `json:"session_ids"`
}

// sessionCreate is a V3SessionCreate body.
type sessionCreate struct {
	Name               string            `json:"name"`
	ConfigurationName  string            `json:"configuration_name"`
	ConfigurationLimit string            `json:"configuration_limit"`
	AnsibleLimit       string            `json:"ansible_limit"`
	AnsibleConfig      string            `json:"ansible_config"`
	AnsibleVerbosity   int               `json:"ansible_verbosity"`
	AnsiblePassthrough string            `json:"ansible_passthrough"`
	Target             *SessionTarget    `json:"target"`
	Tags               map[string]string `json:"tags"`
	DebugOnFailure     bool              `json:"debug_on_failure"`
}

// sessionName is the Kubernetes name rule CFS applies (at most 45 characters).
var sessionName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func (c *sessionCreate) validate() *problem.Details {
	bad := func(format string, args ...any) *problem.Details {
		return cfsProblem(http.StatusBadRequest, "Invalid session", fmt.Sprintf(format, args...))
	}
	switch {
	case c.Name == "" || len(c.Name) > 45 || !sessionName.MatchString(c.Name):
		return bad("name %q must be 1 to 45 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit", c.Name)
	case c.ConfigurationName == "" || len(c.ConfigurationName) > 60:
		return bad("configuration_name must be 1 to 60 characters")
	case !noSpaceOrSemicolon.MatchString(c.AnsibleLimit):
		return bad("ansible_limit must not contain spaces or semicolons")
	case c.AnsibleVerbosity < 0 || c.AnsibleVerbosity > 4:
		return bad("ansible_verbosity is %d; it ranges from 0 to 4", c.AnsibleVerbosity)
	}
	if t := c.Target; t != nil {
		switch t.Definition {
		case "", "dynamic", "spec", "repo":
		case "image":
			return bad("target definition image is not simulated: image customization needs IMS and Ansible")
		default:
			return bad("target definition %q is not one of image, spec, repo, dynamic", t.Definition)
		}
		for _, g := range t.Groups {
			if g.Name == "" || g.Members == nil {
				return bad("every target group needs a name and members")
			}
		}
	}
	return nil
}

func (s *Server) postSession(w http.ResponseWriter, r *http.Request) *problem.Details {
	var c sessionCreate
	if d := problem.DecodeJSON(w, r, &c, s.maxBody); d != nil {
		return d
	}
	if d := c.validate(); d != nil {
		return d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.sessions[c.Name]; dup {
		return cfsProblem(http.StatusConflict, "Conflicting session name", fmt.Sprintf("A session with the name %s already exists", c.Name))
	}
	cfg := s.configs[c.ConfigurationName]
	if cfg == nil {
		return cfsProblem(http.StatusBadRequest, "Invalid session", fmt.Sprintf("Configuration %s does not exist", c.ConfigurationName))
	}
	target := dynamicTarget()
	if c.Target != nil {
		target = *c.Target
		target.Definition = cmp.Or(target.Definition, "dynamic")
		target.Groups = slices.Concat([]SessionGroup{}, target.Groups)
		target.ImageMap = slices.Concat([]SessionImage{}, target.ImageMap)
	}
	tags := c.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	now := s.now()
	stamp := now.UTC().Format(time.RFC3339)
	sess := &Session{
		Name:           c.Name,
		Configuration:  SessionConfiguration{Name: c.ConfigurationName, Limit: c.ConfigurationLimit},
		Ansible:        SessionAnsible{Config: cmp.Or(c.AnsibleConfig, s.stored.DefaultAnsibleConfig), Limit: c.AnsibleLimit, Verbosity: c.AnsibleVerbosity, Passthrough: c.AnsiblePassthrough},
		Target:         target,
		Tags:           tags,
		DebugOnFailure: c.DebugOnFailure,
		Status: SessionStatus{Artifacts: []any{}, Session: SessionStatusState{
			Job: "cfs-" + c.Name, StartTime: stamp, CompletionTime: stamp, Status: "complete", Succeeded: "true"}},
	}
	// The run: every layer applied on the targeted components (state is not recorded when
	// a passthrough is set, as CFS documents).
	if c.AnsiblePassthrough == "" {
		for _, id := range s.sessionTargets(c.AnsibleLimit) {
			rec := s.comps[id]
			state := rec.state
			for _, l := range cfg.Layers {
				state = appendState(state, cfsapi.StateLayer{CloneURL: layerCloneURL(l, s.sources), Playbook: playbookOf(l),
					Commit: l.Commit, Status: cfsapi.LayerApplied, LastUpdated: stamp, SessionName: c.Name})
			}
			rec.state = state
			rec.gen++
			s.evaluate(rec)
		}
	}
	s.sessions[c.Name] = sess
	s.log.Debug("cfs: session created", "session", c.Name, "configuration", c.ConfigurationName)
	writeJSON(w, http.StatusCreated, cloneSession(sess))
	return nil
}

// sessionTargets are the components an ansible limit names: the ids in its comma list that
// are components (groups and patterns match nothing here), or every component.
func (s *Server) sessionTargets(limit string) []string {
	if limit == "" {
		return slices.Clone(s.ids)
	}
	var out []string
	for _, id := range splitList(limit) {
		if _, ok := s.comps[id]; ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// sessionFilter is the selection shared by GET and DELETE /v3/sessions.
type sessionFilter struct {
	minAge, maxAge             time.Duration
	status, nameContains, succ string
	tags                       map[string]string
	raw                        SessionNext
}

func parseSessionFilter(r *http.Request, defaultStatus string) (*sessionFilter, *problem.Details) {
	q := r.URL.Query()
	f := &sessionFilter{status: q.Get("status"), nameContains: q.Get("name_contains"), succ: q.Get("succeeded")}
	if _, ok := q["status"]; !ok {
		f.status = defaultStatus
	}
	bad := func(format string, args ...any) *problem.Details {
		return cfsProblem(http.StatusBadRequest, "Bad request", fmt.Sprintf(format, args...))
	}
	var err error
	if f.minAge, err = parseAge(q.Get("min_age")); err != nil {
		return nil, bad("min_age: %v", err)
	}
	if f.maxAge, err = parseAge(q.Get("max_age")); err != nil {
		return nil, bad("max_age: %v", err)
	}
	switch f.status {
	case "", "pending", "running", "complete":
	default:
		return nil, bad("status %q is not one of pending, running, complete", f.status)
	}
	switch f.succ {
	case "", "none", "true", "false", "unknown":
	default:
		return nil, bad("succeeded %q is not one of none, true, false, unknown", f.succ)
	}
	if v := q.Get("tags"); v != "" {
		f.tags = map[string]string{}
		for _, kv := range splitList(v) {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, bad("tags %q: each tag is key=value", v)
			}
			f.tags[k] = val
		}
	}
	f.raw = SessionNext{MinAge: q.Get("min_age"), MaxAge: q.Get("max_age"), Status: q.Get("status"),
		NameContains: f.nameContains, Succeeded: f.succ, Tags: q.Get("tags")}
	return f, nil
}

// matches reports whether sess passes f at time now. Ages count from the start time.
func (f *sessionFilter) matches(sess *Session, now time.Time) bool {
	st := sess.Status.Session
	if (f.status != "" && st.Status != f.status) || (f.succ != "" && st.Succeeded != f.succ) ||
		!strings.Contains(sess.Name, f.nameContains) {
		return false
	}
	for k, v := range f.tags {
		if sess.Tags[k] != v {
			return false
		}
	}
	if f.minAge > 0 || f.maxAge > 0 {
		start, err := time.Parse(time.RFC3339, st.StartTime)
		if err != nil {
			return false
		}
		age := now.Sub(start)
		if (f.minAge > 0 && age < f.minAge) || (f.maxAge > 0 && age > f.maxAge) {
			return false
		}
	}
	return true
}

// expireSessions drops completed sessions older than session_ttl. Caller holds s.mu.
func (s *Server) expireSessions(now time.Time) {
	ttl, err := parseAge(s.stored.SessionTTL)
	if err != nil || ttl == 0 {
		return
	}
	for name, sess := range s.sessions {
		if sess.Status.Session.Status != "complete" {
			continue
		}
		if done, err := time.Parse(time.RFC3339, sess.Status.Session.CompletionTime); err == nil && now.Sub(done) > ttl {
			delete(s.sessions, name)
		}
	}
}

func (s *Server) getSessions(w http.ResponseWriter, r *http.Request) *problem.Details {
	f, d := parseSessionFilter(r, "")
	if d == nil {
		f.raw.Limit, d = s.parseLimit(r.URL.Query())
	}
	if d != nil {
		return d
	}
	afterID := r.URL.Query().Get("after_id")
	s.mu.Lock()
	now := s.now()
	s.expireSessions(now)
	page := []Session{}
	more := false
	for _, name := range slices.Sorted(maps.Keys(s.sessions)) {
		sess := s.sessions[name]
		if name <= afterID || !f.matches(sess, now) {
			continue
		}
		if f.raw.Limit > 0 && len(page) == f.raw.Limit {
			more = true
			break
		}
		page = append(page, cloneSession(sess))
	}
	s.mu.Unlock()
	reply := SessionsPage{Sessions: page}
	if more {
		next := f.raw
		next.AfterID = page[len(page)-1].Name
		reply.Next = &next
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

func (s *Server) deleteSessions(w http.ResponseWriter, r *http.Request) *problem.Details {
	f, d := parseSessionFilter(r, "complete")
	if d != nil {
		return d
	}
	s.mu.Lock()
	now := s.now()
	ids := []string{}
	for _, name := range slices.Sorted(maps.Keys(s.sessions)) {
		if f.matches(s.sessions[name], now) {
			delete(s.sessions, name)
			ids = append(ids, name)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, SessionIDs{SessionIDs: ids})
	return nil
}

func sessionNotFound(name string) *problem.Details {
	return cfsProblem(http.StatusNotFound, "Session not found", fmt.Sprintf("Session %s could not be found", name))
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) *problem.Details {
	name := r.PathValue("name")
	s.mu.Lock()
	s.expireSessions(s.now())
	sess := s.sessions[name]
	var out Session
	if sess != nil {
		out = cloneSession(sess)
	}
	s.mu.Unlock()
	if sess == nil {
		return sessionNotFound(name)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) *problem.Details {
	name := r.PathValue("name")
	s.mu.Lock()
	_, ok := s.sessions[name]
	delete(s.sessions, name)
	s.mu.Unlock()
	if !ok {
		return sessionNotFound(name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// batchSession records b's launch as a running dynamic session. Caller holds s.mu.
func (s *Server) batchSession(b *batch, start time.Time) {
	ids := make([]string, len(b.members))
	configs := map[string]bool{}
	for i, m := range b.members {
		ids[i] = m.id
		if r := s.comps[m.id]; r != nil {
			configs[r.desiredConfig] = true
		}
	}
	var config string // one configuration per batch, as CFS batches; "" when mixed
	if len(configs) == 1 {
		for c := range configs {
			config = c
		}
	}
	s.sessions[b.session] = &Session{
		Name:          b.session,
		Configuration: SessionConfiguration{Name: config},
		Ansible:       SessionAnsible{Config: s.stored.DefaultAnsibleConfig, Limit: strings.Join(ids, ",")},
		Target:        dynamicTarget(),
		Tags:          map[string]string{},
		Status: SessionStatus{Artifacts: []any{}, Session: SessionStatusState{
			Job: "cfs-" + b.session, StartTime: start.UTC().Format(time.RFC3339), Status: "running", Succeeded: "none"}},
	}
}

// batchSessionDone completes b's session. Caller holds s.mu.
func (s *Server) batchSessionDone(b *batch, stamp string, failed int) {
	sess := s.sessions[b.session]
	if sess == nil { // deleted while it ran
		return
	}
	sess.Status.Session.Status = "complete"
	sess.Status.Session.CompletionTime = stamp
	sess.Status.Session.Succeeded = "true"
	if failed > 0 {
		sess.Status.Session.Succeeded = "false"
	}
}

func dynamicTarget() SessionTarget {
	return SessionTarget{Definition: "dynamic", Groups: []SessionGroup{}, ImageMap: []SessionImage{}}
}

func cloneSession(s *Session) Session {
	out := *s
	out.Tags = maps.Clone(s.Tags)
	out.Target.Groups = slices.Clone(s.Target.Groups)
	out.Target.ImageMap = slices.Clone(s.Target.ImageMap)
	out.Status.Artifacts = slices.Clone(s.Status.Artifacts)
	return out
}
