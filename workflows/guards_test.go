package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// A guard on the standby's error rate breaches mid-outage: the drill stops
// like an abort, the failover (already answered) is compensated, and the
// record names the guard, the value and the instant.
func TestDrill_AGuardThatBreachesAbortsTheDrillAndCompensates(t *testing.T) {
	env := newEnv(t)
	breachAt := time.Date(2026, 11, 24, 9, 0, 30, 0, time.UTC)
	var calls atomic.Int32
	env.OnActivity(steps.ActivityGuard, mock.Anything, mock.Anything).After(time.Minute).Return(
		func(_ context.Context, in steps.GuardInput) (*steps.GuardResult, error) {
			v := 0.01
			if calls.Add(1) == 1 {
				return &steps.GuardResult{Points: []evidence.GuardPoint{{At: breachAt.Add(-time.Minute), Value: &v, OK: true}}}, nil
			}
			v = 0.2
			return &steps.GuardResult{Breached: true, At: &breachAt, Value: "0.2", Reason: "error_rate = 0.2, breaches > 0.05",
				Points: []evidence.GuardPoint{{At: breachAt, Value: &v}}}, nil
		})
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).After(time.Hour).Return(okResult(nil), nil)
	in := input([]playbooks.Step{httpStep("failover"), probeStep("restored", "failover")}, httpStep("failback"))
	in.Playbook.Guards = []playbooks.Guard{{ID: "standby-errors", Interval: dur(5 * time.Second),
		Prometheus: &playbooks.PrometheusCheck{URL: "http://prom", Query: "error_rate", BreachIf: "> 0.05"}}}
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.Error(t, err)
	assert.Equal(t, evidence.StatusAborted, rec.Status)
	assert.Equal(t, "guard standby-errors", rec.AbortedBy)
	assert.Contains(t, rec.Reason, `guard "standby-errors" breached`)
	require.Len(t, rec.Guards, 1)
	g := rec.Guards[0]
	assert.True(t, g.Breached)
	assert.Equal(t, "0.2", g.Value)
	assert.True(t, breachAt.Equal(*g.At))
	assert.Len(t, g.Points, 2, "its series is kept for the report")
	assert.Equal(t, evidence.StepCancelled, stepRec(t, rec, "restored").Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "failback").Status, "what ran is compensated")
	assert.Less(t, rec.EndedAt.Sub(rec.StartedAt), 10*time.Minute, "the drill stopped at the breach, not at the probe's end")
}

// A rehearsal runs what reads and describes what writes: the failover is
// not sent (its exact request is recorded, the secret as a reference), the
// gate and the page say who, the probe takes its first check, and nothing
// is compensated.
func TestDrill_RehearsalDescribesActionsAndRunsReads(t *testing.T) {
	env := newEnv(t)
	env.RegisterActivity(&fakePager{})
	var probes atomic.Int32
	env.OnActivity("RunProbe", mock.Anything, mock.Anything).Return(func(_ context.Context, in steps.Input) (*steps.Result, error) {
		probes.Add(1)
		return okResult(nil), nil
	})
	env.OnActivity(steps.ActivityNotify, mock.Anything, mock.Anything).Return(&steps.NotifyResult{}, nil)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(func(_ context.Context, in steps.Input) (*steps.Result, error) {
		t.Errorf("a rehearsal sent %s", in.Step.ID)
		return okResult(nil), nil
	})
	fo := httpStep("failover", "go-no-go")
	fo.HTTP.Headers = map[string]string{"Authorization": "Bearer ${env:TOKEN}"}
	in := input([]playbooks.Step{approvalStep("go-no-go"), fo, probeStep("restored", "failover")}, httpStep("failback"))
	in.Rehearse = true
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	assert.True(t, rec.Rehearsal)
	assert.Equal(t, VerdictRehearsal, rec.Verdict)
	f := stepRec(t, rec, "failover")
	assert.Equal(t, StepRehearsed, f.Status)
	would := f.Output["wouldSend"].(map[string]any)
	assert.Equal(t, "http://primary/failover", would["url"])
	assert.Equal(t, "Bearer ${env:TOKEN}", would["headers"].(map[string]any)["Authorization"], "secrets shown as references")
	assert.Equal(t, StepRehearsed, stepRec(t, rec, "go-no-go").Status)
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "restored").Status)
	assert.EqualValues(t, 1, probes.Load(), "the probe's first check only")
	assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failback").Status, "nothing ran, nothing to compensate")
}
