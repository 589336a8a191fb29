// Package slurmsim simulates a Slurm controller (slurmctld 22.05 semantics) closely
// enough to drive and check BOS's staged rolling reboots: nodes with Slurm's states,
// flags and reasons; FIFO scheduling of synthetic jobs; and the reboot machinery
// (`scontrol reboot`, RebootProgram, ResumeTimeout, slurmd registration), rule for rule.
//
// # Model
//
// The controller is a state machine over an injected clock. API calls (Reboot,
// CancelReboot, UpdateNode, Submit, CancelJob, NodeRegistered, SlurmdStopped) change
// state at once; Tick(now) is one pass of slurmctld's background loop: jobs past their
// duration or time limit end (nodes COMPLETING for Config.Epilog), slurmd liveness is
// checked, every PeriodicInterval the reboot-timeout pass runs, requested reboots of idle
// or DOWN nodes are issued (one RebootProgram call per pass), the workload generator
// submits and the scheduler starts jobs. Tests call Tick with the fake clock's time; Run
// drives it once a second in real time.
//
// Reboot rules (reference: Slurm 22.05.8 source and observation):
//   - reboot: nodes already REBOOT_REQUESTED/ISSUED are skipped silently; the flag
//     REBOOT_REQUESTED is set; reason= replaces the reason; ASAP defaults nextstate to
//     RESUME, drains the node (remembering with an UNDRAIN marker whether it was drained
//     before) and defaults the reason to "Reboot ASAP"; otherwise the default reason is
//     "reboot requested". An unknown node fails the whole request before any change.
//   - issue (each Tick): a requested node that is not COMPLETING and is IDLE and
//     responding, or DOWN, becomes DOWN+REBOOT_ISSUED (other flags kept), boot_req_time =
//     now, reason + " : reboot issued"; all nodes issued in one pass go to one
//     RebootProgram call with a comma-separated, expanded list in NodeName order.
//   - completion: a registration with boot_time >= boot_req_time (whole seconds) clears
//     REBOOT_ISSUED; any nextstate clears DRAIN; nextstate=DOWN leaves the node DOWN with
//     " : reboot complete", otherwise it returns to service and a reason no longer needed
//     is cleared. Older boot times are ignored while the reboot is issued.
//   - timeout (each PeriodicInterval): issued longer than ResumeTimeout ago → DOWN,
//     DRAIN and REBOOT_ISSUED cleared, reason + " : reboot timed out".
//   - cancel_reboot: only while requested; removes an ASAP drain and its reason; an
//     issued reboot answers "REBOOT on node X already in progress -- unable to cancel".
//   - The RebootProgram's exit status is only logged and counted.
//
// sinfo's compact and long state names follow 22.05's node_state_string (e.g. drng@,
// alloc@, boot^, drain, down*); `scontrol show node` prints State= as base+FLAGS
// (ALLOCATED+DRAIN+REBOOT_REQUESTED, IDLE+NOT_RESPONDING), so a parser looking for
// older scontrol's "*" must look for NOT_RESPONDING instead.
//
// # API
//
// slurmrestd v0.0.40 shapes (Server.Handler; the types and client are api/slurmapi):
//
//	GET    /slurm/v0.0.40/jobs                  job list
//	POST   /slurm/v0.0.40/job/submit            submit (v0.0.40_job_submit_req, "job" only)
//	GET    /slurm/v0.0.40/job/{job_id}          one job
//	DELETE /slurm/v0.0.40/job/{job_id}          cancel
//	GET    /slurm/v0.0.40/nodes                 node list
//	GET    /slurm/v0.0.40/node/{node_name}      one node (a hostlist works too)
//	POST   /slurm/v0.0.40/node/{node_name}      update (state, reason) for a hostlist
//	GET    /slurm/v0.0.40/partitions            partitions; /partition/{name} for one
//	GET    /slurm/v0.0.40/ping                  controller ping
//
// Extensions, documented as ours: POST /slurm/v0.0.40/reboot {"nodes", "asap",
// "next_state", "reason"} and POST /slurm/v0.0.40/cancel_reboot {"nodes"} (slurmrestd has
// no reboot endpoint; they take scontrol's arguments), and simulator controls under
// /slurmsim/v1: POST nodes/{name}/register {"boot_time": RFC 3339} (a slurmd
// registration), POST nodes/{name}/stop (slurmd gone), GET nodes/{name}/history, GET
// stats, GET|PUT|DELETE workload.
//
// Scontrol, Sinfo and Squeue are the command-line front ends over a slurmapi.Client.
//
// # Wiring
//
// New(Config) builds the controller; Run(ctx) ticks it in real time; Handler() serves the
// API; Close() stops RebootProgram calls. The node simulator's hooks map directly:
// Config.OnBooted = s.OnBooted (a booted node's slurmd registers, boot time = when the OS
// came up) and Config.OnPowerChange = s.OnPowerChange (powering off stops slurmd); both
// find the node by NodeSpec.Xname (NodesFromTopology fills it). History, Stats and
// CheckNoRebootWhileRunning let tests and benchmarks check what happened.
//
// # Deviations from Slurm
//
//   - Only reboot_from_controller is modelled (one RebootProgram call per batch); no
//     per-slurmd RebootProgram, no features argument, no power saving, no FUTURE nodes.
//   - Scheduling is strict FIFO per partition without backfill or priorities; jobs take
//     whole nodes unless they ask for fewer CPUs (then nodes can be MIXED); lowest-
//     numbered nodes first. Which of a non-ASAP reboot and a queued job wins an idle node
//     is configurable (JobsWinRebootRace); by default the reboot wins, as observed.
//   - Under Run, a reboot request that finds a node ready (idle or DOWN) is issued at
//     once (IssueReboots), not at the next tick: slurmctld's background loop issues it
//     within a second, a small share of a real reboot of minutes, where a tick would be
//     a large share of the simulator's reboots of seconds. Tick alone (fake clocks)
//     issues at the tick, as before.
//   - slurmd pings are implicit: a stopped slurmd is NOT_RESPONDING from the next Tick
//     (Slurm notices within a ping interval) and DOWN "Not responding" after
//     SlurmdTimeout; UNKNOWN nodes (InitialState UNKNOWN) wait for registration instead.
//   - ReturnToService=2 does not undo a DOWN set by an administrator (update or
//     nextstate=DOWN); Slurm's exact rule depends on the reason's author.
//   - A registration with a new boot time from a node whose reboot was not issued kills
//     its jobs (NODE_FAIL) and, unless ReturnToService=2, sets it DOWN "Node unexpectedly
//     rebooted boot_time=... last response=..." (only if it was not DOWN already).
//   - cancel_reboot of a non-ASAP request also clears the reason when nothing (DOWN,
//     DRAIN, FAIL) needs it; RESUME clears pending and issued reboots.
//   - update State=DRAIN|DOWN|FAIL without a reason is refused by the controller too, not
//     only by scontrol.
//   - HTTP: errors use slurmrestd's {"errors": [...]} body with 400/404/409 statuses (real
//     slurmrestd often answers 500); no authentication (X-SLURM-USER-NAME only names the
//     reason's author); node JSON omits fields the simulator does not model; jobs carry
//     sim_time_limit/sim_duration (seconds) besides time_limit (minutes); partitions
//     carry "default"; next_state_after_reboot is [] when no reboot is pending; the meta
//     block reports release 22.05.8 although v0.0.40 is a later plugin's shape.
//   - scontrol show node prints a subset of the real fields; times print in the
//     clock's location.
package slurmsim
