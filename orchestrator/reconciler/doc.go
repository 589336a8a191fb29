// Package reconciler is the v2 reconciler: it turns every enabled component's desired state
// into a booted, configured node, each node at its own pace.
//
// The per-node policy is Decide, a pure function of (component, observation, options,
// clock) that returns the record to store, the action to take and when to look again. It
// folds BOS's status operator and its action operators (power_on, power_off_graceful,
// power_off_forceful, configuration) into one step per node.
//
// The caller's contract, in order (persist, then act):
//  1. read the component and observe the node (power state over Redfish, CFS record);
//  2. Decide;
//  3. store Decision.Component with compare-and-set (a conflict means: look again);
//  4. only then perform Decision.Action; record a failure with RecordFailure (stored the
//     same way) so the next look retries it and counts the attempt;
//  5. look again after RequeueAfter, soon if PollCFS, or when an event wakes the node.
//
// Because last_action is stored before the call, with the id of the process making it
// (last_action.in_flight), a crash between 3 and 4 shows up as a call another process
// recorded and never saw return: Decide checks the node's power and re-sends the call at
// once if its effect is missing.
//
// The loop also runs BOS's other v2 operators, which live in orchestrator/sessions: session
// setup and completion on every session pass, discovery, session cleanup and actual-state
// cleanup on the housekeeping pass. The reconciler's deviations from BOS are in
// docs/reconciler.md.
//
// Files: decide.go (the policy), reconciler.go (the loop: read, observe, Decide, store,
// act), queue.go (the keyed work queue), effects.go and stragglers.go (the batched calls
// both agents make, and patience with slow ones), ports.go and adapters.go (BSS and CFS
// ports over api/bssapi and api/cfsapi; HSM inventory over api/hsmapi). Power is
// orchestrator/power; images, kernel parameters and the boot-set checker are
// orchestrator/bootsets.
package reconciler
