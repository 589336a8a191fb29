package crus

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// The message catalogue. CRUS's own messages keep its exact wording (reference 1.7);
// the ones marked "ours" report what this implementation adds (snapshot, timeouts,
// partial boots).

func msgClearedGroup(label string) string { return fmt.Sprintf("Cleared node group '%s'", label) }

func msgNoNodes(step int) string { return fmt.Sprintf("No nodes in step %d: moving to CLEANUP", step) }

func msgQuiesceRequested(step int) string {
	return fmt.Sprintf("Quiesce requested in step %d: moving to QUIESCING", step)
}

func msgAllQuiesced(step int) string {
	return fmt.Sprintf("All nodes quiesced in step %d: moving to QUIESCED", step)
}

func msgBootBegan(step int) string {
	return fmt.Sprintf("Began the boot session for step %d: moving to BOOTING", step)
}

func msgBootCompleted(step int) string {
	return fmt.Sprintf("The boot session for step %d completed: moving to BOOTED", step)
}

func msgBootSucceeded(step int) string {
	return fmt.Sprintf("Step %d boot session succeeded: moving to WLM_WAITING", step)
}

func msgBootFailed(step int) string {
	return fmt.Sprintf("The boot session for step %d failed: marking the nodes as failed, advancing to step %d and moving to STARTING", step, step+1)
}

func msgWLMTimedOut(step int) string {
	return fmt.Sprintf("Waiting for WLM nodes timed out in step %d: marking remaining nodes as failed, advancing to step %d and moving to STARTING", step, step+1)
}

// msgExamined lists nodes the way CRUS does (a Python list repr).
func msgExamined(nodes []string) string {
	quoted := make([]string, len(nodes))
	for i, n := range nodes {
		quoted[i] = "'" + n + "'"
	}
	return fmt.Sprintf("Examined nodes [%s] for WLM completion", strings.Join(quoted, ", "))
}

func msgAllReady(step int) string {
	return fmt.Sprintf("All WLM returned to ready in step %d: advancing to step %d and moving to STARTING", step, step+1)
}

const msgCompleted = "Upgrade Session Completed"

func msgStepError(step int, stage Stage, err error) string {
	return fmt.Sprintf("Processing step %d in stage %s failed - %v", step, stage, err)
}

const (
	msgDeleteCompleted = "Deleting after completed: move to CLEANUP for removal"
	msgDeleteEarly     = "Deleting before any updates: move to CLEANUP for removal"
	msgDeleteMidway    = "Upgrade session deleted before completion: moving to cleanup"
	msgLearning        = "Learning initiated"
)

// Ours.

func msgSnapshot(label string, nodes, size int) string {
	steps := (nodes + size - 1) / size
	return fmt.Sprintf("Took the node list of group '%s': %d nodes in %d steps of at most %d", label, nodes, steps, size)
}

func msgUnknownNodes(reason string, nodes []string) string {
	return fmt.Sprintf("Nodes without a workload manager name marked as failed (%s): %s", reason, strings.Join(nodes, ","))
}

func msgQuiesceTimedOut(step int, after time.Duration, busy []string) string {
	return fmt.Sprintf("Quiescing timed out in step %d after %s: returned %d busy nodes to service and marked them as failed (%s): %s; moving to QUIESCED",
		step, after, len(busy), ReasonQuiesceTimeout, strings.Join(busy, ","))
}

func msgNothingToBoot(step int) string {
	return fmt.Sprintf("No nodes left to boot in step %d: advancing to step %d and moving to STARTING", step, step+1)
}

func msgBootTimedOut(step int, after time.Duration) string {
	return fmt.Sprintf("The boot session for step %d timed out after %s: moving to BOOTED", step, after)
}

func msgBootPartial(step int, ok, all int, failed map[string]string) string {
	return fmt.Sprintf("Step %d boot session succeeded for %d of %d nodes: marking the others as failed (%s), moving to WLM_WAITING",
		step, ok, all, reasonCounts(failed))
}

// reasonCounts summarises failures as "reason: n, reason: m" (sorted by reason).
func reasonCounts(failed map[string]string) string {
	counts := map[string]int{}
	for _, r := range failed {
		counts[r]++
	}
	reasons := make([]string, 0, len(counts))
	for r := range counts {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s: %d", r, counts[r])
	}
	return strings.Join(parts, ", ")
}

// Failure reasons: the Slurm reason of a failed node (State=FAIL Reason=...). The first
// three are CRUS's; the rest are ours.
const (
	ReasonBootSessionFailed = "upgrading-boot-session-failed"
	ReasonWLMTimeout        = "upgrading-time-out-wlm-waiting"
	ReasonDeleted           = "upgrade-session-deleted-before-completion"

	// ReasonNoWLMName: HSM gives the node no NID, or Slurm does not know its name.
	ReasonNoWLMName = "upgrading-unknown-to-wlm"
	// ReasonQuiesceTimeout: jobs kept the node busy past the quiesce timeout; it was
	// returned to service untouched.
	ReasonQuiesceTimeout = "upgrading-time-out-quiescing"
	// ReasonBootTimeout: BOS had not finished the node when the boot timeout passed.
	ReasonBootTimeout = "upgrading-time-out-booting"
	// ReasonNotInSession: BOS did not take the node into the step's session (the
	// template's boot sets do not cover it, or it is not a BOS component), or a later
	// session took it over.
	ReasonNotInSession = "upgrading-not-in-boot-session"
	// ReasonBootFailed: BOS gave up on the node (out of power or boot attempts).
	ReasonBootFailed = "upgrading-boot-failed"
	// ReasonWrongImage: the node reported booting artifacts other than the template's.
	ReasonWrongImage = "upgrading-wrong-boot-artifacts"
)

// DrainReason is the Slurm reason CRUS drains nodes with.
const DrainReason = "rolling-upgrade"

// appendMessage adds m unless the list already holds it, so a repeated error or a
// re-run stage does not grow the list (CRUS skips a message some existing one contains;
// we compare whole messages, so "step 1" is never taken for "step 11").
func appendMessage(list []string, m string) []string {
	for _, x := range list {
		if x == m {
			return list
		}
	}
	return append(list, m)
}
