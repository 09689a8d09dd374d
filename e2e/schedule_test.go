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

func utc(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.UTC()
	}
	return out
}

// trigger triggers a schedule and returns what the CLI says it did.
func trigger(t *testing.T, name string, args ...string) schedule.Triggered {
	t.Helper()
	r := drillctl(t, append([]string{"schedule", "trigger", name, "--output", "json"}, args...)...)
	var got schedule.Triggered
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), "code %d, stderr: %s", r.code, r.stderr)
	if got.Outcome == schedule.Refused {
		require.Equal(t, 4, r.code, r.stderr)
	} else {
		require.Equal(t, 0, r.code, r.stderr)
	}
	return got
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
			assert.Equal(t, want, utc(s.NextRuns[:4]))
			assert.Equal(t, tz, s.TimeZone)
			for _, run := range s.NextRuns {
				_, offset := run.Zone()
				_, want := run.In(loc).Zone()
				assert.Equal(t, want, offset, "next runs are given in the schedule's zone")
				assert.Equal(t, 9, run.Hour(), "09:00 local, as written")
			}
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
	assert.True(t, next[1].Equal(s.NextRuns[0]), "the skipped date is gone; the next quarter is first")
	assert.Equal(t, []string{skip}, s.Skip)

	tr := trigger(t, "chat-q")
	require.Equal(t, schedule.Started, tr.Outcome)
	drillID := tr.DrillID
	assert.Equal(t, drillID, describeSchedule(t, "chat-q").LastDrill)
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

// abortDrill aborts a drill and waits for it to end.
func abortDrill(t *testing.T, id string) {
	t.Helper()
	ab := drillctl(t, "drill", "abort", id, "--reason", "test over", "--as", "carol")
	require.Equal(t, 0, ab.code, ab.stderr)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	assert.Equal(t, 4, res.code, res.stderr)
}

func TestE2E_ScheduleTriggerSaysWhatItDidAndAPauseHolds(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 100*time.Millisecond)
	// A playbook of its own, so no other test's drill holds its lock.
	playbook := writePlaybook(t, strings.Replace(gatedPlaybook(p.srv.URL), "name: e2e-failover", "name: e2e-sched-gated", 1))
	r := drillctl(t, "schedule", "create", "gated-q", "--playbook", playbook, "--calendar", "quarterly",
		"--tz", "Asia/Hong_Kong", "--paused", "--note", "freeze", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	t.Cleanup(func() { drillctl(t, "schedule", "delete", "gated-q") })

	paused := drillctl(t, "schedule", "trigger", "gated-q")
	assert.Equal(t, 1, paused.code)
	assert.Contains(t, paused.stderr, "schedule gated-q is paused (freeze): no drill started; unpause it")
	assert.Zero(t, describeSchedule(t, "gated-q").Drills, "a paused schedule starts nothing")

	require.Equal(t, 0, drillctl(t, "schedule", "unpause", "gated-q").code)
	first := trigger(t, "gated-q")
	require.Equal(t, schedule.Started, first.Outcome, first)
	assert.True(t, strings.HasPrefix(first.DrillID, "drill-e2e-sched-gated-gated-q"), first.DrillID)
	waitForStep(t, first.DrillID, "go-no-go", evidence.StepWaiting)

	second := trigger(t, "gated-q")
	assert.Equal(t, schedule.Triggered{Schedule: "gated-q", Outcome: schedule.Skipped, RunningDrill: first.DrillID}, second)
	text := drillctl(t, "schedule", "trigger", "gated-q")
	require.Equal(t, 0, text.code, text.stderr)
	assert.Equal(t, "schedule gated-q: skipped, no drill started: drill "+first.DrillID+
		" of this schedule is still running (overlap policy: skip)\n", text.stdout)
	s := describeSchedule(t, "gated-q")
	assert.Equal(t, 1, s.Drills)
	assert.Equal(t, 2, s.Skipped)
	assert.Equal(t, first.DrillID, s.RunningDrill)
	abortDrill(t, first.DrillID)

	// A drill of the same playbook started by hand holds its lock: the
	// schedule's drill starts and is refused, and the trigger says so.
	start := drillctl(t, "drill", "run", playbook, "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	byHand := strings.TrimSpace(start.stdout)
	waitForStep(t, byHand, "go-no-go", evidence.StepWaiting)
	refused := trigger(t, "gated-q")
	assert.Equal(t, schedule.Refused, refused.Outcome, refused)
	assert.Contains(t, refused.Reason, "held by drill "+byHand)
	abortDrill(t, byHand)
}

func TestE2E_ScheduleUpdateKeepsWhatIsNotChangedAndMissingSchedulesAreSaidPlainly(t *testing.T) {
	playbook := writePlaybook(t, simplePlaybook("http://127.0.0.1:1"))
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	// The next 15th of a month at 10:30 in Hong Kong is skipped.
	now := time.Now().In(hk)
	next15 := time.Date(now.Year(), now.Month(), 15, 10, 30, 0, 0, hk)
	if !next15.After(now) {
		next15 = next15.AddDate(0, 1, 0)
	}
	skip := next15.Format(time.DateOnly)
	r := drillctl(t, "schedule", "create", "keep-q", "--playbook", playbook, "--calendar", "quarterly", "--day", "15",
		"--at", "10:30", "--tz", "Asia/Hong_Kong", "--skip", skip, "--set", "site=http://127.0.0.1:2", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	t.Cleanup(func() { drillctl(t, "schedule", "delete", "keep-q") })
	s := describeSchedule(t, "keep-q")
	assert.Equal(t, map[string]string{"site": "http://127.0.0.1:2"}, s.Params)
	assert.Equal(t, []string{"site"}, s.SetParams)
	assert.Equal(t, []string{skip}, s.Skip)

	up := drillctl(t, "schedule", "update", "keep-q", "--calendar", "monthly", "--output", "json")
	require.Equal(t, 0, up.code, up.stderr)
	require.NoError(t, json.Unmarshal([]byte(up.stdout), &s))
	assert.Equal(t, "monthly, day 15, 10:30 Asia/Hong_Kong, 1 skipped day", s.Spec)
	assert.Equal(t, []string{skip}, s.Skip, "the skip date is kept")
	assert.Equal(t, "http://127.0.0.1:2", s.Params["site"], "the params are kept")
	require.NotEmpty(t, s.NextRuns)
	assert.True(t, next15.AddDate(0, 1, 0).Equal(s.NextRuns[0]), "the skipped 15th is not run: %v", s.NextRuns[0])
	for _, run := range s.NextRuns {
		assert.Equal(t, "15 10:30", run.In(hk).Format("02 15:04"))
	}

	// A cron expression comes back from the server in words, and is kept
	// when only the zone changes.
	require.Equal(t, 0, drillctl(t, "schedule", "update", "keep-q", "--cron", "0 2 1 * *").code)
	tz := drillctl(t, "schedule", "update", "keep-q", "--tz", "Europe/London", "--output", "json")
	require.Equal(t, 0, tz.code, tz.stderr)
	require.NoError(t, json.Unmarshal([]byte(tz.stdout), &s))
	assert.Equal(t, `cron "0 2 1 * *" Europe/London, 1 skipped day`, s.Spec)
	at := drillctl(t, "schedule", "update", "keep-q", "--at", "09:00")
	assert.Equal(t, 1, at.code)
	assert.Contains(t, at.stderr, "a cron schedule takes its time from the expression")

	del := drillctl(t, "schedule", "delete", "keep-q", "--output", "json")
	require.Equal(t, 0, del.code, del.stderr)
	assert.JSONEq(t, `{"name": "keep-q", "deleted": true}`, del.stdout)
	again := drillctl(t, "schedule", "delete", "keep-q")
	assert.Equal(t, 1, again.code)
	assert.Equal(t, "drillctl: no schedule keep-q (already deleted? drillctl schedule list shows the schedules there are)\n", again.stderr)
	for _, args := range [][]string{{"describe"}, {"pause"}, {"trigger"}, {"update", "--at", "10:00"}} {
		r := drillctl(t, append([]string{"schedule", args[0], "keep-q"}, args[1:]...)...)
		assert.Equal(t, 1, r.code, args)
		assert.Contains(t, r.stderr, "no schedule keep-q (", args)
		assert.NotContains(t, r.stderr, "workflow execution", args)
		assert.NotContains(t, r.stderr, "not found", args)
	}
	list := drillctl(t, "schedule", "list", "--output", "json")
	require.Equal(t, 0, list.code, list.stderr)
	assert.NotContains(t, list.stdout, `"keep-q"`)
}
