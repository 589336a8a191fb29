package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// Effect kinds (the kind label of bos_effects_*).
const (
	EffectPowerOn  = "power_on"
	EffectPowerOff = "power_off"
	EffectBSS      = "bss"
	EffectCFS      = "cfs"
)

// Counts reads, at scrape time, what the store holds: components by phase and by status,
// sessions by status. It must be cheap (index set sizes, not records).
type Counts func(ctx context.Context) (byPhase, byStatus, sessions map[string]int, err error)

// Metrics is one BOS instance's registry and instruments. All methods are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	passes       prometheus.Counter
	looks        prometheus.Counter
	passSeconds  prometheus.Histogram
	effects      *prometheus.CounterVec
	effectsFail  *prometheus.CounterVec
	outSeconds   *prometheus.HistogramVec
	outErrors    *prometheus.CounterVec
	redisSeconds *prometheus.HistogramVec
	redisErrors  prometheus.Counter
}

// New makes the registry with the store's counts read by counts (nil: none) and the
// reconciler's queue depth read by queueDepth (nil: none).
func New(counts Counts, queueDepth func() int) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.passes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bos_reconcile_passes_total", Help: "Batches of nodes the reconciler looked at (observe, decide, store, act)."})
	m.looks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bos_reconcile_node_looks_total", Help: "Nodes the reconciler looked at, summed over its passes (looks per node = this / nodes)."})
	m.passSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "bos_reconcile_pass_duration_seconds", Help: "How long one reconcile pass over a batch took.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)})
	m.effects = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bos_effects_total", Help: "Nodes BOS acted on, by kind: power_on, power_off, bss (boot parameters), cfs (desired configuration)."},
		[]string{"kind"})
	m.effectsFail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bos_effects_failed_total", Help: "Nodes whose action failed, by kind."}, []string{"kind"})
	m.outSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "bos_outbound_request_duration_seconds", Help: "Latency of BOS's requests to the services it drives, by service and code (error: no answer).",
		Buckets: prometheus.DefBuckets}, []string{"service", "code"})
	m.outErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bos_outbound_request_errors_total", Help: "BOS's requests that got no answer or a 5xx, by service."}, []string{"service"})
	m.redisSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "bos_redis_command_duration_seconds", Help: "Latency of Redis commands and pipelines, by command (pipeline for a pipeline).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)}, []string{"command"})
	m.redisErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bos_redis_command_errors_total", Help: "Redis commands and pipelines that failed (a missing key is not a failure)."})
	m.reg.MustRegister(m.passes, m.looks, m.passSeconds, m.effects, m.effectsFail, m.outSeconds, m.outErrors, m.redisSeconds, m.redisErrors)
	for _, k := range []string{EffectPowerOn, EffectPowerOff, EffectBSS, EffectCFS} {
		m.effects.WithLabelValues(k)
		m.effectsFail.WithLabelValues(k)
	}
	if counts != nil {
		m.reg.MustRegister(&storeCollector{counts: counts})
	}
	if queueDepth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bos_reconcile_queue_depth", Help: "Nodes waiting in the reconciler's queue (ready, not yet taken)."},
			func() float64 { return float64(queueDepth()) }))
	}
	return m
}

// BMCConnections exports opened, the connections BOS's Redfish driver has opened to BMCs,
// read at scrape.
func (m *Metrics) BMCConnections(opened func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bos_redfish_connections_opened_total", Help: "Connections BOS opened to BMCs (per Redfish request: how often one was not reused)."},
		func() float64 { return float64(opened()) }))
}

// Registry is the instance's registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Pass records one reconcile pass over nodes.
func (m *Metrics) Pass(took time.Duration, nodes int) {
	m.passes.Inc()
	m.looks.Add(float64(nodes))
	m.passSeconds.Observe(took.Seconds())
}

// Effect records an action of kind on nodes, failed of them failing.
func (m *Metrics) Effect(kind string, nodes, failed int) {
	m.effects.WithLabelValues(kind).Add(float64(nodes))
	m.effectsFail.WithLabelValues(kind).Add(float64(failed))
}

// Transport wraps next (nil: http.DefaultTransport) to time the requests to service.
func (m *Metrics) Transport(service string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	m.outErrors.WithLabelValues(service) // exported at 0 from the start
	return &timedTransport{m: m, service: service, next: next}
}

type timedTransport struct {
	m       *Metrics
	service string
	next    http.RoundTripper
}

func (t *timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.outSeconds.WithLabelValues(t.service, code).Observe(time.Since(start).Seconds())
	if err != nil || resp.StatusCode >= 500 {
		t.m.outErrors.WithLabelValues(t.service).Inc()
	}
	return resp, err
}

// CloseIdleConnections passes on to the wrapped transport (http.Client.CloseIdleConnections).
func (t *timedTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RedisHook times the store's Redis commands (redis.Client.AddHook).
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.observe(cmd.Name(), start, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.observe("pipeline", start, err)
		return err
	}
}

func (h redisHook) observe(name string, start time.Time, err error) {
	h.m.redisSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr) {
		h.m.redisErrors.Inc()
	}
}

// storeCollector reads the store's counts at each scrape.
type storeCollector struct{ counts Counts }

var (
	descPhase = prometheus.NewDesc("bos_components_by_phase", "BOS components by status.phase (\"\" = none).", []string{"phase"}, nil)
	descStat  = prometheus.NewDesc("bos_components_by_status", "BOS components by computed status.status.", []string{"status"}, nil)
	descSess  = prometheus.NewDesc("bos_sessions_by_status", "v2 sessions by status.status (pending, running, complete).", []string{"status"}, nil)
	descUp    = prometheus.NewDesc("bos_store_up", "1 when the last scrape could read the store's counts.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPhase
	ch <- descStat
	ch <- descSess
	ch <- descUp
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	byPhase, byStatus, sessions, err := c.counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for p, n := range byPhase {
		ch <- prometheus.MustNewConstMetric(descPhase, prometheus.GaugeValue, float64(n), p)
	}
	for s, n := range byStatus {
		ch <- prometheus.MustNewConstMetric(descStat, prometheus.GaugeValue, float64(n), s)
	}
	for s, n := range sessions {
		ch <- prometheus.MustNewConstMetric(descSess, prometheus.GaugeValue, float64(n), s)
	}
}
