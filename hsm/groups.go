package hsm

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Groups and partitions share one implementation: both are named member sets. They
// differ in naming (labels vs pN[.M]), in exclusivity (a component may be in many
// groups but one group per exclusiveGroup, and in one partition) and in the record.

type setKind struct {
	part bool
	noun string // "group" or "partition"
	key  string // path value holding the name
}

var (
	groupKind = setKind{part: false, noun: "group", key: "label"}
	partKind  = setKind{part: true, noun: "partition", key: "name"}
)

func (k setKind) norm(name string) (string, bool) {
	if k.part {
		return normPartition(name)
	}
	return normGroupField(name)
}

func (k setKind) invalidName() *problem.Details {
	if k.part {
		return problem.New(http.StatusBadRequest, "Invalid partition name.")
	}
	return problem.New(http.StatusBadRequest, "Invalid group label.")
}

func (k setKind) uri(name string) string {
	if k.part {
		return hsmapi.BasePath + "/partitions/" + name
	}
	return hsmapi.BasePath + "/groups/" + name
}

func (s *Server) sets(k setKind) map[string]*groupRec {
	if k.part {
		return s.partitions
	}
	return s.groups
}

func (g *groupRec) render(k setKind, part string, compPart map[string]string) any {
	if k.part {
		return g.partition()
	}
	return g.group(part, compPart)
}

// insertGroup and insertPartition validate and create a set; used by POST and seeding.
// Call with s.mu held.
func (s *Server) insertGroup(g *hsmapi.Group) *problem.Details {
	return s.insertSet(groupKind, g.Label, g.Description, g.ExclusiveGroup, g.Tags, g.Members.IDs)
}

func (s *Server) insertPartition(p *hsmapi.Partition) *problem.Details {
	return s.insertSet(partKind, p.Name, p.Description, "", p.Tags, p.Members.IDs)
}

func (s *Server) insertSet(k setKind, name, description, exclusive string, tags, members []string) *problem.Details {
	bad := func(format string, args ...any) *problem.Details {
		return problem.New(http.StatusBadRequest, "couldn't validate "+k.noun+": "+format, args...)
	}
	name, ok := k.norm(name)
	if !ok {
		return bad("invalid %s name %q", k.noun, name)
	}
	if exclusive != "" {
		if exclusive, ok = normGroupField(exclusive); !ok {
			return bad("invalid exclusiveGroup %q", exclusive)
		}
	}
	tags, d := normTags(tags)
	if d != nil {
		return d
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		id, _, err := parseXname(m)
		if err != nil {
			return bad("invalid xname %q", m)
		}
		if _, ok := s.comps[id]; !ok {
			return bad("linked component does not exist: %s", id)
		}
		ids = append(ids, id)
	}
	if _, dup := s.sets(k)[name]; dup {
		return problem.New(http.StatusConflict, "operation would conflict with an existing %s that has the same name.", k.noun)
	}
	for _, id := range ids {
		if d := s.exclusiveConflict(k, exclusive, "", id); d != nil {
			return d
		}
	}
	g := newGroupRec(name, description, exclusive, tags, ids)
	s.sets(k)[name] = g
	if k.part {
		for _, id := range g.ids {
			s.compPart[id] = name
		}
	}
	return nil
}

// exclusiveConflict reports a 409 if adding id to set self would put it in two
// partitions, or in two groups of the same exclusiveGroup. Call with s.mu held.
func (s *Server) exclusiveConflict(k setKind, exclusive, self, id string) *problem.Details {
	if k.part {
		if p, ok := s.compPart[id]; ok && p != self {
			return problem.New(http.StatusConflict, "operation would conflict with an existing member in another partition.")
		}
		return nil
	}
	if exclusive == "" {
		return nil
	}
	for label, g := range s.groups {
		if label != self && g.exclusive == exclusive && g.has(id) {
			return problem.New(http.StatusConflict, "operation would conflict with an existing member in another exclusive group.")
		}
	}
	return nil
}

func normTags(tags []string) ([]string, *problem.Details) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		n, ok := normGroupField(t)
		if !ok {
			return nil, problem.New(http.StatusBadRequest, "Invalid tag.")
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// setQuery reads the query of the set listing and single GETs: names to keep, tags to
// match (any), and a partition restricting the members shown.
type setQuery struct {
	names, tags []string
	part        string
}

func parseSetQuery(k setKind, r *http.Request) (setQuery, *problem.Details) {
	var q setQuery
	for key, vals := range r.URL.Query() {
		switch strings.ToLower(key) {
		case "group":
			if k.part {
				continue // not a partition filter: ignored, as HSM does
			}
			for _, v := range vals {
				n, ok := normGroupField(v)
				if !ok {
					return q, problem.New(http.StatusBadRequest, "Invalid group label.")
				}
				q.names = append(q.names, n)
			}
		case "tag":
			for _, v := range vals {
				n, ok := normGroupField(v)
				if !ok {
					return q, problem.New(http.StatusBadRequest, "Invalid tag.")
				}
				q.tags = append(q.tags, n)
			}
		case "partition":
			for i, v := range vals {
				if v == "NULL" && !k.part {
					q.part = v
					continue
				}
				n, ok := normPartition(v)
				if !ok {
					return q, problem.New(http.StatusBadRequest, "Invalid partition name.")
				}
				if k.part {
					q.names = append(q.names, n)
				} else if i == 0 {
					q.part = n
				}
			}
		}
	}
	return q, nil
}

// listSets serves GET /groups and GET /partitions: a JSON array sorted by name.
func (s *Server) listSets(k setKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		q, d := parseSetQuery(k, r)
		if d != nil {
			return d
		}
		s.mu.RLock()
		names := sortedKeys(s.sets(k))
		out := make([]any, 0, len(names))
		for _, name := range names {
			g := s.sets(k)[name]
			if len(q.names) > 0 && !slices.Contains(q.names, name) {
				continue
			}
			if len(q.tags) > 0 && !slices.ContainsFunc(g.tags, func(t string) bool { return slices.Contains(q.tags, t) }) {
				continue
			}
			out = append(out, g.render(k, q.part, s.compPart))
		}
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// setIn is the body of POST /groups and POST /partitions (both shapes in one).
type setIn struct {
	Label          string         `json:"label"`
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	ExclusiveGroup string         `json:"exclusiveGroup"`
	Tags           []string       `json:"tags"`
	Members        hsmapi.Members `json:"members"`
}

func (s *Server) createSet(k setKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		var in setIn
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
		name := in.Label
		if k.part {
			if in.Label != "" || in.ExclusiveGroup != "" {
				return problem.New(http.StatusBadRequest, "a partition has a name, not a label or exclusiveGroup")
			}
			name = in.Name
		} else if in.Name != "" {
			return problem.New(http.StatusBadRequest, "a group has a label, not a name")
		}
		s.mu.Lock()
		d := s.insertSet(k, name, in.Description, in.ExclusiveGroup, in.Tags, in.Members.IDs)
		s.mu.Unlock()
		if d != nil {
			return d
		}
		n, _ := k.norm(name)
		writeCreated(w, k.uri(n))
		return nil
	})
}

// setNames serves GET /groups/labels and GET /partitions/names.
func (s *Server) setNames(k setKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.RLock()
		names := sortedKeys(s.sets(k))
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, names)
	}
}

// pathSet reads the group label or partition name of the path. As in HSM, both are
// checked as group labels only: a partition path that is a valid label but not pN[.M]
// names no partition (404), it is not a bad request.
func pathSet(k setKind, r *http.Request) (string, *problem.Details) {
	name, ok := normGroupField(r.PathValue(k.key))
	if !ok {
		return "", k.invalidName()
	}
	return name, nil
}

func noSuch(k setKind, name string) *problem.Details {
	if k.part {
		return problem.New(http.StatusNotFound, "No such partition: %s", name)
	}
	return problem.New(http.StatusNotFound, "No such group: %s", name)
}

func (s *Server) getSet(k setKind, membersOnly bool) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		name, d := pathSet(k, r)
		if d != nil {
			return d
		}
		q, d := parseSetQuery(k, r)
		if d == nil && (len(q.names) > 0 || len(q.tags) > 0) {
			d = badParam("only partition may be given here")
		}
		if d != nil {
			return d
		}
		s.mu.RLock()
		g, ok := s.sets(k)[name]
		var out any
		if ok && membersOnly {
			out = hsmapi.Members{IDs: g.memberIDs(q.part, s.compPart)}
		} else if ok {
			out = g.render(k, q.part, s.compPart)
		}
		s.mu.RUnlock()
		if !ok {
			return noSuch(k, name)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

type setPatchIn struct {
	Description *string   `json:"description"`
	Tags        *[]string `json:"tags"`
}

func (s *Server) patchSet(k setKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		name, d := pathSet(k, r)
		if d != nil {
			return d
		}
		var in setPatchIn
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
		if in.Description == nil && in.Tags == nil {
			return problem.New(http.StatusBadRequest, "Request must have at least one patch field.")
		}
		var tags []string
		if in.Tags != nil {
			if tags, d = normTags(*in.Tags); d != nil {
				return d
			}
		}
		s.mu.Lock()
		g, ok := s.sets(k)[name]
		if ok {
			if in.Description != nil {
				g.description = *in.Description
			}
			if in.Tags != nil {
				g.tags = tags
			}
		}
		s.mu.Unlock()
		if !ok {
			return problem.New(http.StatusNotFound, "no such %s.", k.noun)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (s *Server) deleteSet(k setKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		name, d := pathSet(k, r)
		if d != nil {
			return d
		}
		s.mu.Lock()
		g, ok := s.sets(k)[name]
		if ok {
			delete(s.sets(k), name)
			if k.part {
				for _, id := range g.ids {
					delete(s.compPart, id)
				}
			}
		}
		s.mu.Unlock()
		if !ok {
			return problem.New(http.StatusNotFound, "no such %s.", k.noun)
		}
		writeMessage(w, http.StatusOK, "deleted 1 entry")
		return nil
	})
}

func (s *Server) addMember(k setKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		name, d := pathSet(k, r)
		if d != nil {
			return d
		}
		var in hsmapi.MemberID
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
		id, _, err := parseXname(in.ID)
		if err != nil {
			return problem.New(http.StatusBadRequest, "invalid xname ID %q", in.ID)
		}
		s.mu.Lock()
		d = s.addMemberLocked(k, name, id)
		s.mu.Unlock()
		if d != nil {
			return d
		}
		writeCreated(w, k.uri(name)+"/members/"+id)
		return nil
	})
}

func (s *Server) addMemberLocked(k setKind, name, id string) *problem.Details {
	g, ok := s.sets(k)[name]
	if !ok {
		return noSuch(k, name)
	}
	if _, ok := s.comps[id]; !ok {
		return problem.New(http.StatusBadRequest, "linked component does not exist: %s", id)
	}
	if g.has(id) {
		return problem.New(http.StatusConflict, "operation would conflict with an existing member in the same %s.", k.noun)
	}
	if d := s.exclusiveConflict(k, g.exclusive, name, id); d != nil {
		return d
	}
	g.add(id)
	if k.part {
		s.compPart[id] = name
	}
	return nil
}

// putGroupMembers serves PUT /groups/{label}/members (OpenCHAMI's smd; not in
// hms-smd 2.45): the body {"ids":[...]} replaces the member list. The whole list is
// checked first (invalid xname 400, unknown component 400, a member of another group
// of the same exclusiveGroup 409), so a refused PUT changes nothing. The reply is the
// new member list, as GET .../members answers it.
func (s *Server) putGroupMembers(w http.ResponseWriter, r *http.Request) *problem.Details {
	name, d := pathSet(groupKind, r)
	if d != nil {
		return d
	}
	var in hsmapi.Members
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	ids := make([]string, 0, len(in.IDs))
	for _, raw := range in.IDs {
		id, _, err := parseXname(raw)
		if err != nil {
			return problem.New(http.StatusBadRequest, "invalid xname ID %q", raw)
		}
		ids = append(ids, id)
	}
	s.mu.Lock()
	g, ok := s.groups[name]
	switch {
	case !ok:
		d = noSuch(groupKind, name)
	default:
		for _, id := range ids {
			if _, known := s.comps[id]; !known {
				d = problem.New(http.StatusBadRequest, "linked component does not exist: %s", id)
			} else {
				d = s.exclusiveConflict(groupKind, g.exclusive, name, id)
			}
			if d != nil {
				break
			}
		}
	}
	var out hsmapi.Members
	if d == nil {
		ng := newGroupRec(g.label, g.description, g.exclusive, g.tags, ids)
		s.groups[name] = ng
		out = hsmapi.Members{IDs: slices.Clone(ng.ids)}
	}
	s.mu.Unlock()
	if d != nil {
		return d
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) removeMember(k setKind) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		name, d := pathSet(k, r)
		if d != nil {
			return d
		}
		id, _, d := pathXname(r, "xname")
		if d != nil {
			return d
		}
		s.mu.Lock()
		g, ok := s.sets(k)[name]
		removed := ok && g.remove(id)
		if removed && k.part {
			delete(s.compPart, id)
		}
		s.mu.Unlock()
		switch {
		case !ok:
			problem.WriteDetails(w, noSuch(k, name))
		case !removed:
			problem.Write(w, http.StatusNotFound, "%s has no such member.", k.noun)
		default:
			writeMessage(w, http.StatusOK, "deleted 1 entry")
		}
		return nil
	})
}

// membershipsOf builds the Membership of every component in recs that passes c.
// Call with s.mu held.
func (s *Server) membershipsOf(recs []*compRec, c *compFilter) []hsmapi.Membership {
	labels := map[string][]string{}
	for _, label := range sortedKeys(s.groups) {
		for _, id := range s.groups[label].ids {
			labels[id] = append(labels[id], label)
		}
	}
	out := []hsmapi.Membership{}
	for _, r := range recs {
		if c != nil && !c.matches(r) {
			continue
		}
		m := hsmapi.Membership{ID: r.c.ID, GroupLabels: labels[r.c.ID], PartitionName: s.compPart[r.c.ID]}
		if m.GroupLabels == nil {
			m.GroupLabels = []string{}
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) getMemberships(w http.ResponseWriter, r *http.Request) *problem.Details {
	f, d := filterFromQuery(r.URL.Query())
	if d != nil {
		return d
	}
	c, d := s.compile(f)
	if d != nil {
		return d
	}
	s.mu.RLock()
	s.bind(c)
	out := s.membershipsOf(s.candidates(c), c)
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getMembership(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, _, d := pathXname(r, "xname")
	if d != nil {
		return d
	}
	s.mu.RLock()
	rec, ok := s.comps[id]
	var out []hsmapi.Membership
	if ok {
		out = s.membershipsOf([]*compRec{rec}, nil)
	}
	s.mu.RUnlock()
	if !ok {
		return problem.New(http.StatusNotFound, "No such xname: %s", id)
	}
	writeJSON(w, http.StatusOK, out[0])
	return nil
}
