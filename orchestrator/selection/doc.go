// Package selection picks the nodes a session acts on from one read of the HSM inventory:
// the one node resolution of v2 session setup (sessions.Setup), the v1 agent (lockstep)
// and the API's overlap check at session creation (Resolver).
//
//   - ReadSnapshot reads HSM once (nodes, groups, partitions when asked, locks) into a
//     Snapshot; Handoff passes the snapshot a session's creation read to its setup, so
//     creating and setting up a session read HSM once.
//   - ResolveBootSet is one boot set's nodes (reference bos-v2.md 4.4 step 1): node list,
//     groups and roles, tenant, limit (ApplyLimit), locks, arch, enabled.
//   - Select resolves every boot set of a template, bounded by its partition, and says
//     which boot set owns a node named by several (the last in name order).
//
// Everything but ReadSnapshot and Resolver is pure and table-tested. The deviations from
// BOS are in the comments of ApplyLimit and ResolveBootSet.
package selection
