package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator/metrics"
)

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type closer struct {
	roundTrip
	closed bool
}

func (c *closer) CloseIdleConnections() { c.closed = true }

// TestTransport: requests are timed by service and code; no answer and 5xx count as
// errors; idle connections are still closed through the wrapper.
func TestTransport(t *testing.T) {
	m := metrics.New(nil, nil)
	codes := []int{200, 503, 0}
	next := &closer{roundTrip: func(r *http.Request) (*http.Response, error) {
		code := codes[0]
		codes = codes[1:]
		if code == 0 {
			return nil, errors.New("connection refused")
		}
		return &http.Response{StatusCode: code, Body: http.NoBody, Request: r}, nil
	}}
	c := &http.Client{Transport: m.Transport("bss", next)}
	for range 3 {
		resp, err := c.Get("http://bss.invalid/boot/v1")
		if err == nil {
			_ = resp.Body.Close()
		}
	}
	c.CloseIdleConnections()
	assert.True(t, next.closed)
	assert.Equal(t, 3, testutil.CollectAndCount(m.Registry(), "bos_outbound_request_duration_seconds"))
	assert.InDelta(t, 2, counterOf(t, m, "bos_outbound_request_errors_total"), 0)
}

func counterOf(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			total := 0.0
			for _, s := range f.GetMetric() {
				total += s.GetCounter().GetValue()
			}
			return total
		}
	}
	t.Fatalf("%s not exported", name)
	return 0
}

// TestRedisHook: commands are timed by name; a missing key is no error, a failure is.
func TestRedisHook(t *testing.T) {
	m := metrics.New(nil, nil)
	hook := m.RedisHook()
	run := hook.ProcessHook(func(_ context.Context, cmd redis.Cmder) error { return cmd.Err() })
	get := redis.NewStringCmd(context.Background(), "get", "k")
	get.SetErr(redis.Nil)
	require.ErrorIs(t, run(context.Background(), get), redis.Nil)
	set := redis.NewStatusCmd(context.Background(), "set", "k", "v")
	set.SetErr(errors.New("LOADING"))
	require.Error(t, run(context.Background(), set))
	pipe := hook.ProcessPipelineHook(func(context.Context, []redis.Cmder) error { return nil })
	require.NoError(t, pipe(context.Background(), []redis.Cmder{get}))
	assert.Equal(t, 3, testutil.CollectAndCount(m.Registry(), "bos_redis_command_duration_seconds"))
	assert.InDelta(t, 1, counterOf(t, m, "bos_redis_command_errors_total"), 0)
}

// TestHandler: the registry is served in the text format, with the store's counts read
// at scrape and the queue depth.
func TestHandler(t *testing.T) {
	counts := func(context.Context) (map[string]int, map[string]int, map[string]int, error) {
		return map[string]int{"": 3}, map[string]int{"stable": 2, "failed": 1}, map[string]int{"complete": 1}, nil
	}
	m := metrics.New(counts, func() int { return 7 })
	m.Pass(20*time.Millisecond, 3)
	m.Effect(metrics.EffectPowerOn, 3, 1)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`bos_components_by_status{status="failed"} 1`, `bos_components_by_phase{phase=""} 3`,
		`bos_sessions_by_status{status="complete"} 1`, `bos_reconcile_queue_depth 7`, `bos_store_up 1`,
		`bos_reconcile_passes_total 1`, `bos_reconcile_node_looks_total 3`, `bos_effects_total{kind="power_on"} 3`, `bos_effects_failed_total{kind="power_on"} 1`,
		`bos_effects_total{kind="cfs"} 0`,
	} {
		assert.Contains(t, body, want)
	}
	assert.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain"))

	down := metrics.New(func(context.Context) (map[string]int, map[string]int, map[string]int, error) {
		return nil, nil, nil, errors.New("redis down")
	}, nil)
	rec = httptest.NewRecorder()
	down.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Contains(t, rec.Body.String(), "bos_store_up 0")
	assert.NotContains(t, rec.Body.String(), "bos_components_by_status{")
}
