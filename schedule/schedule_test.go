package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

func TestBuild_QuarterlyAtALocalTime(t *testing.T) {
	spec, err := Spec{Calendar: Quarterly, Day: 2, At: "09:30", TZ: "Asia/Hong_Kong"}.Build()
	require.NoError(t, err)
	require.Len(t, spec.Calendars, 1)
	c := spec.Calendars[0]
	assert.Equal(t, []client.ScheduleRange{{Start: 1}, {Start: 4}, {Start: 7}, {Start: 10}}, c.Month)
	assert.Equal(t, []client.ScheduleRange{{Start: 2}}, c.DayOfMonth)
	assert.Equal(t, []client.ScheduleRange{{Start: 9}}, c.Hour)
	assert.Equal(t, []client.ScheduleRange{{Start: 30}}, c.Minute)
	assert.Equal(t, "Asia/Hong_Kong", spec.TimeZoneName)
	assert.Equal(t, "quarterly (Jan, Apr, Jul, Oct), day 2, 09:30 Asia/Hong_Kong", Words(&spec))
}

func TestBuild_WeeklyMonthlyCronAndSkips(t *testing.T) {
	w, err := Spec{Calendar: Weekly, Weekdays: []string{"tue", "Thursday"}, At: "7:05"}.Build()
	require.NoError(t, err)
	assert.Equal(t, []client.ScheduleRange{{Start: 2}, {Start: 4}}, w.Calendars[0].DayOfWeek)
	assert.Equal(t, "weekly on tue, thu, 07:05 UTC", Words(&w))

	m, err := Spec{Calendar: Monthly, Day: 15, Jitter: 10 * time.Minute, Skip: []string{"2026-12-30..2027-01-02"}}.Build()
	require.NoError(t, err)
	assert.Len(t, m.Skip, 4)
	assert.Equal(t, []client.ScheduleRange{{Start: 2027}}, m.Skip[3].Year)
	assert.Equal(t, []client.ScheduleRange{{Start: 0, End: 23}}, m.Skip[3].Hour, "the whole day is skipped")
	assert.Equal(t, "monthly, day 15, 09:00 UTC, jitter up to 10m0s, 4 skipped days", Words(&m))

	c, err := Spec{Cron: "0 9 1 */3 *", TZ: "Europe/London"}.Build()
	require.NoError(t, err)
	assert.Equal(t, []string{"0 9 1 */3 * #cron 0 9 1 */3 *"}, c.CronExpressions, "the comment keeps the expression readable")
	assert.Equal(t, `cron "0 9 1 */3 *" Europe/London`, Words(&c))
}

func TestBuild_RefusesWhatItCannotSchedule(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{}, "say when"},
		{Spec{Calendar: "yearly"}, `--calendar "yearly": expected quarterly, monthly or weekly`},
		{Spec{Calendar: Quarterly, Cron: "0 9 * * *"}, "not both"},
		{Spec{Calendar: Quarterly, TZ: "Mars/Olympus"}, `--tz "Mars/Olympus": not a time zone`},
		{Spec{Calendar: Quarterly, At: "9am"}, `--at "9am": expected HH:MM`},
		{Spec{Calendar: Quarterly, Day: 31}, "--day 31: expected 1 to 28"},
		{Spec{Calendar: Weekly, Weekdays: []string{"someday"}}, `--weekday "someday"`},
		{Spec{Cron: "every day"}, "expected five fields"},
		{Spec{Calendar: Quarterly, Skip: []string{"25/12/2026"}}, `--skip "25/12/2026": expected a date`},
		{Spec{Calendar: Quarterly, Skip: []string{"2027-01-05..2026-12-20"}}, "its end not before its start"},
		{Spec{Cron: "0 2 1 * *", At: "09:00"}, `--at 09:00: a cron schedule takes its time from the expression ("0 2 1 * *")`},
		{Spec{Cron: "0 2 1 * *", Day: 3}, `--day 3: only a quarterly or monthly calendar has a day of the month (this one: cron "0 2 1 * *")`},
		{Spec{Calendar: Weekly, Day: 3}, "--day 3: only a quarterly or monthly calendar has a day of the month (this one: weekly)"},
		{Spec{Calendar: Monthly, Weekdays: []string{"tue"}}, "--weekday: only a --calendar weekly schedule runs on weekdays (this one: monthly)"},
	} {
		_, err := tc.spec.Build()
		require.Error(t, err, "%+v", tc.spec)
		assert.Contains(t, err.Error(), tc.want)
	}
}
