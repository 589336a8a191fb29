package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/loop"
	"github.com/cray-bos/bos/internal/problem"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Run drives every unfinished rollout until ctx ends: a pass every Poll, or at once
// after a create or a command (Wake) or a BOS write to a node in flight (Notify). Each
// pass reads Slurm's nodes and jobs once and steps every unfinished rollout
// (level-triggered: a restarted BOS carries on from the stored records).
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.relayNotifies(ctx) })
	loop.Every(ctx, s.log, "rollouts", func() time.Duration { return s.cfg.Poll }, s.wake, s.pass)
	wg.Wait()
	return nil
}

// relayNotifies turns Notify's signals into wake-ups, at most one per half Poll after
// the last pass began, and none when a pass began since the signal (it read the write):
// the nodes of a wave come back one by one, and a pass per node would multiply the
// passes (each reads every Slurm node and the whole record) for a few milliseconds each.
func (s *Server) relayNotifies(ctx context.Context) {
	var woke time.Time // the last wake-up sent: its pass may not have begun yet
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.notified:
		}
		seen := s.passes.Load()
		last := latest(time.Unix(0, s.lastPass.Load()), woke)
		if d := time.Until(last.Add(s.cfg.Poll / 2)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if s.passes.Load() != seen {
			continue // a poll came first
		}
		s.Wake()
		woke = time.Now()
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (s *Server) pass(ctx context.Context) {
	s.lastPass.Store(time.Now().UnixNano())
	s.passes.Add(1)
	recs, err := s.list(ctx)
	if err != nil {
		s.log.Warn("rollout: listing rollouts", "err", err)
		return
	}
	inFlight := map[string]bool{}
	var wlm map[string]SlurmNode
	for _, r := range recs {
		if r.Final() && r.Pending == nil {
			continue
		}
		if wlm == nil {
			if wlm, err = s.readSlurm(ctx); err != nil {
				s.log.Warn("rollout: reading Slurm", "err", err)
				return
			}
		}
		id := store.RolloutID(r.Tenant, r.Name)
		now := r
		for range 3 { // a stale record (a command meanwhile) is stepped again at once
			if now, err = s.step(ctx, id, wlm); !errors.Is(err, errStale) {
				break
			}
		}
		if err != nil {
			now = r // what it was: its nodes in flight still are
			if ctx.Err() == nil {
				s.log.Warn("rollout: step failed; retrying at the next pass", "rollout", r.Name, "tenant", r.Tenant, "err", err)
			}
		}
		for _, n := range now.Nodes {
			// Out: Slurm has taken it out of service (the reboot issued); not handed, whose
			// write is mostly applystaged as its reboot is issued, which frees no slot.
			if n.Phase == bos.NodeOut {
				inFlight[n.Xname] = true
			}
		}
	}
	s.inFlight.Store(&inFlight)
}

// Notify is the hook of BOS's waking component writes (the store's OnComponentsChanged,
// and the other replicas' shared wakes): a write to a node a rollout has seen out of
// service (phase out) and not settled wakes the controller. Such a write is mostly the node's boot report,
// and slurmd registers as the node boots, so Slurm has it back in service by then: the
// next hand-over follows a node's return, not the next poll (the poll stays the
// backstop: the pass reads Slurm, whatever woke it). It never blocks; relayNotifies
// spaces the passes it asks for.
func (s *Server) Notify(ids []string) {
	m := s.inFlight.Load()
	if m == nil {
		return
	}
	for _, id := range ids {
		if (*m)[id] {
			select {
			case s.notified <- struct{}{}:
			default:
			}
			return
		}
	}
}

// step is one look at a rollout (persist, then act):
//  1. actions stored by the previous step are performed, then cleared;
//  2. the world is read, Decide runs, and its record is stored with compare-and-set on
//     the version it was decided from, its actions as the outbox;
//  3. those actions are performed and cleared. A crash between 2 and 3 replays them at
//     the next step (each is idempotent; a reboot is replayed only for nodes Slurm has
//     neither pending nor done since the hand-over: Replayable).
func (s *Server) step(ctx context.Context, id string, wlm map[string]SlurmNode) (record, error) {
	raw, err := s.cfg.Store.GetRollout(ctx, id)
	if err != nil {
		return record{}, err
	}
	r, err := decode(raw)
	if err != nil {
		return r, err
	}
	if r.Pending != nil { // a replay: Slurm may have done the reboots already
		a := *r.Pending
		a.Reboot = Replayable(&r.Rollout, a.Reboot, wlm)
		if r, err = s.performPending(ctx, id, r, a); err != nil {
			return r, err
		}
	}
	if r.Final() {
		return r, nil
	}
	obs, err := s.observe(ctx, &r.Rollout, wlm)
	if err != nil {
		return r, err
	}
	d := Decide(r.Rollout, obs, s.now())
	next, err := s.update(ctx, id, r.Version, func(x *record) error {
		x.Rollout = d.Rollout
		if !d.Actions.Empty() {
			x.Pending = &d.Actions
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if d.Rollout.State != r.State {
		s.log.Info("rollout: state", "rollout", r.Name, "tenant", r.Tenant, "state", d.Rollout.State, "reason", d.Rollout.Reason)
	}
	if next.Pending != nil {
		_, err = s.performPending(ctx, id, next, *next.Pending)
	}
	return next, err
}

// performPending performs a, r's outbox or what is left of it, and clears the outbox.
func (s *Server) performPending(ctx context.Context, id string, r record, a Actions) (record, error) {
	if err := s.perform(ctx, &r.Rollout, a); err != nil {
		return r, err
	}
	return s.update(ctx, id, r.Version, func(x *record) error {
		x.Pending = nil
		return nil
	})
}

// readSlurm reads every node and the expected end of the jobs on it.
func (s *Server) readSlurm(ctx context.Context) (map[string]SlurmNode, error) {
	nodes, err := s.cfg.Slurm.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Slurm nodes: %w", err)
	}
	jobs, err := s.cfg.Slurm.Jobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Slurm jobs: %w", err)
	}
	out := make(map[string]SlurmNode, len(nodes))
	for _, n := range nodes {
		out[n.Name] = SlurmNode{State: n.State, Reason: n.Reason, BootTime: n.BootTime, Weight: n.Weight}
	}
	for _, j := range jobs {
		if j.State != slurmapi.JobRunning || j.Nodes == "" {
			continue
		}
		names, err := hostlist.Expand(j.Nodes)
		if err != nil {
			return nil, fmt.Errorf("slurm job %d: %w", j.ID, err)
		}
		for _, name := range names {
			if n, ok := out[name]; ok && j.EndTime.After(n.JobsEnd) {
				n.JobsEnd = j.EndTime
				out[name] = n
			}
		}
	}
	return out, nil
}

// observe reads what the rollout's state needs.
func (s *Server) observe(ctx context.Context, r *bos.Rollout, wlm map[string]SlurmNode) (Observation, error) {
	obs := Observation{Slurm: wlm}
	b := s.cfg.BOS(r.Tenant)
	if r.State == bos.RolloutStaging || r.State == bos.RolloutAborting && len(r.Nodes) == 0 {
		return obs, s.observeStaging(ctx, r, b, &obs)
	}
	var ids []string
	for _, n := range r.Nodes {
		if n.Phase == bos.NodeHanded || n.Phase == bos.NodeOut {
			ids = append(ids, n.Xname)
		}
	}
	if len(ids) == 0 {
		return obs, nil
	}
	comps, err := b.ListComponents(ctx, bosapi.ComponentQuery{IDs: ids})
	if err != nil {
		return obs, fmt.Errorf("read BOS components: %w", err)
	}
	obs.Components = make(map[string]bos.Component, len(comps))
	for _, c := range comps {
		obs.Components[c.ID] = c
	}
	if pending := AwaitingHealth(r, obs); len(pending) > 0 {
		obs.Health = s.checkHealth(ctx, *r.Policy.HealthCheck, pending)
	}
	return obs, nil
}

func (s *Server) observeStaging(ctx context.Context, r *bos.Rollout, b BOS, obs *Observation) error {
	sess, err := b.GetSession(ctx, r.StageSession)
	switch {
	case problem.StatusOf(err) == http.StatusNotFound:
		return nil
	case err != nil:
		return fmt.Errorf("read staged session %s: %w", r.StageSession, err)
	}
	obs.Session = &sess
	if sess.Status.Status == bos.SessionPending {
		return nil
	}
	comps, err := b.ListComponents(ctx, bosapi.ComponentQuery{StagedSession: r.StageSession})
	if err != nil {
		return fmt.Errorf("read staged components: %w", err)
	}
	obs.Staged = make(map[string]bos.Component, len(comps))
	ids := make([]string, 0, len(comps))
	for _, c := range comps {
		obs.Staged[c.ID] = c
		ids = append(ids, c.ID)
	}
	obs.Names = map[string]string{}
	if len(ids) == 0 {
		return nil
	}
	hc, err := s.cfg.HSM.QueryComponents(ctx, ids, hsmapi.ComponentFilter{})
	if err != nil {
		return fmt.Errorf("read the NIDs of the staged nodes: %w", err)
	}
	for _, c := range hc {
		if c.NID > 0 {
			obs.Names[c.ID] = SlurmName(c.NID)
		}
	}
	return nil
}

// SlurmName is the Slurm node name of a NID (HPE's nid%06d convention, as CRUS uses).
func SlurmName(nid int) string { return fmt.Sprintf("nid%06d", nid) }

// perform carries out actions, stopping at the first failure; every action is
// idempotent, so a retry repeats the whole list safely.
func (s *Server) perform(ctx context.Context, r *bos.Rollout, a Actions) error {
	b := s.cfg.BOS(r.Tenant)
	if a.CreateStage {
		limit := r.Limit
		_, err := b.CreateSession(ctx, bos.SessionCreate{Name: r.StageSession, Operation: bos.OpReboot,
			TemplateName: r.TemplateName, Limit: &limit, Stage: true})
		if problem.StatusOf(err) == http.StatusConflict {
			_, err = b.GetSession(ctx, r.StageSession) // made by an earlier attempt
		}
		if err != nil {
			return fmt.Errorf("create staged session %s: %w", r.StageSession, err)
		}
	}
	if len(a.CancelReboot) > 0 {
		// A reboot issued meanwhile cannot be cancelled; the others still are, and the
		// next look sees which.
		err := s.cfg.Slurm.CancelReboot(ctx, hostlist.Compress(a.CancelReboot))
		if err != nil && slurmapi.CodeOf(err) != slurmapi.CodeConflict {
			return fmt.Errorf("slurm cancel_reboot: %w", err)
		}
	}
	if len(a.ClearStage) > 0 {
		empty := ""
		patches := make([]bos.ComponentPatch, len(a.ClearStage))
		for i, x := range a.ClearStage {
			patches[i] = bos.ComponentPatch{ID: x, StagedState: &bos.StagedStatePatch{
				BootArtifacts: bos.ArtifactsPatch(bos.BootArtifacts{}), Configuration: &empty, Session: &empty}}
		}
		if _, err := b.PatchComponents(ctx, patches, true); err != nil {
			return fmt.Errorf("clear the stage: %w", err)
		}
	}
	for _, d := range a.Drain {
		err := s.cfg.Slurm.UpdateNode(ctx, slurmapi.NodeUpdate{Nodes: d.Name, State: "DRAIN", Reason: d.Reason})
		if err != nil {
			return fmt.Errorf("slurm drain %s: %w", d.Name, err)
		}
	}
	if len(a.Reboot) > 0 {
		err := s.cfg.Slurm.Reboot(ctx, slurmapi.RebootRequest{Nodes: hostlist.Compress(a.Reboot), ASAP: true,
			NextState: "RESUME", Reason: RebootReason(r.Name)})
		if err != nil {
			return fmt.Errorf("slurm reboot: %w", err)
		}
		s.log.Info("rollout: handed to Slurm", "rollout", r.Name, "nodes", hostlist.Compress(a.Reboot))
	}
	// After the reboots: a node handed over idle takes no job with its weight put back.
	byWeight := map[int][]string{}
	for _, w := range a.Weight {
		byWeight[w.Weight] = append(byWeight[w.Weight], w.Name)
	}
	for _, w := range slices.Sorted(maps.Keys(byWeight)) {
		if err := s.cfg.Slurm.UpdateNode(ctx, slurmapi.NodeUpdate{Nodes: hostlist.Compress(byWeight[w]), Weight: w}); err != nil {
			return fmt.Errorf("slurm weight %d: %w", w, err)
		}
	}
	return nil
}
