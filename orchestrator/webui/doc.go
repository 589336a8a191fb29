// Package webui is BOS's live web view of the machine (docs/webui.md): a page served at
// /ui/ (and under the gateway prefix, /apis/bos/ui/) that draws every component on a
// canvas laid out as the hardware is (cabinet, chassis, slot, node, from the xnames),
// coloured by BOS status, with the sessions and their progress, and each node's BOS record
// on a click. Its assets are embedded (go:embed): no CDN, no build step.
//
// Data endpoints, relative to the view's root:
//
//	GET api/snapshot          every component: ids and one status code each
//	GET api/components/{id}   one component's record and its power as BOS's driver reads it
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
// The data endpoints follow the rules of GET /v2/components (api.AuthorizeRead): with
// authentication on they need a bearer token, and a tenant sees only its nodes.
package webui
