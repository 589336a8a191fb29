// Package webui is BOS's live web view of the machine (docs/webui.md): a page served at
// /ui/ (and under the gateway prefix, /apis/bos/ui/) that draws every component on a
// canvas laid out as the hardware is (cabinet, chassis, slot, node, from the xnames),
// coloured by BOS status or, in its rolling mode, by where each node is in a rolling
// upgrade (RollingStateOf, from the node's record and Slurm's state), with the sessions
// and their progress, and each node's BOS record, power and Slurm state on a click. Its
// assets are embedded (go:embed): no CDN, no build step.
//
// Data endpoints, relative to the view's root:
//
//	GET api/snapshot          every component: ids, a status code and a rolling state each
//	GET api/components/{id}   one component's record, its power as BOS's driver reads it,
//	                          its rolling state and its Slurm node
//	GET api/sessions          the newest sessions with their extended status
//	GET events                server-sent events: a snapshot, then batched changes
//
// Changes are learnt from the store's hook of every component write, OnComponentsWritten
// (Notify, wired by orchestrator/server): ids written are marked dirty, and every Tick (250 ms) a hub reads
// the dirty components once (one MGET) and hands each browser's stream its changes, which
// a stream coalesces by id until its browser has taken the previous message. A browser
// thus gets at most one message per tick with every change since its last, and what waits
// for a slow browser is at most one code per component, never a queue of messages.
//
// Slurm (Config.Slurm, nodes and jobs) and the staged sessions are read at most once per
// RefreshEvery, by whichever of the streams' follower, a snapshot or a click needs them
// first; the nodes whose Slurm state changed are marked dirty like written ones.
//
// The data endpoints follow the rules of GET /v2/components (api.AuthorizeRead): with
// authentication on they need a bearer token, and a tenant sees only its nodes.
package webui
