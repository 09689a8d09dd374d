// Package e2e runs drills end to end: the real embedded Temporal server, a
// real worker, the CLI in-process, and real HTTP services on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/drillctl/drillctl/activities"
	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/devserver"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// server is the embedded Temporal server shared by every test of the package.
var server *devserver.Server

// evidenceDir is the evidence store every test worker writes to (never the
// user's own).
var evidenceDir string

// recordDir, when set, receives the histories of some drills, for the
// workflows package's replay test:
//
//	go test ./e2e -run 'ApprovalGate|Abort' -record-histories ../workflows/testdata
var recordDir = flag.String("record-histories", "", "write the histories of recorded drills to this folder")

// recordHistory writes a drill's history as JSON when -record-histories is set.
func recordHistory(t *testing.T, id, name string) {
	t.Helper()
	if *recordDir == "" {
		return
	}
	h, err := history(t, dialServer(t), id)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(*recordDir, name), []byte(h), 0o644))
}

// history is a drill's whole Temporal history as JSON.
func history(t *testing.T, cl worker.Client, id string) (string, error) {
	iter := cl.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return "", err
		}
		events = append(events, e)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	return string(raw), err
}

// decodedPayloads is every payload of a history JSON, base64-decoded: what
// the history really holds, in text.
func decodedPayloads(t *testing.T, historyJSON string) string {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal([]byte(historyJSON), &doc))
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "data" {
					if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
						b.Write(raw)
						b.WriteByte('\n')
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return b.String()
}

// echoAuth wraps a handler, keeping every Authorization header it receives.
func echoAuth(next http.Handler, seen *[]string) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			mu.Lock()
			*seen = append(*seen, a)
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drillctl-e2e-evidence-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	evidenceDir = dir
	var logs bytes.Buffer
	srv, err := devserver.Start(context.Background(), devserver.Config{
		DBFile: ":memory:", Port: 0, UIPort: -1, LogWriter: &syncWriter{w: &logs},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start embedded server: %v\n%s", err, logs.String())
		os.Exit(1)
	}
	server = srv
	code := m.Run()
	srv.Stop()
	os.RemoveAll(evidenceDir)
	if code != 0 && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "--- embedded server logs ---\n%s", logs.String())
	}
	os.Exit(code)
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// startWorker starts a drillctl worker on the shared server; stop it with the
// returned function (also called at cleanup).
func startWorker(t testing.TB) (stop func()) {
	return startWorkerWith(t, testActivities(), nil)
}

// testActivities are the real activities, writing evidence to the test store.
func testActivities() *activities.Activities {
	acts := activities.New()
	acts.Evidence = &evidence.Store{Dir: evidenceDir}
	acts.Console = io.Discard
	return acts
}

// startWorkerWith starts a worker with the given activities and SDK logger.
func startWorkerWith(t testing.TB, acts *activities.Activities, logger *slog.Logger) (stop func()) {
	t.Helper()
	cl, err := worker.Dial(context.Background(), worker.Connection{Address: server.FrontendAddress(), Namespace: server.Namespace(), Logger: logger})
	require.NoError(t, err)
	w := worker.New(cl, worker.Options{Activities: acts})
	require.NoError(t, w.Start())
	var once sync.Once
	stop = func() {
		once.Do(func() {
			w.Stop()
			cl.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// result of one in-process CLI run.
type result struct {
	code   int
	stdout string
	stderr string
}

// drillctl runs the CLI in-process against the shared server.
func drillctl(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"TEMPORAL_ADDRESS": server.FrontendAddress(), "TEMPORAL_NAMESPACE": server.Namespace()}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Env: func(k string) string { return env[k] }},
		append([]string{"drillctl"}, args...))
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func writePlaybook(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drill.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func decodeRecord(t *testing.T, r result) *evidence.Record {
	t.Helper()
	var rec evidence.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return &rec
}

func stepOf(t *testing.T, rec *evidence.Record, id string) evidence.StepRecord {
	t.Helper()
	for _, s := range append(append([]evidence.StepRecord{}, rec.Steps...), rec.Rollback...) {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %q", id)
	return evidence.StepRecord{}
}

// platform is a tiny two-site service on loopback: a failover endpoint that
// starts the outage, and a health endpoint that turns healthy a set time
// after the failover (or when the test says so). It records the true
// instants, so measures can be checked against the truth.
type platform struct {
	srv          *httptest.Server
	restoreAfter time.Duration
	manual       atomic.Bool // health waits for restoreNow
	healthy      atomic.Bool
	healthCalls  atomic.Int64

	mu         sync.Mutex
	failovers  int
	failbacks  int
	outageAt   time.Time
	restoredAt time.Time
}

func newPlatform(t *testing.T, restoreAfter time.Duration) *platform {
	p := &platform{restoreAfter: restoreAfter}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /failover", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.failovers++
		p.outageAt = time.Now()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"state":"failing-over"}`)
	})
	mux.HandleFunc("POST /failback", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.failbacks++
		p.mu.Unlock()
		fmt.Fprint(w, `{}`)
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		p.healthCalls.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		ok := false
		if p.manual.Load() {
			ok = p.healthy.Load()
		} else if !p.outageAt.IsZero() && time.Since(p.outageAt) >= p.restoreAfter {
			ok = true
		}
		if !ok {
			http.Error(w, `{"healthy":false}`, http.StatusServiceUnavailable)
			return
		}
		if p.restoredAt.IsZero() {
			p.restoredAt = p.outageAt.Add(p.restoreAfter)
		}
		fmt.Fprint(w, `{"healthy":true}`)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// restoreNow makes the service healthy from this instant.
func (p *platform) restoreNow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.restoredAt = time.Now()
	p.healthy.Store(true)
}

func (p *platform) counts() (failovers, failbacks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failovers, p.failbacks
}

func (p *platform) truth() (outage, restored time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.outageAt, p.restoredAt
}

func failoverPlaybook(url, extraSteps string) string {
	return fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-failover}
targets: {rto: 4h}
params: {site: %s}
contacts:
  alice: {name: Alice}
  bob: {name: Bob}
steps:
%s  - id: failover
    type: http
    method: POST
    url: "{{ .params.site }}/failover"
    marks: outage_start
    needs: [NEEDS]
  - id: restored
    type: probe
    needs: [failover]
    marks: service_restored
    interval: 100ms
    timeout: 2m
    http: {url: "{{ .params.site }}/health", expectStatus: [200]}
rollback:
  - {id: failback, type: http, method: POST, url: "{{ .params.site }}/failback"}
`, url, extraSteps)
}

func simplePlaybook(url string) string {
	return strings.Replace(failoverPlaybook(url, ""), "    needs: [NEEDS]\n", "", 1)
}

func gatedPlaybook(url string) string {
	gate := `  - id: go-no-go
    type: approval
    approvers: [alice, bob]
    timeout: 10m
`
	return strings.Replace(failoverPlaybook(url, gate), "NEEDS", "go-no-go", 1)
}

func TestE2E_DrillMeasuresRTOAgainstTheTruth(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 700*time.Millisecond)
	r := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--output", "json")
	require.Equal(t, 0, r.code, "stderr: %s\nstdout: %s", r.stderr, r.stdout)
	rec := decodeRecord(t, r)

	assert.Equal(t, evidence.StatusCompleted, rec.Status)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	rto := rec.Measures.RTO
	require.NotNil(t, rto.AchievedSeconds)
	outage, restored := p.truth()
	trueRTO := restored.Sub(outage).Seconds()
	// Within one probe interval (+100 ms) of the true outage.
	t.Logf("measured RTO %.3fs, true %.3fs", *rto.AchievedSeconds, trueRTO)
	assert.InDelta(t, trueRTO, *rto.AchievedSeconds, 0.1+0.1, "measured %.3fs, true %.3fs", *rto.AchievedSeconds, trueRTO)
	assert.GreaterOrEqual(t, *rto.AchievedSeconds, trueRTO-0.05, "a probe cannot see health before it returned")
	assert.Equal(t, 0.1, *rto.ResolutionSeconds)
	failovers, failbacks := p.counts()
	assert.Equal(t, 1, failovers)
	assert.Equal(t, 0, failbacks, "a drill that passed does not roll back")
	assert.Greater(t, stepOf(t, rec, "restored").Output["failures"], float64(0), "the probe saw the outage")
}

func TestE2E_ApprovalGateThroughTheCLI(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 200*time.Millisecond)
	start := drillctl(t, "drill", "run", writePlaybook(t, gatedPlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	require.True(t, strings.HasPrefix(id, "drill-e2e-failover-"), id)

	waitForStep(t, id, "go-no-go", evidence.StepWaiting)
	refused := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "mallory")
	assert.Equal(t, 1, refused.code)
	assert.Contains(t, refused.stderr, `"mallory" may not decide step "go-no-go"`)
	failovers, _ := p.counts()
	assert.Equal(t, 0, failovers, "nothing is touched before the go")

	ok := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "alice", "--comment", "window open")
	require.Equal(t, 0, ok.code, ok.stderr)
	assert.Contains(t, ok.stdout, "go-no-go: go given by alice")

	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	require.Len(t, rec.Approvals, 1)
	assert.Equal(t, "alice", rec.Approvals[0].By)
	assert.Equal(t, "window open", rec.Approvals[0].Comment)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)

	recordHistory(t, id, "drill-approval.history.json")

	list := drillctl(t, "drill", "list", "--output", "json")
	require.Equal(t, 0, list.code, list.stderr)
	assert.Contains(t, list.stdout, id)
}

func TestE2E_AbortRunsRollbackAndExitsFour(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, time.Hour) // never healthy: the probe runs until aborted
	start := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "restored", evidence.StepRunning)

	ab := drillctl(t, "drill", "abort", id, "--reason", "standby looks wrong", "--as", "carol")
	require.Equal(t, 0, ab.code, ab.stderr)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	assert.Equal(t, 4, res.code, res.stderr)
	rec := decodeRecord(t, res)
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.Equal(t, "carol", rec.AbortedBy)
	assert.Equal(t, "standby looks wrong", rec.Reason)
	assert.Equal(t, evidence.StepCancelled, stepOf(t, rec, "restored").Status)
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "failback").Status)
	_, failbacks := p.counts()
	assert.Equal(t, 1, failbacks)
	recordHistory(t, id, "drill-abort.history.json")
}

func TestE2E_DrillSurvivesAWorkerRestart(t *testing.T) {
	stop := startWorker(t)
	p := newPlatform(t, 0)
	p.manual.Store(true) // healthy only at restoreNow
	start := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "restored", evidence.StepRunning)

	stop() // the worker dies in the middle of the drill, during the probe
	stoppedAt := p.healthCalls.Load()
	startWorker(t)
	// The service comes back once the probe runs again on the new worker:
	// while no probe runs, nobody can tell when it came back.
	deadline := time.Now().Add(time.Minute)
	for p.healthCalls.Load() <= stoppedAt+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.restoreNow()

	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	failovers, _ := p.counts()
	assert.Equal(t, 1, failovers, "the failover action ran exactly once")
	outage, restored := p.truth()
	require.NotNil(t, rec.Measures.RTO.AchievedSeconds)
	trueRTO := restored.Sub(outage).Seconds()
	assert.InDelta(t, trueRTO, *rec.Measures.RTO.AchievedSeconds, 0.2, "measured %.3fs, true %.3fs",
		*rec.Measures.RTO.AchievedSeconds, trueRTO)
	assert.GreaterOrEqual(t, stepOf(t, rec, "restored").Attempts, 1)
}

func TestE2E_InvalidPlaybookIsRefusedBeforeAnythingStarts(t *testing.T) {
	path := writePlaybook(t, "apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: x}\nsteps:\n  - {id: a, type: http, url: http://x, needs: [nope]}\n")
	r := drillctl(t, "drill", "run", path)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, path+":5:")
	assert.Contains(t, r.stderr, "nope")
}

// waitForStep polls the drill's status until step reaches want.
func waitForStep(t *testing.T, id, step, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r := drillctl(t, "drill", "status", id, "--output", "json")
		if r.code == 0 {
			var rec evidence.Record
			if json.Unmarshal([]byte(r.stdout), &rec) == nil {
				for _, s := range rec.Steps {
					if s.ID == step && s.Status == want {
						return
					}
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("step %s of %s never became %s", step, id, want)
}

func dialServer(t testing.TB) worker.Client {
	t.Helper()
	cl, err := worker.Dial(context.Background(), worker.Connection{Address: server.FrontendAddress(), Namespace: server.Namespace()})
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}
}
