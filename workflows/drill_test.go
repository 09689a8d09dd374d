package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// fakeActivities stands in for the real activities; the tests mock them by name.
type fakeActivities struct{}

func (fakeActivities) RunHTTP(context.Context, steps.Input) (*steps.Result, error)  { return nil, nil }
func (fakeActivities) RunExec(context.Context, steps.Input) (*steps.Result, error)  { return nil, nil }
func (fakeActivities) RunProbe(context.Context, steps.Input) (*steps.Result, error) { return nil, nil }
func (fakeActivities) RunGuard(context.Context, steps.GuardInput) (*steps.GuardResult, error) {
	return nil, nil
}
func (fakeActivities) CheckPlaybook(context.Context, steps.CheckPlaybookInput) error { return nil }
func (fakeActivities) WatchDrill(context.Context, steps.WatchInput) (*steps.WatchResult, error) {
	return nil, nil
}
func (fakeActivities) DescribeLock(context.Context, string) (*steps.LockHolder, error) {
	return nil, nil
}
func (fakeActivities) WriteEvidence(context.Context, steps.EvidenceInput) (*evidence.EvidenceRef, error) {
	return nil, nil
}

// newSuite returns a test suite whose logs are dropped: failures speak
// through assertions.
func newSuite() *testsuite.WorkflowTestSuite {
	s := &testsuite.WorkflowTestSuite{}
	s.SetLogger(quietLogger())
	return s
}

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	env := newSuite().NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Drill, workflow.RegisterOptions{Name: DrillWorkflow})
	env.RegisterWorkflowWithOptions(DrillGuard, workflow.RegisterOptions{Name: GuardWorkflow})
	env.RegisterWorkflowWithOptions(LockHolder, workflow.RegisterOptions{Name: LockWorkflow})
	env.RegisterActivity(&fakeActivities{})
	// The guard watches its drill until the drill releases it.
	env.OnActivity(steps.ActivityWatchDrill, mock.Anything, mock.Anything).After(24*time.Hour).
		Return(&steps.WatchResult{Status: "completed"}, nil).Maybe()
	return env
}

func dur(d time.Duration) playbooks.Duration { return playbooks.Duration(d) }

func httpStep(id string, needs ...string) playbooks.Step {
	return playbooks.Step{ID: id, Type: playbooks.StepHTTP, Needs: needs,
		HTTP: &playbooks.HTTPStep{Method: "POST", URL: "http://primary/" + id}}
}

func probeStep(id string, needs ...string) playbooks.Step {
	return playbooks.Step{ID: id, Type: playbooks.StepProbe, Needs: needs, Timeout: dur(time.Hour),
		Probe: &playbooks.ProbeStep{Interval: dur(time.Second), Check: playbooks.Check{HTTP: &playbooks.HTTPCheck{URL: "http://standby/health"}}}}
}

func approvalStep(id string, needs ...string) playbooks.Step {
	return playbooks.Step{ID: id, Type: playbooks.StepApproval, Needs: needs, Timeout: dur(30 * time.Minute),
		Approval: &playbooks.ApprovalStep{Approvers: []string{"alice", "bob"}}}
}

func input(stepsList []playbooks.Step, rollback ...playbooks.Step) DrillInput {
	rto := dur(4 * time.Hour)
	return DrillInput{
		DrillID: "drill-test-1",
		Playbook: playbooks.Playbook{APIVersion: playbooks.APIVersion, Kind: playbooks.KindPlaybook,
			Metadata: playbooks.Metadata{Name: "test"}, Targets: playbooks.Targets{RTO: &rto},
			Steps: stepsList, Rollback: rollback},
	}
}

// drillOutcome returns the record a finished test workflow produced, from
// its result or from its DrillFailed error.
func drillOutcome(t *testing.T, env *testsuite.TestWorkflowEnvironment) (*evidence.Record, error) {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var rec evidence.Record
	if err == nil {
		require.NoError(t, env.GetWorkflowResult(&rec))
		return &rec, nil
	}
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "error %v is not an application error", err)
	require.Equal(t, ErrDrillFailed, appErr.Type())
	require.NoError(t, appErr.Details(&rec))
	return &rec, err
}

func stepRec(t *testing.T, rec *evidence.Record, id string) evidence.StepRecord {
	t.Helper()
	for _, s := range append(append([]evidence.StepRecord{}, rec.Steps...), rec.Rollback...) {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %q in record", id)
	return evidence.StepRecord{}
}

func okResult(out map[string]any) *steps.Result { return &steps.Result{Output: out} }

func TestDrill_IndependentStepsRunInParallelAfterTheirNeeds(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var order []string
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).After(time.Minute).Return(
		func(_ context.Context, in steps.Input) (*steps.Result, error) {
			mu.Lock()
			order = append(order, in.Step.ID)
			mu.Unlock()
			return okResult(map[string]any{"id": in.Step.ID}), nil
		})
	in := input([]playbooks.Step{httpStep("a"), httpStep("b", "a"), httpStep("c", "a"), httpStep("d", "b", "c")})
	in.Playbook.Targets = playbooks.Targets{}
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Equal(t, evidence.StatusCompleted, rec.Status)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict, "no targets: nothing to miss")
	require.Len(t, order, 4)
	assert.Equal(t, "a", order[0])
	assert.ElementsMatch(t, []string{"b", "c"}, order[1:3])
	assert.Equal(t, "d", order[3])
	a, b, c, d := stepRec(t, rec, "a"), stepRec(t, rec, "b"), stepRec(t, rec, "c"), stepRec(t, rec, "d")
	assert.Equal(t, *a.EndedAt, *b.StartedAt, "b starts as soon as a ends")
	assert.Equal(t, *b.StartedAt, *c.StartedAt, "b and c run in parallel")
	assert.Equal(t, time.Minute, d.StartedAt.Sub(*a.EndedAt), "d waits for both, which overlap (in sequence: 2m)")
	for _, s := range rec.Steps {
		assert.Equal(t, evidence.StepSucceeded, s.Status, s.ID)
		assert.Equal(t, 1, s.Attempts, s.ID)
	}
}

func TestDrill_RTOIsMeasuredFromActivityInstants(t *testing.T) {
	env := newEnv(t)
	outage := time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC)
	restored := outage.Add(812400 * time.Millisecond)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(&steps.Result{ActionAt: &outage}, nil)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(
		&steps.Result{FirstSuccessAt: &restored, ResolutionSeconds: 1}, nil)
	failover := httpStep("failover")
	failover.Marks = playbooks.MarkOutageStart
	probe := probeStep("restored", "failover")
	probe.Marks = playbooks.MarkServiceRestored
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{failover, probe}))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	rto := rec.Measures.RTO
	require.NotNil(t, rto.AchievedSeconds)
	assert.InDelta(t, 812.4, *rto.AchievedSeconds, 1e-9)
	assert.Equal(t, 14400.0, *rto.TargetSeconds)
	assert.Equal(t, 1.0, *rto.ResolutionSeconds)
	assert.Equal(t, evidence.VerdictMet, rto.Verdict)
	assert.InDelta(t, 14400-812.4, *rto.MarginSeconds, 1e-9)
	assert.Equal(t, outage, rto.From.At)
	assert.Equal(t, "failover", rto.From.Step)
	assert.Equal(t, restored, rto.To.At)
	// RPO has a target of none and no canary: not measured, which is no miss.
	assert.Equal(t, evidence.VerdictNotMeasured, rec.Measures.RPO.Verdict)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
}

func TestDrill_MissedRTOTargetGivesMissedVerdict(t *testing.T) {
	env := newEnv(t)
	outage := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	restored := outage.Add(5 * time.Hour)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(&steps.Result{ActionAt: &outage}, nil)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(&steps.Result{FirstSuccessAt: &restored}, nil)
	failover := httpStep("failover")
	failover.Marks = playbooks.MarkOutageStart
	probe := probeStep("restored", "failover")
	probe.Marks = playbooks.MarkServiceRestored
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{failover, probe}))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Equal(t, evidence.VerdictMissed, rec.Measures.RTO.Verdict)
	assert.InDelta(t, -3600.0, *rec.Measures.RTO.MarginSeconds, 1e-9)
	assert.Equal(t, evidence.VerdictMissed, rec.Verdict)
}

func TestDrill_UnmeasuredTargetIsIncomplete(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("a")}))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Equal(t, evidence.VerdictNotMeasured, rec.Measures.RTO.Verdict)
	assert.Equal(t, evidence.VerdictIncomplete, rec.Verdict)
}

func TestDrill_ProbeIsRetriedButActionIsAttemptedOnce(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(nil, errors.New("connection refused")).Twice()
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(okResult(nil), nil).Once()
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(nil, errors.New("status 500")).Once()
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{probeStep("probe"), httpStep("failover", "probe"), httpStep("after", "failover")}))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	probe := stepRec(t, rec, "probe")
	assert.Equal(t, evidence.StepSucceeded, probe.Status)
	assert.Equal(t, 3, probe.Attempts)
	failover := stepRec(t, rec, "failover")
	assert.Equal(t, evidence.StepFailed, failover.Status)
	assert.Equal(t, 1, failover.Attempts, "an action is never retried by default")
	assert.Contains(t, failover.Error, "status 500")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "after").Status)
	assert.Contains(t, rec.Reason, `step "failover" failed`)
	env.AssertExpectations(t)
}

func TestDrill_ExplicitRetryPolicyIsHonoured(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(nil, errors.New("503")).Times(4)
	s := httpStep("flaky")
	s.Retry = &playbooks.Retry{MaxAttempts: 4, InitialInterval: dur(10 * time.Second), Backoff: 2, MaxInterval: dur(35 * time.Second)}
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{s}))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	st := stepRec(t, rec, "flaky")
	assert.Equal(t, 4, st.Attempts)
	// Backoff 10s, 20s, then 40s capped at 35s between the four attempts.
	assert.Equal(t, 65*time.Second, st.EndedAt.Sub(*st.StartedAt))
	env.AssertExpectations(t)
}

func TestDrill_ContinueOnErrorLetsDependentsRun(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.MatchedBy(func(in steps.Input) bool { return in.Step.ID == "optional" })).
		Return(nil, errors.New("boom"))
	env.OnActivity("RunHTTP", mock.Anything, mock.MatchedBy(func(in steps.Input) bool { return in.Step.ID == "next" })).
		Return(okResult(nil), nil)
	opt := httpStep("optional")
	opt.ContinueOnError = true
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{opt, httpStep("next", "optional")}))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Equal(t, evidence.StatusCompleted, rec.Status)
	assert.Equal(t, evidence.StepFailed, stepRec(t, rec, "optional").Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "next").Status)
}

func TestDrill_FailureRunsRollback(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var ran []string
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in steps.Input) (*steps.Result, error) {
			mu.Lock()
			ran = append(ran, in.Step.ID)
			mu.Unlock()
			if in.Step.ID == "failover" {
				return nil, errors.New("primary refused to fence")
			}
			return okResult(nil), nil
		})
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("failover")}, httpStep("failback"), httpStep("notify-done", "failback")))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	assert.Equal(t, evidence.StatusFailed, rec.Verdict)
	assert.Equal(t, []string{"failover", "failback", "notify-done"}, ran, "rollback in its own dependency order")
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "failback").Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "notify-done").Status)
}

func TestDrill_SuccessRunsNoRollback(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.MatchedBy(func(in steps.Input) bool { return in.Step.ID == "a" })).
		Return(okResult(nil), nil).Once()
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("a")}, httpStep("failback")))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	failback := stepRec(t, rec, "failback")
	assert.Equal(t, evidence.StepSkipped, failback.Status)
	assert.Equal(t, "not needed: the drill completed", failback.Note)
	assert.Nil(t, failback.StartedAt)
	env.AssertExpectations(t)
}

func TestDrill_ApprovalFromAnAllowedApproverLetsTheDrillGoOn(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil).Once()
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("approval rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, ApproveInput{Step: "go-no-go", By: "bob", Comment: "window open"})
	}, 7*time.Minute)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{approvalStep("go-no-go"), httpStep("failover", "go-no-go")}))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	gate := stepRec(t, rec, "go-no-go")
	assert.Equal(t, evidence.StepSucceeded, gate.Status)
	assert.Equal(t, 7*time.Minute, gate.EndedAt.Sub(*gate.StartedAt))
	require.Len(t, rec.Approvals, 1)
	assert.Equal(t, "bob", rec.Approvals[0].By)
	assert.True(t, rec.Approvals[0].Approved)
	assert.Equal(t, "window open", rec.Approvals[0].Comment)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "failover").Status)
	env.AssertExpectations(t)
}

func TestDrill_ApprovalFromSomeoneNotAllowedIsRefused(t *testing.T) {
	env := newEnv(t)
	var refused error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { refused = err },
			OnAccept:   func() { t.Error("mallory's approval was accepted") },
			OnComplete: func(any, error) {},
		}, ApproveInput{Step: "go-no-go", By: "mallory"})
	}, time.Minute)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{approvalStep("go-no-go"), httpStep("failover", "go-no-go")}))

	rec, err := drillOutcome(t, env)
	require.Error(t, err, "without an allowed approval the gate times out")
	require.Error(t, refused)
	assert.Contains(t, refused.Error(), `"mallory" may not decide step "go-no-go"`)
	assert.Empty(t, rec.Approvals)
	gate := stepRec(t, rec, "go-no-go")
	assert.Equal(t, evidence.StepFailed, gate.Status)
	assert.Contains(t, gate.Error, "no decision within 30m0s")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failover").Status, "nothing touched after a failed gate")
}

func TestDrill_ApprovalForAStepNotWaitingIsRefused(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).After(time.Hour).Return(okResult(nil), nil)
	var refused error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { refused = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, ApproveInput{Step: "go-no-go", By: "alice"})
	}, time.Minute)
	gate := approvalStep("go-no-go", "slow")
	gate.Approval.OnTimeout = "approve"
	in := input([]playbooks.Step{httpStep("slow"), gate})
	in.Playbook.Targets = playbooks.Targets{} // nothing to measure: the gate alone decides the verdict
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	require.Error(t, refused)
	assert.Contains(t, refused.Error(), "is not waiting for a decision")
	assert.Contains(t, stepRec(t, rec, "go-no-go").Note, "opened with no human decision")
	require.Len(t, rec.Approvals, 1)
	assert.True(t, rec.Approvals[0].Auto, "the record says no human gave the go")
	assert.Empty(t, rec.Approvals[0].By)
	assert.Equal(t, evidence.VerdictIncomplete, rec.Verdict, "an auto-approved gate cannot give met unless the playbook allows it")
	assert.Contains(t, rec.VerdictNote, "go-no-go")
}

func TestDrill_NoGoAbortsAndCompensatesNothing(t *testing.T) {
	env := newEnv(t)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, ApproveInput{Step: "go-no-go", By: "alice", Reject: true, Comment: "change freeze"})
	}, time.Minute)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{approvalStep("go-no-go"), httpStep("failover", "go-no-go")}, httpStep("failback")))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusAborted, rec.Status, "a no-go is its own outcome, not a failure")
	assert.Equal(t, "alice", rec.AbortedBy)
	assert.Equal(t, "no-go: change freeze", rec.Reason)
	assert.Contains(t, stepRec(t, rec, "go-no-go").Error, "no-go from alice: change freeze")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failover").Status)
	fb := stepRec(t, rec, "failback")
	assert.Equal(t, evidence.StepSkipped, fb.Status, "nothing ran, so nothing is failed back (it answered 409)")
	assert.Contains(t, fb.Note, "no action had run")
}

func TestDrill_AbortCancelsRunningStepsAndRunsRollback(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).After(time.Hour).Return(okResult(nil), nil)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAbort, AbortInput{By: "carol", Reason: "real incident"})
	}, 5*time.Minute)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("failover"), probeStep("restored", "failover"), httpStep("after", "restored")},
		httpStep("failback")))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.Equal(t, "carol", rec.AbortedBy)
	assert.Equal(t, "real incident", rec.Reason)
	assert.Equal(t, evidence.StepCancelled, stepRec(t, rec, "restored").Status)
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "after").Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "failback").Status)
	assert.Equal(t, 5*time.Minute, rec.EndedAt.Sub(rec.StartedAt), "the abort does not wait for the probe")
}

func TestDrill_WaitStepSleepsOnTheWorkflowClock(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{{ID: "soak", Type: playbooks.StepWait,
		Wait: &playbooks.WaitStep{Duration: dur(90 * time.Minute)}}}))

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	s := stepRec(t, rec, "soak")
	assert.Equal(t, 90*time.Minute, s.EndedAt.Sub(*s.StartedAt))
}

func TestDrill_TemplatesReadParamsAndEarlierOutputs(t *testing.T) {
	env := newEnv(t)
	var got []string
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in steps.Input) (*steps.Result, error) {
			got = append(got, in.Step.HTTP.URL)
			return okResult(map[string]any{"token": "t-42"}), nil
		})
	first := httpStep("first")
	first.HTTP.URL = "{{ .params.primary }}/lab/failover"
	second := httpStep("second", "first")
	second.HTTP.URL = "{{ .params.primary }}/x/{{ .steps.first.output.token }}/{{ .drill.id }}"
	second.HTTP.Headers = map[string]string{"Authorization": "Bearer ${env:TOKEN}"}
	in := input([]playbooks.Step{first, second})
	in.Params = map[string]string{"primary": "http://127.0.0.1:9101"}
	env.ExecuteWorkflow(Drill, in)

	_, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Equal(t, []string{"http://127.0.0.1:9101/lab/failover", "http://127.0.0.1:9101/x/t-42/drill-test-1"}, got)
}

func TestDrill_DryRunRunsOnlyInventory(t *testing.T) {
	env := newEnv(t)
	in := input([]playbooks.Step{httpStep("failover")})
	in.DryRun = true
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failover").Status)
	assert.Equal(t, evidence.VerdictIncomplete, rec.Verdict)
}

func TestDrill_StatusQueryShowsLiveSteps(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	var live *evidence.Record
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		live = &evidence.Record{}
		require.NoError(t, v.Get(live))
		env.UpdateWorkflow(UpdateApprove, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, ApproveInput{Step: "gate", By: "alice"})
	}, time.Minute)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("a"), approvalStep("gate", "a"), httpStep("b", "gate")}))

	_, err := drillOutcome(t, env)
	require.NoError(t, err)
	require.NotNil(t, live)
	assert.Equal(t, evidence.StatusRunning, live.Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, live, "a").Status)
	assert.Equal(t, evidence.StepWaiting, stepRec(t, live, "gate").Status)
	assert.Equal(t, evidence.StepPending, stepRec(t, live, "b").Status)
}

func TestDrill_WritesEvidenceLastAndKeepsItsReference(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	var written evidence.Record
	env.OnActivity(steps.ActivityWriteEvidence, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in steps.EvidenceInput) (*evidence.EvidenceRef, error) {
			written = in.Record
			return &evidence.EvidenceRef{Path: "/evidence/drill-test-1", ManifestDigest: "sha256:abc", Signed: true}, nil
		}).Once()
	in := input([]playbooks.Step{httpStep("a")})
	in.Playbook.Source.Raw = []byte("the playbook")
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	require.NotNil(t, rec.Evidence)
	assert.Equal(t, "sha256:abc", rec.Evidence.ManifestDigest)
	assert.Equal(t, evidence.StatusCompleted, written.Status, "the bundle holds the final record")
	assert.NotNil(t, written.EndedAt)
	assert.Equal(t, rec.Verdict, written.Verdict)
	env.AssertExpectations(t)
}

func TestDrill_EvidenceThatCannotBeWrittenIsSaidButKeepsTheVerdict(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.OnActivity(steps.ActivityWriteEvidence, mock.Anything, mock.Anything).Return(nil, errors.New("disk full"))
	in := input([]playbooks.Step{httpStep("a")})
	in.Playbook.Targets = playbooks.Targets{}
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.Nil(t, rec.Evidence)
	assert.Contains(t, rec.EvidenceError, "disk full")
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
}

func TestDrill_CancelledThroughTemporalIsAnAbortAndRollsBack(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).After(time.Hour).Return(okResult(nil), nil)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.OnActivity(steps.ActivityWriteEvidence, mock.Anything, mock.Anything).Return(&evidence.EvidenceRef{Path: "/e"}, nil)
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Minute)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("failover"), probeStep("restored", "failover")}, httpStep("failback")))

	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	var rec evidence.Record
	require.NoError(t, appErr.Details(&rec))
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.Equal(t, "temporal", rec.AbortedBy)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, &rec, "failback").Status, "the rollback ran")
	require.NotNil(t, rec.Evidence, "and the evidence was written")
}
