package workflows

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestDrill_ReplaysRecordedHistories replays histories of real drills run
// on the embedded server (regenerate them with the e2e package's
// -record-histories flag). A change to workflow code that would break
// running drills fails here: guard it with workflow.GetVersion.
func TestDrill_ReplaysRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.history.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(Drill, workflow.RegisterOptions{Name: DrillWorkflow})
			r.RegisterWorkflowWithOptions(Escalation, workflow.RegisterOptions{Name: EscalationWorkflow})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(quietLogger(), f))
		})
	}
}
