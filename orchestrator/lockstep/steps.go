package lockstep

import (
	"context"
	"fmt"
	"sort"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/orchestrator/power"
)

// A step is one lockstep stage of an operation; each drives one status phase (reference
// 5.3, with BOA's stage_configuration folded into boot and configure: see doc.go).
type step string

const (
	stepShutdown  step = bos.V1PhaseShutdown
	stepBoot      step = bos.V1PhaseBoot
	stepConfigure step = bos.V1PhaseConfigure
)

// steps are the steps of an operation, in order: its status phases.
func steps(op string) []step {
	var out []step
	for _, p := range bos.V1Phases(op) {
		out = append(out, step(p))
	}
	return out
}

// waves groups the boot sets for a step: by shutdown_ordinal for shutdown and by
// boot_ordinal for boot, lower first, equal ordinals (and no ordinal, read as 0)
// together; configure is one wave. Within a wave boot sets are in name order.
func (r *run) waves(s step) [][]*bootSetRun {
	names := keys(r.bootSets)
	ordinal := func(b *bootSetRun) int {
		var o *int
		switch s {
		case stepShutdown:
			o = b.bs.ShutdownOrdinal
		case stepBoot:
			o = b.bs.BootOrdinal
		}
		if o == nil {
			return 0
		}
		return *o
	}
	byOrdinal := map[int][]*bootSetRun{}
	for _, n := range names {
		b := r.bootSets[n]
		byOrdinal[ordinal(b)] = append(byOrdinal[ordinal(b)], b)
	}
	ords := make([]int, 0, len(byOrdinal))
	for o := range byOrdinal {
		ords = append(ords, o)
	}
	sort.Ints(ords)
	out := make([][]*bootSetRun, 0, len(ords))
	for _, o := range ords {
		out = append(out, byOrdinal[o])
	}
	return out
}

// runStep runs a step wave by wave. A wave ends only when each of its nodes has
// succeeded or failed (lockstep); the next wave, and the next step, wait for it.
func (r *run) runStep(ctx context.Context, s step) error {
	phase := string(s)
	for _, wave := range r.waves(s) {
		started := r.now()
		for _, b := range wave {
			if p := r.status(b.name).Phase(phase); p != nil {
				p.Metadata.StartTime = &started
			}
			if b.fail != "" { // the boot set cannot run at all
				msgs := map[string]string{}
				for _, id := range r.active([]*bootSetRun{b}) {
					msgs[id] = b.fail
				}
				r.fail(phase, msgs)
			}
		}
		ids := r.active(wave)
		r.move(phase, bos.CategoryInProgress, ids)
		if err := r.save(ctx, true); err != nil {
			return err
		}
		r.log.Info("v1 session: phase started", "phase", phase, "nodes", len(ids), "boot_sets", len(wave))
		var err error
		if len(ids) > 0 {
			switch s {
			case stepShutdown:
				err = r.shutdown(ctx, ids)
			case stepBoot:
				err = r.boot(ctx, ids)
			case stepConfigure:
				err = r.configure(ctx, ids)
			}
		}
		if err != nil {
			return err
		}
		stopped := r.now()
		for _, b := range wave {
			if p := r.status(b.name).Phase(phase); p != nil {
				p.Metadata.StopTime = &stopped
			}
		}
		if err := r.save(ctx, true); err != nil {
			return err
		}
		r.log.Info("v1 session: phase done", "phase", phase, "nodes", len(ids))
	}
	return nil
}

// waitLoop calls look every Timing.Poll until it reports that nothing is left or the
// budget is spent; it saves progress between looks.
func (r *run) waitLoop(ctx context.Context, budget time.Duration, look func() (left int, err error)) error {
	deadline := r.now().Add(budget)
	for {
		left, err := look()
		if err != nil || left == 0 {
			return err
		}
		if !r.now().Before(deadline) {
			return nil
		}
		if err := r.save(ctx, false); err != nil {
			return err
		}
		if err := sleep(ctx, min(r.a.cfg.Timing.Poll, max(deadline.Sub(r.now()), time.Millisecond))); err != nil {
			return err
		}
	}
}

// succeed moves nodes to succeeded in phase.
func (r *run) succeed(phase string, ids []string) { r.move(phase, bos.CategorySucceeded, ids) }

// shutdown powers the nodes off: nodes already off succeed; the others get a graceful
// power-off and Timing.GracefulShutdown to reach Off; those still on (or whose graceful
// request failed) are forced and get Timing.ForcefulShutdown; nodes still on after that,
// or whose forced request failed, fail (reference 5.3 "shutdown"; BOA put the ones still
// on in succeeded).
func (r *run) shutdown(ctx context.Context, ids []string) error {
	const phase = bos.V1PhaseShutdown
	eff := r.a.cfg.Effects
	owned, err := r.checkOwnership(ctx, phase, ids)
	if err != nil {
		return err
	}
	var on, off []string
	all := keys(owned)
	readings := eff.Power.PowerStates(ctx, all)
	for _, id := range all {
		if readings[id].Power == power.PowerOff {
			off = append(off, id)
		} else {
			on = append(on, id) // on, or unknown: BOA, like PCS, counts an error as "not off"
		}
	}
	r.succeed(phase, off)
	var force []string
	for id := range eff.PowerOff(ctx, on, power.ResetGracefulOff) {
		force = append(force, id) // a refused graceful request is forced at once
	}
	waiting := minus(on, force)
	if err := r.waitOff(ctx, phase, &waiting, r.a.cfg.Timing.GracefulShutdown); err != nil {
		return err
	}
	force = append(force, waiting...)
	sort.Strings(force)
	msgs := map[string]string{}
	for id, err := range eff.PowerOff(ctx, force, power.ResetForceOff) {
		msgs[id] = fmt.Sprintf("forceful power off failed: %v", err)
	}
	r.fail(phase, msgs)
	waiting = minus(force, keys(msgs))
	if err := r.waitOff(ctx, phase, &waiting, r.a.cfg.Timing.ForcefulShutdown); err != nil {
		return err
	}
	msgs = map[string]string{}
	for _, id := range waiting {
		msgs[id] = fmt.Sprintf("node did not power off within the graceful (%s) and forceful (%s) windows",
			r.a.cfg.Timing.GracefulShutdown, r.a.cfg.Timing.ForcefulShutdown)
	}
	r.fail(phase, msgs)
	return nil
}

// waitOff polls the power of *waiting until every node is off (they succeed) or budget
// is spent; *waiting keeps the nodes still on, minus any taken over.
func (r *run) waitOff(ctx context.Context, phase string, waiting *[]string, budget time.Duration) error {
	return r.waitLoop(ctx, budget, func() (int, error) {
		if len(*waiting) == 0 {
			return 0, nil
		}
		owned, err := r.checkOwnership(ctx, phase, *waiting)
		if err != nil {
			return 0, err
		}
		ids := keys(owned)
		var off, still []string
		readings := r.a.cfg.Effects.Power.PowerStates(ctx, ids)
		for _, id := range ids {
			if readings[id].Power == power.PowerOff {
				off = append(off, id)
			} else {
				still = append(still, id)
			}
		}
		r.succeed(phase, off)
		*waiting = still
		return len(still), nil
	})
}

// boot powers the nodes on through Effects.PowerOn (BSS boot parameters, CFS desired
// configuration disabled until the node boots, Redfish On) and waits Timing.Boot for
// each to report the BSS token it was given, i.e. to have booted this session's image.
// A node already on succeeds at once if it runs the target image and fails otherwise
// (a boot never restarts a running node; BOA counted it a success); a node whose power
// cannot be read is powered on like an off one; a node whose power-on fails, fails.
func (r *run) boot(ctx context.Context, ids []string) error {
	const phase = bos.V1PhaseBoot
	eff := r.a.cfg.Effects
	owned, err := r.checkOwnership(ctx, phase, ids)
	if err != nil {
		return err
	}
	readings := eff.Power.PowerStates(ctx, keys(owned))
	msgs := map[string]string{}
	var toBoot []bos.Component
	var running []string
	for _, id := range keys(owned) {
		c := owned[id]
		switch readings[id].Power {
		case power.PowerOn:
			if !c.DesiredState.BootArtifacts.IsEmpty() && c.ActualState.BootArtifacts.SameBoot(c.DesiredState.BootArtifacts) {
				running = append(running, id)
			} else {
				msgs[id] = MsgAlreadyOn
			}
		default: // off, or unknown (the BMC did not answer): try; a failed power-on fails it
			toBoot = append(toBoot, c)
		}
	}
	r.succeed(phase, running)
	for id, err := range eff.PowerOn(ctx, toBoot) {
		msgs[id] = fmt.Sprintf("power on failed: %v", err)
	}
	r.fail(phase, msgs)
	var waiting []string
	for _, c := range toBoot {
		if msgs[c.ID] == "" {
			waiting = append(waiting, c.ID)
		}
	}
	err = r.waitLoop(ctx, r.a.cfg.Timing.Boot, func() (int, error) {
		if len(waiting) == 0 {
			return 0, nil
		}
		owned, err := r.checkOwnership(ctx, phase, waiting)
		if err != nil {
			return 0, err
		}
		var booted, still []string
		for _, id := range keys(owned) {
			c := owned[id]
			if c.ActualState.BSSToken != "" && c.ActualState.BSSToken == c.DesiredState.BSSToken {
				booted = append(booted, id)
			} else {
				still = append(still, id)
			}
		}
		r.succeed(phase, booted)
		waiting = still
		return len(still), nil
	})
	if err != nil {
		return err
	}
	msgs = map[string]string{}
	readings = eff.Power.PowerStates(ctx, waiting)
	for _, id := range waiting {
		if readings[id].Power == power.PowerOn {
			msgs[id] = fmt.Sprintf("node did not report booting the session's image within %s", r.a.cfg.Timing.Boot)
		} else {
			msgs[id] = fmt.Sprintf("node was not running within %s of its power-on", r.a.cfg.Timing.Boot)
		}
	}
	r.fail(phase, msgs)
	return nil
}

// configure waits Timing.Configure for CFS to configure the nodes with the template's
// configuration. A configure session (and any node whose CFS record does not name the
// configuration yet) first gets it through Effects.Configure, which also enables CFS;
// booted nodes were given it, disabled, at power-on and enable CFS themselves. Without a
// configuration (CFS disabled) the nodes are excluded from the phase. Each node's CFS
// status decides (reference 5.3 "wait_for_configuration"): configured succeeds, failed
// or a missing record fails, pending waits; a failure does not stop the others (BOA
// gave up at the first).
func (r *run) configure(ctx context.Context, ids []string) error {
	const phase = bos.V1PhaseConfigure
	if r.config == "" {
		r.move(phase, bos.CategoryExcluded, ids)
		return nil
	}
	owned, err := r.checkOwnership(ctx, phase, ids)
	if err != nil {
		return err
	}
	eff := r.a.cfg.Effects
	views, err := eff.CFS.Components(ctx, keys(owned))
	if err != nil {
		r.log.Warn("v1 session: reading CFS; setting every node's configuration", "err", err)
		views = nil
	}
	var need []bos.Component
	for _, id := range keys(owned) {
		v, ok := views[id]
		if r.op == bos.OpConfigure || !ok || v.DesiredConfig != r.config {
			need = append(need, owned[id])
		}
	}
	msgs := map[string]string{}
	for id, err := range eff.Configure(ctx, need) {
		msgs[id] = fmt.Sprintf("CFS update failed: %v", err)
	}
	r.fail(phase, msgs)
	waiting := minus(keys(owned), keys(msgs))
	var lastErr error
	err = r.waitLoop(ctx, r.a.cfg.Timing.Configure, func() (int, error) {
		if len(waiting) == 0 {
			return 0, nil
		}
		owned, err := r.checkOwnership(ctx, phase, waiting)
		if err != nil {
			return 0, err
		}
		ids := keys(owned)
		views, err := eff.CFS.Components(ctx, ids)
		if err != nil {
			lastErr = err // CFS unreachable: look again, until the budget is spent
			waiting = ids
			return len(ids), nil
		}
		var done, still []string
		msgs := map[string]string{}
		for _, id := range ids {
			v, ok := views[id]
			switch {
			case !ok:
				msgs[id] = MsgCFSMissing
			case v.DesiredConfig != r.config:
				msgs[id] = fmt.Sprintf("CFS desired configuration changed to %q outside the session", v.DesiredConfig)
			case v.Status == "configured":
				done = append(done, id)
			case v.Status == "failed":
				msgs[id] = MsgCFSFailed
			case v.Status == "pending":
				still = append(still, id)
			default:
				msgs[id] = fmt.Sprintf("Component entered the unhandled status %q", v.Status)
			}
		}
		r.succeed(phase, done)
		r.fail(phase, msgs)
		waiting = still
		return len(still), nil
	})
	if err != nil {
		return err
	}
	msgs = map[string]string{}
	for _, id := range waiting {
		msgs[id] = fmt.Sprintf("configuration did not complete within %s", r.a.cfg.Timing.Configure)
		if lastErr != nil {
			msgs[id] += fmt.Sprintf(" (last CFS error: %v)", lastErr)
		}
	}
	r.fail(phase, msgs)
	return nil
}

// minus returns the members of a not in b, sorted.
func minus(a, b []string) []string {
	drop := make(map[string]bool, len(b))
	for _, id := range b {
		drop[id] = true
	}
	var out []string
	for _, id := range a {
		if !drop[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
