package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authtriage/authtriage/triage"
)

// Metrics are the bot's Prometheus metrics. NewMetrics registers them with a
// registry of the caller's, so tests and several bots never share state.
type Metrics struct {
	requests     *prometheus.CounterVec   // by origin and result
	ack          *prometheus.HistogramVec // by transport
	triages      *prometheus.CounterVec   // by status
	causes       *prometheus.CounterVec   // findings by cause and severity
	duration     prometheus.Histogram
	apiErrors    *prometheus.CounterVec // by method and error
	apiRetries   *prometheus.CounterVec // by method
	queued       prometheus.Gauge
	running      prometheus.Gauge
	deduplicated prometheus.Counter
	// auditSuppressed counts refused requests not stored in the audit log, by
	// the limit they were over (auditlimit.go).
	auditSuppressed *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authtriage_requests_total",
			Help: "Requests from Slack by origin (slash, mention, dm, button) and result (ok, denied, rejected, busy, duplicate, error).",
		}, []string{"origin", "result"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authtriage_ack_seconds",
			Help:    "Time from receiving a Slack request to acknowledging it, by transport (http, socket).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"transport"}),
		triages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authtriage_triages_total",
			Help: "Triages finished, by report status.",
		}, []string{"status"}),
		causes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authtriage_findings_total",
			Help: "Findings reported, by cause ID and severity.",
		}, []string{"cause", "severity"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "authtriage_triage_seconds",
			Help:    "How long triages took.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120},
		}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authtriage_slack_api_errors_total",
			Help: "Slack Web API calls that failed, by method and error.",
		}, []string{"method", "error"}),
		apiRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authtriage_slack_api_retries_total",
			Help: "Slack Web API calls retried after a rate limit (HTTP 429), by method.",
		}, []string{"method"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "authtriage_triages_queued",
			Help: "Triages accepted and waiting for a worker.",
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "authtriage_triages_running",
			Help: "Triages running now.",
		}),
		deduplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authtriage_deliveries_deduplicated_total",
			Help: "Slack deliveries dropped as repeats of one already handled (retries, double subscriptions, other replicas).",
		}),
		auditSuppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authtriage_audit_suppressed_total",
			Help: "Refused requests (denied, rejected) answered but not stored in the audit log because their user, their channel or the bot as a whole was over its limit of refused requests stored, by limit (user, channel, all). One entry with result limited stands for them per limit and 10 minutes.",
		}, []string{"limit"}),
	}
	reg.MustRegister(m.requests, m.ack, m.triages, m.causes, m.duration, m.apiErrors, m.apiRetries,
		m.queued, m.running, m.deduplicated, m.auditSuppressed)
	return m
}

// ObserveAck records how long acknowledging a request took.
func (m *Metrics) ObserveAck(transport string, d time.Duration) {
	m.ack.WithLabelValues(transport).Observe(d.Seconds())
}

func (m *Metrics) request(o Origin, result string) {
	m.requests.WithLabelValues(string(o), result).Inc()
}

func (m *Metrics) triaged(rep triage.Report) {
	m.triages.WithLabelValues(string(rep.Status)).Inc()
	m.duration.Observe(rep.Duration.Seconds())
	for _, f := range rep.Findings {
		m.causes.WithLabelValues(string(f.Cause), f.Severity.String()).Inc()
	}
}
