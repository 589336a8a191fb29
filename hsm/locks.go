package hsm

import (
	"github.com/cray-bos/bos/internal/uuid"
	"net/http"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Locks (admin locks and ReservationDisabled) and reservations (admin: no expiry;
// service: 1..15 minutes on the injected clock). Every operation first decides, for
// each target, success or a failure reason; with the rigid model any failure fails
// the request with 400 and nothing changes, with the flexible model the successes are
// applied and the failures reported. Expired reservations are treated as absent on
// every read, which is what HSM's periodic expiry sweep amounts to.

type lockAction int

const (
	actLock lockAction = iota
	actUnlock
	actRepair
	actDisable
)

// Messages of HSM's lock errors, returned as the 400 detail of a rigid failure.
const (
	msgNotFound = "Component not found"
	msgLocked   = "Component is Locked"
	msgUnlocked = "Component is Unlocked"
	msgDisabled = "Component reservations are disabled"
	msgReserved = "Component is Reserved"
)

var reasonMsg = map[string]string{hsmapi.ReasonNotFound: msgNotFound, hsmapi.ReasonLocked: msgLocked,
	hsmapi.ReasonUnlocked: msgUnlocked, hsmapi.ReasonDisabled: msgDisabled, hsmapi.ReasonReserved: msgReserved}

// maxReservationMinutes is the longest service reservation HSM grants.
const maxReservationMinutes = 15

// lockFilterIn is the body of lock, unlock, repair, disable, status and reservation
// create/remove (HSM's CompLockV2Filter).
type lockFilterIn struct {
	ComponentIDs        strList `json:"ComponentIDs"`
	NID                 strList `json:"NID"`
	Type                strList `json:"Type"`
	State               strList `json:"State"`
	Flag                strList `json:"Flag"`
	Enabled             strList `json:"Enabled"`
	SoftwareStatus      strList `json:"SoftwareStatus"`
	Role                strList `json:"Role"`
	SubRole             strList `json:"SubRole"`
	Subtype             strList `json:"Subtype"`
	Arch                strList `json:"Arch"`
	Class               strList `json:"Class"`
	Group               strList `json:"Group"`
	Partition           strList `json:"Partition"`
	Locked              strList `json:"Locked"`
	Reserved            strList `json:"Reserved"`
	ReservationDisabled strList `json:"ReservationDisabled"`
	ProcessingModel     string  `json:"ProcessingModel"`
	ReservationDuration int     `json:"ReservationDuration"`
}

func processingModel(m string) (rigid bool, d *problem.Details) {
	switch strings.ToLower(m) {
	case "", hsmapi.ProcessingRigid:
		return true, nil
	case hsmapi.ProcessingFlexible:
		return false, nil
	}
	return false, problem.New(http.StatusBadRequest, "Invalid Processing Model")
}

// lockRequest is a decoded and validated lock filter body.
type lockRequest struct {
	filter   *compFilter
	rigid    bool
	duration int
}

func (s *Server) decodeLockFilter(w http.ResponseWriter, r *http.Request) (*lockRequest, *problem.Details) {
	var in lockFilterIn
	if d := s.decode(w, r, &in); d != nil {
		return nil, d
	}
	rigid, d := processingModel(in.ProcessingModel)
	if d != nil {
		return nil, d
	}
	if in.ReservationDuration > maxReservationMinutes || in.ReservationDuration < 0 {
		return nil, problem.New(http.StatusBadRequest, "Invalid Reservation Duration")
	}
	f := &filterFields{ID: in.ComponentIDs, NID: in.NID, Type: in.Type, State: in.State, Flag: in.Flag,
		Enabled: in.Enabled, SoftwareStatus: in.SoftwareStatus, Role: in.Role, SubRole: in.SubRole,
		Subtype: in.Subtype, Arch: in.Arch, Class: in.Class, Group: in.Group, Partition: in.Partition,
		Locked: in.Locked, ReservationDisabled: in.ReservationDisabled, reserved: in.Reserved}
	c, d := s.compile(f)
	if d != nil {
		return nil, d
	}
	return &lockRequest{filter: c, rigid: rigid, duration: in.ReservationDuration}, nil
}

// selectRecs returns the components passing c, sorted by ID. Call with s.mu held.
func (s *Server) selectRecs(c *compFilter) []*compRec {
	s.bind(c)
	var out []*compRec
	for _, r := range s.candidates(c) {
		if c.matches(r) {
			out = append(out, r)
		}
	}
	return out
}

// verdicts collects per-target outcomes; fail reports whether the request must stop.
type verdicts struct {
	rigid    bool
	ok       []*compRec
	failures []hsmapi.LockFailure
	firstErr string
}

func (v *verdicts) fail(id, reason string) {
	if v.firstErr == "" {
		v.firstErr = reasonMsg[reason]
	}
	v.failures = append(v.failures, hsmapi.LockFailure{ID: id, Reason: reason})
}

// rigidFailure is the 400 of a rigid request with any failure.
func (v *verdicts) rigidFailure() *problem.Details {
	if v.rigid && len(v.failures) > 0 {
		return problem.New(http.StatusBadRequest, "%s", v.firstErr)
	}
	return nil
}

func (v *verdicts) updateResult() hsmapi.LockUpdateResult {
	res := hsmapi.LockUpdateResult{Success: hsmapi.LockSuccess{ComponentIDs: make([]string, 0, len(v.ok))},
		Failure: append(make([]hsmapi.LockFailure, 0, len(v.failures)), v.failures...)}
	for _, r := range v.ok {
		res.Success.ComponentIDs = append(res.Success.ComponentIDs, r.c.ID)
	}
	res.Counts = hsmapi.LockCounts{Total: len(v.ok) + len(v.failures), Success: len(v.ok), Failure: len(v.failures)}
	return res
}

// serveLockFilter serves a request with a lock filter body: it decodes the body, runs op
// under the write lock and answers with op's result.
func serveLockFilter[T any](s *Server, op func(*lockRequest) (T, *problem.Details)) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		req, d := s.decodeLockFilter(w, r)
		if d != nil {
			return d
		}
		s.mu.Lock()
		res, d := op(req)
		s.mu.Unlock()
		if d != nil {
			return d
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	})
}

// lockUpdate serves /locks/lock, /unlock, /repair and /disable.
func (s *Server) lockUpdate(act lockAction) http.HandlerFunc {
	return serveLockFilter(s, func(req *lockRequest) (hsmapi.LockUpdateResult, *problem.Details) {
		return s.lockUpdateLocked(act, req)
	})
}

func (s *Server) lockUpdateLocked(act lockAction, req *lockRequest) (hsmapi.LockUpdateResult, *problem.Details) {
	targets := s.selectRecs(req.filter)
	if len(targets) == 0 {
		return hsmapi.LockUpdateResult{}, problem.New(http.StatusBadRequest, msgNotFound)
	}
	now := s.now()
	v := &verdicts{rigid: req.rigid}
	for _, r := range targets {
		if act == actLock || act == actUnlock {
			want := act == actLock
			reason := ""
			if r.c.ReservationDisabled {
				reason = hsmapi.ReasonDisabled
			}
			if r.c.Locked == want {
				reason = map[bool]string{true: hsmapi.ReasonLocked, false: hsmapi.ReasonUnlocked}[want]
			}
			if reason == "" && r.activeRes(now) != nil {
				reason = hsmapi.ReasonReserved
			}
			if reason != "" {
				v.fail(r.c.ID, reason)
				continue
			}
		}
		v.ok = append(v.ok, r)
	}
	if d := v.rigidFailure(); d != nil {
		return hsmapi.LockUpdateResult{}, d
	}
	for _, r := range v.ok {
		switch act {
		case actLock, actUnlock:
			r.c.Locked = act == actLock
		case actDisable:
			r.res = nil
			r.c.ReservationDisabled = true
		case actRepair:
			r.c.ReservationDisabled = false
		}
		r.encode()
	}
	return v.updateResult(), nil
}

// createReservations serves /locks/reservations (admin: never expire, component must
// be locked) and /locks/service/reservations (1..15 minutes, component must be unlocked).
func (s *Server) createReservations(service bool) http.HandlerFunc {
	return serveLockFilter(s, func(req *lockRequest) (hsmapi.ReservationResult, *problem.Details) {
		return s.createReservationsLocked(service, req)
	})
}

func (s *Server) createReservationsLocked(service bool, req *lockRequest) (hsmapi.ReservationResult, *problem.Details) {
	if !service {
		req.duration = 0
	} else if req.duration <= 0 {
		return hsmapi.ReservationResult{}, problem.New(http.StatusBadRequest, "ReservationDuration must be greater than 0")
	}
	targets := s.selectRecs(req.filter)
	if len(targets) == 0 {
		return hsmapi.ReservationResult{}, problem.New(http.StatusBadRequest, msgNotFound)
	}
	now := s.now()
	v := &verdicts{rigid: req.rigid}
	for _, r := range targets {
		switch {
		case r.c.ReservationDisabled:
			v.fail(r.c.ID, hsmapi.ReasonDisabled)
		case req.duration == 0 && !r.c.Locked:
			v.fail(r.c.ID, hsmapi.ReasonUnlocked)
		case req.duration != 0 && r.c.Locked:
			v.fail(r.c.ID, hsmapi.ReasonLocked)
		case r.activeRes(now) != nil:
			v.fail(r.c.ID, hsmapi.ReasonReserved)
		default:
			v.ok = append(v.ok, r)
		}
	}
	if d := v.rigidFailure(); d != nil {
		return hsmapi.ReservationResult{}, d
	}
	out := hsmapi.ReservationResult{Success: make([]hsmapi.Reservation, 0, len(v.ok)),
		Failure: append(make([]hsmapi.LockFailure, 0, len(v.failures)), v.failures...)}
	for _, r := range v.ok {
		res := &reservation{created: now, deputyKey: r.c.ID + ":dk:" + uuid.New(), reservationKey: r.c.ID + ":rk:" + uuid.New()}
		if req.duration > 0 {
			res.expires = now.Add(time.Duration(req.duration) * time.Minute)
		}
		r.res = res
		created := res.public(r.c.ID, true)
		created.CreationTime = "" // HSM's create reply has none; check and status do
		out.Success = append(out.Success, created)
	}
	return out, nil
}

// public renders a reservation; the reservation key only goes to its creator.
func (res *reservation) public(id string, withKey bool) hsmapi.Reservation {
	out := hsmapi.Reservation{ID: id, DeputyKey: res.deputyKey, CreationTime: stamp(res.created)}
	if withKey {
		out.ReservationKey = res.reservationKey
	}
	if !res.expires.IsZero() {
		out.ExpirationTime = stamp(res.expires)
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// removeReservationsLocked serves /locks/reservations/remove: force-release by filter.
func (s *Server) removeReservationsLocked(req *lockRequest) (hsmapi.LockUpdateResult, *problem.Details) {
	targets := s.selectRecs(req.filter)
	if len(targets) == 0 {
		return hsmapi.LockUpdateResult{}, problem.New(http.StatusBadRequest, msgNotFound)
	}
	now := s.now()
	v := &verdicts{rigid: req.rigid}
	for _, r := range targets {
		if r.activeRes(now) == nil {
			v.fail(r.c.ID, hsmapi.ReasonNotFound)
			continue
		}
		v.ok = append(v.ok, r)
	}
	if d := v.rigidFailure(); d != nil {
		return hsmapi.LockUpdateResult{}, d
	}
	for _, r := range v.ok {
		r.res = nil
	}
	return v.updateResult(), nil
}

// keysIn is the body of release and renew.
type keysIn struct {
	ReservationKeys     []hsmapi.ReservationKey `json:"ReservationKeys"`
	ProcessingModel     string                  `json:"ProcessingModel"`
	ReservationDuration int                     `json:"ReservationDuration"`
}

// normKeys validates key IDs and lowercases keys, as HSM does.
func normKeys(keys []hsmapi.ReservationKey) ([]hsmapi.ReservationKey, *problem.Details) {
	out := make([]hsmapi.ReservationKey, len(keys))
	for i, k := range keys {
		id, _, err := parseXname(k.ID)
		if err != nil {
			return nil, problem.New(http.StatusBadRequest, "invalid xname ID %q", k.ID)
		}
		out[i] = hsmapi.ReservationKey{ID: id, Key: strings.ToLower(k.Key)}
	}
	return out, nil
}

// keyedVerdicts decides, per key, whether it names a live reservation (by reservation
// key, or by deputy key). A component named twice fails the second time, as it would
// after the first release. Call with s.mu held.
func (s *Server) keyedVerdicts(keys []hsmapi.ReservationKey, rigid, deputy bool) *verdicts {
	now := s.now()
	v := &verdicts{rigid: rigid}
	seen := map[string]bool{}
	for _, k := range keys {
		r, ok := s.comps[k.ID]
		var res *reservation
		if ok {
			res = r.activeRes(now)
		}
		match := res != nil && (deputy && res.deputyKey == k.Key || !deputy && res.reservationKey == k.Key)
		if !match || seen[k.ID] {
			v.fail(k.ID, hsmapi.ReasonNotFound)
			continue
		}
		seen[k.ID] = true
		v.ok = append(v.ok, r)
	}
	return v
}

// releaseOrRenew serves the release endpoints (admin and service) and, with renew,
// /locks/service/reservations/renew: the matched reservations are released, or extended to
// ReservationDuration minutes from now.
func (s *Server) releaseOrRenew(renew bool) http.HandlerFunc {
	return problem.Handler(func(w http.ResponseWriter, r *http.Request) *problem.Details {
		var in keysIn
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
		rigid, d := processingModel(in.ProcessingModel)
		switch {
		case d != nil:
		case in.ReservationDuration > maxReservationMinutes:
			d = problem.New(http.StatusBadRequest, "Invalid Reservation Duration")
		case renew && in.ReservationDuration <= 0:
			d = problem.New(http.StatusBadRequest, "ReservationDuration must be greater than 0")
		case in.ReservationDuration < 0:
			d = problem.New(http.StatusBadRequest, "Invalid Reservation Duration")
		}
		keys, d2 := normKeys(in.ReservationKeys)
		if d == nil {
			d = d2
		}
		if d != nil {
			return d
		}
		s.mu.Lock()
		v := s.keyedVerdicts(keys, rigid, false)
		d = v.rigidFailure()
		if d == nil {
			expires := s.now().Add(time.Duration(in.ReservationDuration) * time.Minute)
			for _, r := range v.ok {
				if renew {
					r.res.expires = expires
				} else {
					r.res = nil
				}
			}
		}
		s.mu.Unlock()
		if d != nil {
			return d
		}
		writeJSON(w, http.StatusOK, v.updateResult())
		return nil
	})
}

type deputyKeysIn struct {
	DeputyKeys []hsmapi.ReservationKey `json:"DeputyKeys"`
}

// checkReservations serves /locks/service/reservations/check: which deputy keys name
// live reservations.
func (s *Server) checkReservations(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in deputyKeysIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	keys, d := normKeys(in.DeputyKeys)
	if d != nil {
		return d
	}
	s.mu.RLock()
	v := s.keyedVerdicts(keys, false, true)
	now := s.now()
	out := hsmapi.ReservationResult{Success: make([]hsmapi.Reservation, 0, len(v.ok)),
		Failure: append(make([]hsmapi.LockFailure, 0, len(v.failures)), v.failures...)}
	for _, r := range v.ok {
		out.Success = append(out.Success, r.activeRes(now).public(r.c.ID, false))
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// lockStatusOf renders the lock status of r. Call with s.mu held.
func lockStatusOf(r *compRec, now time.Time) hsmapi.LockStatus {
	st := hsmapi.LockStatus{ID: r.c.ID, Locked: r.c.Locked, ReservationDisabled: r.c.ReservationDisabled}
	if res := r.activeRes(now); res != nil {
		st.Reserved = true
		st.CreationTime = stamp(res.created)
		if !res.expires.IsZero() {
			st.ExpirationTime = stamp(res.expires)
		}
	}
	return st
}

// getLockStatus serves GET /locks/status?type=Node&locked=True (keys case-insensitive).
func (s *Server) getLockStatus(w http.ResponseWriter, r *http.Request) *problem.Details {
	f := &filterFields{}
	for key, vals := range r.URL.Query() {
		switch strings.ToLower(key) {
		case "type":
			f.Type = append(f.Type, vals...)
		case "state":
			f.State = append(f.State, vals...)
		case "role":
			f.Role = append(f.Role, vals...)
		case "subrole":
			f.SubRole = append(f.SubRole, vals...)
		case "locked":
			f.Locked = append(f.Locked, vals...)
		case "reserved":
			f.reserved = append(f.reserved, vals[0]) // HSM uses the first value only
		case "reservationdisabled":
			f.ReservationDisabled = append(f.ReservationDisabled, vals...)
		}
	}
	c, d := s.compile(f)
	if d != nil {
		return d
	}
	s.mu.RLock()
	out := s.lockStatus(c)
	s.mu.RUnlock()
	out.NotFound = nil // HSM's GET never fills it: null
	writeLockStatus(w, out)
	return nil
}

// lockStatus lists the lock status of the components passing c; NotFound names the
// requested IDs not among them. Call with s.mu held.
func (s *Server) lockStatus(c *compFilter) hsmapi.LockStatusResult {
	now := s.now()
	targets := s.selectRecs(c)
	out := hsmapi.LockStatusResult{Components: make([]hsmapi.LockStatus, 0, len(targets)), NotFound: []string{}}
	found := make(map[string]bool, len(targets))
	for _, r := range targets {
		out.Components = append(out.Components, lockStatusOf(r, now))
		found[r.c.ID] = true
	}
	for _, id := range c.ids {
		if !found[id] {
			out.NotFound = append(out.NotFound, id)
			found[id] = true
		}
	}
	return out
}

func (s *Server) postLockStatus(w http.ResponseWriter, r *http.Request) *problem.Details {
	req, d := s.decodeLockFilter(w, r)
	if d != nil {
		return d
	}
	s.mu.RLock()
	out := s.lockStatus(req.filter)
	s.mu.RUnlock()
	writeLockStatus(w, out)
	return nil
}

// writeLockStatus answers a status request; as in HSM, no matching component at all is
// 400 "Component not found".
func writeLockStatus(w http.ResponseWriter, out hsmapi.LockStatusResult) {
	if len(out.Components) == 0 {
		problem.Write(w, http.StatusBadRequest, msgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
