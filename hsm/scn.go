package hsm

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cray-bos/bos/internal/problem"
)

// State change notifications (SCNs): /Subscriptions/SCN, as hms-smd serves it. A
// subscription names a URL and the triggers it wants (States, Roles, SubRoles,
// SoftwareStatus values, Enabled); when a request or a Redfish event changes
// components, HSM POSTs one SCNPayload per change set to every URL subscribed to
// its trigger. Delivery lives in scn_delivery.go.

// SCNPostSubscription is the body of POST /Subscriptions/SCN and PUT .../{id}.
type SCNPostSubscription struct {
	Subscriber     string   `json:"Subscriber"`
	Enabled        *bool    `json:"Enabled,omitempty"`
	Roles          []string `json:"Roles,omitempty"`
	SubRoles       []string `json:"SubRoles,omitempty"`
	SoftwareStatus []string `json:"SoftwareStatus,omitempty"`
	States         []string `json:"States,omitempty"`
	Url            string   `json:"Url"` // hms-smd's field name and spelling
}

// SCNSubscription is a stored subscription.
type SCNSubscription struct {
	ID int64 `json:"ID"`
	SCNPostSubscription
}

// SCNPatchSubscription is the body of PATCH /Subscriptions/SCN/{id}.
type SCNPatchSubscription struct {
	Op             string   `json:"Op"`
	Enabled        *bool    `json:"Enabled,omitempty"`
	Roles          []string `json:"Roles,omitempty"`
	SubRoles       []string `json:"SubRoles,omitempty"`
	SoftwareStatus []string `json:"SoftwareStatus,omitempty"`
	States         []string `json:"States,omitempty"`
}

// SCNSubscriptionArray is the reply of GET /Subscriptions/SCN.
type SCNSubscriptionArray struct {
	SubscriptionList []SCNSubscription `json:"SubscriptionList"`
}

// SCNPayload is what HSM POSTs to subscribers: the components of one change set
// and the value they changed to.
type SCNPayload struct {
	Components     []string `json:"Components"`
	Enabled        *bool    `json:"Enabled,omitempty"`
	Flag           string   `json:"Flag,omitempty"`
	Role           string   `json:"Role,omitempty"`
	SubRole        string   `json:"SubRole,omitempty"`
	SoftwareStatus string   `json:"SoftwareStatus,omitempty"`
	State          string   `json:"State,omitempty"`
}

// Trigger kinds, as hms-smd's SCNMAP_*: a payload's trigger is its State, else Role,
// else SubRole, else SoftwareStatus, else Enabled.
const (
	trigEnabled = iota
	trigRole
	trigSubRole
	trigSWStatus
	trigState
	trigKinds
)

// scnIndex maps each trigger kind and lower-cased value to the subscribed URLs, each
// once. It is immutable: changes build a new one.
type scnIndex [trigKinds]map[string][]string

// scnSubs holds the subscriptions. index is nil while there are none, so that a
// component change costs one atomic load when nobody listens.
type scnSubs struct {
	mu     sync.Mutex
	nextID int64
	byID   map[int64]*SCNSubscription
	index  atomic.Pointer[scnIndex]
}

// rebuild recomputes the index from byID. Call with mu held.
func (c *scnSubs) rebuild() {
	if len(c.byID) == 0 {
		c.index.Store(nil)
		return
	}
	var idx scnIndex
	add := func(kind int, value, url string) {
		if idx[kind] == nil {
			idx[kind] = map[string][]string{}
		}
		key := strings.ToLower(value)
		if !slices.Contains(idx[kind][key], url) {
			idx[kind][key] = append(idx[kind][key], url)
		}
	}
	for _, id := range slices.Sorted(mapKeys(c.byID)) {
		sub := c.byID[id]
		if sub.Enabled != nil && *sub.Enabled {
			add(trigEnabled, "enabled", sub.Url)
		}
		for kind, values := range map[int][]string{trigRole: sub.Roles, trigSubRole: sub.SubRoles,
			trigSWStatus: sub.SoftwareStatus, trigState: sub.States} {
			for _, v := range values {
				add(kind, v, sub.Url)
			}
		}
	}
	c.index.Store(&idx)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// urlsFor returns the URLs subscribed to p's trigger.
func (idx *scnIndex) urlsFor(p *SCNPayload) []string {
	kind, value := trigState, p.State
	switch {
	case p.State != "":
	case p.Role != "":
		kind, value = trigRole, p.Role
	case p.SubRole != "":
		kind, value = trigSubRole, p.SubRole
	case p.SoftwareStatus != "":
		kind, value = trigSWStatus, p.SoftwareStatus
	case p.Enabled != nil:
		kind, value = trigEnabled, "enabled"
	default:
		return nil
	}
	return idx[kind][strings.ToLower(value)]
}

// scnTriggers validates a subscription's triggers as hms-smd does, returning the
// problem or nil. missing is the "no trigger" text (POST/PUT and PATCH differ).
func (s *Server) scnTriggers(enabled *bool, roles, subRoles, swStatus, stateList []string, missing string) *problem.Details {
	found := enabled != nil && *enabled
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range roles {
		found = true
		if _, ok := s.roles.norm(r); !ok {
			return problem.New(http.StatusBadRequest, "Invalid role '%s'", r)
		}
	}
	for _, r := range subRoles {
		found = true
		if _, ok := s.subRoles.norm(r); !ok {
			return problem.New(http.StatusBadRequest, "Invalid subRole '%s'", r)
		}
	}
	for _, st := range swStatus {
		found = true
		if st == "" {
			return problem.New(http.StatusBadRequest, "SoftwareStatus can not be an empty string")
		}
	}
	for _, st := range stateList {
		found = true
		if _, ok := states.norm(st); !ok {
			return problem.New(http.StatusBadRequest, "Invalid state '%s'", st)
		}
	}
	if !found {
		return problem.New(http.StatusBadRequest, "%s", missing)
	}
	return nil
}

const (
	missingTriggerPost  = "Missing trigger. Must subscribe to atleast one Enabled, Role, SubRole, SoftwareStatus, or State trigger."
	missingTriggerPatch = "Missing trigger. Subscriptions must have atleast one Enabled, Role, SubRole, SoftwareStatus, or State trigger."
)

// decodeSubscription reads and validates a POST/PUT body.
func (s *Server) decodeSubscription(w http.ResponseWriter, r *http.Request) (SCNPostSubscription, *problem.Details) {
	var in SCNPostSubscription
	d := s.decode(w, r, &in)
	switch {
	case d != nil:
	case in.Subscriber == "":
		d = problem.New(http.StatusBadRequest, "Missing name of subscriber")
	case in.Url == "":
		d = problem.New(http.StatusBadRequest, "Missing url")
	default:
		d = s.scnTriggers(in.Enabled, in.Roles, in.SubRoles, in.SoftwareStatus, in.States, missingTriggerPost)
	}
	return in, d
}

// scnID reads the {id} path value as hms-smd does: a positive integer, else 400.
func scnID(r *http.Request) (int64, *problem.Details) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return 0, problem.New(http.StatusBadRequest, "Invalid id - %s", raw)
	}
	return id, nil
}

func (s *Server) getSCNSubscriptions(w http.ResponseWriter, r *http.Request) {
	c := &s.scn
	c.mu.Lock()
	out := SCNSubscriptionArray{SubscriptionList: make([]SCNSubscription, 0, len(c.byID))}
	for _, id := range slices.Sorted(mapKeys(c.byID)) {
		out.SubscriptionList = append(out.SubscriptionList, *c.byID[id])
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// postSCNSubscription creates a subscription, or replaces the one with the same
// Subscriber and Url (hms-smd keys its table on the pair and keeps the ID).
func (s *Server) postSCNSubscription(w http.ResponseWriter, r *http.Request) *problem.Details {
	in, d := s.decodeSubscription(w, r)
	if d != nil {
		return d
	}
	c := &s.scn
	c.mu.Lock()
	var sub *SCNSubscription
	for _, old := range c.byID {
		if old.Subscriber == in.Subscriber && old.Url == in.Url {
			sub = old
		}
	}
	if sub == nil {
		c.nextID++
		sub = &SCNSubscription{ID: c.nextID}
		c.byID[sub.ID] = sub
	}
	sub.SCNPostSubscription = in
	out := *sub
	c.rebuild()
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteSCNSubscriptions(w http.ResponseWriter, r *http.Request) {
	c := &s.scn
	c.mu.Lock()
	n := len(c.byID)
	clear(c.byID)
	c.rebuild()
	c.mu.Unlock()
	writeMessage(w, http.StatusOK, "%d Subscriptions deleted", n)
}

func (s *Server) getSCNSubscription(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := scnID(r)
	if d != nil {
		return d
	}
	c := &s.scn
	c.mu.Lock()
	sub, found := c.byID[id]
	var out SCNSubscription
	if found {
		out = *sub
	}
	c.mu.Unlock()
	if !found {
		return problem.New(http.StatusNotFound, "Subscription not found")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) putSCNSubscription(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := scnID(r)
	if d != nil {
		return d
	}
	in, d := s.decodeSubscription(w, r)
	if d != nil {
		return d
	}
	c := &s.scn
	c.mu.Lock()
	sub, found := c.byID[id]
	if found {
		sub.SCNPostSubscription = in
		c.rebuild()
	}
	c.mu.Unlock()
	if !found {
		return problem.New(http.StatusNotFound, "Subscription not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchSCNSubscription adds, removes or replaces trigger values. As in hms-smd, "add"
// with Enabled true enables, "remove" with Enabled true disables, "replace" sets the
// lists it is given (non-empty) and Enabled if given.
func (s *Server) patchSCNSubscription(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := scnID(r)
	if d != nil {
		return d
	}
	var in SCNPatchSubscription
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if in.Op == "" {
		return problem.New(http.StatusBadRequest, "Missing Patch Op")
	}
	op := strings.ToLower(in.Op)
	if op != "add" && op != "remove" && op != "replace" {
		return problem.New(http.StatusBadRequest, "Invalid Patch Op - %s", in.Op)
	}
	if d := s.scnTriggers(in.Enabled, in.Roles, in.SubRoles, in.SoftwareStatus, in.States, missingTriggerPatch); d != nil {
		return d
	}
	c := &s.scn
	c.mu.Lock()
	sub, found := c.byID[id]
	if found {
		patchSubscription(&sub.SCNPostSubscription, op, &in)
		c.rebuild()
	}
	c.mu.Unlock()
	if !found {
		return problem.New(http.StatusNotFound, "Subscription not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func patchSubscription(sub *SCNPostSubscription, op string, in *SCNPatchSubscription) {
	lists := []struct{ dst, patch *[]string }{{&sub.Roles, &in.Roles}, {&sub.SubRoles, &in.SubRoles},
		{&sub.SoftwareStatus, &in.SoftwareStatus}, {&sub.States, &in.States}}
	enabled := in.Enabled != nil && *in.Enabled
	switch op {
	case "add":
		for _, l := range lists {
			for _, v := range *l.patch {
				if !slices.Contains(*l.dst, v) {
					*l.dst = append(*l.dst, v)
				}
			}
		}
		if enabled {
			sub.Enabled = boolPtr(true)
		}
	case "remove":
		for _, l := range lists {
			*l.dst = slices.DeleteFunc(*l.dst, func(v string) bool { return slices.Contains(*l.patch, v) })
			if len(*l.dst) == 0 {
				*l.dst = nil
			}
		}
		if enabled && sub.Enabled != nil {
			sub.Enabled = boolPtr(false)
		}
	case "replace":
		for _, l := range lists {
			if len(*l.patch) > 0 {
				*l.dst = slices.Clone(*l.patch)
			}
		}
		if in.Enabled != nil {
			sub.Enabled = boolPtr(*in.Enabled)
		}
	}
}

func (s *Server) deleteSCNSubscription(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := scnID(r)
	if d != nil {
		return d
	}
	c := &s.scn
	c.mu.Lock()
	_, found := c.byID[id]
	delete(c.byID, id)
	c.rebuild()
	c.mu.Unlock()
	if !found {
		return problem.New(http.StatusNotFound, "Subscription not found")
	}
	writeMessage(w, http.StatusOK, "Subscription deleted")
	return nil
}
