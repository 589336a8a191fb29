package webui

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/rollout"
)

// Rollouts (docs/rollouts.md) in the view: a panel beside the sessions', canary outlines
// on the rolling map, and a node's rollout phase in its detail panel.

// maxRollouts bounds the rollouts panel: the unfinished ones first, then the newest.
const maxRollouts = 20

// maxFailedShown bounds the failed nodes a panel row names (Counts.Failed counts them all).
const maxFailedShown = 50

// rolloutRow is one rollout of the rollouts panel: what a reader needs to see where it
// stands, without its per-node list (a rollout may have thousands of nodes).
type rolloutRow struct {
	Name     string `json:"name"`
	Tenant   string `json:"tenant,omitempty"`
	Template string `json:"template_name"`
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"` // why paused, aborted, failed or complete with failures
	// Policy: canary k, max unavailable M and failure budget F as asked ("10%") and
	// resolved to node counts. The health check is left out (its URL may carry a secret).
	Canary         int    `json:"canary"`
	MaxUnavailable string `json:"max_unavailable"`
	MaxOut         int    `json:"max_unavailable_nodes"`
	FailureBudget  string `json:"failure_budget"`
	BudgetNodes    int    `json:"failure_budget_nodes"`
	// Step is "canary" while the canaries go alone, "waves" after; "" once final.
	Step   string        `json:"step"`
	Wave   int           `json:"wave"` // the last wave handed to Slurm (0: none yet)
	Counts rolloutCounts `json:"counts"`
	// Canaries are the canary nodes' xnames while the rollout is not final (the map
	// outlines them).
	Canaries []string        `json:"canaries"`
	Failed   []rolloutFailed `json:"failed"` // the first maxFailedShown failed nodes
	Updated  time.Time       `json:"updated"`
}

// rolloutCounts counts a rollout's nodes by phase, and its canaries.
type rolloutCounts struct {
	orchestrator.RolloutCounts
	Canary     int `json:"canary"`
	CanaryDone int `json:"canary_done"` // healthy, failed or cancelled
}

// rolloutFailed is one failed node and why (the reason it is left drained with).
type rolloutFailed struct {
	Xname  string `json:"xname"`
	Name   string `json:"name"` // Slurm's
	Reason string `json:"reason"`
}

// settled: the node's phase is final.
func settled(phase string) bool {
	return phase == orchestrator.NodeHealthy || phase == orchestrator.NodeFailed || phase == orchestrator.NodeCancelled
}

// rolloutRowOf summarizes a rollout record for the panel. Pure.
func rolloutRowOf(r orchestrator.Rollout) rolloutRow {
	r.Count()
	p := r.Policy
	row := rolloutRow{Name: r.Name, Tenant: r.Tenant, Template: r.TemplateName, State: r.State, Reason: r.Reason,
		Canary: p.Canary, MaxUnavailable: p.MaxUnavailable.String(), MaxOut: r.MaxUnavailable,
		FailureBudget: p.FailureBudget.String(), BudgetNodes: r.FailureBudget,
		Wave: r.Waves, Counts: rolloutCounts{RolloutCounts: r.Counts},
		Canaries: []string{}, Failed: []rolloutFailed{}, Updated: r.Updated}
	if len(p.CanaryNodes) > 0 {
		row.Canary = len(p.CanaryNodes)
	}
	canaryLeft := false
	for _, n := range r.Nodes {
		if n.Canary {
			row.Counts.Canary++
			if settled(n.Phase) {
				row.Counts.CanaryDone++
			} else {
				canaryLeft = true
			}
			if !r.Final() {
				row.Canaries = append(row.Canaries, n.Xname)
			}
		}
		if n.Phase == orchestrator.NodeFailed && len(row.Failed) < maxFailedShown {
			row.Failed = append(row.Failed, rolloutFailed{Xname: n.Xname, Name: n.Name, Reason: n.Reason})
		}
	}
	switch {
	case r.Final():
	case canaryLeft || row.Canary > 0 && r.Waves == 0:
		row.Step = "canary"
	case r.Waves > 0:
		row.Step = "waves"
	}
	return row
}

// readRollouts reads the scope's rollout records (every tenant's for an admin), skipping
// (and logging) any that does not decode.
func (v *View) readRollouts(ctx context.Context, sc scope) ([]orchestrator.Rollout, error) {
	raws, err := v.cfg.Store.ListRollouts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]orchestrator.Rollout, 0, len(raws))
	for id, raw := range raws {
		var r orchestrator.Rollout
		if err := json.Unmarshal(raw, &r); err != nil {
			v.cfg.Logger.Warn("web view: a stored rollout does not decode", "rollout", id, "err", err)
			continue
		}
		if sc.name == "" || r.Tenant == sc.name {
			out = append(out, r)
		}
	}
	// Unfinished first, then the most recently updated.
	slices.SortFunc(out, func(a, b orchestrator.Rollout) int {
		if a.Final() != b.Final() {
			if a.Final() {
				return 1
			}
			return -1
		}
		return b.Updated.Compare(a.Updated)
	})
	return out, nil
}

func (v *View) rollouts(w http.ResponseWriter, r *http.Request, sc scope) {
	list, err := v.readRollouts(r.Context(), sc)
	if err != nil {
		v.fail(w, err)
		return
	}
	list = list[:min(len(list), maxRollouts)]
	rows := make([]rolloutRow, 0, len(list))
	for _, ro := range list {
		rows = append(rows, rolloutRowOf(ro))
	}
	writeJSON(w, rows)
}

// rolloutNodeDetail is a node's place in a rollout, for its detail panel.
type rolloutNodeDetail struct {
	Rollout string `json:"rollout"`
	State   string `json:"state"` // the rollout's
	Phase   string `json:"phase"` // the node's
	Canary  bool   `json:"canary"`
	Wave    int    `json:"wave"`
	// Reason: why the node failed, or what it waits for.
	Reason string `json:"reason"`
	// DrainReason is the Slurm reason a failed node is left drained with ("" otherwise).
	DrainReason string `json:"drain_reason,omitempty"`
}

// rolloutOf finds id in the rollouts (ordered as readRollouts orders them: the first
// that has it wins). Nil when no rollout has it.
func rolloutOf(id string, list []orchestrator.Rollout) *rolloutNodeDetail {
	for _, r := range list {
		for _, n := range r.Nodes {
			if n.Xname == id {
				d := &rolloutNodeDetail{Rollout: r.Name, State: r.State, Phase: n.Phase, Canary: n.Canary, Wave: n.Wave, Reason: n.Reason}
				if n.Phase == orchestrator.NodeFailed {
					d.DrainReason = rollout.FailReason(r.Name, n.Reason)
				}
				return d
			}
		}
	}
	return nil
}
