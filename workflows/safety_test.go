package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// An abort 1 s into a 5 s failover request waits for the failover to answer
// before the failback is sent, and the record says the failover ran.
func TestDrill_AbortWaitsForTheActionInFlightBeforeCompensating(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var ended, failbackAt time.Time
	env.OnActivity("RunHTTP", mock.Anything, mock.MatchedBy(func(in steps.Input) bool { return in.Step.ID == "failover" })).
		After(5 * time.Second).Return(func(ctx context.Context, in steps.Input) (*steps.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		ended = env.Now()
		return okResult(map[string]any{"status": 200}), nil
	})
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in steps.Input) (*steps.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			if in.Step.ID == "failback" {
				failbackAt = env.Now()
			}
			return okResult(map[string]any{"status": 200}), nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAbort, AbortInput{By: "carol", Reason: "real incident"})
	}, 1100*time.Millisecond)
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("failover"), probeStep("restored", "failover")}, httpStep("failback")))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	fo := stepRec(t, rec, "failover")
	assert.Equal(t, evidence.StepSucceeded, fo.Status, "the failover ran to its end: the record says so")
	assert.Contains(t, fo.Note, "waited for")
	require.False(t, failbackAt.IsZero(), "the failback ran")
	assert.False(t, failbackAt.Before(ended), "the failback (%s) was sent only after the failover answered (%s)", failbackAt, ended)
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "restored").Status)
}

// lostWorker is the error an activity execution ends with when its worker
// dies after heartbeating progress.
func lostWorker(p steps.Progress) error {
	return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil, p)
}

func unknownOutcomeEnv(t *testing.T, sentAt time.Time) *testsuite.TestWorkflowEnvironment {
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.MatchedBy(func(in steps.Input) bool { return in.Step.ID == "failover" })).
		Return(nil, lostWorker(steps.Progress{SentAt: &sentAt})).Once()
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(&steps.Result{FirstSuccessAt: ptr(sentAt.Add(90 * time.Second))}, nil)
	return env
}

func ptr[T any](v T) *T { return &v }

func failoverPlaybook() DrillInput {
	fo := httpStep("failover")
	fo.Marks = playbooks.MarkOutageStart
	pr := probeStep("restored", "failover")
	pr.Marks = playbooks.MarkServiceRestored
	return input([]playbooks.Step{fo, pr}, httpStep("failback"))
}

// A worker lost after the failover was sent: the outcome is unknown, the
// RTO clock starts at the heartbeated send instant, and nothing is
// compensated until a person decides.
func TestDrill_UnknownOutcomeWaitsForAPersonThenContinues(t *testing.T) {
	sentAt := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	env := unknownOutcomeEnv(t, sentAt)
	var waiting *evidence.Record
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&waiting))
		env.UpdateWorkflow(UpdateDecide, "d1", &updateCallbacks{t: t}, DecideInput{Step: "failover", Decision: "continue", By: "alice"})
	}, time.Hour)
	env.ExecuteWorkflow(Drill, failoverPlaybook())

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	require.NotNil(t, waiting)
	assert.Equal(t, evidence.StepUnknown, stepRec(t, waiting, "failover").Status, "an hour on, the drill still waits for a person")
	assert.Equal(t, evidence.StepPending, stepRec(t, waiting, "failback").Status, "and has compensated nothing")
	assert.Equal(t, evidence.StatusCompleted, rec.Status)
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failback").Status)
	require.Len(t, rec.Decisions, 1)
	assert.Equal(t, "alice", rec.Decisions[0].By)
	require.NotNil(t, rec.Measures.RTO.AchievedSeconds)
	assert.InDelta(t, 90, *rec.Measures.RTO.AchievedSeconds, 0.001, "the RTO clock started when the failover was sent")
}

func TestDrill_UnknownOutcomeRollbackCompensates(t *testing.T) {
	env := unknownOutcomeEnv(t, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateDecide, "d1", &updateCallbacks{t: t}, DecideInput{Step: "failover", Decision: "rollback", By: "bob"})
	}, time.Minute)
	env.ExecuteWorkflow(Drill, failoverPlaybook())
	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	assert.Equal(t, evidence.StepUnknown, stepRec(t, rec, "failover").Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "failback").Status)
}

func TestDrill_UnknownOutcomeStopCompensatesNothing(t *testing.T) {
	env := unknownOutcomeEnv(t, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateDecide, "bad", &updateCallbacks{t: t, wantErr: true}, DecideInput{Step: "failover", Decision: "maybe", By: "bob"})
		env.UpdateWorkflow(UpdateDecide, "d1", &updateCallbacks{t: t}, DecideInput{Step: "failover", Decision: "stop", By: "bob"})
	}, time.Minute)
	env.ExecuteWorkflow(Drill, failoverPlaybook())
	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	assert.Contains(t, rec.Reason, "bob stopped the drill")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failback").Status)
}

// A probe whose worker was lost carries on with its progress, without using
// an attempt and without failing the drill (which would fail back).
func TestDrill_ProbeCarriesOnAcrossALostWorker(t *testing.T) {
	env := newEnv(t)
	first := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).
		Return(nil, lostWorker(steps.Progress{FirstAttemptAt: first, Failures: 7})).Times(2)
	var resumed *steps.Progress
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in steps.Input) (*steps.Result, error) {
			resumed = in.Resume
			return okResult(map[string]any{"failures": in.Resume.Failures}), nil
		}).Once()
	pr := probeStep("restored", "failover")
	pr.Retry = &playbooks.Retry{MaxAttempts: 1}
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{httpStep("failover"), pr}, httpStep("failback")))
	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	r := stepRec(t, rec, "restored")
	assert.Equal(t, evidence.StepSucceeded, r.Status)
	assert.Equal(t, 1, r.Attempts, "a lost worker uses no attempt")
	require.NotNil(t, resumed)
	assert.Equal(t, 7, resumed.Failures)
	assert.True(t, first.Equal(resumed.FirstAttemptAt), "the first attempt's instant is kept")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failback").Status, "no failback")
}

// updateCallbacks checks an update's outcome.
type updateCallbacks struct {
	t       *testing.T
	wantErr bool
}

func (u *updateCallbacks) Accept() {}
func (u *updateCallbacks) Reject(err error) {
	if !u.wantErr {
		u.t.Errorf("update rejected: %v", err)
	}
}
func (u *updateCallbacks) Complete(_ any, err error) {
	if err != nil && !u.wantErr {
		u.t.Errorf("update failed: %v", err)
	}
}
