package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/schedule/scheduletest"
)

// stored builds a spec and returns it as the server describes it.
func stored(t *testing.T, s Spec) *client.ScheduleSpec {
	t.Helper()
	built, err := s.Build()
	require.NoError(t, err)
	return scheduletest.Canonical(built)
}

func TestSpecOf_ReadsBackWhatBuildMade(t *testing.T) {
	for _, s := range []Spec{
		{Calendar: Quarterly, Day: 15, At: "10:30", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute},
		{Calendar: Monthly, Day: 1, At: "09:00", TZ: "UTC"},
		{Calendar: Weekly, Weekdays: []string{"tue", "thu"}, At: "07:05", TZ: "Europe/London"},
		{Cron: "0 2 1 * *", TZ: "Europe/London", Skip: []string{"2026-12-30..2027-01-02", "2027-04-05"}},
	} {
		got, ok := specOf(stored(t, s))
		assert.True(t, ok, "%+v", s)
		assert.Equal(t, s, got)
	}
	_, ok := specOf(&client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{Comment: "made in the Web UI"}}})
	assert.False(t, ok, "a calendar drillctl did not make is not guessed at")
}

func TestWords_CronAsTheServerStoresIt(t *testing.T) {
	s := stored(t, Spec{Cron: "0 2 1 * *", TZ: "Europe/London"})
	assert.Empty(t, s.CronExpressions, "the server keeps cron as a calendar")
	assert.Equal(t, `cron "0 2 1 * *" Europe/London`, Words(s))
}

func TestSkipDates_ConsecutiveDaysReadBackAsRanges(t *testing.T) {
	s := stored(t, Spec{Calendar: Quarterly, Skip: []string{"2026-12-30..2027-01-02", "2027-04-05", "2027-04-07"}})
	assert.Equal(t, []string{"2026-12-30..2027-01-02", "2027-04-05", "2027-04-07"}, skipDates(s.Skip))
	assert.Empty(t, skipDates(nil))
	other := []client.ScheduleCalendarSpec{{Month: []client.ScheduleRange{{Start: 12, End: 12}}, Comment: "no drills in December"}}
	assert.Equal(t, []string{"no drills in December"}, skipDates(other), "a skip made elsewhere is shown by its comment")
}

func TestSpecChange_KeepsWhatItDoesNotName(t *testing.T) {
	cur := stored(t, Spec{Calendar: Quarterly, Day: 15, At: "10:30", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute,
		Skip: []string{"2026-12-20..2027-01-03"}})
	for _, tc := range []struct {
		name   string
		change SpecChange
		want   Spec
	}{
		{"calendar", SpecChange{Spec: Spec{Calendar: Monthly}, Parts: []string{PartCalendar}},
			Spec{Calendar: Monthly, Day: 15, At: "10:30", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute, Skip: []string{"2026-12-20..2027-01-03"}}},
		{"weekly drops the day", SpecChange{Spec: Spec{Calendar: Weekly}, Parts: []string{PartCalendar}},
			Spec{Calendar: Weekly, Weekdays: []string{"mon"}, At: "10:30", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute, Skip: []string{"2026-12-20..2027-01-03"}}},
		{"cron drops the time", SpecChange{Spec: Spec{Cron: "0 2 1 * *"}, Parts: []string{PartCron}},
			Spec{Cron: "0 2 1 * *", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute, Skip: []string{"2026-12-20..2027-01-03"}}},
		{"at and zone", SpecChange{Spec: Spec{At: "08:00", TZ: "Europe/London"}, Parts: []string{PartAt, PartTZ}},
			Spec{Calendar: Quarterly, Day: 15, At: "08:00", TZ: "Europe/London", Jitter: 5 * time.Minute, Skip: []string{"2026-12-20..2027-01-03"}}},
		{"skip replaced", SpecChange{Spec: Spec{Skip: []string{"2027-02-01"}}, Parts: []string{PartSkip}},
			Spec{Calendar: Quarterly, Day: 15, At: "10:30", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute, Skip: []string{"2027-02-01"}}},
		{"skip removed", SpecChange{Parts: []string{PartSkip}},
			Spec{Calendar: Quarterly, Day: 15, At: "10:30", TZ: "Asia/Hong_Kong", Jitter: 5 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.change.Check())
			out, err := tc.change.apply(cur)
			require.NoError(t, err)
			got, ok := specOf(scheduletest.Canonical(out))
			require.True(t, ok)
			if len(got.Skip) == 0 {
				got.Skip = nil
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSpecChange_RefusesWhatDoesNotApply(t *testing.T) {
	cron := stored(t, Spec{Cron: "0 2 1 * *"})
	_, err := SpecChange{Spec: Spec{At: "09:00"}, Parts: []string{PartAt}}.apply(cron)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--at 09:00: a cron schedule takes its time from the expression ("0 2 1 * *")`)

	bad := SpecChange{Spec: Spec{TZ: "Mars/Olympus"}, Parts: []string{PartTZ}}
	assert.ErrorContains(t, bad.Check(), `--tz "Mars/Olympus"`, "checked before any schedule is read")
	assert.NoError(t, SpecChange{Spec: Spec{Weekdays: []string{"fri"}}, Parts: []string{PartWeekday}}.Check(),
		"a weekday may suit the schedule; apply decides")

	// Times made elsewhere are kept when only the skip dates change, and
	// cannot be half-changed.
	foreign := &client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{Comment: "made in the Web UI",
		Hour: []client.ScheduleRange{{Start: 6, End: 6, Step: 1}}}}, TimeZoneName: "Asia/Tokyo"}
	out, err := SpecChange{Spec: Spec{Skip: []string{"2027-01-01"}}, Parts: []string{PartSkip}}.apply(foreign)
	require.NoError(t, err)
	assert.Equal(t, foreign.Calendars, out.Calendars)
	assert.Equal(t, "Asia/Tokyo", out.TimeZoneName)
	assert.Len(t, out.Skip, 1)
	_, err = SpecChange{Spec: Spec{At: "09:00"}, Parts: []string{PartAt}}.apply(foreign)
	assert.ErrorContains(t, err, "--at: this schedule's times (calendar 06:00 Asia/Tokyo) were not made by drillctl; give --calendar or --cron too")
}
