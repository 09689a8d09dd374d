package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/evidence"
)

// metricsPlaybook drills the lab with every measure: a page answered from
// the CLI (response), canaries (RPO), a failover and a restore probe (RTO).
func metricsPlaybook(probe, canary time.Duration) string {
	text := labPlaybook(probe, canary)
	text = strings.Replace(text, "metadata: {name: lab-accuracy}\ntargets: {rto: 4h, rpo: 15m}",
		`metadata: {name: e2e-metrics}
targets: {rto: 4h, rpo: 15m, response: 15m}
contacts:
  alice: {name: Alice, channels: [{console: {}}]}
escalation:
  admins:
    levels:
      - {contacts: [alice], ackTimeout: 10m}`, 1)
	text = strings.Replace(text, "  - {id: warmup, type: wait, duration: 3s}\n",
		"  - {id: warmup, type: wait, duration: 3s}\n  - {id: page, type: page, escalation: admins}\n", 1)
	return strings.Replace(text, "needs: [warmup], marks: outage_start", "needs: [warmup, page], marks: outage_start", 1)
}

// freeAddr is a free loopback host:port.
func freeAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

// scrapeMetrics fetches a Prometheus endpoint and parses it as Prometheus
// does; it returns the raw text too.
func scrapeMetrics(t *testing.T, endpoint string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get(endpoint)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	require.NoError(t, err)
	return families, string(raw)
}

// metricValue is the value of the series of a family with the given
// labels (a counter's or gauge's value, a histogram's sample count); ok is
// false when there is none.
func metricValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
next:
	for _, m := range families[name].GetMetric() {
		for k, v := range labels {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// histogramSum is the sum of a histogram series.
func histogramSum(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
next:
	for _, m := range families[name].GetMetric() {
		for k, v := range labels {
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() != v {
					continue next
				}
			}
		}
		return m.GetHistogram().GetSampleSum()
	}
	return -1
}

// logLines parses the JSON lines of a log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "every log line is JSON: %s", sc.Text())
		lines = append(lines, line)
	}
	return lines
}

// TestMetrics_AWorkerServesTheSDKsAndTheDrillsMetricsLogsAndProfile runs
// `drillctl worker` in-process with metrics, profiling and JSON logs, runs
// a drill with every measure against the lab, and reads the worker as
// Prometheus (and an operator) would.
func TestMetrics_AWorkerServesTheSDKsAndTheDrillsMetricsLogsAndProfile(t *testing.T) {
	t.Setenv("DRILLCTL_STATE_DIR", t.TempDir())
	metricsAddr, pprofAddr := freeAddr(t), freeAddr(t)
	logs, out := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: out, Err: logs}, []string{"drillctl",
			"--log-format", "json", "--log-level", "debug", "worker", "--trust", "any",
			"--address", server.FrontendAddress(), "--namespace", server.Namespace(), "--tls=false",
			"--evidence-dir", evidenceDir, "--ack-addr", "", "--metrics-addr", metricsAddr, "--pprof-addr", pprofAddr})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("worker logs:\n%s", logs.String())
		}
	})
	endpoint := "http://" + metricsAddr + "/metrics"
	require.Eventually(t, func() bool {
		resp, err := http.Get(endpoint)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && strings.Contains(out.String(), "Ctrl-C to stop")
	}, 30*time.Second, 50*time.Millisecond, "the worker comes up: %s", logs.String())
	assert.Contains(t, out.String(), "Metrics          "+endpoint)

	l := startTestLab(t, 300*time.Millisecond, 500*time.Millisecond)
	start := drillctl(t, "drill", "run", writePlaybook(t, metricsPlaybook(100*time.Millisecond, 100*time.Millisecond)),
		"--set", "primary="+l.PrimaryURL(), "--set", "standby="+l.StandbyURL(), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "page", evidence.StepRunning)
	require.Eventually(t, func() bool {
		return drillctl(t, "drill", "ack", id, "--as", "alice").code == 0
	}, 20*time.Second, 100*time.Millisecond)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	m := rec.Measures
	require.NotNil(t, m.RTO.AchievedSeconds)
	require.NotNil(t, m.RPO.AchievedSeconds)
	require.NotNil(t, m.Response.AchievedSeconds)

	var fam map[string]*dto.MetricFamily
	var raw string
	require.Eventually(t, func() bool { // the evidence activity has returned
		fam, raw = scrapeMetrics(t, endpoint)
		v, _ := metricValue(fam, "drillctl_drills_total", map[string]string{"playbook": "e2e-metrics"})
		return v == 1
	}, 10*time.Second, 50*time.Millisecond)

	// drillctl's own, from the record.
	v, _ := metricValue(fam, "drillctl_drills_total", map[string]string{"playbook": "e2e-metrics", "status": "completed", "verdict": "met", "mode": "drill"})
	assert.Equal(t, 1.0, v)
	for name, want := range map[string]float64{"drillctl_rto_achieved_seconds": *m.RTO.AchievedSeconds,
		"drillctl_rpo_achieved_seconds": *m.RPO.AchievedSeconds, "drillctl_response_achieved_seconds": *m.Response.AchievedSeconds} {
		n, ok := metricValue(fam, name, map[string]string{"playbook": "e2e-metrics"})
		require.True(t, ok, name)
		assert.Equal(t, 1.0, n, name)
		assert.InDelta(t, want, histogramSum(fam, name, map[string]string{"playbook": "e2e-metrics"}), 1e-6, name)
	}
	t.Logf("RTO %.3fs, RPO %.3fs, response %.3fs, observed as histograms", *m.RTO.AchievedSeconds, *m.RPO.AchievedSeconds, *m.Response.AchievedSeconds)
	v, _ = metricValue(fam, "drillctl_pages_total", map[string]string{"channel": "console", "outcome": "sent"})
	assert.Equal(t, float64(len(rec.Pages)), v)
	v, _ = metricValue(fam, "drillctl_acks_total", map[string]string{"via": "cli"})
	assert.Equal(t, 1.0, v)
	for _, typ := range []string{"canary", "wait", "page", "http", "probe", "replication-check"} {
		n, ok := metricValue(fam, "drillctl_step_duration_seconds", map[string]string{"type": typ, "status": "succeeded"})
		assert.True(t, ok && n >= 1, "a %s step's duration", typ)
	}
	v, _ = metricValue(fam, "drillctl_measure_target_seconds", map[string]string{"playbook": "e2e-metrics", "measure": "rto"})
	assert.Equal(t, 4*3600.0, v)
	// The SDK's, through OpenTelemetry.
	n, ok := metricValue(fam, "temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "RunProbe"})
	assert.True(t, ok && n >= 1, "the SDK's activity latencies")
	n, ok = metricValue(fam, "temporal_workflow_completed_total", map[string]string{"workflow_type": "Drill"})
	assert.True(t, ok && n >= 1, "the SDK's workflow completions")
	_, ok = metricValue(fam, "temporal_worker_task_slots_available", map[string]string{"task_queue": "drillctl"})
	assert.True(t, ok)
	checkWithPromtool(t, raw)
	scrapeWithPrometheus(t, metricsAddr, `drillctl_drills_total{playbook="e2e-metrics",verdict="met"}`, 1)

	// The profiler, on its own listener.
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "goroutine profile")
	resp, err = http.Get("http://" + metricsAddr + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the profiler is not on the metrics listener")

	// One JSON logger: the SDK's lines and the activities', every
	// activity line naming the drill, and the step when it has one.
	var sdkStarted, probeDone bool
	for _, line := range logLines(t, logs.String()) {
		switch line["msg"] {
		case "Started Worker":
			sdkStarted = true
		case "activity started", "activity completed", "activity failed":
			if line["WorkflowID"] == id || line["drill"] == id {
				assert.Equal(t, id, line["drill"], "%v", line)
				if typ := line["ActivityType"]; typ == "RunProbe" || typ == "RunHTTP" || typ == "WriteCanaries" {
					assert.NotEmpty(t, line["step"], "%v", line)
				}
				probeDone = probeDone || (line["step"] == "restored" && line["msg"] == "activity completed")
			}
		}
	}
	assert.True(t, sdkStarted, "the SDK logs through the same logger")
	assert.True(t, probeDone, "the probe's end is logged with its drill and step")
}

// checkWithPromtool lints the exposition with Prometheus's own promtool,
// when it is installed: drillctl's metrics must pass; the SDK's carry no
// help text, which is all promtool may say of them.
func checkWithPromtool(t *testing.T, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (apt-get install prometheus): lint skipped")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	outp, _ := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(outp)), "\n") {
		if line == "" {
			continue
		}
		assert.True(t, strings.HasPrefix(line, "temporal_") && strings.HasSuffix(line, "no help text"),
			"promtool: %s", line)
	}
}

// scrapeWithPrometheus has a real Prometheus (Debian's prometheus
// package) scrape the worker, and waits until a query returns want. It is
// skipped when Prometheus is not installed, except on CI.
func scrapeWithPrometheus(t *testing.T, target, query string, want float64) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus missing on CI: .ci/run installs Debian's prometheus")
		}
		t.Log("prometheus not installed (apt-get install prometheus): real scrape skipped")
		return
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: drillctl
    static_configs: [{targets: ["%s"]}]
`, target)), 0o644))
	web := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", logs.String())
		}
	}()
	var got string
	ok := assert.Eventually(t, func() bool {
		resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(query))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) == 0 || len(r.Data.Result[0].Value) < 2 {
			return false
		}
		got, _ = r.Data.Result[0].Value[1].(string)
		return got == strconv.FormatFloat(want, 'f', -1, 64)
	}, 30*time.Second, 200*time.Millisecond, "Prometheus scrapes %s: %s = %s", target, query, got)
	if ok {
		t.Logf("Prometheus scraped the worker: %s = %s", query, got)
	}
}
