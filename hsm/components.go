package hsm

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// State/Components: listing, queries, single records, creation and patches.

func (s *Server) getComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	f, d := filterFromQuery(r.URL.Query())
	if d != nil {
		return d
	}
	c, d := s.compile(f)
	if d != nil {
		return d
	}
	s.mu.RLock()
	body := s.componentsJSON(c, s.candidates(c))
	s.mu.RUnlock()
	writeRaw(w, http.StatusOK, body)
	return nil
}

// componentsJSON renders {"Components":[...]} for the records of recs that pass c
// (including its id list). Call with s.mu held.
func (s *Server) componentsJSON(c *compFilter, recs []*compRec) []byte {
	s.bind(c)
	var want map[string]struct{}
	if c.ids != nil {
		want = make(map[string]struct{}, len(c.ids))
		for _, id := range c.ids {
			want[id] = struct{}{}
		}
	}
	raws := make([][]byte, 0, len(recs))
	for _, r := range recs {
		if want != nil {
			if _, ok := want[r.c.ID]; !ok {
				continue
			}
		}
		if c.matches(r) {
			raws = append(raws, c.selected(r))
		}
	}
	return listJSON("Components", raws)
}

// candidates is where a listing starts: the id list looked up (O(ids)) or everything.
// Call with s.mu held.
func (s *Server) candidates(c *compFilter) []*compRec {
	if c.ids != nil {
		return lookup(s.comps, c.ids)
	}
	return s.sorted
}

// queryIn is the body of POST /State/Components/Query.
type queryIn struct {
	ComponentIDs []string `json:"ComponentIDs"`
	filterFields
}

func (s *Server) queryComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in queryIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if len(in.ComponentIDs) == 0 {
		return problem.New(http.StatusBadRequest, "Missing IDs")
	}
	return s.query(w, in.ComponentIDs, &in.filterFields)
}

func (s *Server) queryComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	f, d := filterFromQuery(r.URL.Query())
	if d != nil {
		return d
	}
	return s.query(w, []string{r.PathValue("xname")}, f)
}

// query answers the Query forms: IDs match exactly, or, with a type filter, name
// parents whose descendants of that type are returned; "all"/"s0" lift the ID
// restriction.
func (s *Server) query(w http.ResponseWriter, rawIDs []string, f *filterFields) *problem.Details {
	c, d := s.compile(f)
	if d != nil {
		return d
	}
	ids, all, d := parseIDs(rawIDs)
	if d != nil {
		return d
	}
	s.mu.RLock()
	var recs []*compRec
	switch {
	case all:
		recs = s.sorted
	case c.types.active():
		seen := map[*compRec]struct{}{}
		for _, id := range ids {
			for _, r := range s.sorted.descendants(id) {
				if _, dup := seen[r]; !dup {
					seen[r] = struct{}{}
					recs = append(recs, r)
				}
			}
		}
		slices.SortFunc(recs, func(a, b *compRec) int { return strings.Compare(a.c.ID, b.c.ID) })
	default:
		recs = lookup(s.comps, ids)
	}
	body := s.componentsJSON(c, recs)
	s.mu.RUnlock()
	writeRaw(w, http.StatusOK, body)
	return nil
}

// parseIDs normalizes xnames; "all", "all_comp", "all_svc" and "s0" mean every component.
func parseIDs(raw []string) (ids []string, all bool, d *problem.Details) {
	ids = make([]string, 0, len(raw))
	for _, id := range raw {
		switch strings.ToLower(strings.TrimSpace(id)) {
		case "all", "all_comp", "all_svc", "s0":
			all = true
			continue
		}
		n, _, err := parseXname(id)
		if err != nil {
			return nil, false, problem.New(http.StatusBadRequest, "invalid xname %q", id)
		}
		ids = append(ids, n)
	}
	return ids, all, nil
}

func (s *Server) getComponentByNID(w http.ResponseWriter, r *http.Request) *problem.Details {
	nid, err := strconv.Atoi(r.PathValue("nid"))
	if err != nil {
		return problem.New(http.StatusBadRequest, "invalid NID %q", r.PathValue("nid"))
	}
	writeRecord(s, w, s.byNID, nid, "no such NID.")
	return nil
}

// nidQueryIn is the body of POST /State/Components/ByNID/Query.
type nidQueryIn struct {
	NIDRanges []string `json:"NIDRanges"`
	filterFields
}

func (s *Server) queryComponentsByNID(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in nidQueryIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if len(in.NIDRanges) == 0 {
		return problem.New(http.StatusBadRequest, "Missing NID ranges")
	}
	var singles, starts, ends strList
	for _, nr := range in.NIDRanges {
		lo, hi, isRange := strings.Cut(nr, "-")
		switch {
		case !isRange && strings.TrimSpace(nr) != "":
			singles = append(singles, nr)
		case isRange && strings.TrimSpace(lo) != "" && strings.TrimSpace(hi) != "":
			starts, ends = append(starts, lo), append(ends, hi)
		default:
			return badParam("%q is not a valid NID range", nr)
		}
	}
	in.NID = append(singles, in.NID...)
	in.NIDStart = append(starts, in.NIDStart...)
	in.NIDEnd = append(ends, in.NIDEnd...)
	c, d := s.compile(&in.filterFields)
	if d != nil {
		return d
	}
	s.mu.RLock()
	body := s.componentsJSON(c, s.candidates(c))
	s.mu.RUnlock()
	writeRaw(w, http.StatusOK, body)
	return nil
}

func (s *Server) getComponent(w http.ResponseWriter, r *http.Request) {
	writeRecord(s, w, s.comps, pathID(r), "no such xname.")
}

func (s *Server) deleteComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	return s.deleteByXname(w, r, s.dropComp)
}

func (s *Server) deleteComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	s.mu.Lock()
	n := len(s.comps)
	for _, rec := range slices.Clone(s.sorted) {
		s.dropComp(rec.c.ID)
	}
	s.mu.Unlock()
	if n == 0 {
		return problem.New(http.StatusNotFound, "no entries to delete")
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
	return nil
}

// componentIn is a component as clients send it. Type is derived from the ID;
// Locked and ReservationDisabled belong to the /locks API and are ignored here.
type componentIn struct {
	ID                  string          `json:"ID"`
	Type                string          `json:"Type"`
	State               string          `json:"State"`
	Flag                string          `json:"Flag"`
	Enabled             *bool           `json:"Enabled"`
	SoftwareStatus      string          `json:"SoftwareStatus"`
	Role                string          `json:"Role"`
	SubRole             string          `json:"SubRole"`
	NID                 json.Number     `json:"NID"`
	Subtype             string          `json:"Subtype"`
	NetType             string          `json:"NetType"`
	Arch                string          `json:"Arch"`
	Class               string          `json:"Class"`
	ReservationDisabled *bool           `json:"ReservationDisabled"`
	Locked              *bool           `json:"Locked"`
	ExtendedInfo        json.RawMessage `json:"ExtendedInfo"`
}

// validComp is a validated component plus which optional fields the client gave.
type validComp struct {
	c                   hsmapi.Component
	roleGiven, nidGiven bool
}

// validate normalizes in and fills the defaults of a new component.
func (s *Server) validate(in componentIn) (validComp, *problem.Details) {
	bad := func(format string, args ...any) (validComp, *problem.Details) {
		return validComp{}, problem.New(http.StatusBadRequest, "couldn't validate components: "+format, args...)
	}
	id, typ, err := parseXname(in.ID)
	if err != nil {
		return bad("invalid xname %q", in.ID)
	}
	v := validComp{c: hsmapi.Component{ID: id, Type: string(typ), SoftwareStatus: in.SoftwareStatus, Subtype: in.Subtype}}
	var ok bool
	if in.State == "" {
		return bad("%s: missing State", id)
	}
	if v.c.State, ok = states.norm(in.State); !ok {
		return bad("%s: invalid State %q", id, in.State)
	}
	v.c.Flag = FlagOK
	if in.Flag != "" {
		if v.c.Flag, ok = flags.norm(in.Flag); !ok {
			return bad("%s: invalid Flag %q", id, in.Flag)
		}
	}
	v.c.Enabled = boolPtr(in.Enabled == nil || *in.Enabled)
	if in.Role != "" {
		if v.c.Role, ok = s.roles.norm(in.Role); !ok {
			return bad("%s: invalid Role %q", id, in.Role)
		}
		v.roleGiven = true
	}
	if in.SubRole != "" {
		if v.c.SubRole, ok = s.subRoles.norm(in.SubRole); !ok {
			return bad("%s: invalid SubRole %q", id, in.SubRole)
		}
	}
	if in.NID != "" {
		n, err := in.NID.Int64()
		if err != nil || n <= 0 {
			return bad("%s: invalid NID %q", id, in.NID)
		}
		v.c.NID, v.nidGiven = int(n), true
	}
	for _, f := range []struct {
		in  string
		e   *enum
		dst *string
		def string
	}{{in.NetType, netType, &v.c.NetType, "Sling"}, {in.Arch, archs, &v.c.Arch, "X86"}, {in.Class, classes, &v.c.Class, ""}} {
		*f.dst = f.def
		if f.in != "" {
			if *f.dst, ok = f.e.norm(f.in); !ok {
				return bad("%s: invalid %s %q", id, f.e.name, f.in)
			}
		}
	}
	if typ == xname.Node || typ == xname.VirtualNode {
		// As HSM's GetCompDefaults: a NodeMap first, then Compute and GetBogusNID.
		if m, ok := s.nodeDefaults(id); ok {
			if v.c.NID == 0 {
				v.c.NID = m.NID
			}
			if v.c.Role == "" {
				v.c.Role, v.c.SubRole = m.Role, m.SubRole
			}
		}
		if v.c.Role == "" {
			v.c.Role = "Compute"
		}
		if v.c.NID == 0 {
			v.c.NID = syntheticNID(id)
		}
		if v.c.Class == "" {
			v.c.Class = "River"
		}
	}
	return v, nil
}

// syntheticNID is HSM's NID for a node that neither SLS nor a NodeMap numbers
// (GetBogusNID): (cabinet+1)*16384 + chassis*2048 + slot*32 + BMC*4 + node.
func syntheticNID(id string) int {
	var nums []int
	for _, f := range strings.FieldsFunc(id, func(r rune) bool { return r < '0' || r > '9' }) {
		n, _ := strconv.Atoi(f)
		nums = append(nums, n)
	}
	if len(nums) < 5 {
		return 0
	}
	cab, ch, slot, bmc, node := nums[0], nums[1], nums[2], nums[3], nums[4]
	return (cab+1)*16384 + ch*2048 + slot*32 + bmc*4 + node
}

// upsert creates v or, if it exists, updates it as HSM does: NID and Role/SubRole
// always (when given), State, Flag, Subtype, NetType, Arch, Class only with force.
// When scn is not nil it records the notifications hms-smd sends for the change:
// State, Enabled, SoftwareStatus and Role/SubRole of a new component, State and
// Role/SubRole when they change. Call with s.mu held.
func (s *Server) upsert(v validComp, force bool, scn *scnSets) {
	old, ok := s.comps[v.c.ID]
	if !ok {
		s.putComp(&compRec{c: v.c})
		if scn != nil {
			c := &v.c
			scn.add(c.ID, SCNPayload{State: c.State})
			scn.add(c.ID, SCNPayload{Enabled: boolPtr(c.Enabled == nil || *c.Enabled)})
			if c.SoftwareStatus != "" {
				scn.add(c.ID, SCNPayload{SoftwareStatus: c.SoftwareStatus})
			}
			if c.Role != "" {
				scn.add(c.ID, SCNPayload{Role: c.Role, SubRole: c.SubRole})
			}
		}
		return
	}
	if v.nidGiven {
		s.setNID(old, v.c.NID)
	}
	if v.roleGiven {
		if scn != nil && (old.c.Role != v.c.Role || old.c.SubRole != v.c.SubRole) {
			scn.add(v.c.ID, SCNPayload{Role: v.c.Role, SubRole: v.c.SubRole})
		}
		old.c.Role, old.c.SubRole = v.c.Role, v.c.SubRole
	}
	if force {
		if scn != nil && old.c.State != v.c.State {
			scn.add(v.c.ID, SCNPayload{State: v.c.State})
		}
		old.c.State, old.c.Flag, old.c.Subtype = v.c.State, v.c.Flag, v.c.Subtype
		old.c.NetType, old.c.Arch, old.c.Class = v.c.NetType, v.c.Arch, v.c.Class
	}
	old.encode()
}

type componentsPostIn struct {
	Components   []componentIn   `json:"Components"`
	Force        bool            `json:"Force"`
	ExtendedInfo json.RawMessage `json:"ExtendedInfo"`
}

func (s *Server) postComponents(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in componentsPostIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if len(in.Components) == 0 {
		return problem.New(http.StatusBadRequest, "Missing Components")
	}
	valid := make([]validComp, 0, len(in.Components))
	for _, c := range in.Components {
		v, d := s.validate(c)
		if d != nil {
			return d
		}
		valid = append(valid, v)
	}
	scn := s.newSCNSets()
	s.mu.Lock()
	for _, v := range valid {
		s.upsert(v, in.Force, scn)
	}
	s.mu.Unlock()
	s.notifySets(scn)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type componentPutIn struct {
	Component componentIn `json:"component"`
	Force     bool        `json:"force"`
}

func (s *Server) putComponent(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, _, d := pathXname(r, "xname")
	if d != nil {
		return d
	}
	var in componentPutIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if in.Component.ID == "" {
		in.Component.ID = id
	} else if xname.Normalize(in.Component.ID) != id {
		return problem.New(http.StatusBadRequest, "ID in URL and PUT body do not match")
	}
	v, d := s.validate(in.Component)
	if d != nil {
		return d
	}
	scn := s.newSCNSets()
	s.mu.Lock()
	s.upsert(v, in.Force, scn)
	s.mu.Unlock()
	s.notifySets(scn)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchKind names a field patch: BulkStateData and .../StateData are patchState...
type patchKind int

const (
	patchState patchKind = iota
	patchFlag
	patchEnabled
	patchSoftwareStatus
	patchRole
	patchNID
)

// patchIn is the body of the Bulk* and per-component patches (HSM's CompUpdate).
// Fields not used by the chosen patch are accepted and ignored, as in HSM.
type patchIn struct {
	ComponentIDs   []string        `json:"ComponentIDs"`
	ID             string          `json:"ID"`
	State          string          `json:"State"`
	Flag           string          `json:"Flag"`
	Enabled        *bool           `json:"Enabled"`
	SoftwareStatus *string         `json:"SoftwareStatus"`
	Role           *string         `json:"Role"`
	SubRole        *string         `json:"SubRole"`
	NID            *json.Number    `json:"NID"`
	Subtype        string          `json:"Subtype"`
	NetType        string          `json:"NetType"`
	Arch           string          `json:"Arch"`
	Group          []string        `json:"Group"`
	Partition      []string        `json:"Partition"`
	UpdateType     string          `json:"UpdateType"`
	Force          bool            `json:"Force"`
	ExtendedInfo   json.RawMessage `json:"ExtendedInfo"`
}

// fieldPatch is a validated patch, applied per component by apply.
type fieldPatch struct {
	kind          patchKind
	state, flag   string
	force         bool
	enabled       bool
	swStatus      string
	role, subRole string
	nid           int
}

func (s *Server) validatePatch(kind patchKind, in *patchIn) (fieldPatch, *problem.Details) {
	p := fieldPatch{kind: kind, force: in.Force}
	bad := func(format string, args ...any) (fieldPatch, *problem.Details) {
		return fieldPatch{}, problem.New(http.StatusBadRequest, format, args...)
	}
	var ok bool
	switch kind {
	case patchState:
		if in.State == "" {
			return bad("Missing State")
		}
		if p.state, ok = states.norm(in.State); !ok {
			return bad("invalid State %q", in.State)
		}
		p.flag = FlagOK
		if in.Flag != "" {
			if p.flag, ok = flags.norm(in.Flag); !ok {
				return bad("invalid Flag %q", in.Flag)
			}
		}
		if _, ruled := allowedFrom[p.state]; !ruled && !p.force {
			return bad("operation not allowed and not forced.")
		}
	case patchFlag:
		if in.Flag == "" {
			return bad("Missing Flag")
		}
		if p.flag, ok = flags.norm(in.Flag); !ok {
			return bad("invalid Flag %q", in.Flag)
		}
	case patchEnabled:
		if in.Enabled == nil {
			return bad("Missing Enabled field")
		}
		p.enabled = *in.Enabled
	case patchSoftwareStatus:
		if in.SoftwareStatus == nil {
			return bad("Missing SoftwareStatus")
		}
		p.swStatus = *in.SoftwareStatus
	case patchRole:
		if in.Role == nil {
			return bad("Missing Role")
		}
		if p.role, ok = s.roles.norm(*in.Role); !ok {
			return bad("invalid Role %q", *in.Role)
		}
		if in.SubRole != nil && *in.SubRole != "" {
			if p.subRole, ok = s.subRoles.norm(*in.SubRole); !ok {
				return bad("invalid SubRole %q", *in.SubRole)
			}
		}
	case patchNID:
		if in.NID == nil {
			return bad("Missing NID")
		}
		n, err := in.NID.Int64()
		if err != nil || n <= 0 {
			return bad("invalid NID %q", in.NID.String())
		}
		p.nid = int(n)
	}
	return p, nil
}

// apply changes r; a state change the transition rule refuses is skipped. It reports
// whether r changed. Call with s.mu held.
func (s *Server) apply(p fieldPatch, r *compRec) bool {
	before := r.c
	switch p.kind {
	case patchState:
		if !p.force && !transitionAllowed(r.c.State, p.state) {
			return false
		}
		r.c.State, r.c.Flag = p.state, p.flag
	case patchFlag:
		r.c.Flag = p.flag
	case patchEnabled:
		r.c.Enabled = boolPtr(p.enabled)
	case patchSoftwareStatus:
		r.c.SoftwareStatus = p.swStatus
	case patchRole:
		r.c.Role, r.c.SubRole = p.role, p.subRole
	case patchNID:
		s.setNID(r, p.nid)
	}
	if r.c == before {
		return false
	}
	r.encode()
	return true
}

// scn is the notification of p having changed the components ids, as hms-smd builds
// it: the new State and Flag, Enabled, SoftwareStatus, or Role and SubRole. Flag-only
// and NID patches notify nobody (no Components).
func (p fieldPatch) scn(ids []string) SCNPayload {
	out := SCNPayload{Components: ids}
	switch p.kind {
	case patchState:
		out.State, out.Flag = p.state, p.flag
	case patchEnabled:
		out.Enabled = boolPtr(p.enabled)
	case patchSoftwareStatus:
		out.SoftwareStatus = p.swStatus
	case patchRole:
		out.Role, out.SubRole = p.role, p.subRole
	default:
		out.Components = nil
	}
	return out
}

// bulkPatch serves PATCH /State/Components/Bulk<Field>: valid xnames that are not
// components are skipped; an invalid one fails the whole request before any change.
func (s *Server) bulkPatch(kind patchKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		var in patchIn
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
		if len(in.ComponentIDs) == 0 {
			return problem.New(http.StatusBadRequest, "Missing IDs")
		}
		ids := make([]string, len(in.ComponentIDs))
		for i, raw := range in.ComponentIDs {
			id, _, err := parseXname(raw)
			if err != nil {
				return problem.New(http.StatusBadRequest, "invalid xname ID %q", raw)
			}
			ids[i] = id
		}
		p, d := s.validatePatch(kind, &in)
		if d != nil {
			return d
		}
		listening := s.scnListening()
		var changed []string
		s.mu.Lock()
		for _, id := range ids {
			if rec, ok := s.comps[id]; ok && s.apply(p, rec) && listening {
				changed = append(changed, id)
			}
		}
		s.mu.Unlock()
		s.notify(p.scn(changed))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// onePatch serves PATCH /State/Components/{xname}/<Field>.
func (s *Server) onePatch(kind patchKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		id, _, d := pathXname(r, "xname")
		if d != nil {
			return d
		}
		var in patchIn
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
		if in.ID != "" && xname.Normalize(in.ID) != id {
			return problem.New(http.StatusBadRequest, "ID in URL and PATCH body do not match")
		}
		p, d := s.validatePatch(kind, &in)
		if d != nil {
			return d
		}
		s.mu.Lock()
		rec, ok := s.comps[id]
		changed := ok && s.apply(p, rec)
		s.mu.Unlock()
		if changed && s.scnListening() {
			s.notify(p.scn([]string{id}))
		}
		if !ok {
			return problem.New(http.StatusNotFound, "no such xname.")
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type bulkNIDIn struct {
	Components   []componentIn   `json:"Components"`
	ExtendedInfo json.RawMessage `json:"ExtendedInfo"`
}

// bulkNIDPatch serves PATCH /State/Components/BulkNID: one NID per ID.
func (s *Server) bulkNIDPatch(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in bulkNIDIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if len(in.Components) == 0 {
		return problem.New(http.StatusBadRequest, "Missing Components")
	}
	type change struct {
		id  string
		nid int
	}
	changes := make([]change, 0, len(in.Components))
	for _, c := range in.Components {
		id, _, err := parseXname(c.ID)
		if err != nil {
			return problem.New(http.StatusBadRequest, "invalid xname ID %q", c.ID)
		}
		n, err := c.NID.Int64()
		if err != nil || n <= 0 {
			return problem.New(http.StatusBadRequest, "%s: invalid or missing NID %q", id, c.NID)
		}
		changes = append(changes, change{id, int(n)})
	}
	s.mu.Lock()
	for _, ch := range changes {
		if rec, ok := s.comps[ch.id]; ok {
			s.setNID(rec, ch.nid)
			rec.encode()
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
