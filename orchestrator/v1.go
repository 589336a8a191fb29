package orchestrator

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// BOS v1 sessions (reference bos-v1.md). A v1 session is run by the lockstep agent
// (package lockstep), which moves all of its nodes through the phases of its operation
// together. The records below are what the store keeps and the /v1 API shows.

// OpConfigure is the v1-only operation that configures booted nodes without a reboot.
const OpConfigure = "configure"

// V1Operations lists the v1 session operations.
var V1Operations = []string{OpBoot, OpReboot, OpShutdown, OpConfigure}

// v1 status phases, in the order they run.
const (
	V1PhaseShutdown  = "shutdown"
	V1PhaseBoot      = "boot"
	V1PhaseConfigure = "configure"
)

// v1 status categories. A node is in exactly one category of each phase.
const (
	CategoryNotStarted = "not_started"
	CategoryInProgress = "in_progress"
	CategorySucceeded  = "succeeded"
	CategoryFailed     = "failed"
	CategoryExcluded   = "excluded"
)

// V1Categories lists the categories in the order BOA creates them.
var V1Categories = []string{CategoryNotStarted, CategorySucceeded, CategoryFailed, CategoryExcluded, CategoryInProgress}

// V1Phases returns the status phases of a v1 operation (reference 5.3), nil for an
// unknown one. op must be lower case.
func V1Phases(op string) []string {
	switch op {
	case OpShutdown:
		return []string{V1PhaseShutdown}
	case OpBoot:
		return []string{V1PhaseBoot, V1PhaseConfigure}
	case OpReboot:
		return []string{V1PhaseShutdown, V1PhaseBoot, V1PhaseConfigure}
	case OpConfigure:
		return []string{V1PhaseConfigure}
	}
	return nil
}

// v1 session lifecycle (V1Session.State): our own bookkeeping of who runs the session;
// the API shows it only through the computed metadata.
const (
	V1Pending  = "pending"  // created; the agent has not picked it up
	V1Running  = "running"  // the agent runs it
	V1Complete = "complete" // stop_time is set
)

// V1Link is a v1 link. The links of a created session carry a type and, on the session
// link, the job id; status links have neither (BOS's status schema allows only rel, href).
type V1Link struct {
	Rel   string `json:"rel"`
	Href  string `json:"href"`
	JobID string `json:"jobId,omitempty"`
	Type  string `json:"type,omitempty"`
}

// V1SessionCreate is the body of POST /v1/session. TemplateUUID is the deprecated alias
// of TemplateName; Job and Links are read-only and ignored.
type V1SessionCreate struct {
	Operation    string   `json:"operation"`
	TemplateName string   `json:"templateName,omitempty"`
	TemplateUUID string   `json:"templateUuid,omitempty"`
	Limit        string   `json:"limit,omitempty"`
	Job          string   `json:"job,omitempty"`
	Links        []V1Link `json:"links,omitempty"`
}

// Validate checks the body (reference 2.2): an operation, in any case, and a template
// named by templateName or, failing that, templateUuid (copied into TemplateName).
func (sc *V1SessionCreate) Validate() error {
	var v checker
	switch {
	case sc.Operation == "":
		v.addf("operation", "is required")
	default:
		v.oneOf("operation", strings.ToLower(sc.Operation), V1Operations...)
	}
	if sc.TemplateName == "" {
		sc.TemplateName = sc.TemplateUUID
	}
	sc.TemplateUUID = ""
	if sc.TemplateName == "" {
		v.addf("templateName", "is required")
	} else {
		v.length("templateName", sc.TemplateName, 1, MaxNameLen)
	}
	v.length("limit", sc.Limit, 0, MaxLimitLen)
	return v.err("invalid session")
}

// V1SessionCreated is the 201 answer of POST /v1/session.
type V1SessionCreated struct {
	Operation    string   `json:"operation"`
	TemplateName string   `json:"templateName"`
	Job          string   `json:"job"`
	Limit        string   `json:"limit,omitempty"`
	Links        []V1Link `json:"links"`
}

// V1Metadata is the timing and progress of a session, boot set or phase. Only the times
// are stored; the flags and the count are computed on every read (reference 4.2).
type V1Metadata struct {
	StartTime  *time.Time `json:"start_time,omitempty"`
	StopTime   *time.Time `json:"stop_time,omitempty"`
	Complete   bool       `json:"complete"`
	InProgress bool       `json:"in_progress"`
	ErrorCount int        `json:"error_count"`
}

// V1Category is one category of a phase: the nodes in it, sorted.
type V1Category struct {
	Name     string   `json:"name"`
	NodeList []string `json:"node_list"`
}

// V1PhaseStatus is one phase of a boot set. Errors maps a message to the nodes it
// concerns (sorted).
type V1PhaseStatus struct {
	Name       string              `json:"name"`
	Metadata   V1Metadata          `json:"metadata"`
	Categories []V1Category        `json:"categories"`
	Errors     map[string][]string `json:"errors,omitempty"`
}

// Category returns the named category, or nil.
func (p *V1PhaseStatus) Category(name string) *V1Category {
	for i := range p.Categories {
		if p.Categories[i].Name == name {
			return &p.Categories[i]
		}
	}
	return nil
}

// Nodes returns the nodes of the named category (nil when it does not exist).
func (p *V1PhaseStatus) Nodes(category string) []string {
	if c := p.Category(category); c != nil {
		return c.NodeList
	}
	return nil
}

// V1BootSetStatus is the status of one boot set of a session.
type V1BootSetStatus struct {
	Name     string          `json:"name"`
	Session  string          `json:"session"`
	Metadata V1Metadata      `json:"metadata"`
	Phases   []V1PhaseStatus `json:"phases"`
	Links    []V1Link        `json:"links"`
}

// Phase returns the named phase (any case), or nil.
func (b *V1BootSetStatus) Phase(name string) *V1PhaseStatus {
	for i := range b.Phases {
		if strings.EqualFold(b.Phases[i].Name, name) {
			return &b.Phases[i]
		}
	}
	return nil
}

// V1SessionStatus is the body of GET /v1/session/{id}/status. FailedNodes and
// RetryCommand are our additions (BOA only logged them): once the session has stopped,
// the nodes that failed any phase and the command that runs the session again on just
// them.
type V1SessionStatus struct {
	ID           string     `json:"id"`
	BootSets     []string   `json:"boot_sets"`
	Metadata     V1Metadata `json:"metadata"`
	Links        []V1Link   `json:"links"`
	FailedNodes  []string   `json:"failed_nodes,omitempty"`
	RetryCommand string     `json:"retry_command,omitempty"`
}

// V1Session is the stored record of a v1 session: what was asked, the template as it was
// at creation (BOA works from that snapshot), and the status document the agent keeps.
type V1Session struct {
	ID           string `json:"id"`
	TemplateName string `json:"templateName"`
	Operation    string `json:"operation"` // as submitted; Op() is the lower-case form
	Limit        string `json:"limit,omitempty"`
	Job          string `json:"job"`
	State        string `json:"state"`
	// Error says why the session could not run at all (template unusable, no nodes...).
	Error    string            `json:"error,omitempty"`
	Template V1SessionTemplate `json:"template"`
	Status   V1SessionStatus   `json:"status"`
	// StatusDeleted: DELETE /v1/session/{id}/status removed the status document (GET
	// answers 404) and no POST has created it again (v1status.go).
	StatusDeleted bool              `json:"status_deleted,omitempty"`
	BootSets      []V1BootSetStatus `json:"boot_set_status"`
	// TookOver (ours) lists the nodes the session took over at its creation from
	// unfinished sessions that held them (overlap.go).
	TookOver []SessionTakeover `json:"took_over,omitempty"`
	// Epoch (ours) is the session's place in the order of creations (SessionStatus.Epoch).
	Epoch int64 `json:"epoch,omitempty"`
}

// Creation is the session's place in the order of creations.
func (s *V1Session) Creation() Creation { return Creation{Epoch: s.Epoch} }

// Op returns the operation in lower case.
func (s *V1Session) Op() string { return strings.ToLower(s.Operation) }

// V1StatusLink is the href of a session's status, or of a boot set's (and phase's) under it.
func V1StatusLink(id string, parts ...string) string {
	return strings.Join(append([]string{"/v1/session/" + id + "/status"}, parts...), "/")
}

// NewV1Session builds the record POST /v1/session stores: pending, the template snapshot,
// start_time now, and the status document with every boot set of the template (sorted)
// and its phases, all empty until the agent resolves the nodes.
func NewV1Session(id string, sc V1SessionCreate, tmpl V1SessionTemplate, now time.Time) V1Session {
	now = now.UTC()
	s := V1Session{
		ID: id, TemplateName: sc.TemplateName, Operation: sc.Operation, Limit: sc.Limit,
		Job: "boa-" + id, State: V1Pending, Template: tmpl,
		Status: V1SessionStatus{ID: id, Metadata: V1Metadata{StartTime: &now},
			Links: []V1Link{{Rel: "self", Href: V1StatusLink(id)}}},
	}
	for _, name := range slices.Sorted(maps.Keys(tmpl.BootSets)) {
		s.Status.BootSets = append(s.Status.BootSets, name)
		s.Status.Links = append(s.Status.Links, V1Link{Rel: "Boot Set", Href: V1StatusLink(id, name)})
		bs := V1BootSetStatus{Name: name, Session: id, Links: []V1Link{{Rel: "self", Href: V1StatusLink(id, name)}}}
		for _, ph := range V1Phases(s.Op()) {
			bs.Phases = append(bs.Phases, NewV1Phase(ph, nil))
			bs.Links = append(bs.Links, V1Link{Rel: "Phase", Href: V1StatusLink(id, name, ph)})
		}
		s.BootSets = append(s.BootSets, bs)
	}
	return s
}

// NewV1Phase returns a phase with every node in not_started and the other categories empty.
func NewV1Phase(name string, nodes []string) V1PhaseStatus {
	p := V1PhaseStatus{Name: name}
	for _, c := range V1Categories {
		list := []string{}
		if c == CategoryNotStarted {
			list = append(list, nodes...)
			sort.Strings(list)
		}
		p.Categories = append(p.Categories, V1Category{Name: c, NodeList: list})
	}
	return p
}

// BootSet returns the named boot set's status, or nil.
func (s *V1Session) BootSet(name string) *V1BootSetStatus {
	for i := range s.BootSets {
		if s.BootSets[i].Name == name {
			return &s.BootSets[i]
		}
	}
	return nil
}

// ComputeMetadata fills the computed flags and counts at every level (reference 4.2,
// with the session's error_count summed over its boot sets, which BOS leaves at 0):
//
//   - phase: in_progress when its in_progress category has nodes; complete when
//     not_started and in_progress are both empty; error_count = nodes in failed;
//   - boot set: in_progress when a phase is; complete when every phase is;
//     error_count = the sum over its phases;
//   - session: complete when stop_time is set, in_progress otherwise; error_count = the
//     sum over its boot sets.
//
// It also fills FailedNodes and RetryCommand once the session has stopped.
func (s *V1Session) ComputeMetadata() {
	total := 0
	for i := range s.BootSets {
		bs := &s.BootSets[i]
		bs.Metadata.InProgress, bs.Metadata.Complete, bs.Metadata.ErrorCount = false, true, 0
		for j := range bs.Phases {
			p := &bs.Phases[j]
			p.Metadata.InProgress = len(p.Nodes(CategoryInProgress)) > 0
			p.Metadata.Complete = len(p.Nodes(CategoryNotStarted)) == 0 && !p.Metadata.InProgress
			p.Metadata.ErrorCount = len(p.Nodes(CategoryFailed))
			bs.Metadata.InProgress = bs.Metadata.InProgress || p.Metadata.InProgress
			bs.Metadata.Complete = bs.Metadata.Complete && p.Metadata.Complete
			bs.Metadata.ErrorCount += p.Metadata.ErrorCount
		}
		total += bs.Metadata.ErrorCount
	}
	m := &s.Status.Metadata
	m.Complete = m.StopTime != nil
	m.InProgress = !m.Complete
	m.ErrorCount = total
	s.Status.FailedNodes, s.Status.RetryCommand = nil, ""
	if m.Complete {
		s.Status.FailedNodes = s.FailedNodes()
		s.Status.RetryCommand = V1RetryCommand(s.TemplateName, s.Op(), s.Status.FailedNodes)
	}
}

// FailedNodes returns every node that failed a phase of any boot set, sorted.
func (s *V1Session) FailedNodes() []string {
	set := map[string]struct{}{}
	for _, bs := range s.BootSets {
		for i := range bs.Phases {
			for _, id := range bs.Phases[i].Nodes(CategoryFailed) {
				set[id] = struct{}{}
			}
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// V1RetryCommand is the command that runs a session's operation again on just the failed
// nodes (BOA's retry hint, reference 5.4, for this project's CLI), "" when none failed.
// The nodes are joined by commas without spaces. A boot is retried as a reboot: a node
// that failed a boot is mostly left on (running other artifacts, or booted without
// reporting, or its configuration failed), and a boot never restarts a running node, so
// BOA's hint would fail it again; a reboot boots the nodes that are off just the same.
func V1RetryCommand(template, op string, failed []string) string {
	if len(failed) == 0 {
		return ""
	}
	if strings.EqualFold(op, OpBoot) {
		op = OpReboot
	}
	return "bos v1 session create --template-name " + shellWord(template) + " --operation " + op +
		" --limit " + strings.Join(failed, ",")
}

// shellWord quotes s for a POSIX shell when it holds anything beyond name characters.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// V1SessionDetails is the body of GET /v1/session/{id} (reference 2.3): the request, the
// links and the session metadata. FailedNodes, RetryCommand and Error are our additions.
type V1SessionDetails struct {
	TemplateName string     `json:"templateName"`
	Operation    string     `json:"operation"`
	StatusLink   string     `json:"status_link"`
	Job          string     `json:"job"`
	StartTime    *time.Time `json:"start_time"`
	StopTime     *time.Time `json:"stop_time"`
	Complete     bool       `json:"complete"`
	InProgress   bool       `json:"in_progress"`
	ErrorCount   int        `json:"error_count"`
	FailedNodes  []string   `json:"failed_nodes,omitempty"`
	RetryCommand string     `json:"retry_command,omitempty"`
	Error        string     `json:"error,omitempty"`
	// TookOver (ours): the nodes the session took over at creation (V1Session.TookOver).
	TookOver []SessionTakeover `json:"took_over,omitempty"`
}

// Details returns the GET /v1/session/{id} view of s (metadata computed).
func (s V1Session) Details() V1SessionDetails {
	s.ComputeMetadata()
	m := s.Status.Metadata
	return V1SessionDetails{
		TemplateName: s.TemplateName, Operation: s.Operation, StatusLink: V1StatusLink(s.ID), Job: s.Job,
		StartTime: m.StartTime, StopTime: m.StopTime, Complete: m.Complete, InProgress: m.InProgress,
		ErrorCount: m.ErrorCount, FailedNodes: s.Status.FailedNodes, RetryCommand: s.Status.RetryCommand, Error: s.Error,
		TookOver: s.TookOver,
	}
}

// MoveNodes moves nodes into category dst of phase p, from whatever category holds them
// (a node not in the phase is added, as BOS does). Lists stay sorted.
func (p *V1PhaseStatus) MoveNodes(dst string, nodes []string) {
	if len(nodes) == 0 {
		return
	}
	moving := make(map[string]struct{}, len(nodes))
	for _, id := range nodes {
		moving[id] = struct{}{}
	}
	for i := range p.Categories {
		c := &p.Categories[i]
		c.NodeList = slices.DeleteFunc(c.NodeList, func(id string) bool { _, ok := moving[id]; return ok })
	}
	c := p.Category(dst)
	if c == nil {
		p.Categories = append(p.Categories, V1Category{Name: dst})
		c = &p.Categories[len(p.Categories)-1]
	}
	for id := range moving {
		c.NodeList = append(c.NodeList, id)
	}
	sort.Strings(c.NodeList)
}

// AddError records msg against nodes in the phase's errors map (lists merged, sorted).
func (p *V1PhaseStatus) AddError(msg string, nodes []string) {
	if len(nodes) == 0 {
		return
	}
	if p.Errors == nil {
		p.Errors = map[string][]string{}
	}
	list := append(p.Errors[msg], nodes...)
	sort.Strings(list)
	p.Errors[msg] = slices.Compact(list)
}
