package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/schedule/scheduletest"
)

const quarterlyPlaybook = "../playbooks/examples/chat-platform-quarterly.yaml"

// fakeTemporal points the schedule commands at an in-memory Temporal for
// the test.
func fakeTemporal(t *testing.T) *scheduletest.Temporal {
	t.Helper()
	fake := scheduletest.New()
	fake.OnStart = holdsItsLock
	old := scheduleDial
	scheduleDial = func(*ucli.Context) (scheduleConn, error) { return fake, nil }
	t.Cleanup(func() { scheduleDial = old })
	return fake
}

// holdsItsLock makes a started drill answer as one a worker runs and that
// holds its playbook's lock.
func holdsItsLock(d *scheduletest.Drill) {
	d.Record = evidence.Record{DrillID: d.ID, Status: evidence.StatusRunning, Locks: []string{"chat-platform-quarterly"}}
}

// mustRun runs drillctl and requires exit 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	require.Equal(t, ExitOK, code, "drillctl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

func createQuarterly(t *testing.T, name string, extra ...string) {
	t.Helper()
	mustRun(t, append([]string{"schedule", "create", name, "--playbook", quarterlyPlaybook, "--calendar", "quarterly"}, extra...)...)
}

func TestScheduleTrigger_APausedScheduleStartsNothingUnlessToldSo(t *testing.T) {
	fake := fakeTemporal(t)
	started := 0
	fake.OnStart = func(d *scheduletest.Drill) { holdsItsLock(d); started++ }
	createQuarterly(t, "chat-q", "--paused", "--note", "change freeze")

	code, out, errOut := run(t, "schedule", "trigger", "chat-q")
	assert.Equal(t, ExitUsage, code, out)
	assert.Contains(t, errOut, "schedule chat-q is paused (change freeze): no drill started")
	assert.Contains(t, errOut, "drillctl schedule unpause chat-q")
	assert.Contains(t, errOut, "--even-if-paused")
	assert.Zero(t, started, "a paused schedule starts no drill")

	out = mustRun(t, "schedule", "trigger", "chat-q", "--even-if-paused")
	assert.Contains(t, out, "started drill drill-chat-platform-quarterly-chat-q-")
	assert.Equal(t, 1, started)
}

func TestScheduleTrigger_SaysWhetherItStartedOrSkippedADrill(t *testing.T) {
	fake := fakeTemporal(t)
	fake.Lag = 2 // the schedule acts on a trigger a moment later
	createQuarterly(t, "chat-q")

	var first struct {
		Schedule, Outcome, DrillID, RunningDrill string
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "schedule", "trigger", "chat-q", "--output", "json")), &first))
	assert.Equal(t, "chat-q", first.Schedule)
	assert.Equal(t, "started", first.Outcome)
	assert.True(t, strings.HasPrefix(first.DrillID, "drill-chat-platform-quarterly-chat-q-"), first.DrillID)

	out := mustRun(t, "schedule", "trigger", "chat-q")
	assert.Contains(t, out, "skipped")
	assert.Contains(t, out, "drill "+first.DrillID+" of this schedule is still running")

	var second map[string]any
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "schedule", "trigger", "chat-q", "-o", "json")), &second))
	assert.Equal(t, "skipped", second["outcome"])
	assert.Equal(t, first.DrillID, second["runningDrill"])
	assert.NotContains(t, second, "drillId")

	fake.Finish(first.DrillID)
	out = mustRun(t, "schedule", "trigger", "chat-q")
	assert.Regexp(t, `^schedule chat-q: started drill drill-chat-platform-quarterly-chat-q-\S+`, out)
	assert.NotContains(t, out, first.DrillID)
}

func TestScheduleTrigger_SaysWhenTheDrillItStartedWasRefusedByALock(t *testing.T) {
	fake := fakeTemporal(t)
	fake.OnStart = func(d *scheduletest.Drill) {
		d.Closed = true
		d.Record = evidence.Record{DrillID: d.ID, Status: evidence.StatusFailed,
			Reason: `refused: lock "chat-platform-quarterly" is held by drill drill-chat-platform-quarterly-1234`}
	}
	createQuarterly(t, "chat-q")
	code, out, errOut := run(t, "schedule", "trigger", "chat-q")
	assert.Equal(t, ExitDrillFail, code, out)
	assert.Contains(t, out, "started drill drill-chat-platform-quarterly-chat-q-")
	assert.Contains(t, errOut, `refused: lock "chat-platform-quarterly" is held by drill drill-chat-platform-quarterly-1234`)
}

func TestScheduleDescribeAndList_NextRunsInTheSchedulesOwnZone(t *testing.T) {
	fake := fakeTemporal(t)
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	// 09:00 in Hong Kong is 01:00 UTC; Temporal reports instants in UTC.
	fake.NextRuns = []time.Time{time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC), time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC)}
	createQuarterly(t, "chat-q", "--tz", "Asia/Hong_Kong")

	for _, args := range [][]string{{"schedule", "describe", "chat-q"}, {"schedule", "list"}} {
		out := mustRun(t, args...)
		assert.Contains(t, out, "next      Fri 2027-01-01 09:00 HKT, Thu 2027-04-01 09:00 HKT (Asia/Hong_Kong)", args)
		assert.NotContains(t, out, "01:00", args)
	}

	var s struct {
		TimeZone string   `json:"timeZone"`
		NextRuns []string `json:"nextRuns"`
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "schedule", "describe", "chat-q", "-o", "json")), &s))
	assert.Equal(t, "Asia/Hong_Kong", s.TimeZone)
	assert.Equal(t, []string{"2027-01-01T09:00:00+08:00", "2027-04-01T09:00:00+08:00"}, s.NextRuns)
	var all []struct {
		TimeZone string   `json:"timeZone"`
		NextRuns []string `json:"nextRuns"`
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "schedule", "list", "-o", "json")), &all))
	require.Len(t, all, 1)
	assert.Equal(t, s.NextRuns, all[0].NextRuns)
	for _, r := range all[0].NextRuns {
		when, err := time.Parse(time.RFC3339, r)
		require.NoError(t, err)
		assert.Equal(t, 9, when.In(hk).Hour())
	}
}

func TestScheduleDescribe_ShowsParamsAndSkipDates(t *testing.T) {
	fakeTemporal(t)
	createQuarterly(t, "chat-q", "--set", "primary=http://10.0.0.1:9101",
		"--skip", "2026-12-20..2027-01-03", "--skip", "2027-04-05")

	out := mustRun(t, "schedule", "describe", "chat-q")
	assert.Contains(t, out, "  params    primary=http://10.0.0.1:9101 (--set)\n")
	assert.Contains(t, out, "            standby=http://127.0.0.1:9102 (playbook)\n")
	assert.Contains(t, out, "  skip      2026-12-20..2027-01-03, 2027-04-05\n")

	var s struct {
		Params    map[string]string `json:"params"`
		SetParams []string          `json:"setParams"`
		Skip      []string          `json:"skip"`
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "schedule", "describe", "chat-q", "-o", "json")), &s))
	assert.Equal(t, map[string]string{"primary": "http://10.0.0.1:9101", "standby": "http://127.0.0.1:9102"}, s.Params)
	assert.Equal(t, []string{"primary"}, s.SetParams)
	assert.Equal(t, []string{"2026-12-20..2027-01-03", "2027-04-05"}, s.Skip)
}

func TestScheduleUpdate_KeepsWhatTheUserDidNotChange(t *testing.T) {
	fake := fakeTemporal(t)
	createQuarterly(t, "chat-q", "--day", "15", "--at", "10:30", "--tz", "Asia/Hong_Kong", "--jitter", "5m",
		"--skip", "2026-12-20..2027-01-03")

	mustRun(t, "schedule", "update", "chat-q", "--calendar", "monthly")
	spec := fake.Spec("chat-q")
	require.NotNil(t, spec)
	assert.Len(t, spec.Skip, 15, "the skip dates are kept")
	assert.Equal(t, "Asia/Hong_Kong", spec.TimeZoneName)
	assert.Equal(t, 5*time.Minute, spec.Jitter)
	require.Len(t, spec.Calendars, 1)
	assert.Equal(t, "monthly", spec.Calendars[0].Comment)
	assert.Equal(t, 15, spec.Calendars[0].DayOfMonth[0].Start, "the day is kept")
	assert.Equal(t, 10, spec.Calendars[0].Hour[0].Start, "the time is kept")
	assert.Equal(t, 30, spec.Calendars[0].Minute[0].Start)

	out := mustRun(t, "schedule", "update", "chat-q", "--at", "08:00")
	assert.Contains(t, out, "monthly, day 15, 08:00 Asia/Hong_Kong")
	assert.Contains(t, out, "skip      2026-12-20..2027-01-03")

	out = mustRun(t, "schedule", "update", "chat-q", "--skip", "2027-02-01")
	assert.Contains(t, out, "skip      2027-02-01\n", "--skip replaces the skip dates")
	out = mustRun(t, "schedule", "update", "chat-q", "--no-skip")
	assert.NotContains(t, out, "skip      ")
	assert.Empty(t, fake.Spec("chat-q").Skip)

	mustRun(t, "schedule", "update", "chat-q", "--cron", "0 2 1 * *")
	code, _, errOut := run(t, "schedule", "update", "chat-q", "--at", "09:00")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--at")
	assert.Contains(t, errOut, "cron")
}

func TestScheduleDelete_JSONAndTwiceInTheUsersWords(t *testing.T) {
	fakeTemporal(t)
	createQuarterly(t, "chat-q")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "schedule", "delete", "chat-q", "--output", "json")), &got))
	assert.Equal(t, map[string]any{"name": "chat-q", "deleted": true}, got)

	code, out, errOut := run(t, "schedule", "delete", "chat-q")
	assert.Equal(t, ExitUsage, code, out)
	assert.Equal(t, "drillctl: no schedule chat-q (already deleted? drillctl schedule list shows the schedules there are)\n", errOut)
}

func TestScheduleCommands_AMissingScheduleIsSaidInTheUsersWords(t *testing.T) {
	fakeTemporal(t)
	createQuarterly(t, "chat-q")
	mustRun(t, "schedule", "delete", "chat-q")
	for _, args := range [][]string{
		{"describe", "chat-q"}, {"pause", "chat-q"}, {"unpause", "chat-q"}, {"trigger", "chat-q"},
		{"update", "chat-q", "--at", "10:00"}, {"update", "chat-q", "--playbook", quarterlyPlaybook},
		{"backfill", "chat-q", "--from", "2026-10-01T00:00:00Z", "--to", "2026-10-02T00:00:00Z"},
		{"describe", "never-was"},
	} {
		code, _, errOut := run(t, append([]string{"schedule"}, args...)...)
		assert.Equal(t, ExitUsage, code, args)
		assert.Contains(t, errOut, "no schedule "+args[1]+" (", args)
		assert.NotContains(t, errOut, "workflow execution", args)
		assert.NotContains(t, errOut, "not found", args)
	}
	createQuarterly(t, "chat-q")
	code, _, errOut := run(t, "schedule", "create", "chat-q", "--playbook", quarterlyPlaybook, "--calendar", "monthly")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "schedule chat-q already exists")
}

func TestScheduleList_ASchedulesDeletedMeanwhileIsLeftOut(t *testing.T) {
	fake := fakeTemporal(t)
	fake.ListDeleted = true // visibility lags behind a delete
	createQuarterly(t, "chat-q")
	createQuarterly(t, "old-q")
	mustRun(t, "schedule", "delete", "old-q")
	out := mustRun(t, "schedule", "list")
	assert.Contains(t, out, "chat-q\n")
	assert.NotContains(t, out, "old-q")
}

func TestScheduleCommands_EveryOneHasOutputJSONAndRealExamples(t *testing.T) {
	app := NewApp(IO{})
	group := findCommand(app.Commands, "schedule")
	require.NotNil(t, group)
	flagRE := regexp.MustCompile(`\s--([a-z-]+)`)
	for _, cmd := range group.Subcommands {
		assert.True(t, hasFlag(cmd, "output"), "schedule %s: --output json", cmd.Name)
		var examples int
		for _, line := range strings.Split(cmd.Description, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "drillctl schedule "+cmd.Name) {
				continue
			}
			examples++
			for _, m := range flagRE.FindAllStringSubmatch(line, -1) {
				assert.True(t, hasFlag(cmd, m[1]), "schedule %s: its example uses --%s, which it does not have", cmd.Name, m[1])
			}
		}
		assert.NotZero(t, examples, "schedule %s: --help shows a real example", cmd.Name)
	}
	trigger := findCommand(group.Subcommands, "trigger")
	assert.Contains(t, trigger.Description, "drillctl schedule trigger chat-q --even-if-paused")
	pause := findCommand(group.Subcommands, "pause")
	assert.Contains(t, pause.Usage+pause.Description, "trigger")
}

func hasFlag(cmd *ucli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func TestScheduleUpdate_SetKeepsTheOtherParamsAndANewPlaybookKeepsTheSetValues(t *testing.T) {
	fakeTemporal(t)
	createQuarterly(t, "chat-q", "--set", "primary=http://10.0.0.1:9101")

	out := mustRun(t, "schedule", "update", "chat-q", "--set", "standby=http://10.0.0.2:9102")
	assert.Contains(t, out, "  params    primary=http://10.0.0.1:9101 (--set)\n            standby=http://10.0.0.2:9102 (--set)\n")

	code, out, errOut := run(t, "schedule", "update", "chat-q", "--playbook", quarterlyPlaybook, "--set", "primary=http://127.0.0.1:9101")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "  params    primary=http://127.0.0.1:9101 (playbook)\n            standby=http://10.0.0.2:9102 (--set)\n",
		"a new playbook keeps the --set values not changed")

	code, _, errOut = run(t, "schedule", "update", "chat-q", "--set", "nosuch=1")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `the playbook declares no param "nosuch"`)
}
