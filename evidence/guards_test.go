package evidence

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A guard that breached, the reconstitution steps and a rehearsal are all
// said in the report, with the guard's points drawn.
func TestReport_ShowsGuardsFinallyAndRehearsals(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	v1, v2 := 0.01, 0.2
	rec := Record{SchemaVersion: SchemaVersion, DrillID: "drill-g", Playbook: PlaybookRef{Name: "g"}, StartedAt: at,
		Status: StatusAborted, Verdict: StatusAborted, Rehearsal: true,
		Steps:   []StepRecord{{ID: "failover", Type: "http", Status: "rehearsed"}},
		Finally: []StepRecord{{ID: "fail-back", Type: "http", Status: StepSucceeded}},
		Guards: []GuardRecord{{ID: "standby-errors", Kind: "prometheus", Breached: true, At: &at, Value: "0.2",
			Reason: "standby_error_rate = 0.2, breaches > 0.05",
			Points: []GuardPoint{{At: at.Add(-time.Second), Value: &v1, OK: true}, {At: at, Value: &v2}}}}}
	md, err := RenderMarkdown(rec, RenderOptions{})
	require.NoError(t, err)
	text := string(md)
	assert.Contains(t, text, "standby-errors (prometheus): breached at")
	assert.Contains(t, text, "breaches > 0.05")
	assert.Contains(t, text, "fail-back (reconstitution)")
	assert.Contains(t, text, "Rehearsal: read-only steps ran for real")
	assert.Contains(t, text, "described, not run")
	page, err := RenderHTML(rec, RenderOptions{})
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(page), `<svg class="spark"`), "the guard's series is drawn")
	assert.Contains(t, string(page), `<polyline`)
}
