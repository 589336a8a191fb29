package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The v1 status writes (reference 2, 4.3): BOA's plain CRUD on a session's status
// document, kept here as changes to the stored V1Session (the API applies them with the
// store's compare-and-set). The in-process agent is the document's usual writer; while it
// runs a session its next save replaces the session and boot-set status with its own.

// V1PhaseNames are the phases a v1 status may hold.
var V1PhaseNames = []string{"shutdown", "boot", "configure"}

// CreateV1Status is POST /v1/session/{id}/status: the session's status document, unless
// one exists (EEXISTS: BOS answers 409 with the existing document). The id comes from the
// path; an omitted start_time is now; links default to the status and its boot sets.
func (s *V1Session) CreateV1Status(body V1SessionStatus, now time.Time) error {
	if !s.StatusDeleted {
		return &Error{Code: ECONFLICT, Title: "The resource to be created already exists",
			Message: fmt.Sprintf("Session '%s' already has a status", s.ID)}
	}
	v := &checker{}
	for i, name := range body.BootSets {
		v.length(fmt.Sprintf("boot_sets[%d]", i), name, 1, MaxNameLen)
	}
	if err := v.err("invalid session status"); err != nil {
		return err
	}
	st := V1SessionStatus{ID: s.ID, BootSets: body.BootSets, Links: body.Links,
		Metadata: V1Metadata{StartTime: utc(body.Metadata.StartTime), StopTime: utc(body.Metadata.StopTime)}}
	if st.Metadata.StartTime == nil {
		now = now.UTC()
		st.Metadata.StartTime = &now
	}
	if len(st.Links) == 0 {
		st.Links = []V1Link{{Rel: "self", Href: V1StatusLink(s.ID)}}
		for _, name := range st.BootSets {
			st.Links = append(st.Links, V1Link{Rel: "Boot Set", Href: V1StatusLink(s.ID, name)})
		}
	}
	s.Status, s.StatusDeleted = st, false
	return nil
}

// PatchV1Status is PATCH /v1/session/{id}/status: start_time and stop_time, each only
// if still unset (the first write wins, as in BOS). The flags are computed, not written.
func (s *V1Session) PatchV1Status(m V1Metadata) error {
	if s.StatusDeleted {
		return s.noStatus()
	}
	if s.Status.Metadata.StartTime == nil {
		s.Status.Metadata.StartTime = utc(m.StartTime)
	}
	if s.Status.Metadata.StopTime == nil {
		s.Status.Metadata.StopTime = utc(m.StopTime)
	}
	return nil
}

// DeleteV1Status is DELETE /v1/session/{id}/status: the session's status document is
// gone (GET answers 404) until a POST creates it again; the boot-set statuses stay, as
// they are records of their own in BOS.
func (s *V1Session) DeleteV1Status() error {
	if s.StatusDeleted {
		return s.noStatus()
	}
	s.StatusDeleted = true
	return nil
}

func (s *V1Session) noStatus() error {
	return Errorf(ENOTFOUND, "Session '%s' has no status", s.ID)
}

// CreateV1BootSetStatus is POST /v1/session/{id}/status/{bs}: the boot set's status,
// unless it exists (ECONFLICT). Name and session come from the path; phase and category
// names are stored in lower case; links default to the boot set and its phases.
func (s *V1Session) CreateV1BootSetStatus(name string, body V1BootSetStatus) (V1BootSetStatus, error) {
	if s.BootSet(name) != nil {
		return V1BootSetStatus{}, &Error{Code: ECONFLICT, Title: "The resource to be created already exists",
			Message: fmt.Sprintf("Session '%s' already has a status for boot set '%s'", s.ID, name)}
	}
	v := &checker{}
	v.length("name", name, 1, MaxNameLen)
	bs := V1BootSetStatus{Name: name, Session: s.ID, Links: body.Links, Phases: []V1PhaseStatus{},
		Metadata: V1Metadata{StartTime: utc(body.Metadata.StartTime), StopTime: utc(body.Metadata.StopTime)}}
	for i, p := range body.Phases {
		field := fmt.Sprintf("phases[%d]", i)
		p.Name = strings.ToLower(p.Name)
		v.oneOf(field+".name", p.Name, V1PhaseNames...)
		if bs.Phase(p.Name) != nil {
			v.addf(field+".name", "%q is listed twice", p.Name)
		}
		p.Metadata = V1Metadata{StartTime: utc(p.Metadata.StartTime), StopTime: utc(p.Metadata.StopTime)}
		for j := range p.Categories {
			c := &p.Categories[j]
			c.Name = strings.ToLower(c.Name)
			v.oneOf(fmt.Sprintf("%s.categories[%d].name", field, j), c.Name, V1Categories...)
			c.NodeList = sortedSet(c.NodeList)
		}
		if p.Categories == nil {
			p.Categories = []V1Category{}
		}
		for msg, nodes := range p.Errors {
			p.Errors[msg] = sortedSet(nodes)
		}
		bs.Phases = append(bs.Phases, p)
	}
	if err := v.err("invalid boot set status"); err != nil {
		return V1BootSetStatus{}, err
	}
	if len(bs.Links) == 0 {
		bs.Links = []V1Link{{Rel: "self", Href: V1StatusLink(s.ID, name)}}
		for _, p := range bs.Phases {
			bs.Links = append(bs.Links, V1Link{Rel: "Phase", Href: V1StatusLink(s.ID, name, p.Name)})
		}
	}
	s.BootSets = append(s.BootSets, bs)
	return bs, nil
}

// DeleteV1BootSetStatus is DELETE /v1/session/{id}/status/{bs}.
func (s *V1Session) DeleteV1BootSetStatus(name string) error {
	i := slices.IndexFunc(s.BootSets, func(b V1BootSetStatus) bool { return b.Name == name })
	if i < 0 {
		return Errorf(ENOTFOUND, "Session '%s' has no boot set '%s'", s.ID, name)
	}
	s.BootSets = slices.Delete(s.BootSets, i, i+1)
	return nil
}

// V1StatusUpdate is one item of PATCH /v1/session/{id}/status/{bs} (reference 4.3).
type V1StatusUpdate struct {
	UpdateType string          `json:"update_type"`
	Phase      string          `json:"phase"`
	Data       json.RawMessage `json:"data"`
}

// V1NodeChange moves nodes from one category of a phase to another.
type V1NodeChange struct {
	Phase       string   `json:"phase"`
	Source      string   `json:"source"`
	Destination string   `json:"destination"`
	NodeList    []string `json:"node_list"`
}

// UpdateV1BootSetStatus applies PATCH /v1/session/{id}/status/{bs}'s updates in order,
// all or none (EINVALID names the first bad one):
//
//   - NodeChangeList moves node_list from source to destination in the phase; nodes not
//     in source are added to destination all the same, and source == destination does
//     nothing (as BOS);
//   - NodeErrorsList merges message → nodes into the phase's errors (BOS stops merging
//     after the first message it already had; we merge them all);
//   - GenericMetadata sets start_time and stop_time, overwriting; phase "" or "boot_set"
//     (which BOA sends) addresses the boot set's own metadata.
//
// Phase and category names match in any case.
func (s *V1Session) UpdateV1BootSetStatus(name string, updates []V1StatusUpdate) (V1BootSetStatus, error) {
	i := slices.IndexFunc(s.BootSets, func(b V1BootSetStatus) bool { return b.Name == name })
	if i < 0 {
		return V1BootSetStatus{}, Errorf(ENOTFOUND, "Session '%s' has no boot set '%s'", s.ID, name)
	}
	bs := cloneBootSetStatus(s.BootSets[i])
	for k, u := range updates {
		if err := applyV1Update(&bs, u); err != nil {
			return V1BootSetStatus{}, Errorf(EINVALID, "update %d (%s): %s", k, u.UpdateType, err.Error())
		}
	}
	s.BootSets[i] = bs
	return bs, nil
}

func applyV1Update(bs *V1BootSetStatus, u V1StatusUpdate) error {
	if len(u.Data) == 0 || string(u.Data) == "null" {
		return fmt.Errorf("data is required")
	}
	phase := func(name string) (*V1PhaseStatus, error) {
		if p := bs.Phase(name); p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("boot set '%s' has no phase %q", bs.Name, name)
	}
	switch u.UpdateType {
	case "NodeChangeList":
		var ch V1NodeChange
		if err := strictJSON(u.Data, &ch); err != nil {
			return err
		}
		src, dst := strings.ToLower(ch.Source), strings.ToLower(ch.Destination)
		for _, c := range []string{src, dst} {
			if !slices.Contains(V1Categories, c) {
				return fmt.Errorf("category %q is not one of %s", c, strings.Join(V1Categories, ", "))
			}
		}
		if ch.NodeList == nil || ch.Phase == "" {
			return fmt.Errorf("data needs phase, source, destination and node_list")
		}
		p, err := phase(ch.Phase)
		if err != nil {
			return err
		}
		p.ChangeNodes(src, dst, ch.NodeList)
	case "NodeErrorsList":
		var errs map[string][]string
		if err := strictJSON(u.Data, &errs); err != nil {
			return err
		}
		p, err := phase(u.Phase)
		if err != nil {
			return err
		}
		for msg, nodes := range errs {
			if p.Errors == nil {
				p.Errors = map[string][]string{}
			}
			p.Errors[msg] = sortedSet(append(p.Errors[msg], nodes...))
		}
	case "GenericMetadata":
		var m V1Metadata
		if err := strictJSON(u.Data, &m); err != nil {
			return err
		}
		meta := &bs.Metadata
		if u.Phase != "" && !strings.EqualFold(u.Phase, "boot_set") {
			p, err := phase(u.Phase)
			if err != nil {
				return err
			}
			meta = &p.Metadata
		}
		if m.StartTime != nil {
			meta.StartTime = utc(m.StartTime)
		}
		if m.StopTime != nil {
			meta.StopTime = utc(m.StopTime)
		}
	default:
		return fmt.Errorf("update_type %q is not NodeChangeList, NodeErrorsList or GenericMetadata", u.UpdateType)
	}
	return nil
}

// ChangeNodes moves nodes from category src to dst (BOA's NodeChangeList): they leave
// src and join dst, whether or not src held them. Lists stay sorted.
func (p *V1PhaseStatus) ChangeNodes(src, dst string, nodes []string) {
	if src == dst || len(nodes) == 0 {
		return
	}
	if c := p.Category(src); c != nil {
		moving := make(map[string]bool, len(nodes))
		for _, id := range nodes {
			moving[id] = true
		}
		c.NodeList = slices.DeleteFunc(c.NodeList, func(id string) bool { return moving[id] })
	}
	c := p.Category(dst)
	if c == nil {
		p.Categories = append(p.Categories, V1Category{Name: dst})
		c = &p.Categories[len(p.Categories)-1]
	}
	c.NodeList = sortedSet(append(c.NodeList, nodes...))
}

func cloneBootSetStatus(b V1BootSetStatus) V1BootSetStatus {
	raw, _ := json.Marshal(b)
	var out V1BootSetStatus
	_ = json.Unmarshal(raw, &out)
	return out
}

func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("data: %v", err)
	}
	return nil
}

func sortedSet(list []string) []string {
	out := slices.Clone(list)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
