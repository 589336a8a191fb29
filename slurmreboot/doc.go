// Package slurmreboot is the core of `bos slurm-reboot`, our equivalent of HPE's
// slurm-reboot script: Slurm's RebootProgram for BOS v2 staged rolling reboots.
//
// # The workflow it serves
//
// An administrator stages new boot artifacts and configuration with a BOS session created
// with "stage": true (nothing reboots), then asks Slurm for the reboot:
//
//	scontrol reboot ASAP nextstate=RESUME reason="Rolling Reboot" ALL
//
// With SlurmctldParameters=reboot_from_controller, slurmctld runs RebootProgram once per
// batch of nodes it sets DOWN+REBOOT_ISSUED in one pass (a node qualifies once its jobs
// have ended), as execv(RebootProgram, [basename, "nid000001,nid000002,..."]) with stdin,
// stdout and stderr closed. The program maps the names to xnames, POSTs
// /v2/applystaged {"xnames": [...]}, and BOS reboots those nodes into their staged state.
// When a node's slurmd registers with a boot time after the reboot request, Slurm returns
// it to service; a node that does not within ResumeTimeout goes DOWN "reboot timed out".
//
// # Contract (Program.Run)
//
//   - Input: node names as slurmctld passes them (ParseNodeList splits argv[1]; it is
//     never a bracketed range). Duplicates are dropped.
//   - Names → xnames: a name that is a node xname stands for itself; nidNNNNNN is looked
//     up in HSM, GET /hsm/v2/State/Components?type=Node&nidonly=true&nid=N..., 100 NIDs
//     per query (what the wlm role may call, and what SAT's nid2xname does). Any other
//     name, or a NID HSM does not know, is "unmapped".
//   - One POST /v2/applystaged with every mapped xname (optional Cray-Tenant-Name, optional
//     bearer token).
//   - Success only if every node was applied: no unmapped name, nothing in "failed" or
//     "ignored", every xname in "succeeded". Otherwise the error wraps ErrIncomplete (the
//     binary exits 1). slurmctld only logs the exit status; a node that was not applied
//     stays DOWN+REBOOT_ISSUED until ResumeTimeout marks it DOWN.
//   - Bounded: one run takes at most Config.Timeout (default 60 s): slurmctld waits for the
//     program with no limit of its own, and a hung program would hold its agent thread.
//   - Retries: HSM lookups are retried (3 attempts, 250 ms doubling) on connection errors,
//     429 and 5xx; applystaged only when the connection could not be made, since a second
//     applystaged of a staged reboot reboots the node again.
//
// Program implements slurmsim.RebootProgram (Reboot(ctx, nodes) error), so the in-process
// stack runs exactly the code the binary runs.
//
// # Deviations and guesses
//
// HPE's slurm-reboot.py is not public; its behaviour above is inferred from Slurm's
// RebootProgram contract, BOS's applystaged API and the wlm role's OPA policy. Ours adds
// the xname pass-through, the hostlist refusal and the retry rules; it does not fetch a
// Keycloak token itself (Config.Token takes one ready-made).
package slurmreboot
