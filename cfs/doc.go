// Package cfs simulates the Cray Configuration Framework Service (CFS 1.31, API v3) as BOS
// sees it: components with a desired configuration and a derived configuration_status,
// configurations made of layers, and a batcher that "configures" pending components after a
// delay, succeeding or failing under seeded fault knobs.
//
// # API
//
// Served under /v3 (CFS has no /cfs segment in-cluster) and under the gateway prefix
// /apis/cfs/v3, plus GET /healthz:
//
//	GET    /v3/components            ids, status, enabled, config_name, tags, state_details,
//	                                 config_details, limit (default 1000), after_id; sorted by
//	                                 id; "next" echoes the query with after_id, or is null
//	PUT    /v3/components            array of records → {"component_ids": [...]}
//	PATCH  /v3/components            [{id,...},...] (404 and no write if any id is unknown) or
//	                                 {"patch": {...}, "filters": {...}} (empty filter = all)
//	GET    /v3/components/{id}       state_details, config_details
//	PUT    /v3/components/{id}       replace → record
//	PATCH  /v3/components/{id}       merge → record; 404 if unknown
//	DELETE /v3/components/{id}       204; 404
//	GET    /v3/configurations        limit, after_id, in_use
//	GET    /v3/configurations/{name}
//	PUT    /v3/configurations/{name} drop_branches; 400 on invalid layers
//	PATCH  /v3/configurations/{name} re-resolve branches
//	DELETE /v3/configurations/{name} 204; 400 "Configuration is in use."; 404
//	GET    /v3/options               CFS's options record
//	PATCH  /v3/options               bounds as the spec; unknown keys 400; all or nothing
//	GET    /v3/sessions              limit, after_id, min_age, max_age, status, name_contains,
//	                                 succeeded, tags; {"sessions": [...], "next": ...}
//	POST   /v3/sessions              201; 409 on a duplicate name; 400 on an unknown configuration
//	DELETE /v3/sessions              same filters, status=complete by default → {"session_ids"}
//	GET    /v3/sessions/{name}       404 "Session <name> could not be found"
//	DELETE /v3/sessions/{name}       204; 404
//
// A path no route serves is a 404 problem, a method a path does not take a 405 problem with
// Allow, in connexion's words (internal/problem.Routes).
//
// # Options and sessions
//
// batch_size, batch_window (whole seconds), default_batcher_retry_policy, default_page_size,
// batcher_disable and session_ttl take effect at once; the other options (Ansible, hardware
// sync, ARA, logging) are stored and returned with CFS's defaults. Every batch the batcher
// runs is listed as a session (batcher-..., target dynamic, ansible limit = its members;
// running while it runs, then complete with succeeded false if any member failed). A session
// made with POST runs in the request: it records every layer of its configuration as
// applied on the components its ansible_limit names (every component when it names none;
// names that are not component ids, such as groups, match nothing) unless it sets an
// ansible_passthrough, and is complete and succeeded when the 201 returns.
//
// Writes follow CFS: a PATCH merges (tags merge and empty values delete keys; other fields
// replace), state_append replaces the state layer with the same clone_url and playbook,
// error_count resets to 0 when a write sets desired_config or state: [] without setting
// error_count, and configuration_status is derived on every read (section 4.3 of the
// reference; see configurationStatus), never stored. A configuration layer names a
// clone_url or a source, a commit or a branch; a branch is resolved when stored to a
// made-up but stable commit (SHA-1 of clone URL and branch). As connexion does for CFS, the
// document's patterns are checked first: a commit is 40 lower-case hex digits, clone_url,
// playbook and branch have no spaces or semicolons; a mismatch is 400 "Bad Request" with
// jsonschema's text, e.g. "'c1' does not match '^[a-f0-9]{40}$' - 'layers.0.commit'".
//
// # Batcher
//
// A component that is enabled, has a desired configuration and reads pending joins the
// open batch; batches close after Timing.BatchWindow or at Timing.BatchSize members and run
// one timer each (so 10,000 nodes are a hundred timers, not 10,000 goroutines). When a
// batch's session ends, each member still at the generation it joined with gets a state
// layer per configuration layer (→ configured) or fails (error_count+1, the failing layer
// recorded as failed; below the retry limit it is pending again and re-batched; at the
// limit it reads failed). Members written since they joined (disabled, re-patched,
// replaced, deleted) are skipped: the write re-evaluated them already. Failures come from
// Config.FailRate (seeded) or the per-component list (Config.FailComponents, SetFailing).
// retry_policy falls back to Config.DefaultRetryPolicy (default 3, CFS's
// default_batcher_retry_policy).
//
// # Deviations from the real CFS
//
//   - Only v3 components, configurations, sessions and options (and /healthz) are served:
//     no sources, no v2, no PATCH of a session (it sets Kubernetes job state). Image
//     customization sessions (target definition image) are refused with 400: they need IMS
//     and Ansible. A batch may mix configurations; its session then names none. There is no git: branches resolve to made-up commits, and the
//     batcher never runs Ansible. Source names resolve through Config.Sources.
//   - Every record has desired_config (default ""), so config_deprecated is never returned.
//     The "logs" (ARA link) field is not returned. Pre-created components are enabled.
//   - Playbooks default to site.yml when a configuration is stored (CFS applies the default
//     when computing status only); duplicate-layer detection therefore treats an omitted
//     playbook as site.yml.
//   - Bodies are decoded strictly: unknown fields are 400 (the read-only fields a GET
//     returns, configuration_status, desired_state, logs, name, last_updated, tenant_name, are
//     accepted and ignored). A status filter naming an unknown status, a malformed boolean
//     or a negative limit is 400; CFS would match nothing. desired_config is limited to 60
//     characters, retry_policy to -1 or more, state layer status to applied, failed,
//     skipped or incomplete.
//   - in_use on GET /v3/configurations works (CFS's filter reads the wrong field).
//   - PUT of a component applies state_append and drops empty tags as PATCH does; PUT and
//     PATCH of one component return the record with its state and configuration_status.
//   - A batch session lasts at least 1 ms, even with zero delay, so an always-failing
//     component with retry_policy -1 cannot spin.
package cfs
