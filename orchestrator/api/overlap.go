package api

import (
	"context"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// admitOverlap is the store admission of a new session of api that selects want
// (orchestrator/overlap.go): with reject its overlap is the 409, otherwise setTookOver
// records the nodes it takes over from whom. The store runs it inside the creation's
// compare-and-set, so the view it decides on is the latest across processes.
func admitOverlap[T any](s *Server, api string, want orchestrator.NodeSelector, reject bool, setTookOver func(*T, []orchestrator.SessionTakeover)) store.Admit[T] {
	return func(ctx context.Context, rec *T) error {
		conflicts, err := s.overlaps(ctx, want)
		if err != nil {
			return err
		}
		took, err := orchestrator.DecideOverlap(conflicts, reject)
		if err != nil {
			return err
		}
		setTookOver(rec, took)
		return nil
	}
}

// logTakeovers logs, per holding session, the nodes the new session (api, tenant,
// name) took over from it.
func (s *Server) logTakeovers(api, tenant, name string, took []orchestrator.SessionTakeover) {
	for _, t := range took {
		s.log.Info("session takes over nodes held by another session", "api", api, "session", tenantQualified(tenant, name),
			"from_api", t.API, "from_session", tenantQualified(t.Tenant, t.Session), "count", len(t.Nodes), "nodes", orchestrator.NodeSample(t.Nodes))
	}
}

// tenantQualified is "tenant/name", or name without a tenant.
func tenantQualified(tenant, name string) string {
	if tenant == "" {
		return name
	}
	return tenant + "/" + name
}

// overlaps applies the overlap rule's reading (orchestrator/overlap.go) to a new session
// that selects want: every unfinished session, v1 or v2 and of any tenant, holds nodes (a
// running one the nodes whose component names it, a pending one the nodes it selects);
// the result is those that hold some of want's nodes. Without a Config.Nodes resolver
// there is none.
func (s *Server) overlaps(ctx context.Context, want orchestrator.NodeSelector) ([]orchestrator.SessionConflict, error) {
	if s.nodes == nil {
		return nil, nil
	}
	var holders []orchestrator.SessionHolder
	sels := []orchestrator.NodeSelector{want}
	var pendingIdx []int // holder index of each pending selector after want

	addRunning := func(h orchestrator.SessionHolder) error {
		ids, err := s.st.ComponentIDs(ctx, store.Filter{Session: h.Session})
		if err != nil {
			return err
		}
		h.Nodes = ids
		holders = append(holders, h)
		return nil
	}
	addPending := func(h orchestrator.SessionHolder, sel orchestrator.NodeSelector) {
		holders = append(holders, h)
		pendingIdx = append(pendingIdx, len(holders)-1)
		sels = append(sels, sel)
	}

	for _, status := range []string{orchestrator.SessionPending, orchestrator.SessionRunning} {
		list, err := s.st.ListSessions(ctx, "", true, orchestrator.SessionFilter{Status: status}, s.now())
		if err != nil {
			return nil, err
		}
		for _, sess := range list {
			if sess.Stage {
				continue // staged sessions only write staged state
			}
			h := orchestrator.SessionHolder{API: "v2", Tenant: sess.Tenant, Session: sess.Name, State: status}
			if status == orchestrator.SessionRunning {
				if err := addRunning(h); err != nil {
					return nil, err
				}
				continue
			}
			tmpl, err := s.st.GetTemplate(ctx, sess.Tenant, sess.TemplateName)
			if orchestrator.IsNotFound(err) {
				continue // its setup will fail: it holds nothing
			}
			if err != nil {
				return nil, err
			}
			addPending(h, orchestrator.NodeSelector{Tenant: sess.Tenant, Template: tmpl, Limit: sess.Limit, IncludeDisabled: sess.IncludeDisabled})
		}
	}
	v1, err := s.st.ActiveV1Sessions(ctx)
	if err != nil {
		return nil, err
	}
	for _, sess := range v1 {
		h := orchestrator.SessionHolder{API: "v1", Session: sess.ID, State: sess.State}
		if sess.State == orchestrator.V1Running {
			if err := addRunning(h); err != nil {
				return nil, err
			}
			continue
		}
		addPending(h, orchestrator.NodeSelector{Template: sess.Template.V2(), Partition: sess.Template.Partition, Limit: sess.Limit})
	}

	resolved, err := s.nodes.ResolveNodes(ctx, sels)
	if err != nil {
		return nil, err
	}
	if resolved[0].Err != nil {
		// The new session cannot select (a bad limit or partition): it holds nothing, and
		// its setup fails it with that error, as without the rule.
		return nil, nil
	}
	for i, hi := range pendingIdx {
		holders[hi].Nodes = resolved[i+1].Nodes // a pending session that cannot select holds nothing
	}
	return orchestrator.Overlaps(resolved[0].Nodes, holders), nil
}
