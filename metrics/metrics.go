// Package metrics exposes a worker's metrics to Prometheus: the Temporal
// SDK's own (temporal_*, through OpenTelemetry: polls, task latencies,
// activity and workflow outcomes, slots) and drillctl's (drillctl_*): drills
// by status and verdict, step durations, pages, acknowledgements, and the
// RTO, RPO and response time achieved, as histograms beside their targets.
//
//	m, err := metrics.New()
//	conn.Metrics = m.SDK()               // the SDK's metrics
//	acts.Observer = m                    // drillctl's, told by the activities
//	http.Handle("/metrics", m.Handler()) // what Prometheus scrapes
//
// drillctl's metrics come from the record each drill leaves in its
// evidence: they count drills whose evidence this process wrote, since it
// started. A drill's figures are observed once, when it ends.
package metrics

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	sdkotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/drillctl/drillctl/activities"
	"github.com/drillctl/drillctl/evidence"
)

// Buckets of the histograms, in seconds.
var (
	// SDKBuckets are the SDK's latencies: task and request round trips,
	// activity executions (a probe may run an hour).
	SDKBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
	// StepBuckets are step durations: a request, a probe, a human gate.
	StepBuckets = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600}
	// MeasureBuckets are RTO, RPO and response times, around the targets
	// businesses sign up for (minutes to hours).
	MeasureBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600}
)

// Metrics are one process's metrics. It is an activities.Observer.
type Metrics struct {
	reg      *prometheus.Registry
	provider *sdkmetric.MeterProvider
	sdk      client.MetricsHandler

	drills        *prometheus.CounterVec
	drillDuration *prometheus.HistogramVec
	lastEnded     *prometheus.GaugeVec
	stepDuration  *prometheus.HistogramVec
	pages         *prometheus.CounterVec
	acks          *prometheus.CounterVec
	achieved      map[string]*prometheus.HistogramVec // by measure: rto, rpo, response
	targets       *prometheus.GaugeVec
	verdicts      *prometheus.CounterVec
}

var _ activities.Observer = (*Metrics)(nil)

// New returns the metrics of a process: its own registry, with the Go
// runtime's and the process's collectors.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: Prometheus exporter: %w", err)
	}
	// The SDK's timers are histograms in seconds; OpenTelemetry's default
	// buckets are made for milliseconds.
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: SDKBuckets}})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	m := &Metrics{
		reg:      reg,
		provider: provider,
		sdk: sdkotel.NewMetricsHandler(sdkotel.MetricsHandlerOptions{
			Meter:                provider.Meter("temporal-sdk-go"),
			UseMonotonicCounters: true,
			OnError:              func(error) {}, // a metric the SDK cannot make is not worth a crash
		}),
	}
	m.register()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m, nil
}

// register makes drillctl's own metrics.
func (m *Metrics) register() {
	f := promauto{m.reg}
	m.drills = f.counter("drillctl_drills_total",
		"Drills whose evidence this process wrote, by playbook, status (completed, failed, aborted), verdict (met, missed, incomplete, or the status) and mode (drill, dry-run, rehearsal).",
		"playbook", "status", "verdict", "mode")
	m.drillDuration = f.histogram("drillctl_drill_duration_seconds",
		"Wall time of drills, from start to end, by playbook and status.", StepBuckets, "playbook", "status")
	m.lastEnded = f.gauge("drillctl_drill_last_ended_timestamp_seconds",
		"When the playbook's last drill (not a dry run or rehearsal) ended, in Unix seconds: alert when it is too old.", "playbook")
	m.stepDuration = f.histogram("drillctl_step_duration_seconds",
		"Duration of the steps of drills, from start to end, by step type and status.", StepBuckets, "type", "status")
	m.pages = f.counter("drillctl_pages_total",
		"Pages drills sent, by channel kind (console, webhook, slack, dingtalk, pagerduty, email) and outcome (sent, failed).",
		"channel", "outcome")
	m.acks = f.counter("drillctl_acks_total",
		"Acknowledgements of pages, by how they came (cli, link).", "via")
	m.achieved = map[string]*prometheus.HistogramVec{}
	for _, name := range []string{"rto", "rpo", "response"} {
		m.achieved[name] = f.histogram("drillctl_"+name+"_achieved_seconds",
			"The "+measureTitle[name]+" drills achieved, by playbook.", MeasureBuckets, "playbook")
	}
	m.targets = f.gauge("drillctl_measure_target_seconds",
		"The target of each measure (rto, rpo, response) of the playbook's last drill.", "playbook", "measure")
	m.verdicts = f.counter("drillctl_measure_verdicts_total",
		"Verdicts on each measure of drills, by playbook, measure (rto, rpo, response) and verdict (met, missed, not-measured).",
		"playbook", "measure", "verdict")
}

var measureTitle = map[string]string{"rto": "RTO", "rpo": "RPO", "response": "response time (first page to first acknowledgement)"}

// SDK is the handler the Temporal client reports the SDK's metrics to
// (client.Options.MetricsHandler; worker.Connection.Metrics).
func (m *Metrics) SDK() client.MetricsHandler { return m.sdk }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer is the registry, for tests and further collectors.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Close flushes and stops the SDK's metrics.
func (m *Metrics) Close(ctx context.Context) error {
	if err := m.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Drill observes a drill that ended, from its record: its status and
// verdict; for a real drill (not a dry run or rehearsal) also its
// duration, its steps, its pages and acknowledgements, and each measure
// beside its target.
func (m *Metrics) Drill(rec *evidence.Record) {
	if rec == nil {
		return
	}
	pb := rec.Playbook.Name
	mode := "drill"
	switch {
	case rec.DryRun:
		mode = "dry-run"
	case rec.Rehearsal:
		mode = "rehearsal"
	}
	m.drills.WithLabelValues(pb, rec.Status, rec.Verdict, mode).Inc()
	if mode != "drill" {
		return
	}
	if rec.EndedAt != nil {
		m.drillDuration.WithLabelValues(pb, rec.Status).Observe(rec.EndedAt.Sub(rec.StartedAt).Seconds())
		m.lastEnded.WithLabelValues(pb).Set(float64(rec.EndedAt.UnixNano()) / 1e9)
	}
	for _, group := range [][]evidence.StepRecord{rec.Steps, rec.Rollback, rec.Finally} {
		for _, s := range group {
			if s.StartedAt != nil && s.EndedAt != nil {
				m.stepDuration.WithLabelValues(s.Type, s.Status).Observe(s.EndedAt.Sub(*s.StartedAt).Seconds())
			}
		}
	}
	for _, p := range rec.Pages {
		outcome := "sent"
		if p.Error != "" {
			outcome = "failed"
		}
		m.pages.WithLabelValues(p.Channel, outcome).Inc()
	}
	for _, a := range rec.Acks {
		via := a.Via
		if via == "" {
			via = "unknown"
		}
		m.acks.WithLabelValues(via).Inc()
	}
	for name, measure := range map[string]evidence.Measure{"rto": rec.Measures.RTO, "rpo": rec.Measures.RPO,
		"response": rec.Measures.Response} {
		if measure.TargetSeconds == nil && measure.AchievedSeconds == nil {
			continue // neither targeted nor measured
		}
		if measure.AchievedSeconds != nil {
			m.achieved[name].WithLabelValues(pb).Observe(*measure.AchievedSeconds)
		}
		if measure.TargetSeconds != nil {
			m.targets.WithLabelValues(pb, name).Set(*measure.TargetSeconds)
		}
		if measure.Verdict != "" {
			m.verdicts.WithLabelValues(pb, name, measure.Verdict).Inc()
		}
	}
}

// promauto makes metrics registered on a registry.
type promauto struct{ reg prometheus.Registerer }

func (f promauto) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f promauto) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f promauto) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
