package hsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// strList decodes a JSON string, number, boolean, or a list of those, into strings, so
// that {"enabled":"True"}, {"enabled":["True"]} and {"nid":[5]} all work, as they do
// against the real service.
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return err
		}
		out := make([]string, 0, len(raws))
		for _, r := range raws {
			s, err := scalarString(r)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		*l = out
		return nil
	}
	s, err := scalarString(b)
	if err != nil {
		return err
	}
	*l = []string{s}
	return nil
}

func scalarString(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		return string(b), nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return "", errors.New("filter values must be strings, numbers or booleans")
		}
		return n.String(), nil
	}
}

// flexBool decodes a boolean given as true, "true", "True", "1" or ["true"].
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var l strList
	if err := l.UnmarshalJSON(b); err != nil {
		return err
	}
	if len(l) == 0 {
		*f = false
		return nil
	}
	v, ok := parseBool(l[0])
	if !ok {
		return fmt.Errorf("%q is not a boolean", l[0])
	}
	*f = flexBool(v)
	return nil
}

// parseBool accepts what HSM accepts: true/t/1 and false/f/0, any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "1":
		return true, true
	case "false", "f", "0":
		return false, true
	}
	return false, false
}

// filterFields are the component filter keys of GET /State/Components, the Query
// bodies and /memberships. JSON keys match case-insensitively (Go's decoder does that,
// as it does for the real service).
type filterFields struct {
	ID                  strList  `json:"id"`
	Type                strList  `json:"type"`
	State               strList  `json:"state"`
	Flag                strList  `json:"flag"`
	Enabled             strList  `json:"enabled"`
	SoftwareStatus      strList  `json:"softwarestatus"`
	Role                strList  `json:"role"`
	SubRole             strList  `json:"subrole"`
	Subtype             strList  `json:"subtype"`
	Arch                strList  `json:"arch"`
	Class               strList  `json:"class"`
	NID                 strList  `json:"nid"`
	NIDStart            strList  `json:"nid_start"`
	NIDEnd              strList  `json:"nid_end"`
	Group               strList  `json:"group"`
	Partition           strList  `json:"partition"`
	Locked              strList  `json:"locked"`
	ReservationDisabled strList  `json:"reservation_disabled"`
	StateOnly           flexBool `json:"stateonly"`
	FlagOnly            flexBool `json:"flagonly"`
	RoleOnly            flexBool `json:"roleonly"`
	NIDOnly             flexBool `json:"nidonly"`

	reserved strList // locks API only
}

// list returns the list field for a lowercased query key.
func (f *filterFields) list(key string) *strList {
	switch key {
	case "id":
		return &f.ID
	case "type":
		return &f.Type
	case "state":
		return &f.State
	case "flag":
		return &f.Flag
	case "enabled":
		return &f.Enabled
	case "softwarestatus":
		return &f.SoftwareStatus
	case "role":
		return &f.Role
	case "subrole":
		return &f.SubRole
	case "subtype":
		return &f.Subtype
	case "arch":
		return &f.Arch
	case "class":
		return &f.Class
	case "nid":
		return &f.NID
	case "nid_start":
		return &f.NIDStart
	case "nid_end":
		return &f.NIDEnd
	case "group":
		return &f.Group
	case "partition":
		return &f.Partition
	case "locked":
		return &f.Locked
	case "reservation_disabled":
		return &f.ReservationDisabled
	}
	return nil
}

func (f *filterFields) flag(key string) *flexBool {
	switch key {
	case "stateonly":
		return &f.StateOnly
	case "flagonly":
		return &f.FlagOnly
	case "roleonly":
		return &f.RoleOnly
	case "nidonly":
		return &f.NIDOnly
	}
	return nil
}

// filterFromQuery reads component filter keys from a query string. Keys are matched
// case-insensitively; unknown keys are ignored, as HSM ignores them.
func filterFromQuery(q url.Values) (*filterFields, *problem.Details) {
	f := &filterFields{}
	for key, vals := range q {
		k := strings.ToLower(key)
		if l := f.list(k); l != nil {
			*l = append(*l, vals...)
			continue
		}
		if b := f.flag(k); b != nil {
			v, ok := parseBool(vals[0])
			if !ok {
				return nil, badParam("%s must be a boolean, not %q", key, vals[0])
			}
			*b = flexBool(v)
		}
	}
	return f, nil
}

func badParam(format string, args ...any) *problem.Details {
	return problem.New(http.StatusBadRequest, "bad query param: "+format, args...)
}

// match is an OR over positive values and an AND over negated ("!v") ones.
type match[T comparable] struct{ pos, neg map[T]bool }

func (m *match[T]) add(v T, negated bool) {
	set := &m.pos
	if negated {
		set = &m.neg
	}
	if *set == nil {
		*set = map[T]bool{}
	}
	(*set)[v] = true
}

func (m match[T]) active() bool { return len(m.pos)+len(m.neg) > 0 }

func (m match[T]) ok(v T) bool {
	if m.neg[v] {
		return false
	}
	return len(m.pos) == 0 || m.pos[v]
}

type nidRange struct{ lo, hi int }

// fieldSel selects the fields a component list shows (stateonly, flagonly...).
type fieldSel int

const (
	fieldsAll fieldSel = iota
	fieldsState
	fieldsFlag
	fieldsRole
	fieldsNID
)

// compFilter is a validated, normalized component filter.
type compFilter struct {
	ids                                                 []string // exact IDs; nil means any
	types, states, flags, roles, subRoles, archs, klass match[string]
	swStatus, subtypes                                  match[string]
	enabled, locked, resDisabled, reserved              match[bool]
	nids                                                match[int]
	ranges                                              []nidRange
	groups, parts                                       []string // labels / names, "NULL" = in none
	fields                                              fieldSel

	// Bound under the store lock by bind.
	groupSets  []map[string]struct{}
	inAnyGroup map[string]struct{}
	compPart   map[string]string
	now        time.Time
}

var (
	groupLabelRe = regexp.MustCompile(`^[-a-z0-9:._]+$`)
)

// normGroupField lowercases and validates a group label, exclusive group or tag.
func normGroupField(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, groupLabelRe.MatchString(s)
}

// normPartition lowercases and validates a partition name (pN or pN.M).
func normPartition(s string) (string, bool) {
	n := xname.Normalize(s)
	return n, xname.TypeOf(n) == xname.Partition
}

// compile validates and normalizes f.
func (s *Server) compile(f *filterFields) (*compFilter, *problem.Details) {
	c := &compFilter{}
	if len(f.ID) > 0 { // nil ids: any
		var d *problem.Details
		if c.ids, d = normIDs(f.ID); d != nil {
			return nil, d
		}
	}
	enums := []struct {
		vals strList
		e    *enum
		m    *match[string]
	}{
		{f.Type, hmsType, &c.types}, {f.State, states, &c.states}, {f.Flag, flags, &c.flags},
		{f.Role, s.roles, &c.roles}, {f.SubRole, s.subRoles, &c.subRoles},
		{f.Arch, archs, &c.archs}, {f.Class, classes, &c.klass},
	}
	for _, en := range enums {
		for _, v := range en.vals {
			v, neg := strings.CutPrefix(strings.TrimSpace(v), "!")
			if v == "" {
				continue
			}
			canon, ok := en.e.norm(v)
			if !ok {
				return nil, badParam("%q is not a valid HMS %s", v, en.e.name)
			}
			en.m.add(canon, neg)
		}
	}
	for _, p := range []struct {
		vals strList
		m    *match[string]
	}{{f.SoftwareStatus, &c.swStatus}, {f.Subtype, &c.subtypes}} {
		for _, v := range p.vals {
			v, neg := strings.CutPrefix(v, "!")
			p.m.add(v, neg)
		}
	}
	for _, p := range []struct {
		name string
		vals strList
		m    *match[bool]
	}{{"enabled", f.Enabled, &c.enabled}, {"locked", f.Locked, &c.locked},
		{"reservation_disabled", f.ReservationDisabled, &c.resDisabled}, {"reserved", f.reserved, &c.reserved}} {
		for _, v := range p.vals {
			v, neg := strings.CutPrefix(strings.TrimSpace(v), "!")
			b, ok := parseBool(v)
			if !ok {
				return nil, badParam("%s must be a boolean, not %q", p.name, v)
			}
			p.m.add(b, neg)
		}
	}
	for _, v := range f.NID {
		v, neg := strings.CutPrefix(strings.TrimSpace(v), "!")
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, badParam("nid %q is not a number", v)
		}
		c.nids.add(n, neg)
	}
	for i := 0; i < max(len(f.NIDStart), len(f.NIDEnd)); i++ {
		r := nidRange{math.MinInt, math.MaxInt}
		for _, b := range []struct {
			vals strList
			dst  *int
		}{{f.NIDStart, &r.lo}, {f.NIDEnd, &r.hi}} {
			if i < len(b.vals) {
				n, err := strconv.Atoi(strings.TrimSpace(b.vals[i]))
				if err != nil {
					return nil, badParam("nid range bound %q is not a number", b.vals[i])
				}
				*b.dst = n
			}
		}
		c.ranges = append(c.ranges, r)
	}
	for _, g := range f.Group {
		if g == "NULL" {
			c.groups = append(c.groups, g)
			continue
		}
		label, ok := normGroupField(g)
		if !ok {
			return nil, badParam("invalid group label %q", g)
		}
		c.groups = append(c.groups, label)
	}
	for _, p := range f.Partition {
		if p == "NULL" {
			c.parts = append(c.parts, p)
			continue
		}
		name, ok := normPartition(p)
		if !ok {
			return nil, badParam("invalid partition name %q", p)
		}
		c.parts = append(c.parts, name)
	}
	switch {
	case bool(f.StateOnly):
		c.fields = fieldsState
	case bool(f.FlagOnly):
		c.fields = fieldsFlag
	case bool(f.RoleOnly):
		c.fields = fieldsRole
	case bool(f.NIDOnly):
		c.fields = fieldsNID
	}
	return c, nil
}

// bind resolves group and partition names against the store. Call with s.mu held.
func (s *Server) bind(c *compFilter) {
	c.now = s.now()
	c.compPart = s.compPart
	c.groupSets = nil
	for _, label := range c.groups {
		if label == "NULL" {
			c.inAnyGroup = map[string]struct{}{}
			for _, g := range s.groups {
				for id := range g.members {
					c.inAnyGroup[id] = struct{}{}
				}
			}
			continue
		}
		if g, ok := s.groups[label]; ok {
			c.groupSets = append(c.groupSets, g.members)
		}
	}
}

// matches reports whether r passes every filter except the ID list. Call after bind,
// with s.mu held.
func (c *compFilter) matches(r *compRec) bool {
	x := &r.c
	if c.types.active() && !c.types.ok(x.Type) ||
		c.states.active() && !c.states.ok(x.State) ||
		c.flags.active() && !c.flags.ok(x.Flag) ||
		c.roles.active() && !c.roles.ok(x.Role) ||
		c.subRoles.active() && !c.subRoles.ok(x.SubRole) ||
		c.archs.active() && !c.archs.ok(x.Arch) ||
		c.klass.active() && !c.klass.ok(x.Class) ||
		c.swStatus.active() && !c.swStatus.ok(x.SoftwareStatus) ||
		c.subtypes.active() && !c.subtypes.ok(x.Subtype) ||
		c.enabled.active() && !c.enabled.ok(x.IsEnabled()) ||
		c.locked.active() && !c.locked.ok(x.Locked) ||
		c.resDisabled.active() && !c.resDisabled.ok(x.ReservationDisabled) ||
		c.reserved.active() && !c.reserved.ok(r.activeRes(c.now) != nil) {
		return false
	}
	if c.nids.active() || len(c.ranges) > 0 {
		if x.NID == 0 || c.nids.neg[x.NID] {
			return false
		}
		in := len(c.nids.pos) == 0 && len(c.ranges) == 0 || c.nids.pos[x.NID]
		for _, rg := range c.ranges {
			in = in || x.NID >= rg.lo && x.NID <= rg.hi
		}
		if !in {
			return false
		}
	}
	if len(c.groups) > 0 {
		in := false
		for _, set := range c.groupSets {
			if _, ok := set[x.ID]; ok {
				in = true
				break
			}
		}
		if !in && c.inAnyGroup != nil {
			_, any := c.inAnyGroup[x.ID]
			in = !any
		}
		if !in {
			return false
		}
	}
	if len(c.parts) > 0 {
		p, has := c.compPart[x.ID]
		in := false
		for _, want := range c.parts {
			in = in || want == "NULL" && !has || has && want == p
		}
		if !in {
			return false
		}
	}
	return true
}

// selected returns r's JSON as the filter's field selection wants it.
func (c *compFilter) selected(r *compRec) []byte {
	if c.fields == fieldsAll {
		return r.raw
	}
	x := &r.c
	var v hsmapi.Component
	switch c.fields {
	case fieldsState:
		v = hsmapi.Component{ID: x.ID, Type: x.Type, State: x.State, Flag: x.Flag}
	case fieldsFlag:
		v = hsmapi.Component{ID: x.ID, Type: x.Type, Flag: x.Flag}
	case fieldsRole:
		v = hsmapi.Component{ID: x.ID, Type: x.Type, Role: x.Role, SubRole: x.SubRole}
	case fieldsNID:
		v = hsmapi.Component{ID: x.ID, Type: x.Type, NID: x.NID}
	}
	raw, _ := json.Marshal(&v)
	return raw
}
