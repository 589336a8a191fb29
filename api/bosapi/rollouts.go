package bosapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cray-bos/bos/orchestrator"
)

// Rollouts are our extension to BOS (/v2/rollouts, docs/rollouts.md).

// CreateRollout creates a rollout.
func (c *Client) CreateRollout(ctx context.Context, rc orchestrator.RolloutCreate) (orchestrator.Rollout, error) {
	var r orchestrator.Rollout
	return r, c.do(ctx, http.MethodPost, "/v2/rollouts", nil, rc, &r)
}

// ListRollouts lists the caller's tenant's rollouts (every rollout without a tenant).
func (c *Client) ListRollouts(ctx context.Context) ([]orchestrator.Rollout, error) {
	var out []orchestrator.Rollout
	return out, c.do(ctx, http.MethodGet, "/v2/rollouts", nil, nil, &out)
}

// GetRollout gets one rollout.
func (c *Client) GetRollout(ctx context.Context, name string) (orchestrator.Rollout, error) {
	var r orchestrator.Rollout
	return r, c.do(ctx, http.MethodGet, "/v2/rollouts/"+url.PathEscape(name), nil, nil, &r)
}

// RolloutCommand pauses, resumes or aborts a rollout (orchestrator.RolloutPause, ...).
func (c *Client) RolloutCommand(ctx context.Context, name, cmd string) (orchestrator.Rollout, error) {
	var r orchestrator.Rollout
	return r, c.do(ctx, http.MethodPost, "/v2/rollouts/"+url.PathEscape(name)+"/"+url.PathEscape(cmd), nil, nil, &r)
}
