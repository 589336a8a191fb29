// Package simmetrics is the simulators' Prometheus instrumentation, one registry per
// stack: requests by service, route pattern and code (Middleware), power transitions by
// target state, Redfish events delivered and failed, and faults in force. docs/metrics.md
// lists every metric.
package simmetrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cray-bos/bos/simulator"
)

// Path is where Middleware serves the registry on every simulator's listener.
const Path = "/metrics"

// Metrics is one stack's simulator registry; safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	power    *prometheus.CounterVec
}

// New makes the registry; Watch adds the BMC simulator's counters once it runs.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bos_sim_requests_total", Help: "Requests the simulators answered, by service, route pattern and status code."},
		[]string{"service", "route", "code"})
	m.power = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bos_sim_power_transitions_total", Help: "Simulated nodes' power state changes, by the state reached."},
		[]string{"state"})
	m.reg.MustRegister(m.requests, m.power)
	return m
}

// Registry is the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// PowerChanged counts a node's transition to state (chain it into
// simulator.Config.OnPowerChange).
func (m *Metrics) PowerChanged(_, state string) { m.power.WithLabelValues(state).Inc() }

// Watch exports the BMC simulator's event counters and its faults in force, read at
// scrape.
func (m *Metrics) Watch(sim *simulator.Simulator) {
	stat := func(name, help string, read func(simulator.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(read(sim.Stats())) })
	}
	m.reg.MustRegister(
		stat("bos_sim_events_delivered_total", "Redfish events the BMCs delivered to their subscribers.",
			func(s simulator.Stats) int64 { return s.EventsDelivered }),
		stat("bos_sim_event_posts_total", "Redfish Event POSTs the BMCs sent to their subscribers (each carries one or more events), retries included.",
			func(s simulator.Stats) int64 { return s.EventPosts }),
		stat("bos_sim_events_failed_total", "Redfish events the BMCs gave up on after their retries.",
			func(s simulator.Stats) int64 { return s.EventsFailed }),
		stat("bos_sim_events_dropped_total", "Redfish events dropped because a delivery queue was full.",
			func(s simulator.Stats) int64 { return s.EventsDropped }),
		stat("bos_sim_resets_total", "Reset actions the BMCs accepted.",
			func(s simulator.Stats) int64 { return s.Resets }),
		&faultCollector{sim: sim},
	)
}

var descFaults = prometheus.NewDesc("bos_sim_faults_injected", "Nodes and BMCs holding each injected fault now.", []string{"fault"}, nil)

type faultCollector struct{ sim *simulator.Simulator }

func (c *faultCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descFaults }

func (c *faultCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[simulator.Fault]int{}
	for _, f := range simulator.AllFaults {
		counts[f] = 0
	}
	for _, faults := range c.sim.Faults() {
		for _, f := range faults {
			counts[f]++
		}
	}
	for f, n := range counts {
		ch <- prometheus.MustNewConstMetric(descFaults, prometheus.GaugeValue, float64(n), string(f))
	}
}

// Middleware counts service's requests by the route pattern that matched (r.Pattern
// after a ServeMux routed it; "other" when none did, never the raw path) and serves the
// registry at Path.
func (m *Metrics) Middleware(service string, next http.Handler) http.Handler {
	metrics := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Path && r.Method == http.MethodGet {
			metrics.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		m.requests.WithLabelValues(service, route, strconv.Itoa(rec.code)).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.code, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes on (streaming responses).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
