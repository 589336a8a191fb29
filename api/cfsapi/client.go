package cfsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
)

// Client speaks the CFS v3 API. Errors from the service are *problem.Details (use
// problem.StatusOf for the HTTP status).
type Client struct{ svc problem.Service }

// NewClient returns a client for the CFS at baseURL (scheme://host:port; the client adds
// /v3, the in-cluster path BOS uses). A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{svc: problem.NewService(baseURL, "/v3", hc)}
}

// ComponentQuery selects components for GetComponents. Zero fields do not filter.
type ComponentQuery struct {
	IDs           []string
	Status        []string
	Enabled       *bool
	ConfigName    string
	Tags          map[string]string // all must match
	StateDetails  bool
	ConfigDetails bool
	Limit         int // page size; 0 = the server's default
}

// Filter selects the components of a filter-form PATCH. Every zero field matches all;
// the zero Filter patches every component.
type Filter struct {
	IDs        []string
	Status     []string
	Enabled    *bool
	ConfigName string
	Tags       map[string]string
}

// GetComponents returns every component q selects, following "next" page by page.
func (c *Client) GetComponents(ctx context.Context, q ComponentQuery) ([]Component, error) {
	v := url.Values{}
	setNonEmpty(v, "ids", strings.Join(q.IDs, ","))
	setNonEmpty(v, "status", strings.Join(q.Status, ","))
	if q.Enabled != nil {
		v.Set("enabled", strconv.FormatBool(*q.Enabled))
	}
	setNonEmpty(v, "config_name", q.ConfigName)
	setNonEmpty(v, "tags", joinTags(q.Tags))
	if q.StateDetails {
		v.Set("state_details", "true")
	}
	if q.ConfigDetails {
		v.Set("config_details", "true")
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var all []Component
	for {
		var page ComponentsPage
		if err := c.do(ctx, http.MethodGet, "/components", v, nil, &page); err != nil {
			return nil, fmt.Errorf("cfs: get components: %w", err)
		}
		all = append(all, page.Components...)
		if page.Next == nil {
			return all, nil
		}
		v = page.Next.Values()
	}
}

// Values turns a "next" object back into a query, as BOS's requests-based client does.
func (n *ComponentsNext) Values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "ids", n.IDs)
	setNonEmpty(v, "status", n.Status)
	if n.Enabled != nil {
		v.Set("enabled", strconv.FormatBool(*n.Enabled))
	}
	setNonEmpty(v, "config_name", n.ConfigName)
	v.Set("state_details", strconv.FormatBool(n.StateDetails))
	v.Set("config_details", strconv.FormatBool(n.ConfigDetails))
	setNonEmpty(v, "tags", n.Tags)
	v.Set("limit", strconv.Itoa(n.Limit))
	v.Set("after_id", n.AfterID)
	return v
}

// GetComponent returns one component with its state.
func (c *Client) GetComponent(ctx context.Context, id string) (*Component, error) {
	var out Component
	v := url.Values{"state_details": {"true"}}
	if err := c.do(ctx, http.MethodGet, "/components/"+url.PathEscape(id), v, nil, &out); err != nil {
		return nil, fmt.Errorf("cfs: get component %s: %w", id, err)
	}
	return &out, nil
}

// PutComponents creates or replaces each component (each needs an ID).
func (c *Client) PutComponents(ctx context.Context, comps []ComponentPatch) ([]string, error) {
	var out ComponentIDs
	if err := c.do(ctx, http.MethodPut, "/components", nil, comps, &out); err != nil {
		return nil, fmt.Errorf("cfs: put components: %w", err)
	}
	return out.ComponentIDs, nil
}

// PatchComponents applies patch to every component f selects (the filter form, as BOS
// uses it) and returns the ids patched. Careful: a zero Filter patches every component.
func (c *Client) PatchComponents(ctx context.Context, patch ComponentPatch, f Filter) ([]string, error) {
	patch.ID = ""
	filters := map[string]any{}
	setNonEmptyAny(filters, "ids", strings.Join(f.IDs, ","))
	setNonEmptyAny(filters, "status", strings.Join(f.Status, ","))
	if f.Enabled != nil {
		filters["enabled"] = *f.Enabled
	}
	setNonEmptyAny(filters, "config_name", f.ConfigName)
	setNonEmptyAny(filters, "tags", joinTags(f.Tags))
	body := map[string]any{"patch": patch, "filters": filters}
	var out ComponentIDs
	if err := c.do(ctx, http.MethodPatch, "/components", nil, body, &out); err != nil {
		return nil, fmt.Errorf("cfs: patch components: %w", err)
	}
	return out.ComponentIDs, nil
}

// PatchComponentsList patches each listed component (the array form; each needs an ID).
// If any id is unknown the service answers 404 and patches none.
func (c *Client) PatchComponentsList(ctx context.Context, patches []ComponentPatch) ([]string, error) {
	var out ComponentIDs
	if err := c.do(ctx, http.MethodPatch, "/components", nil, patches, &out); err != nil {
		return nil, fmt.Errorf("cfs: patch component list: %w", err)
	}
	return out.ComponentIDs, nil
}

// PatchComponent patches one component and returns it (with state).
func (c *Client) PatchComponent(ctx context.Context, id string, patch ComponentPatch) (*Component, error) {
	patch.ID = ""
	var out Component
	if err := c.do(ctx, http.MethodPatch, "/components/"+url.PathEscape(id), nil, patch, &out); err != nil {
		return nil, fmt.Errorf("cfs: patch component %s: %w", id, err)
	}
	return &out, nil
}

// DeleteComponent deletes one component.
func (c *Client) DeleteComponent(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodDelete, "/components/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return fmt.Errorf("cfs: delete component %s: %w", id, err)
	}
	return nil
}

// PutConfiguration creates or replaces a configuration and returns it as stored (branches
// resolved to commits, default playbooks filled in).
func (c *Client) PutConfiguration(ctx context.Context, name string, cfg ConfigurationRequest) (*Configuration, error) {
	if cfg.Layers == nil {
		cfg.Layers = []Layer{}
	}
	var out Configuration
	if err := c.do(ctx, http.MethodPut, "/configurations/"+url.PathEscape(name), nil, cfg, &out); err != nil {
		return nil, fmt.Errorf("cfs: put configuration %s: %w", name, err)
	}
	return &out, nil
}

// GetConfiguration returns one configuration.
func (c *Client) GetConfiguration(ctx context.Context, name string) (*Configuration, error) {
	var out Configuration
	if err := c.do(ctx, http.MethodGet, "/configurations/"+url.PathEscape(name), nil, nil, &out); err != nil {
		return nil, fmt.Errorf("cfs: get configuration %s: %w", name, err)
	}
	return &out, nil
}

// GetConfigurations returns every configuration, following "next".
func (c *Client) GetConfigurations(ctx context.Context) ([]Configuration, error) {
	v := url.Values{}
	var all []Configuration
	for {
		var page ConfigurationsPage
		if err := c.do(ctx, http.MethodGet, "/configurations", v, nil, &page); err != nil {
			return nil, fmt.Errorf("cfs: get configurations: %w", err)
		}
		all = append(all, page.Configurations...)
		if page.Next == nil {
			return all, nil
		}
		v = url.Values{"limit": {strconv.Itoa(page.Next.Limit)}, "after_id": {page.Next.AfterID}}
		if page.Next.InUse != nil {
			v.Set("in_use", strconv.FormatBool(*page.Next.InUse))
		}
	}
}

// DeleteConfiguration deletes a configuration; 400 while a component's desired_config names it.
func (c *Client) DeleteConfiguration(ctx context.Context, name string) error {
	if err := c.do(ctx, http.MethodDelete, "/configurations/"+url.PathEscape(name), nil, nil, nil); err != nil {
		return fmt.Errorf("cfs: delete configuration %s: %w", name, err)
	}
	return nil
}

// do sends one request (see problem.DoJSON).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	_, err := c.svc.Do(ctx, method, path, q, in, out)
	return err
}

func joinTags(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	kv := make([]string, 0, len(tags))
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func setNonEmpty(v url.Values, key, val string) {
	if val != "" {
		v.Set(key, val)
	}
}

func setNonEmptyAny(m map[string]any, key, val string) {
	if val != "" {
		m[key] = val
	}
}
