package reconciler

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/sessions"
)

// TestHistoryOfABoot: a boot whose CFS steps each fail once leaves every step in the
// node's history, in order: the session's setup, the BSS write, the power-on failing on
// its CFS step with the error, the retry, the node's report and the look that took it as
// the call's return (no write of its own: reconciler.md), and in a
// second session (same image, another configuration) the CFS request failing, then made.
func TestHistoryOfABoot(t *testing.T) {
	w := newRaceWorld(t)
	w.setup("A", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg-a"})
	w.cfsErr = errors.New("cfs answered 500")
	w.settle("A", "cfg-a", "tok-1")
	w.setup("B", bos.OpBoot, sessions.Target{BootArtifacts: image, Configuration: "cfg-b"})
	w.cfsErr = errors.New("cfs answered 502")
	for i := 0; i < 10 && w.component().Enabled; i++ {
		w.step()
	}
	require.False(t, w.component().Enabled, "B done")

	hist, err := w.st.ComponentHistory(context.Background(), raceNode)
	require.NoError(t, err)
	var got []string
	for i := len(hist) - 1; i >= 0; i-- { // oldest first
		e := hist[i]
		switch e.Kind {
		case bos.HistoryAction, bos.HistoryCFS:
			got = append(got, e.Kind+" "+e.To+" "+e.Detail)
		case bos.HistoryBSS, bos.HistoryAttempts, bos.HistoryActual:
			got = append(got, e.Kind+" "+e.Detail)
		case bos.HistoryError, bos.HistoryPhase, bos.HistorySession:
			got = append(got, e.Kind+" "+e.To)
		}
	}
	assert.Equal(t, []string{
		"session A",
		"action session_setup ",
		"phase powering_on",
		"action powering_on called",
		"attempts power_on_attempts 1",
		"bss token tok-1",
		"action powering_on failed",
		"error power_on failed: cfs answered 500",
		"action powering_on called",
		"attempts power_on_attempts 2",
		"actual token tok-1",
		"phase configuring",
		"action powering_on returned", // confirmed by the write that moved the node on
		"phase none",
		"error ",
		"session B",
		"action session_setup ",
		"phase configuring",
		"cfs cfg-b failed: cfs answered 502",
		"cfs cfg-b requested",
		"phase none",
	}, got)
	assert.Equal(t, bos.HistoryCreated, hist[len(hist)-1].Kind)
}
