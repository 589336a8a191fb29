package cfs

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"time"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// record is a stored component. Its slices, map and pointer are never modified in place:
// a write builds new ones, so a reader may keep references after dropping the lock.
type record struct {
	id            string
	desiredConfig string
	enabled       bool
	errorCount    int
	retryPolicy   *int
	state         []cfsapi.StateLayer
	tags          map[string]string

	// gen counts writes; a batch result carries the gen it was started for and is dropped
	// if the component has been written since.
	gen uint64
	// queuedGen is the gen at which the component joined a batch; equal to gen while that
	// batch is pending.
	queuedGen uint64
}

func (r *record) statusInput() statusInput {
	return statusInput{desiredConfig: r.desiredConfig, errorCount: r.errorCount, retryPolicy: r.retryPolicy, state: r.state}
}

// patchBody is a component write as it arrives: pointers and optInt tell "absent" from
// "zero"; the read-only fields a GET returns are accepted and ignored, so that a client may
// write back what it read.
type patchBody struct {
	ID            *string              `json:"id"`
	DesiredConfig *string              `json:"desired_config"`
	Enabled       *bool                `json:"enabled"`
	ErrorCount    *int                 `json:"error_count"`
	RetryPolicy   optInt               `json:"retry_policy"`
	State         *[]cfsapi.StateLayer `json:"state"`
	StateAppend   *cfsapi.StateLayer   `json:"state_append"`
	Tags          map[string]*string   `json:"tags"`

	ConfigurationStatus json.RawMessage `json:"configuration_status"`
	DesiredState        json.RawMessage `json:"desired_state"`
	Logs                json.RawMessage `json:"logs"`
}

// optInt is an optional, nullable integer: null clears retry_policy back to the default.
type optInt struct {
	set, null bool
	v         int
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.null = true
		return nil
	}
	if err := json.Unmarshal(b, &o.v); err != nil {
		return fmt.Errorf("retry_policy must be an integer or null: %w", err)
	}
	return nil
}

// validStateStatus lists the layer statuses CFS accepts ("" reads as applied).
var validStateStatus = map[string]bool{"": true, cfsapi.LayerApplied: true, cfsapi.LayerFailed: true, cfsapi.LayerSkipped: true, cfsapi.LayerIncomplete: true}

const maxConfigName = 60

// validate checks a write before anything is stored.
func (p *patchBody) validate() *problem.Details {
	bad := func(format string, args ...any) *problem.Details {
		return cfsProblem(http.StatusBadRequest, "Error parsing the data provided.", fmt.Sprintf(format, args...))
	}
	if p.DesiredConfig != nil && len(*p.DesiredConfig) > maxConfigName {
		return bad("desired_config is longer than %d characters", maxConfigName)
	}
	if p.ErrorCount != nil && *p.ErrorCount < 0 {
		return bad("error_count must not be negative")
	}
	if p.RetryPolicy.set && !p.RetryPolicy.null && p.RetryPolicy.v < -1 {
		return bad("retry_policy must be -1 (unlimited) or more")
	}
	if p.State != nil {
		for i, l := range *p.State {
			if !validStateStatus[l.Status] {
				return bad("state[%d].status %q is not one of applied, failed, skipped, incomplete", i, l.Status)
			}
		}
	}
	if a := p.StateAppend; a != nil {
		if a.CloneURL == "" || a.Playbook == "" {
			return bad("state_append needs clone_url and playbook")
		}
		if !validStateStatus[a.Status] {
			return bad("state_append.status %q is not one of applied, failed, skipped, incomplete", a.Status)
		}
	}
	return nil
}

// validateList checks an array body (PUT and the list form of PATCH): every record needs an
// id and must pass validate.
func validateList(body []patchBody) *problem.Details {
	for i := range body {
		if body[i].ID == nil || *body[i].ID == "" {
			return cfsProblem(http.StatusBadRequest, "Error parsing the data provided.", fmt.Sprintf("component %d has no id", i))
		}
		if d := body[i].validate(); d != nil {
			return d
		}
	}
	return nil
}

// apply writes p onto r (a CFS PATCH: a recursive merge in which tags merge and every other
// field replaces), then CFS's automatic rules: error_count resets to 0 when the write sets
// desired_config or clears state (unless it sets error_count itself), tags with empty values
// are dropped, state_append replaces any layer with the same clone_url and playbook, and
// missing last_updated stamps are filled in.
func (r *record) apply(p *patchBody, now time.Time) {
	stamp := now.UTC().Format(time.RFC3339)
	if p.DesiredConfig != nil {
		r.desiredConfig = *p.DesiredConfig
	}
	if p.Enabled != nil {
		r.enabled = *p.Enabled
	}
	if p.RetryPolicy.set {
		if p.RetryPolicy.null {
			r.retryPolicy = nil
		} else {
			r.retryPolicy = cfsapi.Ptr(p.RetryPolicy.v)
		}
	}
	if p.State != nil {
		state := make([]cfsapi.StateLayer, len(*p.State))
		copy(state, *p.State)
		for i := range state {
			if state[i].LastUpdated == "" {
				state[i].LastUpdated = stamp
			}
		}
		r.state = state
	}
	switch {
	case p.ErrorCount != nil:
		r.errorCount = *p.ErrorCount
	case p.DesiredConfig != nil || (p.State != nil && len(*p.State) == 0):
		r.errorCount = 0
	}
	if len(p.Tags) > 0 {
		tags := maps.Clone(r.tags)
		if tags == nil {
			tags = map[string]string{}
		}
		for k, v := range p.Tags {
			if v == nil || *v == "" {
				delete(tags, k)
			} else {
				tags[k] = *v
			}
		}
		r.tags = tags
	}
	if a := p.StateAppend; a != nil {
		layer := *a
		if layer.Status == "" {
			layer.Status = cfsapi.LayerApplied
		}
		if layer.LastUpdated == "" {
			layer.LastUpdated = stamp
		}
		r.state = appendState(r.state, layer)
	}
	r.gen++
}

// appendState returns a new state with layer appended, dropping any earlier layer with the
// same clone URL and playbook.
func appendState(state []cfsapi.StateLayer, layer cfsapi.StateLayer) []cfsapi.StateLayer {
	out := make([]cfsapi.StateLayer, 0, len(state)+1)
	for _, l := range state {
		if l.CloneURL != layer.CloneURL || l.Playbook != layer.Playbook {
			out = append(out, l)
		}
	}
	return append(out, layer)
}

// newRecord is a component as PUT creates it: every field absent from p is zero.
func newRecord(id string, p *patchBody, now time.Time) *record {
	r := &record{id: id, tags: map[string]string{}}
	r.apply(p, now)
	return r
}

// insertIDs adds new ids to the sorted id list.
func insertIDs(ids []string, add []string) []string {
	if len(add) == 0 {
		return ids
	}
	out := append(ids, add...)
	sort.Strings(out)
	return out
}

// removeID drops id from the sorted id list.
func removeID(ids []string, id string) []string {
	i := sort.SearchStrings(ids, id)
	if i < len(ids) && ids[i] == id {
		return append(ids[:i], ids[i+1:]...)
	}
	return ids
}

// cfsProblem is a CFS-style problem: CFS puts its own short title on errors.
func cfsProblem(status int, title, detail string) *problem.Details {
	return &problem.Details{Type: "about:blank", Title: title, Status: status, Detail: detail}
}
