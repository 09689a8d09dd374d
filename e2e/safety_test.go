package e2e

// The adversarial suite: each test is one way a drill pointed at production
// could leak a secret, wedge, race its own compensation or fail a system
// over twice. Each failed on the main of the first release.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/devserver"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
)

// capture is a target that answers with a fixed body and keeps every
// request it got.
type capture struct {
	mu   sync.Mutex
	reqs []*http.Request
	body map[string]string // path → answer
}

func newCapture(t *testing.T, answers map[string]string) (*capture, *httptest.Server) {
	c := &capture{body: answers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.reqs = append(c.reqs, r.Clone(context.Background()))
		ans := c.body[r.URL.Path]
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if ans == "" {
			ans = "{}"
		}
		io.WriteString(w, ans)
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *capture) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, r := range c.reqs {
		fmt.Fprintf(&b, "%s %s %v\n", r.Method, r.URL, r.Header)
	}
	return b.String()
}

// A target whose answer holds ${file:…} and ${env:…} gets nothing filled in:
// what a later step splices in from that answer is sent as plain text.
func TestSafety_ATargetsAnswerCannotPullASecretOut(t *testing.T) {
	startWorker(t)
	secretFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(secretFile, []byte("file-secret-7781"), 0o600))
	t.Setenv("E2E_EXFIL", "env-secret-5519")
	hostile := fmt.Sprintf(`{"next":"${file:%s} ${env:E2E_EXFIL}"}`, secretFile)
	c, srv := newCapture(t, map[string]string{"/upstream": hostile})
	pb := fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-exfil}
steps:
  - {id: upstream, type: http, method: GET, url: "%[1]s/upstream"}
  - id: forward
    type: http
    needs: [upstream]
    method: POST
    url: "%[1]s/forward"
    headers: {X-From-Upstream: "{{ .steps.upstream.output.json.next }}"}
`, srv.URL)
	r := drillctl(t, "drill", "run", writePlaybook(t, pb), "--output", "json")
	require.Equal(t, 0, r.code, r.stderr+r.stdout)
	sent := c.all()
	assert.Contains(t, sent, "${env:E2E_EXFIL}", "the reference went on as text")
	assert.NotContains(t, sent, "file-secret-7781", "the file secret never left the worker")
	assert.NotContains(t, sent, "env-secret-5519", "the env secret never left the worker")
}

// A secret in every encoding it takes on its way (URL query, JSON string,
// base64 and basic auth, echoed back by the target) appears nowhere: not in
// the history, the record, the evidence files or `drill result`.
func TestSafety_EncodedSecretsAppearNowhere(t *testing.T) {
	const secret = `p@ss w/rd&"<9f2d>`
	t.Setenv("E2E_ENC", secret)
	startWorker(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo what it was sent the way targets do: URL-encoded, JSON-escaped,
		// base64'd, inside basic auth.
		tok := r.Header.Get("X-Token")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"next":  "https://idp.example/cb?token=" + url.QueryEscape(tok) + "&p=" + url.PathEscape(tok),
			"echo":  tok,
			"b64":   base64.StdEncoding.EncodeToString([]byte(tok)),
			"basic": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+tok)),
		})
		fmt.Fprintf(w, "%q\n", tok)
	}))
	t.Cleanup(srv.Close)
	pb := fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-encoded}
steps:
  - id: call
    type: http
    method: POST
    url: "%s/echo"
    headers: {X-Token: "${env:E2E_ENC}"}
    body: "token=${env:E2E_ENC}"
`, srv.URL)
	r := drillctl(t, "drill", "run", writePlaybook(t, pb), "--output", "json")
	require.Equal(t, 0, r.code, r.stderr+r.stdout)
	rec := decodeRecord(t, r)
	require.NotNil(t, rec.Evidence, rec.EvidenceError)

	jsonEsc, _ := json.Marshal(secret)
	forms := map[string]string{
		"raw":        secret,
		"query":      url.QueryEscape(secret),
		"path":       url.PathEscape(secret),
		"json":       strings.Trim(string(jsonEsc), `"`),
		"base64":     base64.StdEncoding.EncodeToString([]byte(secret)),
		"basic auth": base64.StdEncoding.EncodeToString([]byte("user:" + secret))[8:24],
	}
	h, err := history(t, dialServer(t), rec.DrillID)
	require.NoError(t, err)
	places := map[string]string{"drill run output": r.stdout + r.stderr, "history": h + decodedPayloads(t, h)}
	res := drillctl(t, "drill", "result", rec.DrillID, "--output", "json")
	places["drill result"] = res.stdout + res.stderr
	require.NoError(t, filepath.Walk(rec.Evidence.Path, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			places[filepath.Base(path)] = string(b)
		}
		return err
	}))
	for where, text := range places {
		for name, form := range forms {
			assert.NotContains(t, text, form, "the %s form of the secret is in %s", name, where)
		}
	}
}

// Three 800 KB answers used to push the record past Temporal's limits and
// wedge the drill; a template rendering 3 MB did too (`range 300000` is now
// refused by validate; a loop within its bound that still renders 100 KB is
// stopped at render time). Now the answers are
// truncated in the record (kept whole beside the evidence) and the template
// fails its step: either way the drill ends, compensated and evidenced.
func TestSafety_HugeAnswersAndTemplatesNeverWedgeADrill(t *testing.T) {
	startWorker(t)
	big := `{"blob":"` + strings.Repeat("x", 800<<10) + `"}`
	c, srv := newCapture(t, map[string]string{"/big": big})
	pb := fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-huge}
steps:
  - {id: a, type: http, method: GET, url: "%[1]s/big"}
  - {id: b, type: http, method: GET, url: "%[1]s/big"}
  - {id: c, type: http, method: GET, url: "%[1]s/big"}
  - id: loop
    type: http
    needs: [a, b, c]
    method: POST
    url: "%[1]s/loop"
    body: "{{ range 1000 }}0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789{{ end }}"
rollback:
  - {id: failback, type: http, method: POST, url: "%[1]s/failback"}
`, srv.URL)
	r := drillctl(t, "drill", "run", writePlaybook(t, pb), "--output", "json")
	require.Equal(t, 4, r.code, r.stderr+r.stdout[:min(len(r.stdout), 2000)])
	rec := decodeRecord(t, r)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	assert.Contains(t, stepOf(t, rec, "loop").Error, "over 64 KiB")
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "failback").Status, "the rollback ran")
	require.NotNil(t, rec.Evidence, "the evidence was written: %s", rec.EvidenceError)
	for _, id := range []string{"a", "b", "c"} {
		note, ok := stepOf(t, rec, id).Output["truncated"].(map[string]any)
		require.True(t, ok, "step %s says its output was truncated", id)
		ref, _ := note["attachment"].(string)
		require.NotEmpty(t, ref, "and where the whole answer went")
		whole, err := os.ReadFile(filepath.Join(rec.Evidence.Path, ref))
		require.NoError(t, err)
		assert.Contains(t, string(whole), strings.Repeat("x", 1000))
	}
	assert.NotContains(t, c.all(), "POST /loop", "the step whose template overflowed sent nothing")
	v := drillctl(t, "evidence", "verify", rec.Evidence.Path)
	assert.Equal(t, 0, v.code, v.stderr+v.stdout)
}

// slowPlatform is a target whose failover takes a while to answer, and that
// keeps the instants it saw things at.
type slowPlatform struct {
	srv                  *httptest.Server
	mu                   sync.Mutex
	failoverEnd, failbAt time.Time
	failovers, failbacks int
	hold                 chan struct{} // when set, the failover answers only once it is closed
}

func newSlowPlatform(t *testing.T, delay time.Duration) *slowPlatform {
	p := &slowPlatform{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /failover", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.failovers++
		hold := p.hold
		p.mu.Unlock()
		if hold != nil {
			<-hold
		} else {
			time.Sleep(delay)
		}
		p.mu.Lock()
		p.failoverEnd = time.Now()
		p.mu.Unlock()
	})
	mux.HandleFunc("POST /failback", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.failbacks++
		p.failbAt = time.Now()
		p.mu.Unlock()
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func slowPlaybook(url string) string {
	return fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-slow}
steps:
  - {id: failover, type: http, method: POST, url: "%[1]s/failover", marks: outage_start, timeout: 1m}
  - {id: restored, type: probe, needs: [failover], marks: service_restored, interval: 100ms, timeout: 1m, http: {url: "%[1]s/health"}}
rollback:
  - {id: failback, type: http, method: POST, url: "%[1]s/failback"}
`, url)
}

// An abort 1.1 s into a 5 s failover request: the failback is sent only
// after the failover answered, and the record says the failover ran.
func TestSafety_AbortDuringASlowFailoverWaitsForIt(t *testing.T) {
	startWorker(t)
	p := newSlowPlatform(t, 5*time.Second)
	start := drillctl(t, "drill", "run", writePlaybook(t, slowPlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "failover", evidence.StepRunning)
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, 0, drillctl(t, "drill", "abort", id, "--reason", "test").code)

	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 4, res.code, res.stderr)
	rec := decodeRecord(t, res)
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Equal(t, 1, p.failbacks, "the failback ran")
	assert.True(t, p.failbAt.After(p.failoverEnd), "failback at %s, failover answered at %s", p.failbAt, p.failoverEnd)
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "failover").Status, "the record says the failover ran")
}

// A worker lost while a failover is in flight: the record keeps the instant
// the failover was sent, the step is unknown, nothing is compensated, and
// the drill waits for a person, whose decision it then follows.
func TestSafety_AWorkerLostDuringAFailoverStopsForAHuman(t *testing.T) {
	cl, err := worker.Dial(context.Background(), worker.Connection{Address: server.FrontendAddress(), Namespace: server.Namespace()})
	require.NoError(t, err)
	acts := testActivities()
	w := worker.New(cl, worker.Options{Activities: acts, Drain: time.Millisecond})
	require.NoError(t, w.Start())

	p := newSlowPlatform(t, 0)
	p.hold = make(chan struct{})
	start := drillctl(t, "drill", "run", writePlaybook(t, slowPlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "failover", evidence.StepRunning)
	time.Sleep(200 * time.Millisecond) // the request is at the target
	w.Stop()                           // no drain: the failover is cut off mid-flight
	cl.Close()
	close(p.hold)
	startWorker(t)

	waitForStep(t, id, "failover", evidence.StepUnknown)
	st := drillctl(t, "drill", "status", id, "--output", "json")
	rec := decodeRecord(t, st)
	fo := stepOf(t, rec, "failover")
	require.NotNil(t, fo.MarkAt, "the send instant survived the worker")
	assert.Contains(t, fo.Note, "drill decide")
	p.mu.Lock()
	assert.Equal(t, 0, p.failbacks, "nothing is compensated blindly")
	assert.Equal(t, 1, p.failovers)
	p.mu.Unlock()

	d := drillctl(t, "drill", "decide", id, "failover", "rollback", "--as", "alice", "--comment", "standby half up")
	require.Equal(t, 0, d.code, d.stderr)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	rec = decodeRecord(t, res)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	require.Len(t, rec.Decisions, 1)
	assert.Equal(t, "alice", rec.Decisions[0].By)
	p.mu.Lock()
	assert.Equal(t, 1, p.failbacks, "compensated once a person said so")
	p.mu.Unlock()
}

// A drill terminated from outside (the Web UI, any Temporal client) still
// gets its rollback and its evidence, from its guard, and says who did it.
func TestSafety_ATerminatedDrillIsStillRolledBackAndEvidenced(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 0)
	p.manual.Store(true)
	start := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "restored", evidence.StepRunning)
	cl := dialServer(t)
	require.NoError(t, cl.TerminateWorkflow(context.Background(), id, "", "operator pressed terminate"))

	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, fb := p.counts(); fb > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, failbacks := p.counts()
	require.Equal(t, 1, failbacks, "the guard ran the rollback")
	var rec *evidence.Record
	for time.Now().Before(deadline) {
		r := drillctl(t, "evidence", "show", id, "--evidence-dir", evidenceDir, "--output", "json")
		if r.code == 0 {
			rec = decodeRecord(t, r)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NotNil(t, rec, "the guard wrote the evidence")
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.NotEmpty(t, rec.TerminatedBy)
	assert.Contains(t, rec.Reason, "operator pressed terminate")
	assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, "failback").Status)
}

// Two drills of one playbook started together: the second is refused,
// naming the first, and the target is failed over once.
func TestSafety_ASecondDrillOfTheSameTargetIsRefused(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 0)
	p.manual.Store(true)
	// A name of its own: drills other tests left running hold their locks.
	path := writePlaybook(t, strings.Replace(simplePlaybook(p.srv.URL), "name: e2e-failover", "name: e2e-lock", 1))
	first := drillctl(t, "drill", "run", path, "--detach")
	require.Equal(t, 0, first.code, first.stderr)
	id := strings.TrimSpace(first.stdout)
	second := drillctl(t, "drill", "run", path, "--output", "json")
	assert.Equal(t, 4, second.code, second.stderr)
	rec := decodeRecord(t, second)
	assert.Contains(t, rec.Reason, id, "the refusal names the running drill")
	failovers, _ := p.counts()
	assert.Equal(t, 1, failovers, "the target was failed over once")

	p.restoreNow()
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	assert.Equal(t, 0, res.code, res.stderr)
	// Once the first drill has ended, its lock is free again.
	third := drillctl(t, "drill", "run", path, "--output", "json", "--wait-lock", "30s")
	assert.Equal(t, 0, third.code, third.stderr)
}

// A param spliced unquoted into a shell script is refused before anything
// runs, with the place and the fix; quoted with shellquote it is data.
func TestSafety_ShellInjectionThroughAParamIsRefused(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "PWNED")
	pb := `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-inject}
params: {y: "hello"}
steps:
  - {id: say, type: exec, command: [sh, -c, "echo {{ .params.y }}"]}
`
	path := writePlaybook(t, pb)
	v := drillctl(t, "playbook", "validate", path)
	assert.Equal(t, 1, v.code)
	assert.Contains(t, v.stdout+v.stderr, path+":6:")
	assert.Contains(t, v.stdout+v.stderr, "shellquote")
	r := drillctl(t, "drill", "run", path, "--set", "y=$(touch "+pwned+")")
	assert.Equal(t, 1, r.code)
	assert.NoFileExists(t, pwned)

	startWorker(t)
	quoted := writePlaybook(t, strings.Replace(pb, "{{ .params.y }}", "{{ .params.y | shellquote }}", 1))
	r = drillctl(t, "drill", "run", quoted, "--set", "y=$(touch "+pwned+")", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NoFileExists(t, pwned, "the param stayed data")
}

// The same encodings appear nowhere in the server's own store either: a
// file-backed embedded server's SQLite database and its write-ahead log,
// read as bytes after a drill that sent, and got back, the secret.
func TestSafety_EncodedSecretsAreNotInTheSQLiteFileOrItsWAL(t *testing.T) {
	const secret = `Zq9&p@ss w/rd"<4a7c>`
	t.Setenv("E2E_ENC_DB", secret)
	dir := t.TempDir()
	db := filepath.Join(dir, "temporal.db")
	srv, err := devserver.Start(context.Background(), devserver.Config{DBFile: db, Port: 0, UIPort: -1, LogWriter: io.Discard})
	require.NoError(t, err)
	cl, err := worker.Dial(context.Background(), worker.Connection{Address: srv.FrontendAddress(), Namespace: srv.Namespace()})
	require.NoError(t, err)
	w := worker.New(cl, worker.Options{Activities: testActivities()})
	require.NoError(t, w.Start())
	defer func() { w.Stop(); cl.Close(); srv.Stop() }()

	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Token")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"q": url.QueryEscape(tok), "b64": base64.StdEncoding.EncodeToString([]byte("u:" + tok)), "raw": tok})
	}))
	t.Cleanup(echo.Close)
	pb := writePlaybook(t, fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-encoded-db}
steps:
  - {id: call, type: http, method: POST, url: "%s/echo", headers: {X-Token: "${env:E2E_ENC_DB}"}, body: "t=${env:E2E_ENC_DB}"}
`, echo.URL))
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Env: func(string) string { return "" }},
		[]string{"drillctl", "drill", "run", pb, "--address", srv.FrontendAddress(), "--namespace", srv.Namespace(), "--tls=false", "--output", "json"})
	require.Equal(t, 0, code, errb.String()+out.String())

	jsonEsc, _ := json.Marshal(secret)
	forms := map[string]string{"raw": secret, "query": url.QueryEscape(secret), "json": strings.Trim(string(jsonEsc), `"`),
		"basic auth": base64.StdEncoding.EncodeToString([]byte("u:" + secret))[4:20]}
	files, _ := filepath.Glob(db + "*")
	require.NotEmpty(t, files)
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all = append(all, b...)
		for name, form := range forms {
			assert.False(t, bytes.Contains(b, []byte(form)), "the %s form of the secret is in %s", name, filepath.Base(f))
		}
	}
	// The scan sees the drill's history in clear: the reference's name is there.
	assert.True(t, bytes.Contains(all, []byte("E2E_ENC_DB")), "the history is readable in the files")
	t.Logf("checked %d files: %v", len(files), files)
}

// drill run follows its drill through a restart of the server instead of
// giving up after 10 s while the drill goes on.
func TestSafety_DrillRunFollowsThroughAServerRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := devserver.Config{DBFile: filepath.Join(dir, "temporal.db"), Port: freePort(t), UIPort: -1, LogWriter: io.Discard}
	srv, err := devserver.Start(context.Background(), cfg)
	require.NoError(t, err)
	cl, err := worker.Dial(context.Background(), worker.Connection{Address: srv.FrontendAddress(), Namespace: srv.Namespace()})
	require.NoError(t, err)
	w := worker.New(cl, worker.Options{Activities: testActivities()})
	require.NoError(t, w.Start())
	defer func() { w.Stop(); cl.Close() }()

	p := newPlatform(t, 0)
	p.manual.Store(true)
	pb := writePlaybook(t, strings.Replace(simplePlaybook(p.srv.URL), "name: e2e-failover", "name: e2e-restart", 1))
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(context.Background(), cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Env: func(string) string { return "" }},
			[]string{"drillctl", "drill", "run", pb, "--address", srv.FrontendAddress(), "--namespace", srv.Namespace(), "--tls=false", "--output", "json"})
	}()
	deadline := time.Now().Add(time.Minute)
	for p.healthCalls.Load() == 0 {
		require.True(t, time.Now().Before(deadline), "the drill never probed: %s", errb.String())
		time.Sleep(50 * time.Millisecond)
	}
	srv.Stop()
	time.Sleep(12 * time.Second) // longer than drill run used to wait before it gave up
	select {
	case code := <-done:
		t.Fatalf("drill run gave up while the server was down (exit %d): %s", code, errb.String())
	default:
	}
	srv, err = devserver.Start(context.Background(), cfg)
	require.NoError(t, err)
	defer srv.Stop()
	p.restoreNow()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s\nstdout: %s", errb.String(), out.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("drill run did not end after the server came back: %s", errb.String())
	}
	failovers, _ := p.counts()
	assert.Equal(t, 1, failovers)
}
