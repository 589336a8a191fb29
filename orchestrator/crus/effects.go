package crus

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/problem"
	bos "github.com/cray-bos/bos/orchestrator"
)

// observe reads what the stage needs (NeedsOf), nothing more.
func (s *Server) observe(ctx context.Context, rec *Record, n Needs) (Observation, error) {
	var obs Observation
	if n.FailedGroup {
		g, err := s.cfg.HSM.Group(ctx, rec.FailedLabel)
		if err != nil {
			return obs, fmt.Errorf("failed to obtain Node Group named '%s': %w", rec.FailedLabel, err)
		}
		obs.FailedMembers = g.Members.IDs
	}
	if n.Starting {
		g, err := s.cfg.HSM.Group(ctx, rec.StartingLabel)
		if err != nil {
			return obs, fmt.Errorf("failed to obtain Node Group named '%s': %w", rec.StartingLabel, err)
		}
		obs.Starting = g.Members.IDs
		obs.NIDs = map[string]int{}
		if len(obs.Starting) > 0 {
			comps, err := s.cfg.HSM.QueryComponents(ctx, obs.Starting, hsmapi.ComponentFilter{})
			if err != nil {
				return obs, fmt.Errorf("read the NIDs of group '%s': %w", rec.StartingLabel, err)
			}
			for _, c := range comps {
				obs.NIDs[c.ID] = c.NID
			}
		}
	}
	if len(n.WLM) > 0 {
		nodes, err := s.wlmNodes(ctx, rec, n.WLM)
		if err != nil {
			return obs, err
		}
		obs.WLM = nodes
	}
	if n.BOSSession != "" {
		sess, err := s.cfg.BOS.GetSession(ctx, n.BOSSession)
		switch {
		case problem.StatusOf(err) == http.StatusNotFound:
		case err != nil:
			return obs, fmt.Errorf("read BOS session %s: %w", n.BOSSession, err)
		default:
			v := &BOSSessionView{Complete: sess.Status.Status == bos.SessionComplete}
			if sess.Status.Error != nil {
				v.Error = *sess.Status.Error
			}
			obs.BOSSession = v
		}
	}
	if len(n.Components) > 0 {
		comps, err := s.cfg.BOS.ListComponents(ctx, bosapi.ComponentQuery{IDs: n.Components})
		if err != nil {
			return obs, fmt.Errorf("read BOS components: %w", err)
		}
		obs.Components = make(map[string]bos.Component, len(comps))
		for _, c := range comps {
			obs.Components[c.ID] = c
		}
	}
	return obs, nil
}

// wlmNodes reads the Slurm nodes of xnames in one request (a hostlist); if Slurm refuses
// the list (a name it does not know), it reads every node instead. Nodes Slurm does not
// know are left out.
func (s *Server) wlmNodes(ctx context.Context, rec *Record, xnames []string) (map[string]WLMNode, error) {
	byName := make(map[string]string, len(xnames))
	names := make([]string, 0, len(xnames))
	for _, x := range xnames {
		if name, ok := rec.Progress.WLMNames[x]; ok {
			byName[name] = x
			names = append(names, name)
		}
	}
	out := make(map[string]WLMNode, len(names))
	if len(names) == 0 {
		return out, nil
	}
	nodes, err := s.cfg.WLM.Node(ctx, hostlist.Compress(names))
	if slurmapi.CodeOf(err) == slurmapi.CodeNotFound || slurmapi.CodeOf(err) == slurmapi.CodeInvalid {
		nodes, err = s.cfg.WLM.Nodes(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("read Slurm nodes: %w", err)
	}
	for _, n := range nodes {
		if x, ok := byName[n.Name]; ok {
			out[x] = WLMNode{State: n.State, Reason: n.Reason, BootTime: n.BootTime}
		}
	}
	return out, nil
}

// perform carries out actions in order, stopping at the first failure. Every action is
// idempotent, so a retry repeats the whole list safely.
func (s *Server) perform(ctx context.Context, rec *Record, actions []Action) error {
	for _, a := range actions {
		if err := s.performOne(ctx, rec, a); err != nil {
			return fmt.Errorf("%s: %w", a.Kind, err)
		}
	}
	return nil
}

func (s *Server) performOne(ctx context.Context, rec *Record, a Action) error {
	switch a.Kind {
	case ActSetGroup:
		return s.setGroup(ctx, a.Label, a.Nodes)
	case ActAddToGroup:
		for _, n := range a.Nodes {
			if err := s.cfg.HSM.AddGroupMember(ctx, a.Label, n); err != nil && problem.StatusOf(err) != http.StatusConflict {
				return err
			}
		}
		return nil
	case ActDrain:
		return s.updateWLM(ctx, rec, a.Nodes, "DRAIN", a.Reason)
	case ActResume:
		return s.updateWLM(ctx, rec, a.Nodes, "RESUME", "")
	case ActRedrain:
		if a.ClearDown {
			if err := s.updateWLM(ctx, rec, a.Nodes, "RESUME", ""); err != nil {
				return err
			}
		}
		return s.updateWLM(ctx, rec, a.Nodes, "DRAIN", a.Reason)
	case ActFail:
		return s.updateWLM(ctx, rec, a.Nodes, "FAIL", a.Reason)
	case ActCreateBOSSession:
		limit := a.Label
		_, err := s.cfg.BOS.CreateSession(ctx, bos.SessionCreate{
			Name: a.Session, Operation: bos.OpReboot, TemplateName: a.Template, Limit: &limit,
		})
		if problem.StatusOf(err) == http.StatusConflict {
			// Made by an earlier attempt, or refused: the step's nodes are held by another
			// unfinished session (BOS's overlap rule under reject_overlapping_sessions=all).
			// The latter is retried with backoff until that session ends; CRUS never asks
			// for a takeover.
			if _, gerr := s.cfg.BOS.GetSession(ctx, a.Session); gerr == nil {
				return nil
			}
		}
		return err
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// setGroup makes an HSM group hold exactly want (HSM changes members one at a time).
func (s *Server) setGroup(ctx context.Context, label string, want []string) error {
	g, err := s.cfg.HSM.Group(ctx, label)
	if err != nil {
		return fmt.Errorf("failed to obtain Node Group named '%s': %w", label, err)
	}
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	have := make(map[string]bool, len(g.Members.IDs))
	for _, id := range g.Members.IDs {
		have[id] = true
		if wanted[id] {
			continue
		}
		if err := s.cfg.HSM.RemoveGroupMember(ctx, label, id); err != nil && problem.StatusOf(err) != http.StatusNotFound {
			return err
		}
	}
	for _, id := range want {
		if have[id] {
			continue
		}
		if err := s.cfg.HSM.AddGroupMember(ctx, label, id); err != nil && problem.StatusOf(err) != http.StatusConflict {
			return err
		}
	}
	return nil
}

// updateWLM is one `scontrol update` for all of nodes. RESUME of a node that is not
// drained or down answers a conflict while the others still change: that is success.
func (s *Server) updateWLM(ctx context.Context, rec *Record, xnames []string, state, reason string) error {
	names := make([]string, 0, len(xnames))
	for _, x := range xnames {
		if n, ok := rec.Progress.WLMNames[x]; ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	err := s.cfg.WLM.UpdateNode(ctx, slurmapi.NodeUpdate{Nodes: hostlist.Compress(names), State: state, Reason: reason})
	if state == "RESUME" && slurmapi.CodeOf(err) == slurmapi.CodeConflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slurm update State=%s: %w", state, err)
	}
	return nil
}
