package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

func exitCode(err error) int { _, code := exitStatus(err); return code }

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		msg  string
		code int
	}{
		{nil, "", 0},
		{assert.AnError, "ERROR: " + assert.AnError.Error(), 1},
		{errSilent, "", 1},
		{&exitError{code: exitFailedNodes}, "", 3},
		{&exitError{code: exitTimedOut}, "", 4},
		{errInterrupted, "interrupted", 130},
	} {
		msg, code := exitStatus(tc.err)
		assert.Equal(t, tc.msg, msg, "%v", tc.err)
		assert.Equal(t, tc.code, code, "%v", tc.err)
	}
}

func TestUpReportsFailedNodesByCauseWithTheRetryCommand(t *testing.T) {
	bad := "x1000c0s0b0n0,x1000c0s1b1n1"
	var out, errw bytes.Buffer
	err := run(context.Background(), []string{"up", "--nodes", "8", "--boot", "--delay-scale", "0", "--fault", "reset-503=" + bad}, &out, &errw)
	require.Equal(t, exitFailedNodes, exitCode(err), "%v\n%s", err, errw.String())

	var status bos.SessionExtendedStatus
	require.NoError(t, json.Unmarshal(out.Bytes(), &status), out.String())
	assert.Equal(t, bos.SessionComplete, status.Status)
	assert.Equal(t, 25.0, status.PercentFailed)
	cause := "power_on failed: BMC answered 503 Service Unavailable: The service is temporarily unavailable."
	assert.Equal(t, map[string]bos.ErrorSummary{cause: {Count: 2, List: bad}}, status.ErrorSummary, "one cause, both nodes")
	assert.Contains(t, errw.String(), "2 failed nodes, by cause:\n       2  "+cause+"\n          "+bad+"\n")
	assert.Contains(t, errw.String(), "retry them with:\n  bos v2 sessions create --template-name compute --operation boot --limit "+bad+"\n")
}

func TestUpTimeoutSaysWhereTheNodesAre(t *testing.T) {
	var out, errw bytes.Buffer
	// At --delay-scale 1 a boot takes minutes: --timeout expires first, whatever the machine.
	err := run(context.Background(), []string{"up", "--nodes", "2", "--boot", "--delay-scale", "1", "--timeout", "1s"}, &out, &errw)
	require.Equal(t, exitTimedOut, exitCode(err), "%v\n%s", err, errw.String())
	assert.Regexp(t, `timed out after 1s following session \S+; it is still running. Where its nodes are:\n\s+2  powering_on / power_on_(pending|called)\n`, errw.String())
	assert.NotContains(t, errw.String(), "context deadline exceeded")
	var status bos.SessionExtendedStatus
	require.NoError(t, json.Unmarshal(out.Bytes(), &status), "the last status is printed: %s", out.String())
	assert.Equal(t, bos.SessionRunning, status.Status)
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func TestUpInterruptedExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errw syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"up", "--nodes", "2", "--boot", "--delay-scale", "1"}, &bytes.Buffer{}, &errw)
	}()
	for !strings.Contains(errw.String(), "session ") { // the session is being followed
		select {
		case err := <-done:
			t.Fatalf("up ended before the session was followed: %v\n%s", err, errw.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel() // as Ctrl-C does
	err := <-done
	msg, code := exitStatus(err)
	assert.Equal(t, exitInterrupted, code)
	assert.Equal(t, "interrupted", msg)
}

func TestSimulatedOptionsFollowTheDelayScale(t *testing.T) {
	timing := simulator.DefaultTiming()
	timing.Scale = 0.05
	assert.Equal(t, map[string]any{"max_power_on_wait_time": 10, "max_boot_wait_time": 21, "max_power_off_wait_time": 11, "polling_frequency": 1},
		simulatedOptions(timing, 200), "the figures optionsRule quotes")
	timing.Scale = 0
	assert.Equal(t, map[string]any{"max_power_on_wait_time": 205, "max_boot_wait_time": 205, "max_power_off_wait_time": 205, "polling_frequency": 1},
		simulatedOptions(timing, 10000), "instant hardware: the slack alone, growing with the cluster")
	timing.Scale = 1
	assert.Equal(t, map[string]any{"max_power_on_wait_time": 13, "max_boot_wait_time": 229, "max_power_off_wait_time": 43, "polling_frequency": 15},
		simulatedOptions(timing, 100), "real time: BOS's polling default")
	assert.Contains(t, optionsRule, "max_boot_wait_time       power on + POST + boot    (                               21 s)")
}

func TestUpOptionFlag(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"max_boot_wait_time", "want KEY=VALUE"},
		{"max_boot_wait=30", `unknown option "max_boot_wait" (options: bss_read_timeout, `},
		{"max_boot_wait_time=soon", "max_boot_wait_time takes a whole number"},
		{"clear_stage=maybe", "clear_stage takes true or false"},
		{"max_boot_wait_time=-1", "max_boot_wait_time"},
		{"logging_level=LOUD", "logging_level"},
	} {
		var errw bytes.Buffer
		err := run(context.Background(), []string{"up", "--nodes", "2", "--option", tc.arg}, &bytes.Buffer{}, &errw)
		require.Error(t, err, tc.arg)
		assert.Contains(t, err.Error(), tc.want, tc.arg)
		assert.Empty(t, errw.String(), "%s: refused before anything starts", tc.arg)
	}
	patch, err := parseOptionFlags([]string{"max_boot_wait_time=30", "max-power-on-wait-time=9", "clear_stage=true", "logging_level=debug"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"max_boot_wait_time": 30, "max_power_on_wait_time": 9, "clear_stage": true, "logging_level": "debug"}, patch)
}

func TestUpAppliesScaledOptionsThenOverrides(t *testing.T) {
	var out, errw bytes.Buffer
	err := run(context.Background(), []string{"up", "--nodes", "2", "--boot", "--delay-scale", "0", "--option", "max_boot_wait_time=30", "--option", "default_retry_policy=2"}, &out, &errw)
	require.NoError(t, err, errw.String())
	assert.Contains(t, errw.String(), "BOS options: default_retry_policy=2 max_boot_wait_time=30 max_power_off_wait_time=5 max_power_on_wait_time=5 polling_frequency=1\n")
}

// TestCLIWatch follows a v2 and a v1 session with --watch: the progress, the status, the
// failed node by cause, the retry command and exit status 3.
func TestCLIWatch(t *testing.T) {
	st := startShared(t)
	good, bad := shared.nodes[4], shared.nodes[5]
	require.NoError(t, st.Sim.SetFault(bad, simulator.FaultReset500))
	defer func() { _ = st.Sim.ClearFault(bad, simulator.FaultReset500) }()
	cause := "BMC answered 500 Internal Server Error: The request failed due to an internal service error. The service is still operational."

	v2(t, "sessions", "create", "--template-name", stack.DefaultTemplateName, "--operation", "reboot", "--limit", good+","+bad, "--name", "cli-watch")
	r := bosCmd(t, "", "v2", "sessions", "status", "cli-watch", "--watch", "--format", "json", "--url", st.URLs.BOS)
	require.Equal(t, exitFailedNodes, exitCode(r.fail), "%v\n%s", r.fail, r.err)
	var status bos.SessionExtendedStatus
	require.NoError(t, json.Unmarshal([]byte(r.out), &status), r.out)
	assert.Equal(t, bos.SessionComplete, status.Status)
	assert.Contains(t, r.err, "2 nodes: powering off")
	assert.Regexp(t, `1 failed nodes, by cause:\n\s+1  \S+ failed: `+regexpQuote(cause)+`\n\s+`+bad+`\n`, r.err)
	assert.Contains(t, r.err, "retry them with:\n  bos v2 sessions create --template-name compute --operation reboot --limit "+bad+"\n")

	created := v1JSON[bos.V1SessionCreated](t, "session", "create", "--template-name", stack.DefaultTemplateName, "--operation", "reboot", "--limit", good+","+bad)
	id := bosapi.V1SessionID(created)
	r = bosCmd(t, "", "v1", "session", "status", id, "--watch", "--url", st.URLs.BOS)
	require.Equal(t, exitFailedNodes, exitCode(r.fail), "%v\n%s", r.fail, r.err)
	assert.Regexp(t, `(?m)^retry with\s+bos v1 session create`, r.out, "the status document, as a table")
	assert.Contains(t, r.err, "2 nodes: shutdown")
	assert.Regexp(t, `1 failed nodes, by cause:\n\s+1  .*`+regexpQuote(cause)+`.*\n\s+`+bad+`\n`, r.err)
	assert.Contains(t, r.err, "retry them with:\n  bos v1 session create --template-name compute --operation reboot --limit "+bad+"\n")

	r = bosCmd(t, "", "v2", "sessions", "status", "cli-watch-nope", "--watch", "--url", st.URLs.BOS)
	assert.ErrorContains(t, r.fail, "404", "a missing session fails at once")
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }
