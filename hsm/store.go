package hsm

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/hsmapi"
)

// The store: every record lives in a map keyed by ID and, where lists are large, in a
// slice kept sorted by ID, so that a full listing is a walk and a lookup is a map hit.
// Records of the big collections keep their JSON encoding (raw), rebuilt on every
// change, so that listing 10,000 components is a byte copy. All of it is guarded by
// Server.mu.

// compRec is one component with its lock subsystem state.
type compRec struct {
	c   hsmapi.Component
	raw []byte
	res *reservation
}

func (r *compRec) id() string { return r.c.ID }

// encode refreshes raw; call after every change to r.c.
func (r *compRec) encode() {
	r.raw, _ = json.Marshal(&r.c)
}

// reservation is an admin (expires zero: never) or service reservation.
type reservation struct {
	created, expires time.Time
	deputyKey        string
	reservationKey   string
}

// activeRes returns r's reservation unless it has expired by now.
func (r *compRec) activeRes(now time.Time) *reservation {
	if r.res == nil || !r.res.expires.IsZero() && !now.Before(r.res.expires) {
		return nil
	}
	return r.res
}

// groupRec is a group or a partition: its record (members sorted) and a member set.
type groupRec struct {
	label, description, exclusive string
	tags                          []string
	ids                           []string
	members                       map[string]struct{}
}

func newGroupRec(label, description, exclusive string, tags, ids []string) *groupRec {
	g := &groupRec{label: label, description: description, exclusive: exclusive, tags: tags,
		members: make(map[string]struct{}, len(ids))}
	for _, id := range ids {
		g.members[id] = struct{}{}
	}
	g.ids = make([]string, 0, len(g.members))
	for id := range g.members {
		g.ids = append(g.ids, id)
	}
	sort.Strings(g.ids)
	return g
}

func (g *groupRec) has(id string) bool { _, ok := g.members[id]; return ok }

func (g *groupRec) add(id string) {
	g.members[id] = struct{}{}
	i, _ := slices.BinarySearch(g.ids, id)
	g.ids = slices.Insert(g.ids, i, id)
}

func (g *groupRec) remove(id string) bool {
	if !g.has(id) {
		return false
	}
	delete(g.members, id)
	if i, ok := slices.BinarySearch(g.ids, id); ok {
		g.ids = slices.Delete(g.ids, i, i+1)
	}
	return true
}

// memberIDs returns the members, restricted to partition part when part is set
// ("NULL": members in no partition).
func (g *groupRec) memberIDs(part string, compPart map[string]string) []string {
	if part == "" {
		return slices.Clone(g.ids)
	}
	out := []string{}
	for _, id := range g.ids {
		p, has := compPart[id]
		if part == "NULL" && !has || has && p == part {
			out = append(out, id)
		}
	}
	return out
}

func (g *groupRec) group(part string, compPart map[string]string) hsmapi.Group {
	return hsmapi.Group{Label: g.label, Description: g.description, ExclusiveGroup: g.exclusive,
		Tags: slices.Clone(g.tags), Members: hsmapi.Members{IDs: g.memberIDs(part, compPart)}}
}

func (g *groupRec) partition() hsmapi.Partition {
	return hsmapi.Partition{Name: g.label, Description: g.description, Tags: slices.Clone(g.tags),
		Members: hsmapi.Members{IDs: slices.Clone(g.ids)}}
}

// cepRec is a ComponentEndpoint. Unlike components, which BOS reads on every look, it is
// encoded when asked for: keeping its JSON cost 1.4 KB per node (issue 14).
type cepRec struct {
	ce hsmapi.ComponentEndpoint
}

func (r *cepRec) id() string { return r.ce.ID }

// ethRec is an EthernetInterface, encoded when asked for, as cepRec.
type ethRec struct {
	e hsmapi.EthernetInterface
}

func (r *ethRec) id() string { return r.e.ID }

// sorted is a slice of records ordered by ID.
type sorted[T interface{ id() string }] []T

func (s sorted[T]) search(id string) (int, bool) {
	return sort.Find(len(s), func(i int) int { return strings.Compare(id, s[i].id()) })
}

func (s *sorted[T]) insert(r T) {
	i, found := s.search(r.id())
	if found {
		(*s)[i] = r
		return
	}
	*s = slices.Insert(*s, i, r)
}

func (s *sorted[T]) remove(id string) {
	if i, found := s.search(id); found {
		*s = slices.Delete(*s, i, i+1)
	}
}

// descendants returns the records whose ID is parent or starts with parent followed
// by a letter (x1000c0s1 covers x1000c0s1b0n0 but not x1000c0s10).
func (s sorted[T]) descendants(parent string) []T {
	i, _ := s.search(parent)
	var out []T
	for ; i < len(s); i++ {
		id := s[i].id()
		if !strings.HasPrefix(id, parent) {
			break
		}
		if len(id) == len(parent) || id[len(parent)] >= 'a' && id[len(parent)] <= 'z' {
			out = append(out, s[i])
		}
	}
	return out
}

// lookup returns the records of m named by ids, deduplicated and sorted by ID. Call with
// s.mu held.
func lookup[T interface {
	comparable
	id() string
}](m map[string]T, ids []string) []T {
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		if r, ok := m[id]; ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(a.id(), b.id()) })
	return slices.Compact(out)
}

// listJSON renders {"<key>":[raw,raw,...]} from pre-encoded records, in one
// allocation of the exact size.
func listJSON(key string, raws [][]byte) []byte {
	return joinJSON(`{"`+key+`":[`, raws, "]}\n")
}

// arrayJSON renders [raw,raw,...].
func arrayJSON(raws [][]byte) []byte { return joinJSON("[", raws, "]\n") }

func joinJSON(head string, raws [][]byte, tail string) []byte {
	n := len(head) + len(tail) + len(raws)
	for _, r := range raws {
		n += len(r)
	}
	b := make([]byte, 0, n)
	b = append(b, head...)
	for i, r := range raws {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, tail...)
}
