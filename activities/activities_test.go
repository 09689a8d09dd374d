package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

func newActivities(env map[string]string) *Activities {
	a := New()
	a.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	a.Console = io.Discard
	return a
}

// newActivityEnv is Temporal's activity test environment with a registered.
func newActivityEnv(a *Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}

// run executes one activity method in Temporal's activity test environment.
func run(t *testing.T, a *Activities, name string, in steps.Input) (*steps.Result, error) {
	t.Helper()
	// As the workflow does: the step's literal secret references are sealed.
	var err error
	in.Step, err = playbooks.RenderStep(in.Step, playbooks.TemplateData{})
	require.NoError(t, err)
	env := newActivityEnv(a)
	v, err := env.ExecuteActivity(name, in)
	if err != nil {
		return nil, err
	}
	var res steps.Result
	require.NoError(t, v.Get(&res))
	return &res, nil
}

func TestRunHTTP_SendsRequestWithResolvedSecretsAndChecksAnswer(t *testing.T) {
	var gotAuth, gotBody, gotMethod string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotMethod = r.Header.Get("Authorization"), r.Method
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"site":{"role":"active"},"echo":"Bearer s3cret-token"}`)
	}))
	defer srv.Close()
	a := newActivities(map[string]string{"TOKEN": "s3cret-token"})
	step := playbooks.Step{ID: "failover", Type: playbooks.StepHTTP, HTTP: &playbooks.HTTPStep{
		URL: srv.URL + "/lab/failover", Headers: map[string]string{"Authorization": "Bearer ${env:TOKEN}"},
		Body: `{"reason":"drill"}`, ExpectStatus: []int{200}, ExpectJSON: map[string]string{"site.role": "active"}}}

	res, err := run(t, a, "RunHTTP", steps.Input{Step: step})
	require.NoError(t, err)
	assert.Equal(t, "POST", gotMethod, "a body implies POST")
	assert.Equal(t, "Bearer s3cret-token", gotAuth)
	assert.Equal(t, `{"reason":"drill"}`, gotBody)
	require.NotNil(t, res.ActionAt)
	assert.False(t, res.ActionAt.Before(res.StartedAt))
	assert.False(t, res.EndedAt.Before(*res.ActionAt))
	assert.EqualValues(t, 200, res.Output["status"])
	raw, _ := json.Marshal(res.Output)
	assert.NotContains(t, string(raw), "s3cret-token", "a resolved secret never leaves the activity")
	assert.Contains(t, string(raw), "[redacted]")
}

func TestRunHTTP_FailsOnUnexpectedStatusOrJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/500" {
			http.Error(w, "fenced", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, `{"role":"standby"}`)
	}))
	defer srv.Close()
	a := newActivities(nil)
	for name, tc := range map[string]struct {
		spec playbooks.HTTPStep
		want string
	}{
		"status": {playbooks.HTTPStep{URL: srv.URL + "/500"}, "status 500, expected 2xx: fenced"},
		"json":   {playbooks.HTTPStep{URL: srv.URL + "/", ExpectJSON: map[string]string{"role": "active"}}, `JSON field "role" is "standby", expected "active"`},
		"field":  {playbooks.HTTPStep{URL: srv.URL + "/", ExpectJSON: map[string]string{"site.role": "x"}}, `response has no JSON field "site.role"`},
	} {
		t.Run(name, func(t *testing.T) {
			spec := tc.spec
			_, err := run(t, a, "RunHTTP", steps.Input{Step: playbooks.Step{ID: "s", Type: playbooks.StepHTTP, HTTP: &spec}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestRunHTTP_MissingSecretIsNotRetryable(t *testing.T) {
	a := newActivities(nil)
	_, err := run(t, a, "RunHTTP", steps.Input{Step: playbooks.Step{ID: "s", Type: playbooks.StepHTTP,
		HTTP: &playbooks.HTTPStep{URL: "http://127.0.0.1:1/${env:NOPE}"}}})
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	assert.True(t, appErr.NonRetryable())
	assert.Contains(t, err.Error(), "environment variable NOPE is not set on the worker")
}

func TestRunExec_RecordsExitCodeAndOutputTails(t *testing.T) {
	a := newActivities(map[string]string{"PW": "hunter2"})
	ok := playbooks.Step{ID: "e", Type: playbooks.StepExec, Exec: &playbooks.ExecStep{
		Command: []string{"sh", "-c", `echo "out $SECRET"; echo err >&2`}, Env: map[string]string{"SECRET": "${env:PW}"}}}
	res, err := run(t, a, "RunExec", steps.Input{Step: ok})
	require.NoError(t, err)
	assert.EqualValues(t, 0, res.Output["exitCode"])
	assert.Equal(t, "out [redacted]\n", res.Output["stdout"])
	assert.Equal(t, "err\n", res.Output["stderr"])
	require.NotNil(t, res.ActionAt)

	fail := playbooks.Step{ID: "e", Type: playbooks.StepExec, Exec: &playbooks.ExecStep{Command: []string{"sh", "-c", "echo no standby >&2; exit 3"}}}
	_, err = run(t, a, "RunExec", steps.Input{Step: fail})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit code 3, expected 0: no standby")

	three := 3
	fail.Exec.ExpectExit = &three
	_, err = run(t, a, "RunExec", steps.Input{Step: fail})
	require.NoError(t, err)
}

func TestRunExec_NoShellIsInvolved(t *testing.T) {
	a := newActivities(nil)
	res, err := run(t, a, "RunExec", steps.Input{Step: playbooks.Step{ID: "e", Type: playbooks.StepExec,
		Exec: &playbooks.ExecStep{Command: []string{"echo", "$HOME;", "`id`"}}}})
	require.NoError(t, err)
	assert.Equal(t, "$HOME; `id`\n", res.Output["stdout"])
}

func TestRunProbe_RepeatsUntilTheFirstSuccess(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			http.Error(w, "promoting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"healthy":true}`)
	}))
	defer srv.Close()
	a := newActivities(nil)
	step := playbooks.Step{ID: "restored", Type: playbooks.StepProbe, Timeout: playbooks.Duration(time.Minute),
		Probe: &playbooks.ProbeStep{Interval: playbooks.Duration(20 * time.Millisecond),
			Check: playbooks.Check{HTTP: &playbooks.HTTPCheck{URL: srv.URL, ExpectJSON: map[string]string{"healthy": "true"}}}}}
	res, err := run(t, a, "RunProbe", steps.Input{Step: step})
	require.NoError(t, err)
	assert.EqualValues(t, 4, calls.Load())
	assert.EqualValues(t, 3, res.Output["failures"])
	require.NotNil(t, res.FirstSuccessAt)
	assert.True(t, res.FirstSuccessAt.After(res.StartedAt))
	assert.Equal(t, 0.02, res.ResolutionSeconds)
}

func TestRunProbe_GivesUpAtItsDeadline(t *testing.T) {
	a := newActivities(nil)
	deadline := time.Now().Add(150 * time.Millisecond)
	step := playbooks.Step{ID: "restored", Type: playbooks.StepProbe, Timeout: playbooks.Duration(time.Hour),
		Probe: &playbooks.ProbeStep{Interval: playbooks.Duration(20 * time.Millisecond),
			Check: playbooks.Check{TCP: &playbooks.TCPCheck{Address: closedPort(t)}}}}
	_, err := run(t, a, "RunProbe", steps.Input{Step: step, Deadline: &deadline})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "probe did not succeed")
	assert.Contains(t, err.Error(), "connection refused")
}

func TestRunProbe_TCPAndExecChecks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	a := newActivities(nil)
	for name, check := range map[string]playbooks.Check{
		"tcp":  {TCP: &playbooks.TCPCheck{Address: ln.Addr().String()}},
		"exec": {Exec: &playbooks.ExecStep{Command: []string{"true"}}},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := run(t, a, "RunProbe", steps.Input{Step: playbooks.Step{ID: "p", Type: playbooks.StepProbe,
				Timeout: playbooks.Duration(10 * time.Second), Probe: &playbooks.ProbeStep{Check: check}}})
			require.NoError(t, err)
			assert.NotNil(t, res.FirstSuccessAt)
		})
	}
}

func TestSecrets_FileReferenceAndScrubbing(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/pw"
	require.NoError(t, writeFile(path, "p@ss\n"))
	s := newActivities(nil).secrets()
	got, err := s.resolve(sealed(t, "postgres://u:${file:"+path+"}@db/app"))
	require.NoError(t, err)
	assert.Equal(t, "postgres://u:p@ss@db/app", got)
	assert.Equal(t, "dial postgres://u:[redacted]@db/app failed", s.scrub("dial "+got+" failed"))
	_, err = s.resolve(sealed(t, "${file:"+dir+"/missing}"))
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "missing"))
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

// sealed is text as the workflow hands it to an activity: its secret
// references sealed, as the playbook's own literal text.
func sealed(t *testing.T, text string) string {
	t.Helper()
	out, err := playbooks.Render(text, playbooks.TemplateData{})
	require.NoError(t, err)
	return out
}

// A `${env:…}` that reaches an activity unsealed came from data (a param, a
// target's answer): it is sent as text, never resolved.
func TestRunHTTP_DoesNotResolveReferencesThatCameFromData(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("file-secret-42"), 0o600))
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	a := newActivities(map[string]string{"TOKEN": "env-secret-41"})
	step, err := playbooks.RenderStep(playbooks.Step{ID: "next", Type: playbooks.StepHTTP, HTTP: &playbooks.HTTPStep{
		URL: srv.URL, Headers: map[string]string{"X-From-Upstream": "{{ .steps.up.output.v }}"}}},
		playbooks.TemplateData{Steps: map[string]playbooks.StepData{"up": {Output: map[string]any{
			"v": "${file:" + secretFile + "} ${env:TOKEN}"}}}})
	require.NoError(t, err)
	env := newActivityEnv(a)
	_, err = env.ExecuteActivity("RunHTTP", steps.Input{Step: step})
	require.NoError(t, err)
	assert.Equal(t, "${file:"+secretFile+"} ${env:TOKEN}", got.Get("X-From-Upstream"))
	assert.NotContains(t, fmt.Sprint(got), "secret-4", "no secret went to the target")
}
