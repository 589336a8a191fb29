// Package store keeps BOS's state in Redis (go-redis v9): options, components, session
// templates, sessions, saved session statuses and BSS referral tokens. Open with an empty
// URL starts an embedded miniredis in the process; with redis://... it uses a real Redis.
//
// # Keys
//
// Every key starts with Config.KeyPrefix ({p} below). Values are JSON.
//
//	{p}options                     string  Options (missing keys read as defaults)
//	{p}component:{id}              string  Component, stored with its computed status.status
//	{p}components                  zset    every component id, score 0: lexical order for paging
//	{p}index:session:{name}        set     ids whose session is name (name != "")
//	{p}index:staged:{name}         set     ids whose staged_state.session is name (name != "")
//	{p}index:phase:{phase}         set     ids by status.phase ("" included)
//	{p}index:status:{status}       set     ids by computed status (overrides included)
//	{p}index:enabled:{true|false}  set     ids by enabled
//	{p}index:error                 set     ids with a non-empty error
//	{p}session-counts:{name}       hash    a session's component counts (see Session counts)
//	{p}session-errors:{name}       hash    id → error, the session's members with an error
//	{p}session-counts-ready        string  "1" once the counts were built from the records
//	{p}history:{id}                list    the component's history, a packed element a write (history.go), oldest first, the newest Config.HistoryLimit kept
//	{p}templates:{ns}              hash    template name → SessionTemplate
//	{p}sessions:{ns}               hash    session name → Session
//	{p}session-status:{ns}         hash    session name → frozen SessionExtendedStatus
//	{p}template-namespaces         set     namespaces that hold templates
//	{p}session-namespaces          set     namespaces that hold sessions
//	{p}tokens                      hash    BSS referral token → TokenRecord (never pruned)
//	{p}session-epoch               string  counter bumped by every session creation (v1, v2)
//	{p}sessions-version            string  a random id set anew by every v2 session write (ListSessions reuses its last list while unchanged)
//	{p}lease:{name}                string  a lease's holder, with a TTL (replicas; leases.go)
//	{p}replicas                    zset    live replica ids, scored by alive-until (Unix ms)
//	{p}event-secret:{owner}        string  the secret of an owner's BMC event subscriptions, made once, kept 30 days from its last start (eventsecret.go)
//
// On a Redis Cluster (Config.Cluster) {p} is the hash tag {KeyPrefix}: every key in one
// slot, so the transactions below may WATCH any of them together.
//
// A namespace {ns} is "u" for no tenant and "t:<tenant>" for a tenant, so tenants reuse
// names freely (BOS hashes tenant and name into the key for the same effect).
//
// # Reads
//
// Component filters (session, staged session, enabled, phase, status list) are answered by
// SINTER over the index sets, unfiltered lists page through the id zset with ZRANGEBYLEX,
// and records are fetched with pipelined MGETs of 1,000 keys: no read scans every key.
// The computed status depends only on stored fields (orchestrator.ComputeStatus), which is
// why it can be indexed at write time and why listings can send stored JSON as is.
// Every read decodes fresh values: callers own what they get.
//
// # Writes
//
// Component writes are compare-and-set per component, in chunks of 500 (of 100 with
// PerRecord: WATCH's cost grows with the square of its keys). A chunk of more
// than 16 records (and any write on the embedded miniredis) takes two round trips on one
// connection: WATCH the keys and MGET them (one pipeline), apply the caller's mutate
// function, then MULTI (SET, or one MSET for several records, + the index changes, one
// SREM and one SADD per index set + history + the session counts' changes)
// EXEC, or UNWATCH when nothing changed. A smaller write (a node report, the reconciler's
// decisions on a few nodes) is one round trip when it knows each record's stored bytes:
// those of a read the caller made (ReadBefore), else those this process last read or
// wrote for it (a cache bounded by Config.RecordCacheBytes); else it reads them first
// (one MGET, no WATCH). It applies mutate, then sends in one pipeline WATCH, a check
// script (EVAL) that compares each record with the bytes expected and, when one differs,
// touches a watched key of its own and returns the current values, and the same
// MULTI/EXEC (script.go). A write that changes nothing sends only the check of what it
// did not read, or nothing. Such writes made at the same moment share the round trip
// (groupcommit.go; on a Redis Cluster on the master of the hash tag's slot, through the
// Cluster client again if the slot moved): the first sends at once, those that come while it is
// in flight are sent together when it returns, at most 32 transactions in one pipeline on
// one connection, each its own WATCH/check/MULTI/EXEC, so one's mismatch or conflict
// fails only that one and each writer gets the result it would have had alone (64
// concurrent reports: 1 round trip in 30, BenchmarkNodeReports). When the EXEC fails
// nothing is written and the records are decided again: on the values the check returned,
// at once, when only what was expected without reading was out of date; else (another
// writer committed meanwhile) in halves, so that one hot component never holds back the
// rest. mutate may therefore run more than once and must depend only on the component it
// is given, and anything it needs from elsewhere in the store is read before the write
// and passed in. A retry decodes and mutates again only the components whose stored bytes
// changed since the attempt that failed; the others keep that attempt's result (a
// 500-node write racing node reports used to decode and encode each record 3 to 4 times).
// A write given the records a read returned (ReadBefore) does not decode those still
// stored as read. A result of mutate (a decision, an outcome) leaves through UpdateEach,
// which returns the results of the attempt that committed only: a component deleted or
// changed after an attempt that failed is never reported with that attempt's result.
// After each committed transaction Config.OnComponentsChanged receives the ids written
// (unless the write was made with NoWake) and Config.OnComponentsWritten receives them
// always. On a Redis Cluster, whose client WATCHes on its own, every write takes the
// check script's way, in two round trips, and is sent alone. A Redis that refuses scripts
// at Open (an ACL) gets the two-round-trip writes only; a Cluster that does is refused.
// Options, templates and sessions use the same WATCH/MULTI cycle on their key.
//
// # Session counts
//
// A status poll and a completion check read a session's counts, not its members: the
// hash {p}session-counts:{name} holds members, staged, staged_members, enabled, stable,
// failed and phase:{phase} (enabled members not on_hold), as
// orchestrator.StatsFromComponents counts them, and {p}session-errors:{name} the members
// with an error. Every component write and delete adds the difference between the stored
// record's share and the new record's (HINCRBY, HSET/HDEL) in the same MULTI/EXEC as the
// record, so the counts cannot drift from the records: a transaction that conflicts
// changes neither. SessionStats reads them in one round trip whatever the session's size,
// SessionDone (completion) reads two fields. With a tenant filter (within) SessionStats
// stays O(session): it reads the members from the index sets and filters them.
//
// The counts are derived data: RebuildSessionCounts recomputes them from the records in
// one transaction (WATCHing every record, so a write meanwhile makes it retry) and drops
// stale ones. Open runs it when {p}session-counts-ready is missing (a store written by a
// version without counts); until then SessionStats answers from the index sets. A BOS of
// an older version writing to the same Redis after the rebuild would not maintain them:
// upgrade every process, then rebuild if one wrote meanwhile. The hash of a session whose
// components all left it stays, its counts zero, until the next rebuild.
//
// # History
//
// Each component write diffs the record before and after (orchestrator.EachChange) and
// appends the entries, packed into one element that holds their time and session once,
// to the component's history list in the same MULTI (RPUSH + LTRIM to Config.HistoryLimit
// elements; ComponentHistory answers the newest HistoryLimit entries of them): no extra
// round trip, and no change is committed without its entries or the other way round.
// Elements stored before the packed form, one JSON entry each, still read. NoteHistory
// adds what is not in the record (the reconciler's CFS requests) with RPUSHX, in a
// pipeline and no transaction: only an existing list takes it, and a component's list
// lives from its creation to its deletion. ComponentHistory reads a history newest
// first, and deleting a component deletes its history in the same MULTI.
//
// Session creation (CreateSessionAdmitted, CreateV1SessionAdmitted) WATCHes the session
// epoch, refuses a taken name, runs the caller's admission (the API's overlap rule, which
// reads the unfinished sessions and may refuse or record a takeover), then stores the
// record and bumps the epoch in one MULTI/EXEC. Any creation committed meanwhile, by any
// process on this Redis, fails the EXEC and the admission runs again: creations are
// decided one after another, so two overlapping ones never both pass a refusal and the
// later one always sees the earlier. The record stored carries the epoch it committed
// (Session.Status.Epoch, V1Session.Epoch): the order of creations, which setup follows.
//
// # Conditional writes (If-Match)
//
// A record's entity tag is derived from its stored bytes (internal/etag.Of), so it needs
// no version field and changes exactly when the record does. The ...Tagged reads return
// it; the ...If writes (PutComponentIf, UpdateComponentIf, DeleteComponentIf, and the
// same for templates and sessions) take a parsed If-Match and check it against the bytes
// their transaction verifies (read inside the WATCH/MULTI cycle, or for components
// checked by the write's check script), so no other write can come between the check
// and the write: EPRECONDITION when it does not hold (ENOTFOUND first for an update or
// delete of a missing record). A conditional template PUT or delete WATCHes its
// namespace's hash, so it may retry when another template of that tenant is written.
//
// # For the reconciler
//
// The surface is small: ListComponents / ComponentIDs with a Filter (paged by
// StartAfterID and PageSize), UpdateComponents or UpdateEach with a mutate function (use
// orchestrator.ComponentPatch.SetAutoFields/ApplyTo to get the API's merge rules),
// AddComponents for discovery, GetOptions each pass, ListSessions / UpdateSession,
// SessionDone for completion, FreezeSessionStatus at completion,
// PutToken after a BSS PUT, GetTemplate at session setup.
//
// Errors carry orchestrator codes: ENOTFOUND, ECONFLICT (session exists; a component that
// stayed contended for 1,000 attempts), EPRECONDITION (an If-Match that does not hold),
// EUNAVAILABLE (Redis unreachable: the API answers 503), EINTERNAL (a Redis error reply
// or an undecodable record).
package store
