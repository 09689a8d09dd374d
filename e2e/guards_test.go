package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

// startPrometheus runs Debian's prometheus scraping target every second
// and returns its URL.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian's prometheus package; .ci/run installs it)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: standby
    static_configs: [{targets: ["%s"]}]
`, target)), 0o600))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		require.True(t, time.Now().Before(deadline), "prometheus did not get ready")
		time.Sleep(100 * time.Millisecond)
	}
}

// promValue is what Prometheus answers for a query now ("" when no sample).
func promValue(t *testing.T, promURL, query string) string {
	resp, err := http.Get(promURL + "/api/v1/query?query=" + query)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&doc) != nil || len(doc.Data.Result) == 0 {
		return ""
	}
	s, _ := doc.Data.Result[0].Value[1].(string)
	return s
}

// Debian's Prometheus scrapes an exporter this test controls: the standby's
// error rate climbs mid-outage, the guard sees it through Prometheus, the
// drill aborts within two guard intervals, the failover is compensated, and
// the record names the guard and the value.
func TestGuards_APrometheusGuardStopsTheDrillMidOutage(t *testing.T) {
	var rate atomic.Value
	rate.Store("0.01")
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE standby_error_rate gauge\nstandby_error_rate %s\n", rate.Load())
	}))
	t.Cleanup(exporter.Close)
	prom := startPrometheus(t, strings.TrimPrefix(exporter.URL, "http://"))
	startWorker(t)
	p := newPlatform(t, 0)
	p.manual.Store(true) // the standby never comes back: only the guard can end the drill early
	pb := strings.Replace(simplePlaybook(p.srv.URL), "name: e2e-failover", "name: e2e-guarded", 1) + fmt.Sprintf(`guards:
  - id: standby-errors
    interval: 500ms
    prometheus: {url: "%[1]s", query: standby_error_rate, breachIf: "> 0.05"}
metrics:
  - {id: error-rate, interval: 500ms, prometheus: {url: "%[1]s", query: standby_error_rate}}
`, prom)
	start := drillctl(t, "drill", "run", writePlaybook(t, pb), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "restored", evidence.StepRunning)

	rate.Store("0.2")
	var seen time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if promValue(t, prom, "standby_error_rate") == "0.2" {
			seen = time.Now()
			break
		}
	}
	require.False(t, seen.IsZero(), "prometheus never scraped the new value")

	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 4, res.code, res.stderr)
	rec := decodeRecord(t, res)
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.Equal(t, "guard standby-errors", rec.AbortedBy)
	require.Len(t, rec.Guards, 1)
	g := rec.Guards[0]
	assert.True(t, g.Breached)
	assert.Equal(t, "0.2", g.Value)
	require.NotNil(t, g.At)
	t.Logf("Prometheus had the value at %s; the guard breached at %s (%s later)", seen.Format(time.RFC3339Nano),
		g.At.Format(time.RFC3339Nano), g.At.Sub(seen))
	assert.Less(t, g.At.Sub(seen), 2*500*time.Millisecond+time.Second, "within two guard intervals (and the test's own polling)")
	assert.NotEmpty(t, g.Points)
	require.Len(t, rec.Metrics, 1, "the context metric was sampled")
	assert.NotEmpty(t, rec.Metrics[0].Points)
	assert.False(t, rec.Metrics[0].Breached, "a metric never stops a drill")
	require.NotNil(t, rec.Evidence, rec.EvidenceError)
	md, err := os.ReadFile(filepath.Join(rec.Evidence.Path, evidence.FileReportMD))
	require.NoError(t, err)
	assert.Contains(t, string(md), "standby-errors (prometheus): breached at")
	assert.Contains(t, string(md), "error-rate:")
	_, failbacks := p.counts()
	assert.Equal(t, 1, failbacks, "the failover was compensated")
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "failover").Status)
}

// --rehearse on the shipped playbook against the lab changes nothing there
// (no failover, no canary written) and lists every action it would have
// taken, with what it would have sent.
func TestGuards_RehearsalOfTheShippedPlaybookTouchesNothing(t *testing.T) {
	startWorker(t)
	l := startTestLab(t, 200*time.Millisecond, 500*time.Millisecond)
	r := drillctl(t, "drill", "run", "../playbooks/examples/chat-platform-quarterly.yaml", "--rehearse",
		"--set", "primary="+l.PrimaryURL(), "--set", "standby="+l.StandbyURL(), "--output", "json")
	require.Equal(t, 0, r.code, r.stderr+r.stdout)
	rec := decodeRecord(t, r)
	assert.True(t, rec.Rehearsal)
	assert.Equal(t, "rehearsal", rec.Verdict)
	assert.Equal(t, 0, l.Truth().Failovers, "the lab was not failed over")
	resp, err := http.Get(l.PrimaryURL() + "/replication/canary/newest")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no canary was written")

	described := map[string]map[string]any{}
	for _, s := range append(append(rec.Steps, rec.Rollback...), rec.Finally...) {
		if s.Status == "rehearsed" {
			described[s.ID], _ = s.Output["wouldSend"].(map[string]any)
		}
	}
	for _, id := range []string{"failover", "canary", "go-no-go", "page-admins", "fail-back"} {
		assert.Contains(t, described, id, "the rehearsal lists %s", id)
	}
	assert.Equal(t, l.PrimaryURL()+"/lab/failover", described["failover"]["url"])
	assert.Equal(t, "POST", described["failover"]["method"])
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "inventory").Status, "reads ran for real")
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "permissions").Status)
}
