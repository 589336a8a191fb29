// Package orchestrator holds the domain of our Boot Orchestration Service (BOS v2): the
// records (SessionTemplate, BootSet, Session, Component and its states, Options,
// TokenRecord), their schema validation, and the pure rules the API and the reconciler
// share. Nothing here does I/O, reads a clock or logs: time is a parameter.
//
// Rules implemented here, with the reference section they follow:
//
//   - ComputeStatus: status.status from phase, override and last action (4.2). It depends
//     only on stored fields, so the store indexes it at write time.
//   - ComponentPatch.SetAutoFields and ApplyTo: the auto fields of every component write
//     (token → boot artifacts, last_updated, on_hold when enabled, session detached by a
//     manual desired-state change, event_stats reset) and the merge rules (1.7).
//   - Component.ActualStateLocked: the 409 rule for node reports during a change (1.7).
//   - SessionTemplate.Normalize, MergeTemplatePatch, CheckBootSets: template PUT/PATCH
//     processing and the structural boot-set checks (1.4, 1.6). Artifact and IMS checks
//     need S3 and IMS, so they sit behind the BootSetChecker interface.
//   - SessionCreate.Validate, SessionFilter, BuildExtendedStatus: session creation rules,
//     list filters and the extended status (1.5, 2.5).
//   - ApplyStaged: the applystaged decision per component (1.8).
//   - Options: the 20 options with defaults and ranges (3), and our
//     reject_overlapping_sessions.
//   - BOS v1 (bos-v1.md): V1Session and its status document with the computed metadata
//     and retry command (v1.go); V1SessionTemplate, its stored form with the v1
//     extensions (partition, ordinals) and MigrateV1Template (v1template.go); the
//     overlap rule for v1 and v2 session creation (overlap.go). docs/bos-v1.md.
//
// Errors carry a code (EINVALID, ENOTFOUND, ECONFLICT, ETOOLARGE, EUNAVAILABLE, EINTERNAL);
// only the api package turns codes into HTTP statuses.
//
// Deviations from the real service are listed in docs/bos-api-deviations.md; those that
// live in this package: timestamps are time.Time at full precision (the API writes them
// as BOS does, naive UTC to the second, see api/timestamps.go); a JSON null in a patch means "not sent"; operation
// names are accepted in any case; applystaged, as BOS, replaces desired_state (and, with
// clear_stage, staged_state) whole, and unlike BOS also clears error on success. Option
// PATCH keeps unknown keys as BOS does (UnknownOptions).
package orchestrator
