package api

import (
	"context"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// checkOverlap applies the overlap rule (orchestrator/overlap.go) to a new session that
// selects want: every unfinished session, v1 or v2 and of any tenant, holds nodes (a
// running one the nodes whose component names it, a pending one the nodes it selects);
// if any of them holds one of want's nodes the answer is a 409 naming them. The caller
// holds createMu, so two creations cannot both pass the check. Without a Config.Nodes
// resolver there is no check.
func (s *Server) checkOverlap(ctx context.Context, want orchestrator.NodeSelector) error {
	if s.nodes == nil {
		return nil
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
			return err
		}
		for _, sess := range list {
			if sess.Stage {
				continue // staged sessions only write staged state
			}
			h := orchestrator.SessionHolder{API: "v2", Tenant: sess.Tenant, Session: sess.Name, State: status}
			if status == orchestrator.SessionRunning {
				if err := addRunning(h); err != nil {
					return err
				}
				continue
			}
			tmpl, err := s.st.GetTemplate(ctx, sess.Tenant, sess.TemplateName)
			if orchestrator.IsNotFound(err) {
				continue // its setup will fail: it holds nothing
			}
			if err != nil {
				return err
			}
			addPending(h, orchestrator.NodeSelector{Tenant: sess.Tenant, Template: tmpl, Limit: sess.Limit, IncludeDisabled: sess.IncludeDisabled})
		}
	}
	v1, err := s.st.ActiveV1Sessions(ctx)
	if err != nil {
		return err
	}
	for _, sess := range v1 {
		h := orchestrator.SessionHolder{API: "v1", Session: sess.ID, State: sess.State}
		if sess.State == orchestrator.V1Running {
			if err := addRunning(h); err != nil {
				return err
			}
			continue
		}
		addPending(h, orchestrator.NodeSelector{Template: sess.Template.V2(), Partition: sess.Template.Partition, Limit: sess.Limit})
	}

	resolved, err := s.nodes.ResolveNodes(ctx, sels)
	if err != nil {
		return err
	}
	if resolved[0].Err != nil {
		// The new session cannot select (a bad limit or partition): it holds nothing, and
		// its setup fails it with that error, as without the rule.
		return nil
	}
	for i, hi := range pendingIdx {
		holders[hi].Nodes = resolved[i+1].Nodes // a pending session that cannot select holds nothing
	}
	if conflicts := orchestrator.Overlaps(resolved[0].Nodes, holders); len(conflicts) > 0 {
		return orchestrator.OverlapError(conflicts)
	}
	return nil
}
