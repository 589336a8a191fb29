// Package crus is the Compute Rolling Upgrade Service (CRUS) rebuilt on BOS v2: it
// upgrades the nodes of an HSM group a few at a time, draining each batch in Slurm,
// rebooting it into a session template's image through a BOS v2 session, checking that
// every node really booted that image, and handing the nodes back to Slurm, so that only
// one batch is ever out of service.
//
// # API
//
// Served under /crus (CRUS's /apis/crus behind the gateway), on BOS's listener:
//
//	POST   /crus/session               create (201); 400 bad JSON, 413 too large, 422 invalid, 503 HSM/BOS down
//	GET    /crus/session               every session, oldest first (200)
//	GET    /crus/session/{upgrade_id}  one session (200, 404)
//	DELETE /crus/session/{upgrade_id}  state DELETING (200, 404); the controller winds it down and removes it
//
// Bodies, the state enum (CREATED, READY, DELETING, UPDATING), kind, api_version and the
// problem documents (422 with an "errors" field map, 404 "Requested resource does not
// exist. Re-run request with valid ID.") follow CRUS 1.12. Client speaks it.
//
// # Algorithm
//
// Per session one goroutine runs the stages of CRUS (STARTING, QUIESCING, QUIESCED,
// BOOTING, BOOTED, WLM_WAITING, CLEANUP) as a state machine. DecideUpgrade is the whole policy,
// a pure function of (record, observation, now, timing) returning the next record, the
// actions to perform and when to look again; NeedsOf says what it will look at. The
// controller (Server.Run) persists, then acts: the decided record is stored (compare-and-
// set on a version) with its actions as an outbox, the actions are performed (each is
// idempotent: set a group's members, add to a group, a Slurm update for a hostlist, create
// the step's BOS session under a name fixed in advance), then cleared. A crash anywhere
// replays at most the last actions; on restart every unfinished session gets "Learning
// initiated" and goes on from its stored stage.
//
//  1. STARTING (step 0): empty the failed group; take the starting group's member list
//     once (the snapshot the steps slice) and each node's Slurm name (nid%06d of its HSM
//     NID). Each step: its nodes go into the upgrading group and are drained in Slurm
//     (Reason=rolling-upgrade), except nodes already drained by someone else, whose
//     reason is remembered.
//  2. QUIESCING: poll Slurm until every node of the step is drained and idle.
//  3. QUIESCED: create BOS v2 session crus-<upgrade_id>-step-<n>: operation reboot,
//     template upgrade_template_id, limit upgrading_label.
//  4. BOOTING: wait until the session is complete, or BOS has finished every node of
//     the step (each is in the session and no longer enabled).
//  5. BOOTED: verify each node from BOS's record (VerifyBoot): it belongs to the step's
//     session and its actual boot artifacts (reported by the node after it booted) are
//     the desired ones the session set from the template (BootArtifacts.SameBoot, as
//     the reconciler compares them). Others fail.
//  6. WLM_WAITING: a node whose Slurm boot time is no earlier than the step's boot
//     request (RebootedSince) is resumed (or its earlier drain restored); once Slurm runs
//     it again (InService) it is done. When all are done the upgrading group is emptied
//     and the next step starts.
//  7. CLEANUP: empty the upgrading group; READY, completed, "Upgrade Session Completed".
//
// A failed node goes into the failed group and, if it was rebooted (or its reboot was
// cut short), into Slurm FAIL with the reason (the Reason* constants).
//
// # Deviations from CRUS (each fixes a pitfall of the reference, section 1.8)
//
//   - BOS v2 replaces BOS v1 and BOA: a step's success is read per node from BOS
//     components, not from a Kubernetes job's exit code.
//   - Proof of reboot: a node counts as upgraded only if BOS saw it boot the template's
//     artifacts and Slurm's boot time is no earlier than the step's boot request (in
//     Slurm's whole seconds). CRUS accepted any IDLE node, even one that never rebooted.
//   - No tight loop: every wait is Timing.Poll (CRUS re-ran WLM_WAITING at once on every
//     pass), errors back off exponentially up to Timing.MaxBackoff.
//   - Timeouts on every wait, configurable (Timing): QUIESCING (nodes still busy go back
//     to service untouched and fail with upgrading-time-out-quiescing; the step goes on
//     without them), BOOTING (nodes BOS has not finished fail), WLM_WAITING (CRUS's fixed
//     10 minutes). CRUS waited forever for a drain and for BOA.
//   - Snapshot: the starting group is read once; later changes to it do not shift the
//     steps (CRUS re-read it on every pass).
//   - Unknown nodes fail instead of crashing the loop: a member without an HSM NID, or one
//     Slurm does not know, goes to the failed group (upgrading-unknown-to-wlm), untouched.
//   - Administrators' drains are kept: a node drained before its step is not re-drained
//     (its reason is kept) and gets its drain back instead of a RESUME.
//   - DELETE touches only the current step: nodes only drained are handed back, nodes
//     mid-reboot fail (upgrade-session-deleted-before-completion); the steps not started
//     are left alone (CRUS failed every remaining node of the starting group).
//   - Validation at create: the three labels must exist in HSM and differ, the template
//     must exist in BOS (422); CRUS checked neither and retried forever. The template
//     need not name upgrading_label in its node_groups: the session's limit narrows it.
//   - Slurm through its REST API (slurmrestd shapes), one request per batch of nodes,
//     instead of one scontrol process per node per poll.
//   - Messages: the history is kept when the session completes (CRUS cleared it on
//     READY); a message is skipped only when the same text is already there (CRUS skipped
//     any message contained in an existing one); messages marked "ours" in messages.go
//     report what CRUS did not do (snapshot, timeouts, partial boots).
//   - The upgrading group is filled when a step starts (CRUS filled it after the drain),
//     so it shows the step's nodes throughout; nodes that fail leave it at once.
//   - One controller per store: several API processes may share the store (the
//     controller finds their sessions within Timing.Rescan), but two controllers would
//     both drive each session (their writes stay consistent; their actions could repeat).
package crus
