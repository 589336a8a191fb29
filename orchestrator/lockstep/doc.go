// Package lockstep runs BOS v1 sessions the way the Boot Orchestration Agent (BOA) did
// (reference bos-v1.md 5): all of a session's nodes move through the phases of its
// operation together, and a phase ends only when every node has succeeded or failed it.
// A failed node is recorded, with its reason, and the others go on; when the session
// ends its status names the failed nodes and the command that retries just them.
//
// # Shape
//
// Agent (agent.go) watches the store for pending v1 sessions (the API creates them and
// calls Wake) and runs each in a goroutine (session.go): claim it, resolve its nodes
// (selection.Select: the v2 setup's node resolution plus the template's partition),
// write the components, run the steps (steps.go), finish. It acts on nodes only through
// reconciler.Effects, the same code the v2 reconciler uses for BSS, CFS and Redfish; it
// observes them through power.PowerControl (power), the BOS components (the BSS token
// a booted node reports) and reconciler.Configuration (CFS status).
//
// The agent owns a session's nodes by writing, before any step, each node's component:
// session = the v1 session id, desired state = the target, enabled = false (so the v2
// reconciler, which only looks at enabled components, leaves them alone). Every look at
// the nodes re-reads those components: a node whose session changed was taken over by
// another session and leaves this one (excluded, with the new owner in the errors).
//
// # Steps per operation (each drives the status phase of the same name)
//
//	shutdown   shutdown
//	boot       boot, configure
//	reboot     shutdown, boot, configure
//	configure  configure
//
// What each step does:
//
//   - shutdown: nodes already off succeed; the others get a graceful power-off and
//     Timing.GracefulShutdown, then a forced one and Timing.ForcefulShutdown; a node
//     still on fails.
//   - boot: Effects.PowerOn (BSS parameters, CFS desired configuration with CFS disabled
//     until the node boots, power on); a node succeeds when its component holds the BSS
//     token it was given (the node booted this session's image and reported it), and
//     fails after Timing.Boot.
//   - configure: nodes that CFS does not yet know with the template's configuration (all
//     of them for a configure session) get it through Effects.Configure; each succeeds
//     when CFS says configured and fails on failed, a missing record, or Timing.Configure.
//
// Boot sets run in waves: by shutdown_ordinal for shutdown and boot_ordinal for boot,
// lower first, equal (or no) ordinals together; a wave is a lockstep barrier too, and a
// step starts only when the previous step has finished for every boot set.
//
// # Deviations from BOA (docs/bos-v1.md has the full list)
//
//   - BOA ran boot sets as independent threads and ignored ordinals; here the phases are
//     barriers across the whole session and ordinals order the boot sets.
//   - The template's partition bounds the nodes (BOA only filtered role lookups by it).
//   - "Ready" is the node's report of its BSS token, not HSM's Ready state, which the
//     simulated HSM does not track.
//   - A node still on after both power-off windows fails (BOA put it in succeeded); a
//     node a boot finds already on succeeds if it runs the target image and fails
//     otherwise (BOA counted it a success without restarting it); a CFS failure fails
//     only its node (BOA aborted the boot set at the first).
//   - Nodes that failed a phase, or are not BOS components, go to excluded in the later
//     phases (BOA left them in not_started, so those phases never completed).
//   - stage_configuration is folded into boot (power-on sets the CFS desired
//     configuration) and configure; the configure phase starts when its step does.
//   - Kernel parameters come from v2's builder (bootsets.BootArtifactsFor) with v1's rules
//     (bootsets.V1Params): cpss3 and sbps rootfs providers, bos_update_frequency as v2
//     adds it, no bos_session_id. "Already runs the target" is BootArtifacts.SameBoot,
//     so a node a v2 session booted with the same image and boot set qualifies.
//   - BOA built a CFS configuration from the deprecated clone_url/branch fields when
//     cfs.configuration was missing; we do not: without a configuration the configure
//     phase excludes the nodes.
//   - Deleting a running session stops it (BOA's job ran on).
//   - A session left running by a stopped agent runs again from the start with the next
//     one, as a restarted BOA pod did.
package lockstep
