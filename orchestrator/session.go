package orchestrator

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Session operations.
const (
	OpBoot     = "boot"
	OpReboot   = "reboot"
	OpShutdown = "shutdown"
)

// Operations lists the valid session operations.
var Operations = []string{OpBoot, OpReboot, OpShutdown}

// Session statuses.
const (
	SessionPending  = "pending"
	SessionRunning  = "running"
	SessionComplete = "complete"
)

// SessionStatuses lists the valid session statuses.
var SessionStatuses = []string{SessionPending, SessionRunning, SessionComplete}

// Session is one request to apply a template (reference 1.5). Setup (a reconciler step)
// writes desired or staged state onto its nodes and fills Components.
type Session struct {
	Name            string        `json:"name"`
	Tenant          string        `json:"tenant,omitempty"`
	Operation       string        `json:"operation"`
	TemplateName    string        `json:"template_name"`
	Limit           string        `json:"limit"`
	Stage           bool          `json:"stage"`
	Components      string        `json:"components"`
	IncludeDisabled bool          `json:"include_disabled"`
	Status          SessionStatus `json:"status"`
}

// SessionStatus is the session's own lifecycle record.
type SessionStatus struct {
	Status    string     `json:"status"`
	StartTime time.Time  `json:"start_time"`
	EndTime   *time.Time `json:"end_time"`
	Error     *string    `json:"error"`
	// TookOver (ours) lists the nodes this session took over at its creation from
	// unfinished sessions that held them (overlap.go); absent when it took none.
	TookOver []SessionTakeover `json:"took_over,omitempty"`
	// Epoch (ours) is the session's place in the order of creations, v1 and v2, in every
	// process: the session epoch its admission committed (store). 0 on records stored
	// before epochs were recorded.
	Epoch int64 `json:"epoch,omitempty"`
}

// Creation is the session's place in the order of creations.
func (s *Session) Creation() Creation {
	return Creation{Epoch: s.Status.Epoch, Time: s.Status.StartTime}
}

// SessionCreate is the body of POST /v2/sessions.
type SessionCreate struct {
	Name            string  `json:"name,omitempty"`
	Operation       string  `json:"operation"`
	TemplateName    string  `json:"template_name"`
	Limit           *string `json:"limit,omitempty"`
	Stage           bool    `json:"stage,omitempty"`
	IncludeDisabled bool    `json:"include_disabled,omitempty"`
}

// limitNIDPattern matches a limit item naming a NID.
var limitNIDPattern = regexp.MustCompile(`^[&!]*nid`)

// Validate checks the body's schema and the option rules (reference 1.5 steps 1–2). The
// name may be empty (the caller picks a UUID); operation is lower-cased first.
func (sc *SessionCreate) Validate(o Options) (warnings []string, err error) {
	var v checker
	sc.Operation = strings.ToLower(sc.Operation)
	if sc.Operation == "" {
		v.addf("operation", "is required")
	} else {
		v.oneOf("operation", sc.Operation, Operations...)
	}
	if sc.TemplateName == "" {
		v.addf("template_name", "is required")
	} else {
		v.name("template_name", sc.TemplateName)
	}
	if sc.Name != "" {
		v.name("name", sc.Name)
	}
	limit := ""
	if sc.Limit != nil {
		limit = *sc.Limit
		v.length("limit", limit, 0, MaxLimitLen)
	}
	if err := v.err("invalid session"); err != nil {
		return nil, err
	}
	if limit == "" && o.SessionLimitRequired {
		return nil, Errorf(EINVALID, "A session limit is required (option session_limit_required is set); use '*' to select every node")
	}
	for _, item := range strings.Split(limit, ",") {
		if limitNIDPattern.MatchString(item) {
			if o.RejectNIDs {
				return nil, Errorf(EINVALID, "session limit item %q is a NID, and reject_nids is set", item)
			}
			warnings = append(warnings, fmt.Sprintf("session limit item %q looks like a NID; limits take xnames, groups and roles", item))
		}
	}
	return warnings, nil
}

// NewSession builds the stored record for a validated create body: status pending,
// start_time now, no end time, no error, no components.
func (sc *SessionCreate) NewSession(name, tenant string, now time.Time) Session {
	limit := ""
	if sc.Limit != nil {
		limit = *sc.Limit
	}
	return Session{
		Name: name, Tenant: tenant, Operation: sc.Operation, TemplateName: sc.TemplateName,
		Limit: limit, Stage: sc.Stage, IncludeDisabled: sc.IncludeDisabled,
		Status: SessionStatus{Status: SessionPending, StartTime: now.UTC()},
	}
}

// SessionPatch is the body of PATCH /v2/sessions/{id} (operator use): components is
// replaced and status merged; nothing else may change.
type SessionPatch struct {
	Components *string             `json:"components,omitempty"`
	Status     *SessionStatusPatch `json:"status,omitempty"`
}

// SessionStatusPatch is a partial SessionStatus.
type SessionStatusPatch struct {
	Status    *string    `json:"status,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
	EndTime   *time.Time `json:"end_time,omitempty"`
	Error     *string    `json:"error,omitempty"`
}

// Validate checks the patch's fields.
func (p *SessionPatch) Validate() error {
	var v checker
	if p.Status != nil && p.Status.Status != nil {
		v.oneOf("status.status", *p.Status.Status, SessionStatuses...)
	}
	return v.err("invalid session patch")
}

// ApplyTo merges p into s.
func (p *SessionPatch) ApplyTo(s *Session) {
	set(&s.Components, p.Components)
	if st := p.Status; st != nil {
		set(&s.Status.Status, st.Status)
		setTime(&s.Status.StartTime, st.StartTime)
		if st.EndTime != nil {
			s.Status.EndTime = ptr(st.EndTime.UTC())
		}
		if st.Error != nil {
			s.Status.Error = ptr(*st.Error)
		}
	}
}

// Complete reports whether the session has completed.
func (s *Session) Complete() bool { return s.Status.Status == SessionComplete }

// SessionFilter selects sessions by age and status (GET and DELETE /v2/sessions). An age
// bound applies only when its Has flag is set: min_age=0 is a real bound.
type SessionFilter struct {
	MinAge time.Duration // start_time <= now - MinAge (older than)
	MaxAge time.Duration // start_time >= now - MaxAge (younger than)
	Status string        // exact match; "" = any
	HasMin bool          // MinAge applies
	HasMax bool          // MaxAge applies
}

// ParseSessionFilter parses the min_age, max_age and status query parameters.
func ParseSessionFilter(minAge, maxAge, status string) (SessionFilter, error) {
	var f SessionFilter
	var err error
	if minAge != "" {
		if f.MinAge, err = parseAgeParam("min_age", minAge); err != nil {
			return f, err
		}
		f.HasMin = true
	}
	if maxAge != "" {
		if f.MaxAge, err = parseAgeParam("max_age", maxAge); err != nil {
			return f, err
		}
		f.HasMax = true
	}
	if status != "" {
		var v checker
		v.oneOf("status", status, SessionStatuses...)
		if err := v.err("invalid query"); err != nil {
			return f, err
		}
		f.Status = status
	}
	return f, nil
}

func parseAgeParam(name, s string) (time.Duration, error) {
	if !agePattern.MatchString(s) {
		return 0, Errorf(EINVALID, "invalid query: %s: %q is not an age such as 0, 30m, 12h, 7d or 2w", name, s)
	}
	d, err := ParseAge(s)
	if err != nil {
		return 0, Errorf(EINVALID, "invalid query: %s: %s", name, ErrorMessage(err))
	}
	return d, nil
}

// Match reports whether s passes the filter at time now.
func (f SessionFilter) Match(s *Session, now time.Time) bool {
	if f.Status != "" && s.Status.Status != f.Status {
		return false
	}
	if f.HasMin && s.Status.StartTime.After(now.Add(-f.MinAge)) {
		return false
	}
	if f.HasMax && s.Status.StartTime.Before(now.Add(-f.MaxAge)) {
		return false
	}
	return true
}

// SessionStats are the component counts behind a session's extended status and its
// completion test. Members are the components whose session is the session; Staged those
// whose staged_state.session is. A component may be in both: applystaged with
// clear_stage off makes it a member and leaves its stage (StagedMembers counts those).
type SessionStats struct {
	Members       int                 // components with session == name (enabled or not)
	Staged        int                 // components with staged_state.session == name
	StagedMembers int                 // components in both
	Enabled       int                 // members that are enabled
	Stable        int                 // members whose computed status is stable
	Failed        int                 // members whose computed status is failed
	Phases        map[string]int      // enabled members not on_hold, by phase ("" included)
	Errors        map[string][]string // members with an error: error text → sorted ids
}

// Done reports BOS's completion rule: no enabled member and nothing staged for the session.
func (st SessionStats) Done() bool { return st.Enabled == 0 && st.Staged == 0 }

// StatsFromComponents computes SessionStats from full records (the naive oracle the
// store's index-based version is tested against, and a fallback for small sets).
func StatsFromComponents(session string, comps []Component) SessionStats {
	st := SessionStats{Phases: map[string]int{}, Errors: map[string][]string{}}
	for i := range comps {
		c := &comps[i]
		if c.StagedState.Session == session {
			st.Staged++
		}
		if c.Session != session {
			continue
		}
		st.Members++
		if c.StagedState.Session == session {
			st.StagedMembers++
		}
		status := ComputeStatus(c)
		switch status {
		case StatusStable:
			st.Stable++
		case StatusFailed:
			st.Failed++
		}
		if c.Enabled {
			st.Enabled++
			if status != StatusOnHold {
				st.Phases[c.Status.Phase]++
			}
		}
		if c.Error != "" {
			st.Errors[c.Error] = append(st.Errors[c.Error], c.ID)
		}
	}
	for _, ids := range st.Errors {
		sort.Strings(ids)
	}
	return st
}

// SessionExtendedStatus is the body of /v2/sessions/{id}/status (reference 2.5).
type SessionExtendedStatus struct {
	Status                 string                  `json:"status"`
	ManagedComponentsCount int                     `json:"managed_components_count"`
	Phases                 SessionPhases           `json:"phases"`
	PercentSuccessful      float64                 `json:"percent_successful"`
	PercentFailed          float64                 `json:"percent_failed"`
	PercentStaged          float64                 `json:"percent_staged"`
	ErrorSummary           map[string]ErrorSummary `json:"error_summary"`
	Timing                 SessionTiming           `json:"timing"`
}

// SessionPhases are the per-phase percentages.
type SessionPhases struct {
	PercentComplete    float64 `json:"percent_complete"`
	PercentPoweringOn  float64 `json:"percent_powering_on"`
	PercentPoweringOff float64 `json:"percent_powering_off"`
	PercentConfiguring float64 `json:"percent_configuring"`
}

// ErrorSummary groups the components that share an error.
type ErrorSummary struct {
	Count int    `json:"count"`
	List  string `json:"list"` // up to 10 ids, comma-separated, then "..." when there are more
}

// SessionTiming is start, end and elapsed time.
type SessionTiming struct {
	StartTime time.Time  `json:"start_time"`
	EndTime   *time.Time `json:"end_time"`
	Duration  string     `json:"duration"` // Python timedelta form: "0:12:34", "1 day, 2:03:04"
}

// maxErrorIDs is how many ids an error summary lists.
const maxErrorIDs = 10

// BuildExtendedStatus computes the extended status of s from its component stats at now.
//
// Deviation: BOS counts a component that is both a member and staged (applied with
// clear_stage off) twice, so a staged session over 100 nodes shows 101 managed
// components once one node is applied, and 200 at the end. Here it counts once, as a
// member; percent_staged counts the nodes staged and not yet applied.
func BuildExtendedStatus(s *Session, st SessionStats, now time.Time) SessionExtendedStatus {
	staged := st.Staged - st.StagedMembers
	managed := st.Members + staged
	pct := func(n int) float64 {
		if managed == 0 {
			return 0
		}
		return math.Round(float64(n)/float64(managed)*100*100) / 100
	}
	out := SessionExtendedStatus{
		Status:                 s.Status.Status,
		ManagedComponentsCount: managed,
		Phases: SessionPhases{
			PercentComplete:    pct(st.Stable + st.Failed),
			PercentPoweringOn:  pct(st.Phases[PhasePoweringOn]),
			PercentPoweringOff: pct(st.Phases[PhasePoweringOff]),
			PercentConfiguring: pct(st.Phases[PhaseConfiguring]),
		},
		PercentSuccessful: pct(st.Stable),
		PercentFailed:     pct(st.Failed),
		PercentStaged:     pct(staged),
		ErrorSummary:      map[string]ErrorSummary{},
		Timing:            SessionTiming{StartTime: s.Status.StartTime, EndTime: s.Status.EndTime},
	}
	for msg, ids := range st.Errors {
		list := strings.Join(ids[:min(len(ids), maxErrorIDs)], ",")
		if len(ids) > maxErrorIDs {
			list += "..."
		}
		out.ErrorSummary[msg] = ErrorSummary{Count: len(ids), List: list}
	}
	end := now
	if s.Status.EndTime != nil {
		end = *s.Status.EndTime
	}
	out.Timing.Duration = FormatDuration(end.Sub(s.Status.StartTime))
	return out
}

// FormatDuration writes d (truncated to seconds, negative clamped to 0) the way Python
// prints a timedelta: "H:MM:SS", with "N day(s), " in front when it spans days.
func FormatDuration(d time.Duration) string {
	secs := int64(max(d, 0) / time.Second)
	days, secs := secs/86400, secs%86400
	hms := fmt.Sprintf("%d:%02d:%02d", secs/3600, secs%3600/60, secs%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	default:
		return fmt.Sprintf("%d days, %s", days, hms)
	}
}

// nullTenant is the tenant on the wire: the name, or null when there is none (as BOS
// writes it, and as its schema allows).
func nullTenant(name string) *string {
	if name == "" {
		return nil
	}
	return &name
}

// MarshalJSON writes the session with "tenant": null when it has none.
func (s Session) MarshalJSON() ([]byte, error) {
	type plain Session
	return json.Marshal(struct {
		plain
		Tenant *string `json:"tenant"`
	}{plain(s), nullTenant(s.Tenant)})
}

// MarshalJSON writes the template with "tenant": null when it has none.
func (t SessionTemplate) MarshalJSON() ([]byte, error) {
	type plain SessionTemplate
	return json.Marshal(struct {
		plain
		Tenant *string `json:"tenant"`
	}{plain(t), nullTenant(t.Tenant)})
}
