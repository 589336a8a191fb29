package cfs

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
)

func TestOptionsDefaults(t *testing.T) {
	h := mustServer(t, Config{Timing: Timing{BatchSize: 50, BatchWindow: 2 * time.Second}, DefaultRetryPolicy: 5}).Handler()
	var o Options
	mustCall(t, h, http.MethodGet, "/v3/options", "", 200, &o)
	want := defaultOptions()
	want.BatchSize, want.BatchWindow, want.DefaultBatcherRetryPolicy, want.DefaultPageSize = 50, 2, 5, 1000
	assert.Equal(t, want, o, "the simulator's own settings, CFS's defaults for the rest")
}

func TestOptionsTakeEffect(t *testing.T) {
	nodes := nodeIDs(5)
	s := mustServer(t, Config{Components: nodes})
	h := s.Handler()
	putConfig(t, h, "cfg")

	var o Options
	mustCall(t, h, http.MethodPatch, "/v3/options", `{"batch_size":2,"default_page_size":2,"batcher_disable":true,"logging_level":"DEBUG"}`, 200, &o)
	assert.Equal(t, 2, o.BatchSize)
	assert.True(t, o.BatcherDisable)
	assert.Equal(t, "DEBUG", o.LoggingLevel)

	// default_page_size pages GETs without a limit.
	var comps cfsapi.ComponentsPage
	mustCall(t, h, http.MethodGet, "/v3/components", "", 200, &comps)
	assert.Len(t, comps.Components, 2)
	require.NotNil(t, comps.Next)

	// batcher_disable: pending components wait, and run when it is lifted.
	mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":{"desired_config":"cfg"},"filters":{}}`, 200, nil)
	waitIdle(t, s)
	assert.Equal(t, cfsapi.StatusPending, getComponent(t, h, nodes[0]).ConfigurationStatus)
	assert.Empty(t, listSessions(t, h, "").Sessions, "no batch while disabled")
	mustCall(t, h, http.MethodPatch, "/v3/options", `{"batcher_disable":false}`, 200, nil)
	waitIdle(t, s)
	for _, id := range nodes {
		assert.Equal(t, cfsapi.StatusConfigured, getComponent(t, h, id).ConfigurationStatus, id)
	}
	// batch_size 2: five components in three sessions.
	var sizes []int
	for _, sess := range listSessions(t, h, "?limit=0").Sessions {
		sizes = append(sizes, len(strings.Split(sess.Ansible.Limit, ",")))
	}
	assert.ElementsMatch(t, []int{2, 2, 1}, sizes)
}

func TestOptionsPatchRefusesBadValuesWhole(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	var before Options
	mustCall(t, h, http.MethodGet, "/v3/options", "", 200, &before)
	for body, detail := range map[string]string{
		`{"batch_size":7,"logging_level":"TRACE"}`:  `logging_level "TRACE" is not one of`,
		`{"batch_size":0}`:                          "batch_size is 0; the minimum is 1",
		`{"default_batcher_retry_policy":-1}`:       "the minimum is 0",
		`{"session_ttl":"12345678901w"}`:            "longer than 10 characters",
		`{"session_ttl":"999999999w"}`:              "more than 100 years",
		`{"session_ttl":"1y"}`:                      "not a count followed by m, h, d or w",
		`{"default_playbook":"other.yml"}`:          "read-only",
		`{"additional_inventory_url":"a;b"}`:        "without spaces or semicolons",
		`{"unknown_option":1}`:                      "unknown field",
		`{"batch_window":"60"}`:                     "must be a JSON integer",
		`null`:                                      "null",
		fmt.Sprintf(`{"batch_size":%d}`, 1_000_000): "maximum is 100000",
	} {
		w := call(t, h, http.MethodPatch, "/v3/options", body)
		require.Equal(t, 400, w.Code, body)
		_, d := problemOf(t, w)
		assert.Contains(t, d, detail, body)
	}
	var after Options
	mustCall(t, h, http.MethodGet, "/v3/options", "", 200, &after)
	assert.Equal(t, before, after, "a refused PATCH changes nothing")
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "90m": 90 * time.Minute, "24H": 24 * time.Hour, "3d": 72 * time.Hour, "2W": 14 * 24 * time.Hour, "0h": 0} {
		got, err := parseAge(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"h", "5", "-5h", "+5h", "5s", "5 h", "1.5h", "99999999w", "5hh"} {
		_, err := parseAge(in)
		assert.Error(t, err, in)
	}
}
