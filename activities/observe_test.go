package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// drillsSeen is an Observer that keeps what it is told.
type drillsSeen struct {
	mu   sync.Mutex
	recs []*evidence.Record
}

func (d *drillsSeen) Drill(rec *evidence.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recs = append(d.recs, rec)
}

func TestObserve_ActivityLinesNameTheDrillAndStepAndTheObserverHearsOfEvidence(t *testing.T) {
	var logs bytes.Buffer
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	env := s.NewTestActivityEnvironment()
	seen := &drillsSeen{}
	a := newActivities(nil)
	a.Observer = seen
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{Observe(a), BoundOutputs(a)}})
	env.RegisterActivityWithOptions(func(ctx context.Context, in steps.Input) (*steps.Result, error) {
		activity.GetLogger(ctx).Info("probing", "url", "http://standby/health")
		return &steps.Result{}, nil
	}, activity.RegisterOptions{Name: "RunProbe"})
	env.RegisterActivityWithOptions(func(ctx context.Context, in steps.PageInput) error {
		return errors.New("503 from the pager")
	}, activity.RegisterOptions{Name: "SendPage"})
	env.RegisterActivityWithOptions(func(ctx context.Context, in steps.EvidenceInput) (*evidence.EvidenceRef, error) {
		return &evidence.EvidenceRef{Path: "/evidence/" + in.Record.DrillID}, nil
	}, activity.RegisterOptions{Name: steps.ActivityWriteEvidence})

	_, err := env.ExecuteActivity("RunProbe", steps.Input{DrillID: "drill-chat-1", Step: playbooks.Step{ID: "restored", Type: playbooks.StepProbe}})
	require.NoError(t, err)
	_, err = env.ExecuteActivity("SendPage", steps.PageInput{DrillID: "drill-chat-1", Step: "page"})
	require.Error(t, err)
	rec := evidence.Record{DrillID: "drill-chat-1", Status: evidence.StatusCompleted, Verdict: evidence.VerdictMet}
	_, err = env.ExecuteActivity(steps.ActivityWriteEvidence, steps.EvidenceInput{Record: rec})
	require.NoError(t, err)

	byMsg := map[string][]map[string]any{}
	for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &line), raw)
		byMsg[line["msg"].(string)] = append(byMsg[line["msg"].(string)], line)
	}
	require.Len(t, byMsg["probing"], 1, logs.String())
	probing := byMsg["probing"][0]
	assert.Equal(t, "drill-chat-1", probing["drill"], "the activity's own line")
	assert.Equal(t, "restored", probing["step"])
	assert.Equal(t, "RunProbe", probing["ActivityType"], "beside the SDK's own keys")
	require.Len(t, byMsg["activity completed"], 2)
	assert.Equal(t, "restored", byMsg["activity completed"][0]["step"])
	assert.Contains(t, byMsg["activity completed"][0], "seconds")
	assert.NotContains(t, byMsg["activity completed"][1], "step", "writing evidence is no step")
	require.Len(t, byMsg["activity failed"], 1)
	assert.Equal(t, "page", byMsg["activity failed"][0]["step"])
	assert.Contains(t, byMsg["activity failed"][0]["error"], "503 from the pager")
	assert.Len(t, byMsg["activity started"], 3, "at debug level")

	require.Len(t, seen.recs, 1, "the observer hears of the evidence once")
	assert.Equal(t, "drill-chat-1", seen.recs[0].DrillID)
	assert.Equal(t, evidence.VerdictMet, seen.recs[0].Verdict)
}
