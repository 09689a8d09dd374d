package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/schedule"
)

// nextQuarterStarts returns the next n instants of "day 1 of Jan, Apr, Jul,
// Oct at 09:00 in loc" after now, computed with Go's own time zone rules.
func nextQuarterStarts(now time.Time, loc *time.Location, n int) []time.Time {
	var out []time.Time
	for y := now.Year(); len(out) < n; y++ {
		for _, m := range []time.Month{time.January, time.April, time.July, time.October} {
			t := time.Date(y, m, 1, 9, 0, 0, 0, loc)
			if t.After(now) && len(out) < n {
				out = append(out, t.UTC())
			}
		}
	}
	return out
}

func describeSchedule(t *testing.T, name string) schedule.Summary {
	t.Helper()
	r := drillctl(t, "schedule", "describe", name, "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var s schedule.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	return s
}

func TestE2E_QuarterlySchedulesFallOnTheRightInstantsAcrossAYear(t *testing.T) {
	playbook := writePlaybook(t, simplePlaybook("http://127.0.0.1:1"))
	for _, tz := range []string{"Asia/Hong_Kong", "Europe/London"} {
		t.Run(tz, func(t *testing.T) {
			name := "quarterly-" + strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(tz, "/", "-"), "_", "-"))
			r := drillctl(t, "schedule", "create", name, "--playbook", playbook, "--calendar", "quarterly",
				"--day", "1", "--at", "09:00", "--tz", tz, "--output", "json")
			require.Equal(t, 0, r.code, r.stderr)
			t.Cleanup(func() { drillctl(t, "schedule", "delete", name) })
			loc, err := time.LoadLocation(tz)
			require.NoError(t, err)
			want := nextQuarterStarts(time.Now(), loc, 4)
			s := describeSchedule(t, name)
			require.GreaterOrEqual(t, len(s.NextRuns), 4, "a year of quarterly runs")
			assert.Equal(t, want, s.NextRuns[:4])
			assert.Equal(t, "e2e-failover", s.Playbook)
			assert.True(t, strings.HasPrefix(s.Digest, "sha256:"))
			assert.Equal(t, "quarterly (Jan, Apr, Jul, Oct), day 1, 09:00 "+tz, s.Spec)
			assert.Equal(t, "skip", s.Overlap)
		})
	}
	// London keeps summer time from late March to late October: 08:00 UTC then.
	london, _ := time.LoadLocation("Europe/London")
	july := time.Date(2027, time.July, 1, 9, 0, 0, 0, london)
	assert.Equal(t, 8, july.UTC().Hour())
}

func TestE2E_ScheduleSkipPauseTriggerAndRefusals(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 100*time.Millisecond)
	playbook := writePlaybook(t, simplePlaybook(p.srv.URL))
	loc, _ := time.LoadLocation("Asia/Hong_Kong")
	next := nextQuarterStarts(time.Now(), loc, 2)
	skip := next[0].In(loc).Format(time.DateOnly)

	r := drillctl(t, "schedule", "create", "chat-q", "--playbook", playbook, "--calendar", "quarterly",
		"--tz", "Asia/Hong_Kong", "--skip", skip, "--paused", "--note", "freeze", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	t.Cleanup(func() { drillctl(t, "schedule", "delete", "chat-q") })
	s := describeSchedule(t, "chat-q")
	assert.True(t, s.Paused)
	assert.Equal(t, "freeze", s.Note)

	un := drillctl(t, "schedule", "unpause", "chat-q", "--note", "freeze over", "--output", "json")
	require.Equal(t, 0, un.code, un.stderr)
	s = describeSchedule(t, "chat-q")
	assert.False(t, s.Paused)
	require.NotEmpty(t, s.NextRuns)
	assert.Equal(t, next[1], s.NextRuns[0], "the skipped date is gone; the next quarter is first")

	tr := drillctl(t, "schedule", "trigger", "chat-q")
	require.Equal(t, 0, tr.code, tr.stderr)
	var drillID string
	require.Eventually(t, func() bool {
		drillID = describeSchedule(t, "chat-q").LastDrill
		return drillID != ""
	}, 30*time.Second, 100*time.Millisecond, "the trigger started a drill")
	res := drillctl(t, "drill", "result", drillID, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	assert.Equal(t, "chat-q", rec.Schedule, "a scheduled drill carries its schedule's name")
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)

	for _, bad := range [][]string{
		{"--cron", "not a cron at all"},
		{"--calendar", "quarterly", "--tz", "Mars/Olympus"},
		{"--calendar", "fortnightly"},
	} {
		args := append([]string{"schedule", "create", "bad-one", "--playbook", playbook}, bad...)
		r := drillctl(t, args...)
		assert.Equal(t, 1, r.code, "%v: %s", bad, r.stdout)
		assert.NotEmpty(t, r.stderr)
	}
	broken := writePlaybook(t, "apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: x}\nsteps: []\n")
	r = drillctl(t, "schedule", "create", "bad-one", "--playbook", broken, "--calendar", "quarterly")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "a playbook needs at least one step")
	list := drillctl(t, "schedule", "list", "--output", "json")
	require.Equal(t, 0, list.code, list.stderr)
	assert.NotContains(t, list.stdout, "bad-one", "nothing was created")
}
