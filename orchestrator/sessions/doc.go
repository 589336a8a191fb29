// Package sessions holds BOS's v2 operators other than the per-node step (reference 4.3,
// 4.4, 4.6): session setup (Setup), session completion (CompleteSessions), session cleanup
// (CleanupSessions), discovery (Discover) and actual-state cleanup (CleanupActualState).
// The reconciler's loop (orchestrator/reconciler) calls them; the v1 agent
// (orchestrator/lockstep) shares Discover, Target and the setup messages.
//
// Each is a function of the store, the inventory and the clock, with no loop of its own.
// Their deviations from BOS are listed at the top of setup.go.
//
// Files: setup.go (session setup, and the deviations), sessions.go (completion and
// cleanup), discovery.go, cleanup.go (actual-state cleanup).
package sessions
