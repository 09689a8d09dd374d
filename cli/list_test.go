package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListFilter_QueryAsksTheServerWhatItCan(t *testing.T) {
	since := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		f           listFilter
		attrs       bool
		want        string
		needsAttrs  bool
		description string
	}{
		{listFilter{}, false, "WorkflowType = 'Drill'", false, "everything"},
		{listFilter{status: "running"}, false, "WorkflowType = 'Drill' AND ExecutionStatus = 'Running'", false, "running: the workflow's own status"},
		{listFilter{status: "completed", since: since}, false,
			"WorkflowType = 'Drill' AND ExecutionStatus = 'Completed' AND StartTime >= '2026-10-01T00:00:00Z'", false, "completed, since"},
		{listFilter{playbook: "chat", status: "aborted", verdict: "aborted"}, true,
			"WorkflowType = 'Drill' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed' AND DrillPlaybook = 'chat' AND " +
				"((DrillStatus = 'aborted' AND DrillVerdict = 'aborted') OR (ExecutionStatus != 'Running' AND (DrillStatus = 'running' OR DrillStatus IS NULL)))",
			true, "search attributes, and closed drills whose attributes still say running"},
		{listFilter{playbook: "chat"}, true, "WorkflowType = 'Drill' AND DrillPlaybook = 'chat'", true, "a playbook"},
		{listFilter{playbook: "chat", status: "failed", verdict: "failed"}, false,
			"WorkflowType = 'Drill' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed'", true, "without them: narrowed, the rest filtered here"},
	} {
		assert.Equal(t, tc.want, tc.f.query(tc.attrs), tc.description)
		assert.Equal(t, tc.needsAttrs, tc.f.needsAttributes(), tc.description)
	}
}

func TestListFilter_MatchFiltersRowsItself(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	row := listRow{DrillID: "drill-chat-1", Playbook: "chat", Status: "completed", Verdict: "missed", StartedAt: start}
	assert.True(t, listFilter{}.match(row))
	assert.True(t, listFilter{playbook: "chat", status: "completed", verdict: "missed", since: start}.match(row))
	assert.False(t, listFilter{playbook: "pg"}.match(row))
	assert.False(t, listFilter{verdict: "met"}.match(row))
	assert.False(t, listFilter{status: "aborted"}.match(row))
	assert.False(t, listFilter{since: start.Add(time.Second)}.match(row))
}

func TestParseSince(t *testing.T) {
	inZone(t, time.FixedZone("HKT", 8*3600))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                   now.AddDate(0, 0, -7),
		"12h":                  now.Add(-12 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"2026-10-01":           time.Date(2026, 10, 1, 0, 0, 0, 0, time.FixedZone("HKT", 8*3600)),
		"2026-10-01T00:00:00Z": time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: got %s, want %s", in, got, want)
	}
	_, err := parseSince("last tuesday", now)
	assert.ErrorContains(t, err, "expected a duration (7d, 12h), a date (2026-10-01) or an RFC 3339 instant")
}

func TestDrillList_BadFiltersAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--status", "done"}, `--status "done": expected one of running, completed, failed, aborted`},
		{[]string{"--verdict", "pass"}, `--verdict "pass": expected one of met, missed, incomplete, failed, aborted`},
		{[]string{"--since", "yesterday"}, `--since "yesterday": expected a duration`},
		{[]string{"--playbook", "x' OR 1=1"}, `a playbook name has no quotes`},
		{[]string{"--running", "--status", "completed"}, `--running and --status completed: choose one`},
	} {
		code, _, errOut := run(t, append([]string{"drill", "list", "--address", "127.0.0.1:1"}, tc.args...)...)
		assert.Equal(t, ExitUsage, code, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
	}
}
