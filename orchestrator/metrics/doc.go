// Package metrics is BOS's Prometheus instrumentation: one registry per BOS instance
// (so several in one process do not collide), gauges read from the store's index sets at
// scrape time, counters of reconcile passes and effects, and the latency of BOS's
// outbound requests (an http.RoundTripper wrapper) and of its Redis commands (a go-redis
// hook). docs/metrics.md lists every metric.
package metrics
