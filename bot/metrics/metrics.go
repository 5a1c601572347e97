// Package metrics defines qunbot's Prometheus metrics on a registry of its
// own (no global registry: two engines in one test process stay apart).
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters and gauges qunbot exports on /metrics.
type Metrics struct {
	Registry     *prometheus.Registry
	EventsIn     *prometheus.CounterVec   // platform, kind
	EventsDup    *prometheus.CounterVec   // platform
	ActionsOut   *prometheus.CounterVec   // adapter, type, result
	FlowErrors   *prometheus.CounterVec   // flow
	OutboxDepth  *prometheus.GaugeVec     // adapter
	RedisLatency *prometheus.HistogramVec // op
	ConfigLoads  *prometheus.CounterVec   // result
}

// New registers qunbot's metrics plus the Go runtime's on a new registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		EventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qunbot_events_in_total", Help: "Platform events received, by platform and kind.",
		}, []string{"platform", "kind"}),
		EventsDup: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qunbot_events_duplicate_total", Help: "Redelivered events dropped by de-duplication.",
		}, []string{"platform"}),
		ActionsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qunbot_actions_out_total", Help: "Actions carried out, by adapter, type and result (ok, retry, failed, dropped).",
		}, []string{"adapter", "type", "result"}),
		FlowErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qunbot_flow_errors_total", Help: "Errors returned or panics raised by flows.",
		}, []string{"flow"}),
		OutboxDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qunbot_outbox_queue_depth", Help: "Actions waiting in an adapter's outbox.",
		}, []string{"adapter"}),
		RedisLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "qunbot_redis_latency_seconds", Help: "Redis round-trip latency by command.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"op"}),
		ConfigLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qunbot_config_loads_total", Help: "Config loads and reloads by result (ok, rejected).",
		}, []string{"result"}),
	}
	r.MustRegister(m.EventsIn, m.EventsDup, m.ActionsOut, m.FlowErrors, m.OutboxDepth, m.RedisLatency, m.ConfigLoads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRedis records one Redis round trip; it fits state.Observer.
func (m *Metrics) ObserveRedis(op string, d time.Duration) {
	m.RedisLatency.WithLabelValues(op).Observe(d.Seconds())
}
