// Deviations from BOS in this package's operators (doc.go and docs/reconciler.md point
// here); limits are parsed by orchestrator/selection:
//
//   - Limits: an empty item (a trailing comma, "a,,b", a bare "&" or "!") fails the session
//     with an error naming the item's position; BOS fails it with an IndexError. Spaces
//     around items are ignored and literal xnames are normalised (BOS compares strings).
//   - A node in several boot sets takes the target of the last boot set in sorted name
//     order; BOS uses the template's key order, which JSON does not keep.
//   - Kept quirk: a node HSM reports with no Arch counts as "Unknown" (mixed case), so an
//     X86 boot set, which also takes "UNKNOWN", drops it.
//   - Normal sessions set desired_state.bss_token to "" (BOS's merge keeps the old token,
//     which names other artifacts until power-on replaces it).
//   - A staged shutdown writes staged_state.session = the session, as BOS did before 2.43;
//     since 2.43 BOS leaves the previous staged session there, so applystaged ignores the
//     node or applies an older session.
//   - A target the schema would refuse (kernel parameters over 4,096 characters, a
//     configuration name over 127), an sbps boot set whose image has no rootfs, and a
//     boot or reboot boot set whose type is not s3 fail the session, instead of failing
//     every component write.
//   - Store failures (loading the template, checking or writing components, updating the
//     session) leave the session pending for the next pass; every other setup error
//     completes it with the error, as in BOS. Run re-reads the session and acts only if
//     it is still pending.
//   - Images are read only for boot sets that select nodes, once per manifest per setup;
//     HSM partitions only when the session has a limit. The HSM snapshot the session's
//     creation read for its overlap check is used instead of a new read when it is at
//     most selection.Handoff.MaxAge old: one HSM read per session, and setup selects the
//     nodes the check saw.
//   - Setup follows creation order: it never takes a node whose component names a session
//     created after this one (TakesNode), so an older session set up late, or set up again
//     after a crash, leaves the newer session's nodes alone; BOS's setup overwrites them.
//     An older session left with no node completes with MsgTakenOver.
//   - Session completion: a tenant the registry no longer knows owns no nodes, so its
//     sessions complete. CompleteSessions reports tenant sessions as "tenant/name".
//   - A boot session taking over a node whose power-on for the same artifacts is under way
//     keeps that power-on (last_action, desired_state.bss_token): see KeepsPowerOn.
//   - actual_state_cleanup sets last_action only on disabled components: on an enabled
//     one the last action drives the reconciler (power-on timeout, boot wait), and BOS's
//     overwrite turns power_on_called back into power_on_pending mid-boot.
//   - Session cleanup ages sessions by start_time, exactly as BOS's
//     DELETE /v2/sessions?status=complete&min_age=<ttl>.

package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// Messages session setup writes into a failed session's status.error.
const (
	MsgNoNodes         = "No nodes were found to act upon."
	MsgNoBOSComponents = "All nodes found to act upon do not exist as BOS components"
	MsgTakenOver       = "All nodes found to act upon were taken over by sessions created after this one"
)

// Schema limits of what setup writes; a target over them fails the session rather than
// every component write.
const maxConfiguration = 127 // desired_state.configuration

// Setup is BOS's session_setup operator (reference 4.4): it turns one pending session into
// desired (or staged) state on its nodes and marks the session running, or complete with
// an error when nothing can be set up.
//
// Store, Inventory and Tenants are required (Tenants only for tenant sessions); Images is
// required for boot and reboot sessions. Now defaults to time.Now and Logger to discard.
type Setup struct {
	Store     *store.Store
	Inventory selection.Inventory
	Images    bootsets.Images
	Tenants   tenant.Registry
	// Handoff, when set, may hold the inventory the session's creation read: setup uses
	// it instead of reading HSM again.
	Handoff *selection.Handoff
	Now     func() time.Time
	Logger  *slog.Logger
}

// Target is what setup writes for the nodes of one boot set: the boot artifacts and CFS
// configuration (both empty for a shutdown).
type Target struct {
	BootArtifacts bos.BootArtifacts
	Configuration string
}

// setupFailure is an error that fails the session (complete, with the message as
// status.error) instead of being retried.
type setupFailure struct{ msg string }

func (f *setupFailure) Error() string { return f.msg }

func failf(format string, args ...any) error {
	return &setupFailure{msg: fmt.Sprintf(format, args...)}
}

// errNotPending stops a session update when another writer moved the session on.
var errNotPending = errors.New("session is no longer pending")

// Run sets up one pending session (reference 4.4) with the options of this pass:
//
//  1. load the template from the session's tenant namespace and read the HSM inventory
//     once (nodes, groups, locks, and partitions when there is a limit), or take the one
//     the session's creation read (Handoff);
//  2. resolve the nodes (selection.Select), then per boot set that selects any, in sorted name
//     order, build the target (TargetState, reading each image once); a node named by
//     several boot sets gets the target of the last one;
//  3. in chunks of max_component_batch_size (0 = one chunk), one after another: read the
//     nodes, drop ids BOS has no component for, and write each node's SetupPatch with
//     compare-and-set;
//  4. mark the session running with components = the ids written, comma-separated.
//
// Anything that goes wrong in 1–2 (template missing, image unreadable, HSM or tenant
// errors, unsupported rootfs provider, no nodes), or no known component in 3, completes
// the session with status.error, end_time and a frozen extended status, and Run returns
// nil. A store failure returns an error and leaves the session pending, so the caller
// retries it on a later pass. A session that is not pending is left alone.
func (s *Setup) Run(ctx context.Context, sess bos.Session, opts bos.Options) error {
	if sess.Status.Status != bos.SessionPending {
		return nil
	}
	log := s.logger().With("session", sess.Name, "tenant", sess.Tenant)
	// The caller's copy may be stale (listed a while ago, or set up meanwhile): act on the
	// stored record.
	stored, err := s.Store.GetSession(ctx, sess.Tenant, sess.Name)
	if bos.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session setup %s: %w", sess.Name, err)
	}
	if sess = stored; sess.Status.Status != bos.SessionPending {
		return nil
	}
	tn, targets, err := s.plan(ctx, sess, opts, log)
	var fail *setupFailure
	if errors.As(err, &fail) {
		return s.fail(ctx, sess, tn, fail.msg, log)
	}
	if err != nil {
		return fmt.Errorf("session setup %s: %w", sess.Name, err)
	}

	ids := make([]string, 0, len(targets))
	for id := range targets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	now := s.now()
	order := map[string]bos.Creation{} // the sessions holding the nodes read so far
	// mutate reports whether it leaves the node to a newer session.
	mutate := func(c *bos.Component) (left bool, err error) {
		if setUpFor(c, sess) {
			return false, nil // an earlier run of this setup wrote it (then BOS died): keep its progress
		}
		if !TakesNode(c.Session, sess, order) {
			return true, store.ErrSkip
		}
		ApplySetup(c, sess, targets[c.ID], now)
		return false, nil
	}
	chunk := opts.MaxComponentBatchSize
	if chunk <= 0 {
		chunk = len(ids)
	}
	// Chunk by chunk: read the nodes (which are components, and the sessions holding
	// them), then write them, so the reconciler starts on the first chunk while the
	// others are read, and setup holds one chunk's records, not every node's. The write
	// is given the chunk's reads (ReadBefore): a record unchanged since is not decoded
	// again.
	written := make([]string, 0, len(ids))
	nLeft, dropped := 0, 0
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		reads, err := s.Store.ReadComponents(ctx, part)
		if err != nil {
			return fmt.Errorf("session setup %s: check components: %w", sess.Name, err)
		}
		dropped += len(part) - len(reads)
		if len(reads) == 0 {
			continue
		}
		known := make([]string, len(reads))
		comps := make([]bos.Component, len(reads))
		readBefore := make(map[string]store.Read, len(reads))
		for i, r := range reads {
			known[i], comps[i], readBefore[r.ID] = r.ID, r.Component, r
		}
		if err := s.creationOrder(ctx, order, comps); err != nil {
			return fmt.Errorf("session setup %s: read the nodes' sessions: %w", sess.Name, err)
		}
		outs, err := store.UpdateEach(ctx, s.Store, known, mutate, store.ReadBefore(readBefore), store.PerRecord)
		if err != nil {
			return fmt.Errorf("session setup %s: write components: %w", sess.Name, err)
		}
		for _, o := range outs {
			if o.Result {
				nLeft++
			} else {
				written = append(written, o.ID)
			}
		}
	}
	if dropped > 0 {
		log.Warn("session setup: dropping nodes that are not BOS components", "count", dropped)
	}
	if nLeft > 0 {
		log.Info("session setup: nodes left to sessions created after this one", "count", nLeft)
	}
	switch {
	case len(written) == 0 && nLeft > 0:
		return s.fail(ctx, sess, tn, MsgTakenOver, log)
	case len(written) == 0: // no node is a component (or was, when its chunk was written)
		return s.fail(ctx, sess, tn, MsgNoBOSComponents, log)
	}
	sort.Strings(written)

	_, err = s.Store.UpdateSession(ctx, sess.Tenant, sess.Name, func(x *bos.Session) error {
		if x.Status.Status != bos.SessionPending {
			return errNotPending
		}
		x.Status.Status = bos.SessionRunning
		x.Components = strings.Join(written, ",")
		return nil
	})
	switch {
	case errors.Is(err, errNotPending), bos.IsNotFound(err):
		log.Warn("session setup: session changed or vanished while it was set up", "err", err)
		return nil
	case err != nil:
		return fmt.Errorf("session setup %s: mark running: %w", sess.Name, err)
	}
	log.Info("session setup: running", "operation", sess.Operation, "stage", sess.Stage, "nodes", len(written))
	return nil
}

// plan does steps 1–2 of Run: the target of every node. Errors that fail the session are
// *setupFailure; any other error is a store failure worth a retry. The tenant is returned
// whenever it was resolved, so a failure can scope the frozen status.
func (s *Setup) plan(ctx context.Context, sess bos.Session, opts bos.Options, log *slog.Logger) (*tenant.Tenant, map[string]Target, error) {
	var tn *tenant.Tenant
	if sess.Tenant != "" {
		if s.Tenants == nil {
			return nil, nil, failf("Tenant '%s' cannot be checked: no tenant registry is configured", sess.Tenant)
		}
		var err error
		if tn, err = s.Tenants.Get(ctx, sess.Tenant); errors.Is(err, tenant.ErrNotFound) {
			return nil, nil, failf("Tenant '%s' does not exist", sess.Tenant)
		} else if err != nil {
			return nil, nil, failf("Reading tenant '%s': %v", sess.Tenant, err)
		}
	}
	tmpl, err := s.Store.GetTemplate(ctx, sess.Tenant, sess.TemplateName)
	if bos.IsNotFound(err) {
		return tn, nil, failf("%s", bos.ErrorMessage(err))
	}
	if err != nil {
		return tn, nil, fmt.Errorf("load session template: %w", err)
	}
	inv := s.Handoff.Take(bos.V2SessionKey(sess.Tenant, sess.Name)) // read with partitions
	if inv == nil {
		if inv, err = s.snapshot(ctx, sess.Limit != ""); err != nil {
			return tn, nil, err
		}
	}

	sel, err := selection.Select(bos.NodeSelector{Tenant: sess.Tenant, Template: tmpl, Limit: sess.Limit, IncludeDisabled: sess.IncludeDisabled}, inv, tn)
	if err != nil {
		return tn, nil, bootSetFailure(err)
	}
	targets := map[string]Target{}
	images := map[string]bootsets.Image{} // manifest path → image, each read once
	for _, name := range sel.Names {      // a node in several boot sets takes the last one's target
		bs, nodes := tmpl.BootSets[name], sel.Resolved[name]
		if unknown := sel.Unknown[name]; len(unknown) > 0 {
			log.Warn("session setup: unknown HSM names in boot set skipped", "boot_set", name, "names", unknown)
		}
		if len(nodes) == 0 {
			log.Info("session setup: boot set selects no nodes", "boot_set", name)
			continue
		}
		var img bootsets.Image
		if sess.Operation != bos.OpShutdown {
			if bs.Type != "s3" {
				return tn, nil, failf("Boot set '%s': unsupported boot set type %q; only 's3' is supported", name, bs.Type)
			}
			cached, ok := images[bs.Path]
			if !ok {
				if s.Images == nil {
					return tn, nil, failf("Boot set '%s': no image store is configured", name)
				}
				if cached, err = s.Images.Image(ctx, bs.Path); err != nil {
					return tn, nil, failf("Boot set '%s': reading the image manifest %s: %v", name, bs.Path, err)
				}
				images[bs.Path] = cached
			}
			img = cached
		}
		target, err := TargetState(sess.Operation, &tmpl, bs, img, bootsets.V2Params(opts))
		if err != nil {
			return tn, nil, failf("Boot set '%s': %v", name, err)
		}
		for _, id := range nodes {
			targets[id] = target
		}
	}
	if len(targets) == 0 {
		return tn, nil, failf("%s", MsgNoNodes)
	}
	return tn, targets, nil
}

// snapshot reads the HSM inventory once. HSM errors fail the session, as in BOS.
func (s *Setup) snapshot(ctx context.Context, withPartitions bool) (*selection.Snapshot, error) {
	inv, err := selection.ReadSnapshot(ctx, s.Inventory, withPartitions)
	if err != nil {
		return nil, failf("%v", err)
	}
	return inv, nil
}

// bootSetFailure is the setup message of a boot set's resolution failure.
func bootSetFailure(err error) error {
	if be := (*selection.BootSetError)(nil); errors.As(err, &be) {
		return failf("Boot set '%s': %v", be.BootSet, be.Err)
	}
	return failf("%v", err)
}

// fail completes the session with msg as its error and freezes its extended status.
func (s *Setup) fail(ctx context.Context, sess bos.Session, tn *tenant.Tenant, msg string, log *slog.Logger) error {
	now := s.now()
	updated, err := s.Store.UpdateSession(ctx, sess.Tenant, sess.Name, func(x *bos.Session) error {
		if x.Status.Status != bos.SessionPending {
			return errNotPending
		}
		x.Status.Status = bos.SessionComplete
		x.Status.EndTime = &now
		x.Status.Error = &msg
		return nil
	})
	switch {
	case errors.Is(err, errNotPending), bos.IsNotFound(err):
		log.Warn("session setup: session changed or vanished before it could be failed", "err", err, "error", msg)
		return nil
	case err != nil:
		return fmt.Errorf("session setup %s: mark failed: %w", sess.Name, err)
	}
	if _, err := s.Store.FreezeSessionStatus(ctx, updated, withinTenant(sess.Tenant, tn), now); err != nil {
		return fmt.Errorf("session setup %s: freeze status: %w", sess.Name, err)
	}
	log.Warn("session setup failed", "error", msg)
	return nil
}

func (s *Setup) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Setup) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// withinTenant is the component predicate of a session's tenant: nil (everything) for no
// tenant, nothing when the tenant could not be resolved.
func withinTenant(name string, tn *tenant.Tenant) func(string) bool {
	switch {
	case name == "":
		return nil
	case tn == nil:
		return func(string) bool { return false }
	default:
		return tn.Has
	}
}

// TargetState is what setup writes for one boot set (reference 4.4 "Target state", 4.6):
// empty for a shutdown; otherwise the boot artifacts (BootArtifactsFor) and the
// configuration (BootSetConfiguration). A missing kernel, an unsupported rootfs provider,
// and kernel parameters or a configuration name longer than the schema allows are errors.
func TargetState(operation string, t *bos.SessionTemplate, bs bos.BootSet, img bootsets.Image, r bootsets.ParamRules) (Target, error) {
	if operation == bos.OpShutdown {
		return Target{}, nil
	}
	artifacts, err := bootsets.BootArtifactsFor(img, bs, r)
	if err != nil {
		return Target{}, err
	}
	cfg := BootSetConfiguration(t, bs)
	if n := len(cfg); n > maxConfiguration {
		return Target{}, fmt.Errorf("the CFS configuration name is %d characters long; at most %d are allowed", n, maxConfiguration)
	}
	return Target{BootArtifacts: artifacts, Configuration: cfg}, nil
}

// BootSetConfiguration is the CFS configuration of a boot set (reference 4.6 step 3): ""
// when the template disables CFS, else the boot set's cfs.configuration, else the
// template's, else "".
func BootSetConfiguration(t *bos.SessionTemplate, bs bos.BootSet) string {
	switch {
	case !t.EnableCFS:
		return ""
	case bs.CFS != nil && bs.CFS.Configuration != "":
		return bs.CFS.Configuration
	case t.CFS != nil:
		return t.CFS.Configuration
	}
	return ""
}

// setUpFor reports whether c already carries sess's setup: a run of this setup wrote it
// and BOS died before marking the session running. Writing it again would undo what the
// reconciler has done since (a reboot would restart a node it had rebooted already).
func setUpFor(c *bos.Component, sess bos.Session) bool {
	if sess.Stage {
		return c.StagedState.Session == sess.Name
	}
	return c.Session == sess.Name
}

// TakesNode reports whether sess's setup may take a node whose component names holder as
// its session: a session never takes a node from one created after it (order gives the
// creation of every session a node named when setup read them). A node the session holds
// already, or nobody holds, is taken; a staged session writes only staged state and takes
// every node. A holder missing from order wrote the node after setup read the sessions, so
// it was created after sess: the node is left to it.
func TakesNode(holder string, sess bos.Session, order map[string]bos.Creation) bool {
	if sess.Stage || holder == "" || holder == sess.Name {
		return true
	}
	created, ok := order[holder]
	return ok && !created.After(sess.Creation())
}

// creationOrder adds to order the creation of every session that may hold one of comps
// (a chunk's records as read before its writes) when one of them names a session order
// does not list yet: every v2 session (names are per tenant, so a name shared by several
// keeps the newest), every active v1 session, and each session the nodes name, v1 or v2
// (a deleted one is the oldest). Read after the records and before their writes, it
// tells TakesNode that a holder it does not list is a session created since.
func (s *Setup) creationOrder(ctx context.Context, order map[string]bos.Creation, comps []bos.Component) error {
	fresh := false
	for _, c := range comps {
		if _, ok := order[c.Session]; c.Session != "" && !ok {
			order[c.Session] = bos.Creation{} // deleted unless listed below
			fresh = true
		}
	}
	if !fresh {
		return nil
	}
	keep := func(name string, c bos.Creation) {
		if old, ok := order[name]; !ok || c.After(old) {
			order[name] = c
		}
	}
	v2, err := s.Store.ListSessions(ctx, "", true, bos.SessionFilter{}, s.now())
	if err != nil {
		return err
	}
	for i := range v2 {
		keep(v2[i].Name, v2[i].Creation())
	}
	v1, err := s.Store.ActiveV1Sessions(ctx)
	if err != nil {
		return err
	}
	for i := range v1 {
		keep(v1[i].ID, v1[i].Creation())
	}
	for name, c := range order {
		if c != (bos.Creation{}) {
			continue
		}
		sess, err := s.Store.GetV1Session(ctx, name) // a complete v1 session
		if bos.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		order[name] = sess.Creation()
	}
	return nil
}

// ApplySetup writes session setup's patch for one node into its stored record c (inside
// the compare-and-set): SetupPatch with its auto fields, except that a boot session taking
// over a power-on in flight for the same artifacts keeps it (KeepsPowerOn).
func ApplySetup(c *bos.Component, sess bos.Session, target Target, now time.Time) {
	p := SetupPatch(sess, target)
	if KeepsPowerOn(*c, sess, target) {
		p.DesiredState.BSSToken, p.LastAction = nil, nil
	}
	p.SetAutoFields(now, nil)
	p.ApplyTo(c)
}

// KeepsPowerOn reports whether session setup leaves c's power-on in flight alone: a boot
// session (not staged, not reboot) whose target boots the artifacts the node is being
// powered on for (enabled, last action powering_on, failed or not). The node keeps
// last_action and desired_state.bss_token, so the boot under way, whose boot script names
// that token, counts for the new session, and a retry reuses the token (Effects.PowerOn);
// only configuration, session and the rest change. Deviation: BOS resets last_action, so
// the node is powered off mid-boot and booted a second time.
//
// Any other takeover of a node mid-boot (other artifacts, or a reboot, which asks for a
// boot that starts after the session) takes the patch as is. If the old power-on has not
// reached BSS and Redfish yet it is dropped (Effects.PowerOn checks the record); if it has,
// the node boots the old token, which Decide does not accept, and is booted a second
// time: the right outcome, as that boot is not the one the new session asked for.
func KeepsPowerOn(c bos.Component, sess bos.Session, target Target) bool {
	return !sess.Stage && sess.Operation == bos.OpBoot && c.Enabled &&
		c.LastAction.Action == bos.ActionPoweringOn &&
		!target.BootArtifacts.IsEmpty() && c.DesiredState.BootArtifacts == target.BootArtifacts
}

// SetupPatch is the component patch session setup writes for one node (reference 4.4
// step 3). The caller applies the auto fields (SetAutoFields) and merges it (ApplyTo).
//
//   - normal session: desired_state = target with bss_token "" (the old token named other
//     artifacts; power-on mints a new one), session, enabled, last_action session_setup
//     (not failed) and error ""; a reboot also empties actual_state, so the node counts
//     as not booted into the target and is power-cycled;
//   - staged session: staged_state = target with session = the session name, and error "";
//     desired state and enabled are left alone. The session name is set for a staged
//     shutdown too (BOS since 2.43 leaves the previous staged session there; see the top of this file).
func SetupPatch(sess bos.Session, target Target) *bos.ComponentPatch {
	name, cfg, empty := sess.Name, target.Configuration, ""
	if sess.Stage {
		return &bos.ComponentPatch{
			StagedState: &bos.StagedStatePatch{
				BootArtifacts: bos.ArtifactsPatch(target.BootArtifacts),
				Configuration: &cfg,
				Session:       &name,
			},
			Error: &empty,
		}
	}
	enabled, action, failed := true, bos.ActionSessionSetup, false
	p := &bos.ComponentPatch{
		DesiredState: &bos.DesiredStatePatch{
			BootArtifacts: bos.ArtifactsPatch(target.BootArtifacts),
			Configuration: &cfg,
			BSSToken:      &empty,
		},
		Session:    &name,
		Enabled:    &enabled,
		LastAction: &bos.LastActionPatch{Action: &action, Failed: &failed},
		Error:      &empty,
	}
	if sess.Operation == bos.OpReboot {
		token := ""
		p.ActualState = &bos.ActualStatePatch{BootArtifacts: bos.ArtifactsPatch(bos.BootArtifacts{}), BSSToken: &token}
	}
	return p
}
