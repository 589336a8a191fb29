package cfs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/testwait"
)

// bosPowerOn and stateReporter are the two writes of a BOS boot: BOS disables CFS and sets
// the desired configuration before power-on; the booted node's cfs-state-reporter enables it.
const (
	bosPowerOn    = `{"patch":{"enabled":false,"desired_config":"cfg","tags":{"bos_session":"s1"},"state":[]},"filters":{"ids":"%s"}}`
	stateReporter = `{"state":[],"enabled":true}`
)

func TestBatcherConfigures(t *testing.T) {
	nodes := nodeIDs(6)
	s := mustServer(t, Config{Components: nodes})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components", fmt.Sprintf(bosPowerOn, strings.Join(nodes, ",")), 200, nil)

	// Disabled: BOS's write alone configures nothing.
	waitIdle(t, s)
	assert.Equal(t, cfsapi.StatusPending, getComponent(t, h, nodes[0]).ConfigurationStatus)

	// Nodes boot; their reporters enable CFS in one bulk write, so they share a session.
	mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":`+stateReporter+`,"filters":{}}`, 200, nil)
	waitIdle(t, s)
	var sessions []string
	for _, id := range nodes {
		c := getComponent(t, h, id)
		assert.Equal(t, cfsapi.StatusConfigured, c.ConfigurationStatus, id)
		require.Len(t, c.State, 2)
		assert.Equal(t, cfsapi.StateLayer{CloneURL: repoA, Playbook: "site.yml", Commit: commit1, Status: cfsapi.LayerApplied,
			LastUpdated: "2026-03-01T12:00:00Z", SessionName: c.State[0].SessionName}, c.State[0])
		assert.Equal(t, cfsapi.StateLayer{CloneURL: repoB, Playbook: "cos.yml", Commit: commit2, Status: cfsapi.LayerApplied,
			LastUpdated: "2026-03-01T12:00:00Z", SessionName: c.State[0].SessionName}, c.State[1])
		assert.Zero(t, c.ErrorCount)
		sessions = append(sessions, c.State[0].SessionName)
	}
	assert.Regexp(t, `^batcher-`, sessions[0])
	for _, sess := range sessions {
		assert.Equal(t, sessions[0], sess, "one bulk write, one batch")
	}
	assert.Equal(t, batchStats{configured: 6}, s.stats)
}

func TestBatcherBatchSize(t *testing.T) {
	nodes := nodeIDs(10)
	s := mustServer(t, Config{Components: nodes, Timing: Timing{BatchSize: 4, BatchWindow: time.Hour}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":{"desired_config":"cfg","enabled":true},"filters":{}}`, 200, nil)

	// Two full batches launch at once; the last two nodes wait for the (hour-long) window.
	s.mu.RLock()
	require.NotNil(t, s.open)
	assert.Len(t, s.open.members, 2)
	s.mu.RUnlock()
	var page cfsapi.ComponentsPage
	testwait.Until(t, "two full batches configured", func() bool {
		page = cfsapi.ComponentsPage{}
		mustCall(t, h, http.MethodGet, "/v3/components?status=configured", "", 200, &page)
		return len(page.Components) == 8
	}, func() string { return fmt.Sprintf("configured: %v", ids(page.Components)) })

	// Closing the window by hand launches the rest.
	s.mu.RLock()
	open := s.open
	s.mu.RUnlock()
	s.closeBatch(open)
	waitIdle(t, s)
	seen := map[string]int{}
	for _, id := range nodes {
		c := getComponent(t, h, id)
		require.Equal(t, cfsapi.StatusConfigured, c.ConfigurationStatus, id)
		seen[c.State[0].SessionName]++
	}
	assert.Len(t, seen, 3)
	counts := []int{}
	for _, n := range seen {
		counts = append(counts, n)
	}
	assert.ElementsMatch(t, []int{4, 4, 2}, counts)
}

func TestBatcherFailsAndRetriesToLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		patch      string
		wantErrors int
	}{
		{"DefaultRetryPolicy", Config{}, `{"desired_config":"cfg","enabled":true}`, 3},
		{"OwnRetryPolicy", Config{}, `{"desired_config":"cfg","enabled":true,"retry_policy":1}`, 1},
		{"ConfiguredDefault", Config{DefaultRetryPolicy: 5}, `{"desired_config":"cfg","enabled":true}`, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Components = []string{"bad", "good"}
			tc.cfg.FailComponents = []string{"bad"}
			s := mustServer(t, tc.cfg)
			h := s.Handler()
			putConfig(t, h, "cfg")
			mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":`+tc.patch+`,"filters":{}}`, 200, nil)
			waitIdle(t, s)

			bad := getComponent(t, h, "bad")
			assert.Equal(t, cfsapi.StatusFailed, bad.ConfigurationStatus)
			assert.Equal(t, tc.wantErrors, bad.ErrorCount)
			require.Len(t, bad.State, 1, "the first pending layer is recorded as failed")
			assert.Equal(t, cfsapi.LayerFailed, bad.State[0].Status)
			assert.Equal(t, repoA, bad.State[0].CloneURL)
			assert.Equal(t, cfsapi.StatusConfigured, getComponent(t, h, "good").ConfigurationStatus)
			assert.Equal(t, batchStats{configured: 1, failed: tc.wantErrors}, s.stats)

			// Fixed, then re-armed the way BOS re-arms it (desired_config resets error_count).
			s.SetFailing([]string{"bad"}, false)
			mustCall(t, h, http.MethodPatch, "/v3/components/bad", `{"desired_config":"cfg"}`, 200, nil)
			waitIdle(t, s)
			bad = getComponent(t, h, "bad")
			assert.Equal(t, cfsapi.StatusConfigured, bad.ConfigurationStatus)
			assert.Zero(t, bad.ErrorCount)
		})
	}
}

func TestBatcherSetFailingAtRuntime(t *testing.T) {
	s := mustServer(t, Config{Components: []string{"x"}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	s.SetFailing([]string{"x"}, true)
	mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg","enabled":true,"retry_policy":2}`, 200, nil)
	waitIdle(t, s)
	c := getComponent(t, h, "x")
	assert.Equal(t, cfsapi.StatusFailed, c.ConfigurationStatus)
	assert.Equal(t, 2, c.ErrorCount)
}

func TestBatcherIgnoresStaleResults(t *testing.T) {
	t.Run("DisabledMidRun", func(t *testing.T) {
		s := mustServer(t, Config{Components: []string{"x"}, Timing: Timing{ConfigureDelay: 50 * time.Millisecond}})
		h := s.Handler()
		putConfig(t, h, "cfg")
		mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg","enabled":true}`, 200, nil)
		s.mu.RLock()
		queued := s.open != nil || len(s.running) == 1
		s.mu.RUnlock()
		require.True(t, queued, "x is in a batch")
		mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"enabled":false}`, 200, nil)
		waitIdle(t, s)
		c := getComponent(t, h, "x")
		assert.Equal(t, cfsapi.StatusPending, c.ConfigurationStatus, "the session's result was dropped")
		assert.Empty(t, c.State)
		assert.Equal(t, batchStats{stale: 1}, s.stats)
	})
	t.Run("RepatchedMidRun", func(t *testing.T) {
		s := mustServer(t, Config{Components: []string{"x"}, FailComponents: []string{"x"},
			Timing: Timing{ConfigureDelay: 50 * time.Millisecond}})
		h := s.Handler()
		putConfig(t, h, "cfg")
		putConfig(t, h, "cfg2")
		mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg","enabled":true}`, 200, nil)
		// Mid-run the node is re-pointed and fixed: the first (failing) session must not count.
		s.SetFailing([]string{"x"}, false)
		mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg2"}`, 200, nil)
		waitIdle(t, s)
		c := getComponent(t, h, "x")
		assert.Equal(t, cfsapi.StatusConfigured, c.ConfigurationStatus)
		assert.Zero(t, c.ErrorCount)
		assert.Equal(t, batchStats{configured: 1, stale: 1}, s.stats)
	})
	t.Run("ReplacedOrDeletedMidRun", func(t *testing.T) {
		s := mustServer(t, Config{Components: []string{"x", "y"}, Timing: Timing{ConfigureDelay: 50 * time.Millisecond}})
		h := s.Handler()
		putConfig(t, h, "cfg")
		mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":{"desired_config":"cfg","enabled":true},"filters":{}}`, 200, nil)
		mustCall(t, h, http.MethodPut, "/v3/components/x", `{"desired_config":"cfg"}`, 200, nil) // replaced, disabled
		mustCall(t, h, http.MethodDelete, "/v3/components/y", "", 204, nil)
		waitIdle(t, s)
		assert.Equal(t, cfsapi.StatusPending, getComponent(t, h, "x").ConfigurationStatus)
		assert.Equal(t, batchStats{stale: 2}, s.stats)
	})
}

func TestBatcherReactsToConfigurationChange(t *testing.T) {
	s := mustServer(t, Config{Components: []string{"x"}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg","enabled":true}`, 200, nil)
	waitIdle(t, s)
	require.Equal(t, cfsapi.StatusConfigured, getComponent(t, h, "x").ConfigurationStatus)

	// A new commit for one layer makes x pending again; the batcher applies it.
	mustCall(t, h, http.MethodPut, "/v3/configurations/cfg", `{"layers":[{"clone_url":"`+repoA+`","commit":"`+commit1+`"},`+
		`{"clone_url":"`+repoB+`","playbook":"cos.yml","commit":"`+commit3+`"}]}`, 200, nil)
	waitIdle(t, s)
	c := getComponent(t, h, "x")
	assert.Equal(t, cfsapi.StatusConfigured, c.ConfigurationStatus)
	require.Len(t, c.State, 2, "state_append replaced the old cos layer")
	assert.Equal(t, commit3, c.State[1].Commit)
}

// failedSet runs 200 components through one batch with a 50% fail rate and no retries.
func failedSet(t *testing.T, seed int64) []string {
	nodes := nodeIDs(200)
	s := mustServer(t, Config{Components: nodes, Seed: seed, FailRate: 0.5, DefaultRetryPolicy: 1, Timing: Timing{BatchSize: 500}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":{"desired_config":"cfg","enabled":true},"filters":{}}`, 200, nil)
	waitIdle(t, s)
	var page cfsapi.ComponentsPage
	mustCall(t, h, http.MethodGet, "/v3/components?status=failed", "", 200, &page)
	return ids(page.Components)
}

func TestBatcherFailRateIsSeeded(t *testing.T) {
	a, b, c := failedSet(t, 1), failedSet(t, 1), failedSet(t, 2)
	assert.Equal(t, a, b, "same seed, same failures")
	assert.NotEqual(t, a, c)
	assert.InDelta(t, 100, len(a), 30)
}

func TestBatcherDelayScaleAndJitter(t *testing.T) {
	s := mustServer(t, Config{Components: []string{"x"}, Seed: 7,
		Timing: Timing{ConfigureDelay: time.Hour, Jitter: time.Hour, Scale: 1e-9}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg","enabled":true}`, 200, nil)
	waitIdle(t, s) // (1h + up to 1h) × 1e-9 is a few microseconds
	assert.Equal(t, cfsapi.StatusConfigured, getComponent(t, h, "x").ConfigurationStatus)
}

func TestClose(t *testing.T) {
	s := mustServer(t, Config{Components: []string{"x", "y"}, Timing: Timing{ConfigureDelay: time.Hour}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components/x", `{"desired_config":"cfg","enabled":true}`, 200, nil)
	s.Close()
	s.mu.RLock()
	assert.Empty(t, s.running)
	assert.Nil(t, s.open)
	s.mu.RUnlock()
	// The API still works, but nothing is batched any more.
	mustCall(t, h, http.MethodPatch, "/v3/components/y", `{"desired_config":"cfg","enabled":true}`, 200, nil)
	s.mu.RLock()
	assert.Empty(t, s.running)
	assert.Nil(t, s.open)
	s.mu.RUnlock()
	s.Close() // idempotent
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{FailRate: 1.5},
		{FailRate: -0.1},
		{DefaultRetryPolicy: -2},
		{Timing: Timing{ConfigureDelay: -time.Second}},
		{Timing: Timing{BatchSize: -1}},
		{Components: []string{""}},
	} {
		_, err := New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	s := mustServer(t, Config{})
	assert.Error(t, s.SetFailRate(2))
	assert.NoError(t, s.SetFailRate(0.25))
}

func TestConcurrentWritersAndBatcher(t *testing.T) {
	nodes := nodeIDs(300)
	s := mustServer(t, Config{Components: nodes, FailRate: 0.2, Timing: Timing{BatchSize: 25}})
	h := s.Handler()
	putConfig(t, h, "cfg")
	done := make(chan struct{})
	for w := 0; w < 4; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := w; i < len(nodes); i += 4 {
				body := `{"desired_config":"cfg","enabled":true}`
				if i%7 == 0 {
					body = `{"desired_config":"cfg","enabled":true,"tags":{"k":"v"}}`
				}
				call(t, h, http.MethodPatch, "/v3/components/"+nodes[i], body)
				call(t, h, http.MethodGet, "/v3/components?limit=50&status=pending", "")
			}
		}()
	}
	for range 4 {
		<-done
	}
	waitIdle(t, s)
	var page cfsapi.ComponentsPage
	mustCall(t, h, http.MethodGet, "/v3/components?limit=0", "", 200, &page)
	for _, c := range page.Components {
		assert.Contains(t, []string{cfsapi.StatusConfigured, cfsapi.StatusFailed}, c.ConfigurationStatus, c.ID)
	}
	raw, _ := json.Marshal(s.stats)
	t.Logf("stats %s %+v", raw, s.stats)
}
