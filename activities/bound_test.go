package activities

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// An 800 KB answer would push the drill record past Temporal's payload
// limits and wedge the drill: the output reaches the workflow bounded, and
// says where the whole answer went.
func TestBoundOutputs_TruncatesALargeAnswerAndSaysSo(t *testing.T) {
	big := `{"status":"ok","blob":"` + strings.Repeat("x", 800<<10) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, big)
	}))
	defer srv.Close()
	a := newActivities(nil)
	a.Evidence = &evidence.Store{Dir: t.TempDir()}
	env := newActivityEnv(a)
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{BoundOutputs(a)}})
	step, err := playbooks.RenderStep(playbooks.Step{ID: "big", Type: playbooks.StepHTTP,
		HTTP: &playbooks.HTTPStep{URL: srv.URL}}, playbooks.TemplateData{})
	require.NoError(t, err)
	v, err := env.ExecuteActivity("RunHTTP", steps.Input{DrillID: "drill-x", Step: step, Attempt: 1})
	require.NoError(t, err)
	var res steps.Result
	require.NoError(t, v.Get(&res))
	raw, err := json.Marshal(res.Output)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(raw), playbooks.MaxOutputBytes, "the output is bounded")
	assert.EqualValues(t, 200, res.Output["status"], "small fields stay readable by later steps")
	note, ok := res.Output["truncated"].(map[string]any)
	require.True(t, ok, "the record says the output was truncated: %v", res.Output["truncated"])
	assert.Greater(t, note["bytes"], float64(playbooks.MaxOutputBytes))

	step.MaxOutput = 1 << 20
	v, err = env.ExecuteActivity("RunHTTP", steps.Input{DrillID: "drill-x", Step: step, Attempt: 2})
	require.NoError(t, err)
	var whole steps.Result
	require.NoError(t, v.Get(&whole))
	assert.Nil(t, whole.Output["truncated"], "maxOutput raises the bound for one step")
}
