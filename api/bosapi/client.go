package bosapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
)

// Client speaks the BOS v2 API. Errors from the server are *problem.Details.
type Client struct {
	base    string
	hc      *http.Client
	tenant  string
	token   string
	ifMatch string
}

// NewClient returns a client for the server at baseURL (scheme://host:port); the client
// adds /v2. A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// WithTenant returns a copy of c that sends Cray-Tenant-Name: name.
func (c *Client) WithTenant(name string) *Client {
	cp := *c
	cp.tenant = name
	return &cp
}

// WithToken returns a copy of c that sends Authorization: Bearer token (for a server
// started with authentication; see docs/auth.md).
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// WithIfMatch returns a copy of c whose requests carry If-Match: tag (an ETag from a
// Get...Tagged call, or "*"), so that a PUT, PATCH or DELETE of a session template,
// session or component fails with a 412 *problem.Details if the record has changed
// since: read, modify, write with WithIfMatch, and on 412 read again. An empty tag sends
// no If-Match.
func (c *Client) WithIfMatch(tag string) *Client {
	cp := *c
	cp.ifMatch = tag
	return &cp
}

// do sends one request (see send).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	_, err := c.send(ctx, method, path, q, in, out)
	return err
}

// send sends one request (see problem.DoJSON) with the tenant, token and If-Match headers and
// returns the reply's ETag; BOS's errors come back as *problem.Details, others name the
// request.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, in, out any) (string, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	h := http.Header{}
	if c.tenant != "" {
		h.Set(TenantHeader, c.tenant)
	}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	if c.ifMatch != "" {
		h.Set("If-Match", c.ifMatch)
	}
	if out != nil {
		if _, text := out.(*strings.Builder); !text {
			out = &typedReply{out}
		}
	}
	resp, err := problem.DoJSON(ctx, c.hc, method, u, h, in, out)
	var d *problem.Details
	if err != nil && !errors.As(err, &d) {
		return "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	if err != nil {
		return "", err
	}
	return resp.Header.Get("ETag"), nil
}

// Version returns /v2/version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	return v, c.do(ctx, http.MethodGet, "/v2/version", nil, nil, &v)
}

// Healthz returns /v2/healthz (a 503 is an error).
func (c *Client) Healthz(ctx context.Context) (Health, error) {
	var h Health
	return h, c.do(ctx, http.MethodGet, "/v2/healthz", nil, nil, &h)
}

// Options returns all options.
func (c *Client) Options(ctx context.Context) (orchestrator.Options, error) {
	var o orchestrator.Options
	return o, c.do(ctx, http.MethodGet, "/v2/options", nil, nil, &o)
}

// PatchOptions merges patch (option name → value) into the options.
func (c *Client) PatchOptions(ctx context.Context, patch map[string]any) (orchestrator.Options, error) {
	var o orchestrator.Options
	return o, c.do(ctx, http.MethodPatch, "/v2/options", nil, patch, &o)
}

// ListTemplates lists session templates.
func (c *Client) ListTemplates(ctx context.Context) ([]orchestrator.SessionTemplate, error) {
	var out []orchestrator.SessionTemplate
	return out, c.do(ctx, http.MethodGet, "/v2/sessiontemplates", nil, nil, &out)
}

// GetTemplate gets one session template.
func (c *Client) GetTemplate(ctx context.Context, name string) (orchestrator.SessionTemplate, error) {
	t, _, err := c.GetTemplateTagged(ctx, name)
	return t, err
}

// GetTemplateTagged is GetTemplate that also returns the template's ETag.
func (c *Client) GetTemplateTagged(ctx context.Context, name string) (orchestrator.SessionTemplate, string, error) {
	var t orchestrator.SessionTemplate
	tag, err := c.send(ctx, http.MethodGet, "/v2/sessiontemplates/"+url.PathEscape(name), nil, nil, &t)
	return t, tag, err
}

// PutTemplate creates or replaces a session template.
func (c *Client) PutTemplate(ctx context.Context, name string, t orchestrator.SessionTemplate) (orchestrator.SessionTemplate, error) {
	body, err := writableTemplate(t)
	if err != nil {
		return orchestrator.SessionTemplate{}, err
	}
	var out orchestrator.SessionTemplate
	return out, c.do(ctx, http.MethodPut, "/v2/sessiontemplates/"+url.PathEscape(name), nil, body, &out)
}

// writableTemplate is t as a PUT body: without name, tenant and links, which BOS refuses
// as read-only (so a template read back can be written again).
func writableTemplate(t orchestrator.SessionTemplate) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "name")
	delete(m, "tenant")
	delete(m, "links")
	return m, nil
}

// PatchTemplate deep-merges patch (any JSON-encodable partial template) into a template.
func (c *Client) PatchTemplate(ctx context.Context, name string, patch any) (orchestrator.SessionTemplate, error) {
	var out orchestrator.SessionTemplate
	return out, c.do(ctx, http.MethodPatch, "/v2/sessiontemplates/"+url.PathEscape(name), nil, patch, &out)
}

// DeleteTemplate deletes a session template.
func (c *Client) DeleteTemplate(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v2/sessiontemplates/"+url.PathEscape(name), nil, nil, nil)
}

// ValidateTemplate returns "Valid", the warnings or the error for a template.
func (c *Client) ValidateTemplate(ctx context.Context, name string) (string, error) {
	var s string
	return s, c.do(ctx, http.MethodGet, "/v2/sessiontemplatesvalid/"+url.PathEscape(name), nil, nil, &s)
}

// TemplateTemplate returns the example template.
func (c *Client) TemplateTemplate(ctx context.Context) (orchestrator.SessionTemplate, error) {
	var t orchestrator.SessionTemplate
	return t, c.do(ctx, http.MethodGet, "/v2/sessiontemplatetemplate", nil, nil, &t)
}

// CreateSession creates a session.
func (c *Client) CreateSession(ctx context.Context, sc orchestrator.SessionCreate) (orchestrator.Session, error) {
	var s orchestrator.Session
	return s, c.do(ctx, http.MethodPost, "/v2/sessions", nil, sc, &s)
}

// SessionQuery filters session lists and bulk deletes; empty fields do not filter.
type SessionQuery struct {
	MinAge, MaxAge, Status string
}

func (q SessionQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"min_age": q.MinAge, "max_age": q.MaxAge, "status": q.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// ListSessions lists sessions.
func (c *Client) ListSessions(ctx context.Context, q SessionQuery) ([]orchestrator.Session, error) {
	var out []orchestrator.Session
	return out, c.do(ctx, http.MethodGet, "/v2/sessions", q.values(), nil, &out)
}

// DeleteSessions deletes the matching sessions (every session the caller sees for an empty q).
func (c *Client) DeleteSessions(ctx context.Context, q SessionQuery) error {
	return c.do(ctx, http.MethodDelete, "/v2/sessions", q.values(), nil, nil)
}

// GetSession gets one session.
func (c *Client) GetSession(ctx context.Context, name string) (orchestrator.Session, error) {
	s, _, err := c.GetSessionTagged(ctx, name)
	return s, err
}

// GetSessionTagged is GetSession that also returns the session's ETag.
func (c *Client) GetSessionTagged(ctx context.Context, name string) (orchestrator.Session, string, error) {
	var s orchestrator.Session
	tag, err := c.send(ctx, http.MethodGet, "/v2/sessions/"+url.PathEscape(name), nil, nil, &s)
	return s, tag, err
}

// PatchSession updates a session's components and status.
func (c *Client) PatchSession(ctx context.Context, name string, p orchestrator.SessionPatch) (orchestrator.Session, error) {
	var s orchestrator.Session
	return s, c.do(ctx, http.MethodPatch, "/v2/sessions/"+url.PathEscape(name), nil, p, &s)
}

// DeleteSession deletes one session.
func (c *Client) DeleteSession(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v2/sessions/"+url.PathEscape(name), nil, nil, nil)
}

// SessionStatus returns a session's extended status.
func (c *Client) SessionStatus(ctx context.Context, name string) (orchestrator.SessionExtendedStatus, error) {
	var st orchestrator.SessionExtendedStatus
	return st, c.do(ctx, http.MethodGet, "/v2/sessions/"+url.PathEscape(name)+"/status", nil, nil, &st)
}

// SaveSessionStatus computes and saves a session's extended status.
func (c *Client) SaveSessionStatus(ctx context.Context, name string) (orchestrator.SessionExtendedStatus, error) {
	var st orchestrator.SessionExtendedStatus
	return st, c.do(ctx, http.MethodPost, "/v2/sessions/"+url.PathEscape(name)+"/status", nil, nil, &st)
}

// ComponentQuery filters component lists; zero fields do not filter.
type ComponentQuery struct {
	IDs           []string
	Session       string
	StagedSession string
	Enabled       *bool
	Phase         string
	Status        []string
	StartAfterID  string
	PageSize      int
}

func (q ComponentQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("ids", strings.Join(q.IDs, ","))
	set("session", q.Session)
	set("staged_session", q.StagedSession)
	if q.Enabled != nil {
		v.Set("enabled", strconv.FormatBool(*q.Enabled))
	}
	set("phase", q.Phase)
	set("status", strings.Join(q.Status, ","))
	set("start_after_id", q.StartAfterID)
	if q.PageSize > 0 {
		v.Set("page_size", strconv.Itoa(q.PageSize))
	}
	return v
}

// ListComponents lists components.
func (c *Client) ListComponents(ctx context.Context, q ComponentQuery) ([]orchestrator.Component, error) {
	var out []orchestrator.Component
	return out, c.do(ctx, http.MethodGet, "/v2/components", q.values(), nil, &out)
}

// GetComponent gets one component.
func (c *Client) GetComponent(ctx context.Context, id string) (orchestrator.Component, error) {
	out, _, err := c.GetComponentTagged(ctx, id)
	return out, err
}

// GetComponentTagged is GetComponent that also returns the component's ETag.
func (c *Client) GetComponentTagged(ctx context.Context, id string) (orchestrator.Component, string, error) {
	var out orchestrator.Component
	tag, err := c.send(ctx, http.MethodGet, "/v2/components/"+url.PathEscape(id), nil, nil, &out)
	return out, tag, err
}

// ComponentHistory returns a component's history, newest first (our extension).
func (c *Client) ComponentHistory(ctx context.Context, id string) ([]orchestrator.HistoryEntry, error) {
	var out []orchestrator.HistoryEntry
	_, err := c.send(ctx, http.MethodGet, "/v2/components/"+url.PathEscape(id)+"/history", nil, nil, &out)
	return out, err
}

// PutComponent creates or replaces one component.
func (c *Client) PutComponent(ctx context.Context, id string, p orchestrator.ComponentPatch) (orchestrator.Component, error) {
	var out orchestrator.Component
	return out, c.do(ctx, http.MethodPut, "/v2/components/"+url.PathEscape(id), nil, p, &out)
}

// PutComponents creates or replaces many components (each with ID set).
func (c *Client) PutComponents(ctx context.Context, list []orchestrator.ComponentPatch) ([]orchestrator.Component, error) {
	var out []orchestrator.Component
	return out, c.do(ctx, http.MethodPut, "/v2/components", nil, list, &out)
}

// PatchComponent merges a partial component.
func (c *Client) PatchComponent(ctx context.Context, id string, p orchestrator.ComponentPatch) (orchestrator.Component, error) {
	var out orchestrator.Component
	return out, c.do(ctx, http.MethodPatch, "/v2/components/"+url.PathEscape(id), nil, p, &out)
}

func skipQuery(skip bool) url.Values {
	if !skip {
		return nil
	}
	return url.Values{"skip_bad_ids": {"true"}}
}

// PatchComponents merges a list of partial components (each with ID set).
func (c *Client) PatchComponents(ctx context.Context, list []orchestrator.ComponentPatch, skipBadIDs bool) ([]orchestrator.Component, error) {
	var out []orchestrator.Component
	return out, c.do(ctx, http.MethodPatch, "/v2/components", skipQuery(skipBadIDs), list, &out)
}

// PatchComponentsFiltered merges one patch into the components named by ids or, if ids
// is empty, owned by session.
func (c *Client) PatchComponentsFiltered(ctx context.Context, p orchestrator.ComponentPatch, ids []string, session string, skipBadIDs bool) ([]orchestrator.Component, error) {
	body := PatchFilterBody{Patch: &p, Filters: &PatchFilters{IDs: strings.Join(ids, ","), Session: session}}
	var out []orchestrator.Component
	return out, c.do(ctx, http.MethodPatch, "/v2/components", skipQuery(skipBadIDs), body, &out)
}

// DeleteComponent deletes one component.
func (c *Client) DeleteComponent(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v2/components/"+url.PathEscape(id), nil, nil, nil)
}

// ApplyStaged applies the staged state of xnames.
func (c *Client) ApplyStaged(ctx context.Context, xnames []string) (ApplyStagedResponse, error) {
	var out ApplyStagedResponse
	return out, c.do(ctx, http.MethodPost, "/v2/applystaged", nil, ApplyStagedRequest{Xnames: xnames}, &out)
}

// typedReply decodes a reply into v after reading its timestamps as BOS writes them
// (timestamps.go); a *json.RawMessage gets the reply as sent.
type typedReply struct{ v any }

func (r *typedReply) UnmarshalJSON(raw []byte) error {
	if m, ok := r.v.(*json.RawMessage); ok {
		*m = append((*m)[:0], raw...)
		return nil
	}
	raw, err := FromWire(raw)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, r.v)
}
