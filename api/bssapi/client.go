package bssapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
)

// Client speaks the BSS API at /boot/v1. Errors from the service are *problem.Details
// (use problem.StatusOf for the HTTP status).
type Client struct{ svc problem.Service }

// NewClient returns a client for the BSS at baseURL (scheme://host:port; the client adds
// /boot/v1). A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{svc: problem.NewService(baseURL, "/boot/v1", hc)}
}

// Query selects boot parameters or hosts by xname (or FQDN), MAC and NID. The zero Query
// selects everything.
type Query struct {
	Names []string
	MACs  []string
	NIDs  []int
}

func (q Query) values() url.Values {
	v := url.Values{}
	if len(q.Names) > 0 {
		v.Set("name", strings.Join(q.Names, ","))
	}
	if len(q.MACs) > 0 {
		v.Set("mac", strings.Join(q.MACs, ","))
	}
	if len(q.NIDs) > 0 {
		nids := make([]string, len(q.NIDs))
		for i, n := range q.NIDs {
			nids[i] = strconv.Itoa(n)
		}
		v.Set("nid", strings.Join(nids, ","))
	}
	return v
}

// ScriptQuery names the node asking for a boot script: by MAC, else Name, else NID
// (0 = not given). Arch and Retry are optional.
type ScriptQuery struct {
	MAC, Name, Arch string
	NID, Retry      int
}

// PutBootParameters stores (replaces) bp and returns the referral token BSS minted for it.
// This is the one call BOS makes.
func (c *Client) PutBootParameters(ctx context.Context, bp BootParams) (string, error) {
	resp, err := c.do(ctx, http.MethodPut, "/bootparameters", nil, bp, nil)
	if err != nil {
		return "", fmt.Errorf("bss: put boot parameters: %w", err)
	}
	return resp.Header.Get(ReferralTokenHeader), nil
}

// PostBootParameters creates bp; it fails (400) if any target already has parameters.
func (c *Client) PostBootParameters(ctx context.Context, bp BootParams) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, "/bootparameters", nil, bp, nil)
	if err != nil {
		return "", fmt.Errorf("bss: post boot parameters: %w", err)
	}
	return resp.Header.Get(ReferralTokenHeader), nil
}

// GetBootParameters returns the entries q selects (404 when none match), or every image
// and host entry for the zero Query.
func (c *Client) GetBootParameters(ctx context.Context, q Query) ([]BootParams, error) {
	var out []BootParams
	if _, err := c.do(ctx, http.MethodGet, "/bootparameters", q.values(), nil, &out); err != nil {
		return nil, fmt.Errorf("bss: get boot parameters: %w", err)
	}
	return out, nil
}

// PatchBootParameters updates the non-empty fields of bp on existing entries (404 otherwise).
func (c *Client) PatchBootParameters(ctx context.Context, bp BootParams) error {
	if _, err := c.do(ctx, http.MethodPatch, "/bootparameters", nil, bp, nil); err != nil {
		return fmt.Errorf("bss: patch boot parameters: %w", err)
	}
	return nil
}

// DeleteBootParameters removes the hosts, MACs, NIDs and images bp names.
func (c *Client) DeleteBootParameters(ctx context.Context, bp BootParams) error {
	if _, err := c.do(ctx, http.MethodDelete, "/bootparameters", nil, bp, nil); err != nil {
		return fmt.Errorf("bss: delete boot parameters: %w", err)
	}
	return nil
}

// BootScript fetches the iPXE script a node would boot with.
func (c *Client) BootScript(ctx context.Context, q ScriptQuery) (string, error) {
	v := url.Values{}
	switch {
	case q.MAC != "":
		v.Set("mac", q.MAC)
	case q.Name != "":
		v.Set("name", q.Name)
	case q.NID != 0:
		v.Set("nid", strconv.Itoa(q.NID))
	}
	if q.Arch != "" {
		v.Set("arch", q.Arch)
	}
	if q.Retry != 0 {
		v.Set("retry", strconv.Itoa(q.Retry))
	}
	var b strings.Builder
	if _, err := c.do(ctx, http.MethodGet, "/bootscript", v, nil, &b); err != nil {
		return "", fmt.Errorf("bss: boot script: %w", err)
	}
	return b.String(), nil
}

// Hosts returns BSS's HSM-derived host records (404 for an unknown name, MAC or NID).
func (c *Client) Hosts(ctx context.Context, q Query) ([]Host, error) {
	var out []Host
	if _, err := c.do(ctx, http.MethodGet, "/hosts", q.values(), nil, &out); err != nil {
		return nil, fmt.Errorf("bss: get hosts: %w", err)
	}
	return out, nil
}

// RefreshHosts makes BSS re-read HSM (POST /hosts).
func (c *Client) RefreshHosts(ctx context.Context) error {
	if _, err := c.do(ctx, http.MethodPost, "/hosts", nil, nil, nil); err != nil {
		return fmt.Errorf("bss: refresh hosts: %w", err)
	}
	return nil
}

// EndpointHistory returns last-access records, filtered by node name and endpoint when set.
func (c *Client) EndpointHistory(ctx context.Context, name, endpoint string) ([]EndpointAccess, error) {
	v := url.Values{}
	if name != "" {
		v.Set("name", name)
	}
	if endpoint != "" {
		v.Set("endpoint", endpoint)
	}
	var out []EndpointAccess
	if _, err := c.do(ctx, http.MethodGet, "/endpoint-history", v, nil, &out); err != nil {
		return nil, fmt.Errorf("bss: endpoint history: %w", err)
	}
	return out, nil
}

// do sends one request (see problem.DoJSON); out may be a *strings.Builder for text.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) (*http.Response, error) {
	return c.svc.Do(ctx, method, path, q, in, out)
}
