package lockstep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
)

// errDeleted stops a run whose session record is gone.
var errDeleted = errors.New("the session was deleted")

// Messages the agent records in phase errors.
const (
	MsgNotComponent    = "not a BOS component"
	MsgAlreadyOn       = "already powered on with other boot artifacts; a boot does not restart running nodes (use a reboot)"
	MsgCFSFailed       = "CFS failed and exhausted all retries"
	MsgCFSMissing      = "Status could not be retrieved from CFS"
	MsgFailedEarlier   = "failed an earlier phase"
	msgTakenOverFormat = "taken over by session %s"
)

// run is one execution of one v1 session: its working copy of the record (the status
// document), where each node is, and what each boot set boots.
type run struct {
	a   *Agent
	id  string
	log *slog.Logger

	sess     bos.V1Session
	op       string
	config   string                 // CFS configuration, "" when CFS is off
	bootSets map[string]*bootSetRun // by name
	owner    map[string]*bootSetRun // node → its boot set
	out      map[string]bool        // nodes that left the session (failed, taken over)
	lastSave time.Time
}

// bootSetRun is one boot set of a run.
type bootSetRun struct {
	name   string
	bs     bos.V1BootSet
	nodes  []string        // every node the boot set acts on (sorted)
	target sessions.Target // boot artifacts and configuration
	// fail, when set, fails every node in the first phase (its image could not be read).
	fail string
}

func (r *run) now() time.Time { return r.a.cfg.Now().UTC() }

// status returns the status of a boot set (its index never changes during a run).
func (r *run) status(bootSet string) *bos.V1BootSetStatus { return r.sess.BootSet(bootSet) }

// execute runs the session from the start: claim it, plan it, write the components,
// then the steps of its operation, then finish.
func (r *run) execute(ctx context.Context) error {
	sess, err := r.a.cfg.Store.UpdateV1Session(ctx, r.id, func(s *bos.V1Session) error {
		if s.State == bos.V1Complete {
			return errComplete
		}
		s.State = bos.V1Running
		return nil
	})
	switch {
	case errors.Is(err, errComplete):
		return nil
	case bos.IsNotFound(err):
		return errDeleted
	case err != nil:
		return fmt.Errorf("claim session: %w", err)
	}
	r.sess, r.op = sess, sess.Op()
	r.config = sess.Template.Configuration()
	r.out = map[string]bool{}
	r.log = r.log.With("operation", r.op, "template", sess.TemplateName)

	if err := r.plan(ctx); err != nil {
		var fail *sessionFailure
		if errors.As(err, &fail) {
			return r.finish(ctx, fail.msg)
		}
		return err
	}
	r.log.Info("v1 session running", "nodes", len(r.owner), "boot_sets", len(r.bootSets))
	for _, step := range steps(r.op) {
		if err := r.runStep(ctx, step); err != nil {
			return err
		}
	}
	return r.finish(ctx, "")
}

var errComplete = errors.New("session is complete")

// sessionFailure ends the session with an error instead of being retried.
type sessionFailure struct{ msg string }

func (f *sessionFailure) Error() string { return f.msg }

// plan resolves each boot set's nodes and target, writes the components (session, desired
// state, disabled so the v2 reconciler leaves them alone) and builds the status document
// with every node in not_started (or excluded). Inventory failures are retried a few
// times, as Kubernetes restarted a failed BOA pod.
func (r *run) plan(ctx context.Context) error {
	tmpl := r.sess.Template
	inv := r.a.cfg.Handoff.Take(bos.V1SessionKey(r.id))
	var err error
	for attempt := 1; inv == nil; attempt++ {
		if inv, err = selection.ReadSnapshot(ctx, r.a.cfg.Inventory, true); err == nil {
			break
		}
		if attempt == 5 {
			return &sessionFailure{msg: fmt.Sprintf("Reading the HSM inventory: %v", err)}
		}
		r.log.Warn("v1 session: HSM inventory; retrying", "err", err)
		if err := sleep(ctx, r.a.cfg.Timing.Sessions); err != nil {
			return err
		}
	}
	sel := bos.NodeSelector{Template: tmpl.V2(), Partition: tmpl.Partition, Limit: r.sess.Limit}
	selected, err := selection.Select(sel, inv, nil)
	if err != nil {
		return &sessionFailure{msg: err.Error()}
	}
	byBootSet := selected.ByBootSet()
	if unknown := selected.AllUnknown(); len(unknown) > 0 {
		r.log.Warn("v1 session: unknown HSM names skipped", "names", unknown)
	}
	r.bootSets, r.owner = map[string]*bootSetRun{}, map[string]*bootSetRun{}
	var all []string
	for name, nodes := range byBootSet {
		b := &bootSetRun{name: name, bs: tmpl.BootSets[name], nodes: nodes}
		r.bootSets[name] = b
		for _, id := range nodes {
			r.owner[id] = b
		}
		all = append(all, nodes...)
	}
	sort.Strings(all)
	if len(all) == 0 {
		return &sessionFailure{msg: sessions.MsgNoNodes}
	}
	if err := r.targets(ctx); err != nil {
		return err
	}
	known, err := r.a.cfg.Store.ExistingComponentIDs(ctx, all)
	if err != nil {
		return fmt.Errorf("check components: %w", err)
	}
	isKnown := make(map[string]bool, len(known))
	for _, id := range known {
		isKnown[id] = true
	}
	if err := r.writeComponents(ctx, known); err != nil {
		return err
	}

	// The status document, from scratch (a restarted run resets it, as BOA did).
	now := r.now()
	for _, b := range r.bootSets {
		st := r.status(b.name)
		if st == nil {
			continue // every template boot set is in the document from creation
		}
		st.Metadata = bos.V1Metadata{StartTime: &now}
		var unknownIDs []string
		for _, id := range b.nodes {
			if !isKnown[id] {
				unknownIDs = append(unknownIDs, id)
			}
		}
		for i := range st.Phases {
			p := bos.NewV1Phase(st.Phases[i].Name, b.nodes)
			p.MoveNodes(bos.CategoryExcluded, unknownIDs)
			p.AddError(MsgNotComponent, unknownIDs)
			st.Phases[i] = p
		}
		for _, id := range unknownIDs {
			r.out[id] = true
		}
	}
	return r.save(ctx, true)
}

// targets builds each boot set's target: the image's artifacts and kernel parameters
// (bootsets.BootArtifactsFor with the v1 rules) for boot and reboot, the configuration
// for every operation but shutdown. A boot set whose image cannot be read fails its nodes
// in the first phase; the others go on.
func (r *run) targets(ctx context.Context) error {
	if r.op == bos.OpShutdown {
		return nil
	}
	opts, err := r.a.cfg.Store.GetOptions(ctx)
	if err != nil {
		return fmt.Errorf("read options: %w", err)
	}
	rules := bootsets.V1Params(opts)
	v2 := r.sess.Template.V2()
	images := map[string]bootsets.Image{}
	for _, b := range r.bootSets {
		if r.op == bos.OpConfigure {
			b.target = sessions.Target{Configuration: r.config}
			continue
		}
		if len(b.nodes) == 0 {
			continue
		}
		if b.bs.Type != "s3" {
			b.fail = fmt.Sprintf("unsupported boot set type %q; only 's3' is supported", b.bs.Type)
			continue
		}
		img, ok := images[b.bs.Path]
		if !ok {
			if r.a.cfg.Images == nil {
				return &sessionFailure{msg: "no image store is configured"}
			}
			if img, err = r.a.cfg.Images.Image(ctx, b.bs.Path); err != nil {
				b.fail = fmt.Sprintf("reading the image manifest %s: %v", b.bs.Path, err)
				continue
			}
			images[b.bs.Path] = img
		}
		artifacts, err := bootsets.BootArtifactsFor(img, v2.BootSets[b.name], rules)
		if err != nil {
			b.fail = err.Error()
			continue
		}
		b.target = sessions.Target{BootArtifacts: artifacts, Configuration: r.config}
	}
	return nil
}

// writeComponents marks the session's nodes as its own: session = the v1 session id,
// desired state = the target (a configure changes only the configuration), disabled so
// that the v2 reconciler leaves them to the agent, and error, phase and override cleared.
func (r *run) writeComponents(ctx context.Context, ids []string) error {
	now := r.now()
	_, err := r.a.cfg.Store.UpdateComponents(ctx, ids, func(c *bos.Component) error {
		b := r.owner[c.ID]
		p := componentPatch(r.id, r.op, b.target)
		p.SetAutoFields(now, nil)
		p.ApplyTo(c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("write components: %w", err)
	}
	return nil
}

func componentPatch(session, op string, t sessions.Target) *bos.ComponentPatch {
	empty, disabled, action, notFailed := "", false, bos.ActionSessionSetup, false
	cfg := t.Configuration
	p := &bos.ComponentPatch{
		Session:    &session,
		Enabled:    &disabled,
		Error:      &empty,
		LastAction: &bos.LastActionPatch{Action: &action, Failed: &notFailed},
		Status:     &bos.ComponentStatusPatch{Phase: &empty, StatusOverride: &empty},
	}
	switch op {
	case bos.OpConfigure:
		p.DesiredState = &bos.DesiredStatePatch{Configuration: &cfg}
	default: // boot and reboot: the target; shutdown: the empty target
		p.DesiredState = &bos.DesiredStatePatch{BootArtifacts: bos.ArtifactsPatch(t.BootArtifacts), Configuration: &cfg, BSSToken: &empty}
	}
	return p
}

// finish stamps stop_time on the session and its boot sets, marks it complete, saves it,
// and logs the failed nodes and the command that retries them (as BOA did).
func (r *run) finish(ctx context.Context, failure string) error {
	now := r.now()
	r.sess.State = bos.V1Complete
	r.sess.Error = failure
	r.sess.Status.Metadata.StopTime = &now
	for i := range r.sess.BootSets {
		r.sess.BootSets[i].Metadata.StopTime = &now
	}
	if err := r.save(ctx, true); err != nil {
		return err
	}
	r.sess.ComputeMetadata()
	if failure != "" {
		r.log.Error("v1 session failed", "error", failure)
	}
	if failed := r.sess.Status.FailedNodes; len(failed) > 0 {
		r.log.Error("v1 session: nodes failed the operation", "count", len(failed), "nodes", strings.Join(failed, ","))
		r.log.Error("v1 session: retry the failed nodes with", "command", r.sess.Status.RetryCommand)
	}
	r.log.Info("v1 session complete", "failed", len(r.sess.Status.FailedNodes))
	return nil
}

// save writes the status document: always when force, otherwise at most every
// Timing.Save. A deleted session stops the run.
func (r *run) save(ctx context.Context, force bool) error {
	if !force && time.Since(r.lastSave) < r.a.cfg.Timing.Save {
		return nil
	}
	r.lastSave = time.Now()
	_, err := r.a.cfg.Store.UpdateV1Session(ctx, r.id, func(s *bos.V1Session) error {
		s.State, s.Error = r.sess.State, r.sess.Error
		s.Status, s.BootSets = r.sess.Status, r.sess.BootSets
		return nil
	})
	if bos.IsNotFound(err) {
		return errDeleted
	}
	if err != nil {
		return fmt.Errorf("save status: %w", err)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ---- moving nodes through the status document ----

// byBootSet groups nodes by their boot set.
func (r *run) byBootSet(ids []string) map[string][]string {
	out := map[string][]string{}
	for _, id := range ids {
		if b := r.owner[id]; b != nil {
			out[b.name] = append(out[b.name], id)
		}
	}
	return out
}

// move puts nodes into category dst of phase.
func (r *run) move(phase, dst string, ids []string) {
	for name, nodes := range r.byBootSet(ids) {
		if p := r.status(name).Phase(phase); p != nil {
			p.MoveNodes(dst, nodes)
		}
	}
}

// fail moves nodes to failed in phase with their messages, takes them out of the
// session, and excludes them from the later phases.
func (r *run) fail(phase string, msgs map[string]string) {
	if len(msgs) == 0 {
		return
	}
	byMsg := map[string][]string{}
	ids := make([]string, 0, len(msgs))
	for id, msg := range msgs {
		byMsg[msg] = append(byMsg[msg], id)
		ids = append(ids, id)
		r.out[id] = true
	}
	r.move(phase, bos.CategoryFailed, ids)
	for msg, nodes := range byMsg {
		for name, group := range r.byBootSet(nodes) {
			r.status(name).Phase(phase).AddError(msg, group)
		}
	}
	r.excludeLater(phase, ids)
}

// takenOver takes nodes another session now owns out of the session: excluded in this
// phase and the later ones, with the new owner named in the errors.
func (r *run) takenOver(phase string, by map[string]string) {
	for id, other := range by {
		r.out[id] = true
		msg := fmt.Sprintf(msgTakenOverFormat, other)
		for name, nodes := range r.byBootSet([]string{id}) {
			st := r.status(name)
			if p := st.Phase(phase); p != nil {
				p.MoveNodes(bos.CategoryExcluded, nodes)
				p.AddError(msg, nodes)
			}
		}
		r.excludeLater(phase, []string{id})
	}
}

// excludeLater moves nodes to excluded in the phases after phase (BOA left them in
// not_started, so those phases never completed).
func (r *run) excludeLater(phase string, ids []string) {
	phases := bos.V1Phases(r.op)
	later := false
	for _, p := range phases {
		if later {
			r.move(p, bos.CategoryExcluded, ids)
		}
		if p == phase {
			later = true
		}
	}
}

// active returns the nodes of the given boot sets still in the session, sorted.
func (r *run) active(bootSets []*bootSetRun) []string {
	var out []string
	for _, b := range bootSets {
		for _, id := range b.nodes {
			if !r.out[id] {
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkOwnership reads the components of ids and takes out of the session every node
// another session has taken over; it returns the components still owned, by id.
func (r *run) checkOwnership(ctx context.Context, phase string, ids []string) (map[string]bos.Component, error) {
	comps, err := r.a.cfg.Store.GetComponents(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read components: %w", err)
	}
	byID := make(map[string]bos.Component, len(comps))
	for _, c := range comps {
		byID[c.ID] = c
	}
	owned := make(map[string]bos.Component, len(comps))
	lost := map[string]string{}
	for _, id := range ids {
		c, ok := byID[id]
		switch {
		case !ok:
			lost[id] = "(none: the component was deleted)"
		case c.Session == "":
			lost[id] = "(none: a manual change detached the node)"
		case c.Session != r.id:
			lost[id] = c.Session
		default:
			owned[id] = c
		}
	}
	if len(lost) > 0 {
		r.log.Warn("v1 session: nodes taken over by another session", "phase", phase, "count", len(lost))
		r.takenOver(phase, lost)
	}
	return owned, nil
}

// keys returns a map's keys, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
