package bosapi

import (
	"context"
	"net/http"
	"net/url"
	"path"

	"github.com/cray-bos/bos/orchestrator"
)

// The v1 half of Client: the paths start with /v1 and the shapes are v1's (package
// orchestrator's V1* types). v1 has no tenants: a client made WithTenant is refused by
// every v1 endpoint but version, healthz and sessiontemplatetemplate.

// takeoverQuery is the query of a session create that takes over held nodes.
var takeoverQuery = url.Values{"takeover": {"true"}}

// CreateSessionTakeover creates a v2 session like CreateSession, taking over nodes that
// unfinished sessions hold even where reject_overlapping_sessions would refuse it with
// 409 (POST /v2/sessions?takeover=true).
func (c *Client) CreateSessionTakeover(ctx context.Context, sc orchestrator.SessionCreate) (orchestrator.Session, error) {
	var s orchestrator.Session
	return s, c.do(ctx, http.MethodPost, "/v2/sessions", takeoverQuery, sc, &s)
}

// V1Version returns /v1/version.
func (c *Client) V1Version(ctx context.Context) (Version, error) {
	var v Version
	return v, c.do(ctx, http.MethodGet, "/v1/version", nil, nil, &v)
}

// V1Healthz returns /v1/healthz (a 503 is an error).
func (c *Client) V1Healthz(ctx context.Context) (Health, error) {
	var h Health
	return h, c.do(ctx, http.MethodGet, "/v1/healthz", nil, nil, &h)
}

// V1ListTemplates lists every session template in its v1 view (all tenants', as BOS does).
func (c *Client) V1ListTemplates(ctx context.Context) ([]orchestrator.V1SessionTemplate, error) {
	var out []orchestrator.V1SessionTemplate
	return out, c.do(ctx, http.MethodGet, "/v1/sessiontemplate", nil, nil, &out)
}

// V1GetTemplate gets one session template in its v1 view.
func (c *Client) V1GetTemplate(ctx context.Context, name string) (orchestrator.V1SessionTemplate, error) {
	var t orchestrator.V1SessionTemplate
	return t, c.do(ctx, http.MethodGet, "/v1/sessiontemplate/"+url.PathEscape(name), nil, nil, &t)
}

// V1CreateTemplate creates or silently replaces the template t.Name and returns its name.
func (c *Client) V1CreateTemplate(ctx context.Context, t orchestrator.V1SessionTemplate) (string, error) {
	var name string
	return name, c.do(ctx, http.MethodPost, "/v1/sessiontemplate", nil, t, &name)
}

// V1DeleteTemplate deletes a session template.
func (c *Client) V1DeleteTemplate(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/sessiontemplate/"+url.PathEscape(name), nil, nil, nil)
}

// V1TemplateTemplate returns the example v1 template.
func (c *Client) V1TemplateTemplate(ctx context.Context) (orchestrator.V1SessionTemplate, error) {
	var t orchestrator.V1SessionTemplate
	return t, c.do(ctx, http.MethodGet, "/v1/sessiontemplatetemplate", nil, nil, &t)
}

// V1CreateSession creates a v1 session (operation boot, reboot, shutdown or configure on
// sc.TemplateName, optionally limited by sc.Limit). A 409 means unfinished sessions hold
// some of its nodes (unless reject_overlapping_sessions is none): see
// V1CreateSessionTakeover.
func (c *Client) V1CreateSession(ctx context.Context, sc orchestrator.V1SessionCreate) (orchestrator.V1SessionCreated, error) {
	var out orchestrator.V1SessionCreated
	return out, c.do(ctx, http.MethodPost, "/v1/session", nil, sc, &out)
}

// V1CreateSessionTakeover creates a v1 session that takes over nodes held by unfinished
// sessions (POST /v1/session?takeover=true).
func (c *Client) V1CreateSessionTakeover(ctx context.Context, sc orchestrator.V1SessionCreate) (orchestrator.V1SessionCreated, error) {
	var out orchestrator.V1SessionCreated
	return out, c.do(ctx, http.MethodPost, "/v1/session", takeoverQuery, sc, &out)
}

// V1SessionID returns the session id of a create answer (the last part of its session link).
func V1SessionID(created orchestrator.V1SessionCreated) string {
	for _, l := range created.Links {
		if l.Rel == "session" {
			return path.Base(l.Href)
		}
	}
	return ""
}

// V1ListSessions lists the ids of every v1 session.
func (c *Client) V1ListSessions(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "/v1/session", nil, nil, &out)
}

// V1GetSession gets a v1 session's details.
func (c *Client) V1GetSession(ctx context.Context, id string) (orchestrator.V1SessionDetails, error) {
	var out orchestrator.V1SessionDetails
	return out, c.do(ctx, http.MethodGet, "/v1/session/"+url.PathEscape(id), nil, nil, &out)
}

// V1DeleteSession deletes a v1 session and its status (a running session stops).
func (c *Client) V1DeleteSession(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/session/"+url.PathEscape(id), nil, nil, nil)
}

// V1SessionStatus returns a v1 session's status: its boot sets, metadata and, once it
// has stopped, the failed nodes and the command that retries them.
func (c *Client) V1SessionStatus(ctx context.Context, id string) (orchestrator.V1SessionStatus, error) {
	var out orchestrator.V1SessionStatus
	return out, c.do(ctx, http.MethodGet, v1StatusPath(id), nil, nil, &out)
}

// V1BootSetStatus returns the status of one boot set of a v1 session.
func (c *Client) V1BootSetStatus(ctx context.Context, id, bootSet string) (orchestrator.V1BootSetStatus, error) {
	var out orchestrator.V1BootSetStatus
	return out, c.do(ctx, http.MethodGet, v1StatusPath(id, bootSet), nil, nil, &out)
}

// V1PhaseStatus returns one phase (shutdown, boot or configure) of a boot set's status.
func (c *Client) V1PhaseStatus(ctx context.Context, id, bootSet, phase string) (orchestrator.V1PhaseStatus, error) {
	var out orchestrator.V1PhaseStatus
	return out, c.do(ctx, http.MethodGet, v1StatusPath(id, bootSet, phase), nil, nil, &out)
}

// V1CategoryStatus returns the nodes of one category (not_started, in_progress,
// succeeded, failed, excluded) of a phase.
func (c *Client) V1CategoryStatus(ctx context.Context, id, bootSet, phase, category string) (orchestrator.V1Category, error) {
	var out orchestrator.V1Category
	return out, c.do(ctx, http.MethodGet, v1StatusPath(id, bootSet, phase, category), nil, nil, &out)
}

func v1StatusPath(id string, parts ...string) string {
	p := "/v1/session/" + url.PathEscape(id) + "/status"
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}
