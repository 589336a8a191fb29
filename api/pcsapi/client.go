package pcsapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
)

// Client speaks the PCS API. Errors from the service are *problem.Details (use
// problem.StatusOf for the HTTP status).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the PCS at baseURL, API path included (e.g.
// http://cray-power-control/v1, or https://api-gw-service-nmn.local/apis/power-control/v1).
// A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// CreateTransition starts a transition (POST /transitions).
func (c *Client) CreateTransition(ctx context.Context, in TransitionCreate) (TransitionStart, error) {
	var out TransitionStart
	_, err := problem.DoJSON(ctx, c.hc, http.MethodPost, c.base+"/transitions", nil, in, &out)
	return out, err
}

// Transition reads one transition with its tasks (GET /transitions/{id}).
func (c *Client) Transition(ctx context.Context, id string) (Transition, error) {
	var out Transition
	_, err := problem.DoJSON(ctx, c.hc, http.MethodGet, c.base+"/transitions/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// PowerStatus reads power states with POST /power-status, which takes any number of
// xnames in its body (a GET would carry them in the URL).
func (c *Client) PowerStatus(ctx context.Context, q PowerStatusQuery) (PowerStatusAll, error) {
	var out PowerStatusAll
	_, err := problem.DoJSON(ctx, c.hc, http.MethodPost, c.base+"/power-status", nil, q, &out)
	return out, err
}
