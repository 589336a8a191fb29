package orchestrator

import "time"

// The patch types mirror Component with pointer fields, so that a decoded body tells which
// fields were sent: BOS merges only those (reference 1.7) and its auto fields depend on
// presence. A JSON null is treated as "not sent".

// BootArtifactsPatch is a partial BootArtifacts.
type BootArtifactsPatch struct {
	Kernel           *string `json:"kernel,omitempty"`
	KernelParameters *string `json:"kernel_parameters,omitempty"`
	Initrd           *string `json:"initrd,omitempty"`
}

// ActualStatePatch is a partial ActualState.
type ActualStatePatch struct {
	BootArtifacts *BootArtifactsPatch `json:"boot_artifacts,omitempty"`
	BSSToken      *string             `json:"bss_token,omitempty"`
	LastUpdated   *time.Time          `json:"last_updated,omitempty"`
}

// DesiredStatePatch is a partial DesiredState.
type DesiredStatePatch struct {
	BootArtifacts *BootArtifactsPatch `json:"boot_artifacts,omitempty"`
	Configuration *string             `json:"configuration,omitempty"`
	BSSToken      *string             `json:"bss_token,omitempty"`
	LastUpdated   *time.Time          `json:"last_updated,omitempty"`
}

// StagedStatePatch is a partial StagedState.
type StagedStatePatch struct {
	BootArtifacts *BootArtifactsPatch `json:"boot_artifacts,omitempty"`
	Configuration *string             `json:"configuration,omitempty"`
	Session       *string             `json:"session,omitempty"`
	LastUpdated   *time.Time          `json:"last_updated,omitempty"`
}

// LastActionPatch is a partial LastAction.
type LastActionPatch struct {
	Action      *string    `json:"action,omitempty"`
	Failed      *bool      `json:"failed,omitempty"`
	LastUpdated *time.Time `json:"last_updated,omitempty"`
	// InFlight is read-only: accepted so that a record read from BOS can be sent back,
	// and ignored.
	InFlight *string `json:"in_flight,omitempty"`
}

// EventStatsPatch is a partial EventStats.
type EventStatsPatch struct {
	PowerOnAttempts          *int `json:"power_on_attempts,omitempty"`
	PowerOffGracefulAttempts *int `json:"power_off_graceful_attempts,omitempty"`
	PowerOffForcefulAttempts *int `json:"power_off_forceful_attempts,omitempty"`
}

// ComponentStatusPatch is a partial ComponentStatus. Status is read-only: accepted so
// that a record read from BOS can be sent back, and ignored.
type ComponentStatusPatch struct {
	Phase          *string `json:"phase,omitempty"`
	Status         *string `json:"status,omitempty"`
	StatusOverride *string `json:"status_override,omitempty"`
}

// ComponentPatch is a partial component: the body of PATCH and (applied to an empty
// record) of PUT. ID names the component in bulk list bodies and is otherwise ignored.
type ComponentPatch struct {
	ID           string                `json:"id,omitempty"`
	ActualState  *ActualStatePatch     `json:"actual_state,omitempty"`
	DesiredState *DesiredStatePatch    `json:"desired_state,omitempty"`
	StagedState  *StagedStatePatch     `json:"staged_state,omitempty"`
	LastAction   *LastActionPatch      `json:"last_action,omitempty"`
	EventStats   *EventStatsPatch      `json:"event_stats,omitempty"`
	Status       *ComponentStatusPatch `json:"status,omitempty"`
	Enabled      *bool                 `json:"enabled,omitempty"`
	Error        *string               `json:"error,omitempty"`
	Session      *string               `json:"session,omitempty"`
	RetryPolicy  *int                  `json:"retry_policy,omitempty"`
}

// IsEmpty reports whether p sets nothing (BOS's schema wants at least one property).
func (p *ComponentPatch) IsEmpty() bool { return *p == ComponentPatch{} }

// Validate checks the fields present in p against the schema.
func (p *ComponentPatch) Validate() error {
	var v checker
	if p.ID != "" {
		v.length("id", p.ID, 1, MaxIDLen)
	}
	if a := p.ActualState; a != nil {
		checkArtifactsPatch(&v, "actual_state.boot_artifacts", a.BootArtifacts)
		optLength(&v, "actual_state.bss_token", a.BSSToken, 65535)
	}
	if d := p.DesiredState; d != nil {
		checkArtifactsPatch(&v, "desired_state.boot_artifacts", d.BootArtifacts)
		optLength(&v, "desired_state.configuration", d.Configuration, 127)
		optLength(&v, "desired_state.bss_token", d.BSSToken, 65535)
	}
	if s := p.StagedState; s != nil {
		checkArtifactsPatch(&v, "staged_state.boot_artifacts", s.BootArtifacts)
		optLength(&v, "staged_state.configuration", s.Configuration, 127)
		if s.Session != nil {
			checkSessionRef(&v, "staged_state.session", *s.Session)
		}
	}
	if l := p.LastAction; l != nil && l.Action != nil {
		v.oneOf("last_action.action", *l.Action, Actions...)
	}
	if e := p.EventStats; e != nil {
		optCount(&v, "event_stats.power_on_attempts", e.PowerOnAttempts)
		optCount(&v, "event_stats.power_off_graceful_attempts", e.PowerOffGracefulAttempts)
		optCount(&v, "event_stats.power_off_forceful_attempts", e.PowerOffForcefulAttempts)
	}
	if s := p.Status; s != nil {
		if s.Phase != nil {
			v.oneOf("status.phase", *s.Phase, Phases...)
		}
		optLength(&v, "status.status_override", s.StatusOverride, 65536)
	}
	optLength(&v, "error", p.Error, 65536)
	if p.Session != nil {
		checkSessionRef(&v, "session", *p.Session)
	}
	optCount(&v, "retry_policy", p.RetryPolicy)
	return v.err("invalid component")
}

func checkArtifactsPatch(v *checker, field string, a *BootArtifactsPatch) {
	if a == nil {
		return
	}
	optLength(v, field+".kernel", a.Kernel, 4095)
	optLength(v, field+".kernel_parameters", a.KernelParameters, 4096)
	optLength(v, field+".initrd", a.Initrd, 4095)
}

func optLength(v *checker, field string, s *string, max int) {
	if s != nil {
		v.length(field, *s, 0, max)
	}
}

func optCount(v *checker, field string, n *int) {
	if n != nil {
		v.intRange(field, *n, 0, maxCount)
	}
}

// TokenToResolve returns the BSS token whose artifacts SetAutoFields needs, or "".
func (p *ComponentPatch) TokenToResolve() string {
	if p.ActualState != nil && p.ActualState.BSSToken != nil {
		return *p.ActualState.BSSToken
	}
	return ""
}

// SetAutoFields applies BOS's automatic fields to an incoming patch, in BOS's order
// (reference 1.7). It runs on every PUT, PATCH and applystaged:
//
//  1. actual_state.bss_token set and known (tokenArtifacts != nil): actual_state.boot_artifacts
//     becomes the artifacts recorded for that token; an unknown token keeps what was sent.
//  2. last_updated = now on actual_state and desired_state unless the object holds only
//     bss_token, and on staged_state and last_action whenever present.
//  3. enabled: true sets status.status_override = on_hold, so the status operator looks at
//     the node again before any action operator touches it.
//  4. desired_state present without session: session = "" (a manual change detaches the
//     node from its session; operators always send session with desired state).
//  5. desired_state carrying boot_artifacts or configuration: event_stats reset to 0.
func (p *ComponentPatch) SetAutoFields(now time.Time, tokenArtifacts *BootArtifacts) {
	now = now.UTC()
	if a := p.ActualState; a != nil && a.BSSToken != nil && *a.BSSToken != "" && tokenArtifacts != nil {
		a.BootArtifacts = ArtifactsPatch(*tokenArtifacts)
	}
	if a := p.ActualState; a != nil && !(a.BSSToken != nil && a.BootArtifacts == nil && a.LastUpdated == nil) {
		a.LastUpdated = &now
	}
	if d := p.DesiredState; d != nil && !(d.BSSToken != nil && d.BootArtifacts == nil && d.Configuration == nil && d.LastUpdated == nil) {
		d.LastUpdated = &now
	}
	if p.StagedState != nil {
		p.StagedState.LastUpdated = &now
	}
	if p.LastAction != nil {
		p.LastAction.LastUpdated = &now
	}
	if p.Enabled != nil && *p.Enabled {
		if p.Status == nil {
			p.Status = &ComponentStatusPatch{}
		}
		p.Status.StatusOverride = ptr(StatusOnHold)
	}
	if p.DesiredState != nil && p.Session == nil {
		p.Session = ptr("")
	}
	if d := p.DesiredState; d != nil && (d.BootArtifacts != nil || d.Configuration != nil) {
		p.EventStats = &EventStatsPatch{PowerOnAttempts: ptr(0), PowerOffGracefulAttempts: ptr(0), PowerOffForcefulAttempts: ptr(0)}
	}
}

// ApplyTo merges p into c with BOS's rules: the state objects, last_action, event_stats and
// status are merged field by field (boot_artifacts one level deeper), other fields are
// replaced, id and status.status are ignored. Call SetAutoFields first.
func (p *ComponentPatch) ApplyTo(c *Component) {
	if a := p.ActualState; a != nil {
		mergeArtifacts(&c.ActualState.BootArtifacts, a.BootArtifacts)
		set(&c.ActualState.BSSToken, a.BSSToken)
		setTime(&c.ActualState.LastUpdated, a.LastUpdated)
	}
	if d := p.DesiredState; d != nil {
		mergeArtifacts(&c.DesiredState.BootArtifacts, d.BootArtifacts)
		set(&c.DesiredState.Configuration, d.Configuration)
		set(&c.DesiredState.BSSToken, d.BSSToken)
		setTime(&c.DesiredState.LastUpdated, d.LastUpdated)
	}
	if s := p.StagedState; s != nil {
		mergeArtifacts(&c.StagedState.BootArtifacts, s.BootArtifacts)
		set(&c.StagedState.Configuration, s.Configuration)
		set(&c.StagedState.Session, s.Session)
		setTime(&c.StagedState.LastUpdated, s.LastUpdated)
	}
	if l := p.LastAction; l != nil {
		if l.Action != nil {
			c.LastAction.InFlight = "" // a new action: no call of ours is under way for it
		}
		set(&c.LastAction.Action, l.Action)
		set(&c.LastAction.Failed, l.Failed)
		setTime(&c.LastAction.LastUpdated, l.LastUpdated)
	}
	if e := p.EventStats; e != nil {
		set(&c.EventStats.PowerOnAttempts, e.PowerOnAttempts)
		set(&c.EventStats.PowerOffGracefulAttempts, e.PowerOffGracefulAttempts)
		set(&c.EventStats.PowerOffForcefulAttempts, e.PowerOffForcefulAttempts)
	}
	if s := p.Status; s != nil {
		set(&c.Status.Phase, s.Phase)
		set(&c.Status.StatusOverride, s.StatusOverride)
	}
	set(&c.Enabled, p.Enabled)
	set(&c.Error, p.Error)
	set(&c.Session, p.Session)
	if p.RetryPolicy != nil {
		c.RetryPolicy = ptr(*p.RetryPolicy)
	}
	c.RefreshStatus()
}

// Build returns the record a PUT of p creates: p applied to an empty component with id.
func (p *ComponentPatch) Build(id string) Component {
	c := Component{ID: id}
	p.ApplyTo(&c)
	return c
}

// ArtifactsPatch returns a patch that sets all three artifacts.
func ArtifactsPatch(a BootArtifacts) *BootArtifactsPatch {
	return &BootArtifactsPatch{Kernel: ptr(a.Kernel), KernelParameters: ptr(a.KernelParameters), Initrd: ptr(a.Initrd)}
}

func mergeArtifacts(dst *BootArtifacts, p *BootArtifactsPatch) {
	if p == nil {
		return
	}
	set(&dst.Kernel, p.Kernel)
	set(&dst.KernelParameters, p.KernelParameters)
	set(&dst.Initrd, p.Initrd)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func setTime(dst *time.Time, v *time.Time) {
	if v != nil {
		*dst = v.UTC()
	}
}

func ptr[T any](v T) *T { return &v }
