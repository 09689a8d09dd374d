package workflows

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

type fakePager struct{}

func (fakePager) SendPage(context.Context, steps.PageInput) (*steps.PageResult, error) {
	return nil, nil
}
func (fakePager) Notify(context.Context, steps.NotifyInput) (*steps.NotifyResult, error) {
	return nil, nil
}

func escalationInput() EscalationInput {
	console := playbooks.Channel{Console: &playbooks.ConsoleChannel{}}
	webhook := playbooks.Channel{Webhook: &playbooks.WebhookChannel{URL: "http://pager"}}
	return EscalationInput{
		DrillID: "drill-x", Playbook: "p", Step: "page",
		Policy: playbooks.EscalationPolicy{Levels: []playbooks.EscalationLevel{
			{Contacts: []string{"alice"}, AckTimeout: dur(10 * time.Minute)},
			{Contacts: []string{"bob"}, AckTimeout: dur(10 * time.Minute)},
		}},
		Contacts: map[string]playbooks.Contact{
			"alice": {Name: "Alice Chan", Channels: []playbooks.Channel{console, webhook}},
			"bob":   {Name: "Bob Lee", Channels: []playbooks.Channel{console}},
		},
	}
}

// pagerEnv records every page "sent", stamped with the test clock.
func pagerEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]steps.PageInput) {
	env := newSuite().NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Escalation, workflow.RegisterOptions{Name: EscalationWorkflow})
	env.RegisterActivity(&fakePager{})
	var mu sync.Mutex
	var sent []steps.PageInput
	env.OnActivity(steps.ActivitySendPage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in steps.PageInput) (*steps.PageResult, error) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, in)
			return &steps.PageResult{Channel: "console", SentAt: env.Now().UTC()}, nil
		})
	return env, &sent
}

func ackAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, after time.Duration, by string, rejected *error) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAck, by, &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if rejected != nil {
					*rejected = err
				} else {
					t.Errorf("ack by %s rejected: %v", by, err)
				}
			},
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AckInput{By: by})
	}, after)
}

func escalationResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) EscalationResult {
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res EscalationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestEscalation_AckAtLevelOneStopsThePaging(t *testing.T) {
	env, sent := pagerEnv(t)
	ackAt(t, env, 3*time.Minute, "alice", nil)
	env.ExecuteWorkflow(Escalation, escalationInput())

	res := escalationResult(t, env)
	assert.Equal(t, OutcomeAcked, res.Outcome)
	assert.Equal(t, "alice", res.AckedBy)
	assert.Equal(t, 1, res.Level)
	assert.Equal(t, 3*time.Minute, res.AckedAt.Sub(*res.FirstPageAt))
	assert.Len(t, *sent, 2, "both of alice's channels, nobody else")
}

func TestEscalation_SuccessorIsPagedWhenThePrimaryDoesNotAnswer(t *testing.T) {
	env, sent := pagerEnv(t)
	ackAt(t, env, 12*time.Minute, "bob", nil)
	env.ExecuteWorkflow(Escalation, escalationInput())

	res := escalationResult(t, env)
	assert.Equal(t, OutcomeAcked, res.Outcome)
	assert.Equal(t, "bob", res.AckedBy)
	assert.Equal(t, 2, res.Level)
	assert.Equal(t, 12*time.Minute, res.AckedAt.Sub(*res.FirstPageAt), "response counts from the first page")
	require.Len(t, *sent, 3)
	assert.Equal(t, "bob", (*sent)[2].Contact)
	assert.Equal(t, 2, (*sent)[2].Level)
	require.Len(t, res.Acks, 1)
	assert.Equal(t, evidence.Ack{Step: "page", By: "bob", Level: 2, At: *res.AckedAt, Via: "cli"}, res.Acks[0])
}

func TestEscalation_NobodyAnswersIsExhaustedAfterEveryRepeat(t *testing.T) {
	env, sent := pagerEnv(t)
	in := escalationInput()
	in.Policy.Repeat = 2
	start := env.Now()
	env.ExecuteWorkflow(Escalation, in)

	res := escalationResult(t, env)
	assert.Equal(t, OutcomeExhausted, res.Outcome)
	assert.Len(t, *sent, 6, "two rounds of three pages")
	assert.Equal(t, 40*time.Minute, env.Now().Sub(start))
}

func TestEscalation_AckBySomeoneNotPagedIsRefused(t *testing.T) {
	env, _ := pagerEnv(t)
	var refusedBob, refusedMallory error
	ackAt(t, env, time.Minute, "bob", &refusedBob) // bob is level 2: not paged yet
	ackAt(t, env, 2*time.Minute, "mallory", &refusedMallory)
	ackAt(t, env, 4*time.Minute, "alice", nil)
	env.ExecuteWorkflow(Escalation, escalationInput())

	res := escalationResult(t, env)
	require.Error(t, refusedBob)
	assert.Contains(t, refusedBob.Error(), `"bob" was not paged by step "page" (paged so far: [alice])`)
	require.Error(t, refusedMallory)
	assert.Equal(t, "alice", res.AckedBy)
}

func TestEscalation_AFailingChannelDoesNotBlockTheOthers(t *testing.T) {
	env := newSuite().NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Escalation, workflow.RegisterOptions{Name: EscalationWorkflow})
	env.RegisterActivity(&fakePager{})
	env.OnActivity(steps.ActivitySendPage, mock.Anything, mock.MatchedBy(func(in steps.PageInput) bool { return in.Channel.Webhook != nil })).
		Return(nil, errors.New("pager down"))
	env.OnActivity(steps.ActivitySendPage, mock.Anything, mock.MatchedBy(func(in steps.PageInput) bool { return in.Channel.Console != nil })).
		Return(func(context.Context, steps.PageInput) (*steps.PageResult, error) {
			return &steps.PageResult{Channel: "console", SentAt: env.Now().UTC()}, nil
		})
	ackAt(t, env, 5*time.Minute, "alice", nil)
	env.ExecuteWorkflow(Escalation, escalationInput())

	res := escalationResult(t, env)
	assert.Equal(t, OutcomeAcked, res.Outcome)
	require.NotEmpty(t, res.Failures)
	assert.Contains(t, res.Failures[0], "pager down")
}

func TestDrill_PageStepMeasuresResponseTime(t *testing.T) {
	env := newEnv(t)
	env.RegisterWorkflowWithOptions(Escalation, workflow.RegisterOptions{Name: EscalationWorkflow})
	env.RegisterActivity(&fakePager{})
	env.OnActivity(steps.ActivitySendPage, mock.Anything, mock.Anything).Return(
		func(context.Context, steps.PageInput) (*steps.PageResult, error) {
			return &steps.PageResult{Channel: "console", SentAt: env.Now().UTC()}, nil
		})
	esc := escalationInput()
	resp := dur(15 * time.Minute)
	in := input([]playbooks.Step{{ID: "page", Type: playbooks.StepPage, Page: &playbooks.PageStep{Escalation: "dr-admins"}}})
	in.Playbook.Targets = playbooks.Targets{Response: &resp}
	in.Playbook.Contacts = esc.Contacts
	in.Playbook.Escalation = map[string]playbooks.EscalationPolicy{"dr-admins": esc.Policy}
	env.RegisterDelayedCallback(func() {
		err := env.UpdateWorkflowByID(EscalationID("drill-test-1", "page"), UpdateAck, "a1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AckInput{By: "bob"})
		require.NoError(t, err)
	}, 11*time.Minute)
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	r := rec.Measures.Response
	require.NotNil(t, r.AchievedSeconds)
	assert.Equal(t, 660.0, *r.AchievedSeconds)
	assert.Equal(t, "bob", r.AckedBy)
	assert.Equal(t, 2, r.Level)
	assert.Equal(t, evidence.VerdictMet, r.Verdict)
	assert.Len(t, rec.Pages, 3)
	require.Len(t, rec.Acks, 1)
}

func TestEscalation_AcknowledgedPagerDutyIncidentsAreResolved(t *testing.T) {
	env, sent := pagerEnv(t)
	in := escalationInput()
	in.Contacts["alice"] = playbooks.Contact{Name: "Alice", Channels: []playbooks.Channel{{PagerDuty: &playbooks.PagerDutyChannel{RoutingKey: "${env:PD}"}}}}
	ackAt(t, env, time.Minute, "alice", nil)
	env.ExecuteWorkflow(Escalation, in)

	res := escalationResult(t, env)
	assert.Equal(t, OutcomeAcked, res.Outcome)
	require.Len(t, *sent, 2)
	assert.Equal(t, "", (*sent)[0].Event)
	assert.Equal(t, "resolve", (*sent)[1].Event)
	assert.Equal(t, "alice", (*sent)[1].Contact)
}

func TestDrill_NotifyStepAndLifecycleNotifications(t *testing.T) {
	env := newEnv(t)
	env.RegisterActivity(&fakePager{})
	var mu sync.Mutex
	var events []string
	env.OnActivity(steps.ActivityNotify, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in steps.NotifyInput) (*steps.NotifyResult, error) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, in.Event+":"+strings.Join(sortedContacts(in.To), ","))
			return &steps.NotifyResult{Sent: []steps.PageResult{{Channel: "console"}}}, nil
		})
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(nil, errors.New("refused"))
	in := input([]playbooks.Step{
		{ID: "tell", Type: playbooks.StepNotify, Notify: &playbooks.NotifyStep{To: []string{"bob"}, Message: "drill in 5 minutes"}},
		httpStep("failover", "tell"),
	})
	in.Playbook.Contacts = escalationInput().Contacts
	in.Playbook.Notifications = &playbooks.Notifications{To: []string{"alice"}, Events: []string{EventStepFailed, EventFinished}}
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "tell").Status)
	assert.EqualValues(t, 1, stepRec(t, rec, "tell").Output["sent"])
	assert.ElementsMatch(t, []string{"notify:bob", "step-failed:alice", "finished:alice"}, events,
		"started is not among the playbook's events, so it is not sent")
}

func sortedContacts(m map[string]playbooks.Contact) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Nobody answers: no PagerDuty incident is left open. Alice was paged at
// levels 1 and 3 (a policy that comes back to her): both are resolved.
func TestEscalation_ExhaustedResolvesEveryLevelsIncident(t *testing.T) {
	env, sent := pagerEnv(t)
	in := escalationInput()
	pd := playbooks.Channel{PagerDuty: &playbooks.PagerDutyChannel{RoutingKey: "${env:PD}"}}
	in.Contacts["alice"] = playbooks.Contact{Name: "Alice", Channels: []playbooks.Channel{pd}}
	in.Policy.Levels = append(in.Policy.Levels, playbooks.EscalationLevel{Contacts: []string{"alice"}, AckTimeout: dur(10 * time.Minute)})
	env.ExecuteWorkflow(Escalation, in)

	res := escalationResult(t, env)
	assert.Equal(t, OutcomeExhausted, res.Outcome)
	var resolved []int
	for _, p := range *sent {
		if p.Event == "resolve" {
			resolved = append(resolved, p.Level)
		}
	}
	assert.ElementsMatch(t, []int{1, 3}, resolved)
	require.NotNil(t, res.EndedAt)
}
