package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

// scrape fetches the metrics as Prometheus would and parses them.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// series finds the series of a family with the given labels.
func series(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f, ok := families[name]
	require.True(t, ok, "no metric %s", name)
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no series of %s with %v", name, labels)
	return nil
}

func at(s string) *time.Time {
	v, _ := time.Parse(time.RFC3339Nano, s)
	return &v
}

func f(v float64) *float64 { return &v }

func TestDrill_ObservesTheRecord(t *testing.T) {
	m, err := New()
	require.NoError(t, err)
	rec := &evidence.Record{
		DrillID: "drill-chat-1", Playbook: evidence.PlaybookRef{Name: "chat"},
		StartedAt: *at("2026-11-23T09:00:00Z"), EndedAt: at("2026-11-23T09:14:00Z"),
		Status: evidence.StatusCompleted, Verdict: evidence.VerdictMissed,
		Steps: []evidence.StepRecord{
			{ID: "failover", Type: "http", Status: "succeeded", StartedAt: at("2026-11-23T09:05:00Z"), EndedAt: at("2026-11-23T09:05:00.2Z")},
			{ID: "restored", Type: "probe", Status: "succeeded", StartedAt: at("2026-11-23T09:05:00.2Z"), EndedAt: at("2026-11-23T09:19:00.2Z")},
			{ID: "later", Type: "http", Status: "skipped"},
		},
		Pages: []evidence.Page{{Channel: "console"}, {Channel: "webhook", Error: "503"}, {Channel: "console"}},
		Acks:  []evidence.Ack{{By: "bob", Via: "link"}},
		Measures: evidence.Measures{
			RTO:      evidence.Measure{TargetSeconds: f(600), AchievedSeconds: f(840), Verdict: "missed"},
			RPO:      evidence.Measure{TargetSeconds: f(900), Verdict: "not-measured"},
			Response: evidence.Measure{TargetSeconds: f(900), AchievedSeconds: f(95), Verdict: "met"},
		},
	}
	m.Drill(rec)
	m.Drill(&evidence.Record{Playbook: evidence.PlaybookRef{Name: "chat"}, DryRun: true, Status: "completed", Verdict: "incomplete"})
	fam := scrape(t, m)

	assert.Equal(t, 1.0, series(t, fam, "drillctl_drills_total",
		map[string]string{"playbook": "chat", "status": "completed", "verdict": "missed", "mode": "drill"}).GetCounter().GetValue())
	assert.Equal(t, 1.0, series(t, fam, "drillctl_drills_total",
		map[string]string{"mode": "dry-run", "verdict": "incomplete"}).GetCounter().GetValue())
	assert.Equal(t, 840.0, series(t, fam, "drillctl_drill_duration_seconds", map[string]string{"playbook": "chat"}).GetHistogram().GetSampleSum())
	assert.Equal(t, float64(at("2026-11-23T09:14:00Z").Unix()),
		series(t, fam, "drillctl_drill_last_ended_timestamp_seconds", map[string]string{"playbook": "chat"}).GetGauge().GetValue())

	httpSteps := series(t, fam, "drillctl_step_duration_seconds", map[string]string{"type": "http", "status": "succeeded"}).GetHistogram()
	assert.Equal(t, uint64(1), httpSteps.GetSampleCount(), "a skipped step has no duration")
	assert.InDelta(t, 0.2, httpSteps.GetSampleSum(), 1e-9)
	assert.Equal(t, 840.0, series(t, fam, "drillctl_step_duration_seconds", map[string]string{"type": "probe"}).GetHistogram().GetSampleSum())

	assert.Equal(t, 2.0, series(t, fam, "drillctl_pages_total", map[string]string{"channel": "console", "outcome": "sent"}).GetCounter().GetValue())
	assert.Equal(t, 1.0, series(t, fam, "drillctl_pages_total", map[string]string{"channel": "webhook", "outcome": "failed"}).GetCounter().GetValue())
	assert.Equal(t, 1.0, series(t, fam, "drillctl_acks_total", map[string]string{"via": "link"}).GetCounter().GetValue())

	rto := series(t, fam, "drillctl_rto_achieved_seconds", map[string]string{"playbook": "chat"}).GetHistogram()
	assert.Equal(t, uint64(1), rto.GetSampleCount())
	assert.Equal(t, 840.0, rto.GetSampleSum())
	for _, b := range rto.GetBucket() { // 840 s falls in the 900 s bucket, not the 600 s one
		if b.GetUpperBound() == 600 {
			assert.Equal(t, uint64(0), b.GetCumulativeCount())
		}
		if b.GetUpperBound() == 900 {
			assert.Equal(t, uint64(1), b.GetCumulativeCount())
		}
	}
	assert.Equal(t, 95.0, series(t, fam, "drillctl_response_achieved_seconds", nil).GetHistogram().GetSampleSum())
	assert.Empty(t, fam["drillctl_rpo_achieved_seconds"].GetMetric(), "an RPO not measured is no sample")
	assert.Equal(t, 600.0, series(t, fam, "drillctl_measure_target_seconds", map[string]string{"measure": "rto"}).GetGauge().GetValue())
	assert.Equal(t, 1.0, series(t, fam, "drillctl_measure_verdicts_total",
		map[string]string{"measure": "rpo", "verdict": "not-measured"}).GetCounter().GetValue())
	assert.Contains(t, fam, "go_goroutines", "the Go runtime's collector")
}

func TestSDK_TheSDKsMetricsReachPrometheus(t *testing.T) {
	m, err := New()
	require.NoError(t, err)
	h := m.SDK().WithTags(map[string]string{"task_queue": "drillctl"})
	h.Counter("temporal_request").Inc(3)
	h.Timer("temporal_activity_execution_latency").Record(2 * time.Second)
	h.Gauge("temporal_worker_task_slots_available").Update(4)
	fam := scrape(t, m)

	assert.Equal(t, 3.0, series(t, fam, "temporal_request_total", map[string]string{"task_queue": "drillctl"}).GetCounter().GetValue())
	lat := series(t, fam, "temporal_activity_execution_latency_seconds", nil).GetHistogram()
	assert.Equal(t, 2.0, lat.GetSampleSum())
	for _, b := range lat.GetBucket() {
		if b.GetUpperBound() == 1 {
			assert.Equal(t, uint64(0), b.GetCumulativeCount(), "buckets in seconds")
		}
		if b.GetUpperBound() == 2.5 {
			assert.Equal(t, uint64(1), b.GetCumulativeCount())
		}
	}
	assert.Equal(t, 4.0, series(t, fam, "temporal_worker_task_slots_available", nil).GetGauge().GetValue())
	require.NoError(t, m.Close(t.Context()))
}
