package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// A saga: each action names its compensation; when the third action fails,
// the two that ran are compensated, last first, and the failed one and the
// one never reached are not.
func TestDrill_SagaCompensatesOnlyWhatRanInReverseOrder(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var order []string
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(func(_ context.Context, in steps.Input) (*steps.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, in.Step.ID)
		if in.Step.ID == "switch-dns" {
			return nil, temporal.NewNonRetryableApplicationError("dns api said 500", "StepFailed", nil)
		}
		return okResult(nil), nil
	})
	fence, promote, dns, notify := httpStep("fence"), httpStep("promote", "fence"), httpStep("switch-dns", "promote"), httpStep("announce", "switch-dns")
	fence.Compensate, promote.Compensate, dns.Compensate, notify.Compensate = "unfence", "demote", "restore-dns", "retract"
	env.ExecuteWorkflow(Drill, input([]playbooks.Step{fence, promote, dns, notify},
		httpStep("unfence"), httpStep("demote"), httpStep("restore-dns"), httpStep("retract")))

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, []string{"fence", "promote", "switch-dns", "demote", "unfence"}, order)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "demote").Status)
	assert.Contains(t, stepRec(t, rec, "demote").Note, "compensation of promote")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "restore-dns").Status, "the failed action is not compensated")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "retract").Status, "nor the one never reached")
}

// A completed drill runs its finally steps (reconstitution), not its
// rollback; a finally step that fails keeps the verdict from met.
func TestDrill_FinallyRunsAfterACompletedDrill(t *testing.T) {
	for _, failing := range []bool{false, true} {
		env := newEnv(t)
		env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(func(_ context.Context, in steps.Input) (*steps.Result, error) {
			if failing && in.Step.ID == "failback" {
				return nil, temporal.NewNonRetryableApplicationError("409", "StepFailed", nil)
			}
			return okResult(nil), nil
		})
		in := input([]playbooks.Step{httpStep("failover")}, httpStep("compensate-failover"))
		in.Playbook.Targets = playbooks.Targets{}
		in.Playbook.Finally = []playbooks.Step{httpStep("failback")}
		env.ExecuteWorkflow(Drill, in)
		rec, err := drillOutcome(t, env)
		require.NoError(t, err)
		assert.Equal(t, evidence.StatusCompleted, rec.Status)
		assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "compensate-failover").Status)
		require.Len(t, rec.Finally, 1)
		if failing {
			assert.Equal(t, evidence.StepFailed, rec.Finally[0].Status)
			assert.Equal(t, evidence.VerdictIncomplete, rec.Verdict)
			assert.Contains(t, rec.VerdictNote, "reconstitution failed")
		} else {
			assert.Equal(t, evidence.StepSucceeded, rec.Finally[0].Status)
			assert.Equal(t, evidence.VerdictMet, rec.Verdict)
		}
	}
}

// pageInput is a drill with a page step paging alice then bob, 10 minutes
// each, against a 15-minute response target.
func pageInput() DrillInput {
	in := input([]playbooks.Step{{ID: "page", Type: playbooks.StepPage, Page: &playbooks.PageStep{Escalation: "admins"}},
		httpStep("failover", "page")}, httpStep("failback"))
	rt := dur(15 * time.Minute)
	in.Playbook.Targets = playbooks.Targets{Response: &rt}
	in.Playbook.Contacts = map[string]playbooks.Contact{
		"alice": {Name: "Alice", Channels: []playbooks.Channel{{Console: &playbooks.ConsoleChannel{}}}},
		"bob":   {Name: "Bob", Channels: []playbooks.Channel{{Console: &playbooks.ConsoleChannel{}}}},
	}
	in.Playbook.Escalation = map[string]playbooks.EscalationPolicy{"admins": {Levels: []playbooks.EscalationLevel{
		{Contacts: []string{"alice"}, AckTimeout: dur(10 * time.Minute)},
		{Contacts: []string{"bob"}, AckTimeout: dur(10 * time.Minute)}}}}
	return in
}

func pagingEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *int) {
	env := newEnv(t)
	env.RegisterWorkflowWithOptions(Escalation, workflow.RegisterOptions{Name: EscalationWorkflow})
	env.RegisterActivity(&fakePager{})
	sent := 0
	env.OnActivity(steps.ActivitySendPage, mock.Anything, mock.Anything).Return(func(_ context.Context, in steps.PageInput) (*steps.PageResult, error) {
		if in.Event != "resolve" {
			sent++
		}
		return &steps.PageResult{Channel: "console", SentAt: env.Now()}, nil
	})
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	return env, &sent
}

// Nobody acknowledges: after 20 minutes of pages the 15-minute target has
// elapsed, so the response is missed (at least 20 minutes), not "not measured".
func TestDrill_NoAcknowledgementWithinTheTargetIsMissed(t *testing.T) {
	env, sent := pagingEnv(t)
	env.ExecuteWorkflow(Drill, pageInput())
	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, 2, *sent)
	r := rec.Measures.Response
	assert.Equal(t, evidence.VerdictMissed, r.Verdict)
	require.NotNil(t, r.AchievedSeconds)
	assert.InDelta(t, 1200, *r.AchievedSeconds, 1, "a lower bound: the time the pages ran")
	assert.Contains(t, r.Note, "lower bound")
	assert.Len(t, rec.Pages, 2)
}

// An abort while the page waits: every page sent stays in the record.
func TestDrill_PagesSentAreKeptWhenTheDrillIsAborted(t *testing.T) {
	env, _ := pagingEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAbort, AbortInput{By: "carol", Reason: "real incident"})
	}, 12*time.Minute)
	env.ExecuteWorkflow(Drill, pageInput())
	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.Len(t, rec.Pages, 2, "alice's and bob's pages were sent before the abort")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failback").Status, "nothing ran: nothing to fail back")
}

// The person answers before the page's send has reported (they saw it at
// once): the page is still recorded and the response measured from it.
func TestDrill_AnAckBeforeThePageReportsStillMeasuresTheResponse(t *testing.T) {
	env := newEnv(t)
	env.RegisterWorkflowWithOptions(Escalation, workflow.RegisterOptions{Name: EscalationWorkflow})
	env.RegisterActivity(&fakePager{})
	start := env.Now()
	env.OnActivity(steps.ActivitySendPage, mock.Anything, mock.Anything).After(30 * time.Second).Return(
		func(_ context.Context, in steps.PageInput) (*steps.PageResult, error) {
			return &steps.PageResult{Channel: "console", SentAt: start.Add(time.Second)}, nil
		})
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.RegisterDelayedCallback(func() {
		require.NoError(t, env.UpdateWorkflowByID(EscalationID("drill-test-1", "page"), UpdateAck, "a1",
			&updateCallbacks{t: t}, AckInput{By: "alice"}))
	}, 10*time.Second)
	env.ExecuteWorkflow(Drill, pageInput())
	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	require.Len(t, rec.Pages, 1)
	r := rec.Measures.Response
	require.NotNil(t, r.AchievedSeconds, r.Note)
	assert.InDelta(t, 9, *r.AchievedSeconds, 0.5)
}
