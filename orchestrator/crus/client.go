package crus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
)

// Client speaks the CRUS API. Errors from the server are *problem.Details; for a 422 the
// detail also lists the field errors ("...: starting_label: HSM group 'x' does not exist.").
type Client struct{ svc problem.Service }

// NewClient returns a client for the server at baseURL (scheme://host:port); the client
// adds /crus. A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{svc: problem.NewService(baseURL, PathPrefix, hc)}
}

// CreateRequest is a create body with plain values (Create has pointers for validation).
type CreateRequest struct {
	StartingLabel       string `json:"starting_label"`
	UpgradingLabel      string `json:"upgrading_label"`
	FailedLabel         string `json:"failed_label"`
	UpgradeStepSize     int    `json:"upgrade_step_size"`
	UpgradeTemplateID   string `json:"upgrade_template_id"`
	WorkloadManagerType string `json:"workload_manager_type"`
}

// Create starts an upgrade session (workload_manager_type defaults to slurm).
func (c *Client) Create(ctx context.Context, req CreateRequest) (Session, error) {
	if req.WorkloadManagerType == "" {
		req.WorkloadManagerType = WorkloadManagerSlurm
	}
	var out Session
	return out, c.do(ctx, http.MethodPost, "/session", req, &out)
}

// List returns every session.
func (c *Client) List(ctx context.Context) ([]Session, error) {
	var out []Session
	return out, c.do(ctx, http.MethodGet, "/session", nil, &out)
}

// Get returns one session.
func (c *Client) Get(ctx context.Context, id string) (Session, error) {
	var out Session
	return out, c.do(ctx, http.MethodGet, "/session/"+url.PathEscape(id), nil, &out)
}

// Delete asks for a session's removal and returns it (state DELETING).
func (c *Client) Delete(ctx context.Context, id string) (Session, error) {
	var out Session
	return out, c.do(ctx, http.MethodDelete, "/session/"+url.PathEscape(id), nil, &out)
}

// do is problem.DoJSON but for the error answer: a 422's field errors are folded into
// the detail (responseProblem).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("crus %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.svc.Base+path, body)
	if err != nil {
		return fmt.Errorf("crus %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.svc.HC.Do(req)
	if err != nil {
		return fmt.Errorf("crus %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("crus %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return responseProblem(resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("crus %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// responseProblem turns an error answer into a *problem.Details, folding a 422's field
// errors into the detail.
func responseProblem(status int, raw []byte) *problem.Details {
	var vp ValidationProblem
	if json.Unmarshal(raw, &vp) != nil || vp.Status == 0 {
		return &problem.Details{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: strings.TrimSpace(string(raw))}
	}
	d := vp.Details
	d.Status = status
	if len(vp.Errors) > 0 {
		fields := make([]string, 0, len(vp.Errors))
		for f := range vp.Errors {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = f + ": " + strings.Join(vp.Errors[f], " ")
		}
		d.Detail = strings.TrimSpace(d.Detail + " " + strings.Join(parts, "; "))
	}
	return &d
}
