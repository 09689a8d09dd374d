package schedule

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/client"
)

// Parts of a spec a SpecChange may name; they are the flags' names.
const (
	PartCalendar = "calendar"
	PartCron     = "cron"
	PartAt       = "at"
	PartDay      = "day"
	PartWeekday  = "weekday"
	PartTZ       = "tz"
	PartJitter   = "jitter"
	PartSkip     = "skip"
)

// whenParts are the parts that say at which times drills run.
var whenParts = []string{PartCalendar, PartCron, PartAt, PartDay, PartWeekday}

// SpecChange changes the parts of a schedule's spec named in Parts, to
// their values in Spec, and keeps every other part as it is: changing the
// calendar keeps the time of day, the zone and the skip dates. An empty
// Skip named in Parts removes the skip dates.
type SpecChange struct {
	Spec
	Parts []string
}

func (ch SpecChange) has(part string) bool { return slices.Contains(ch.Parts, part) }

func (ch SpecChange) changesWhen() (string, bool) {
	for _, p := range whenParts {
		if ch.has(p) {
			return p, true
		}
	}
	return "", false
}

// over returns base with the change applied. A new calendar or cron drops
// what does not apply to it (weekdays off a weekly calendar, a day of the
// month on it, a time of day with cron).
func (ch SpecChange) over(base Spec) Spec {
	m := base
	switch {
	case ch.has(PartCron) && ch.has(PartCalendar):
		m.Cron, m.Calendar = ch.Cron, ch.Calendar // Build says: not both
	case ch.has(PartCron):
		m.Cron, m.Calendar, m.At, m.Day, m.Weekdays = ch.Cron, "", "", 0, nil
	case ch.has(PartCalendar):
		m.Calendar, m.Cron = ch.Calendar, ""
		if ch.Calendar == Weekly {
			m.Day = 0
		} else {
			m.Weekdays = nil
		}
	}
	if ch.has(PartAt) {
		m.At = ch.At
	}
	if ch.has(PartDay) {
		m.Day = ch.Day
	}
	if ch.has(PartWeekday) {
		m.Weekdays = ch.Weekdays
	}
	if ch.has(PartTZ) {
		m.TZ = ch.TZ
	}
	if ch.has(PartJitter) {
		m.Jitter = ch.Jitter
	}
	if ch.has(PartSkip) {
		m.Skip = ch.Skip
	}
	return m
}

// Check checks the change on its own, before any schedule is read: a bad
// zone, time, day or date is refused at once.
func (ch SpecChange) Check() error {
	base := Spec{Calendar: Quarterly}
	if ch.has(PartWeekday) {
		base.Calendar = Weekly
	}
	_, err := ch.over(base).Build()
	return err
}

// apply returns cur with the change applied; the parts the change does not
// name are kept exactly (even ones drillctl does not make, like a start
// date set elsewhere).
func (ch SpecChange) apply(cur *client.ScheduleSpec) (client.ScheduleSpec, error) {
	if cur == nil {
		cur = &client.ScheduleSpec{}
	}
	base, whenOK := specOf(cur)
	part, whenChanged := ch.changesWhen()
	if whenChanged && !whenOK && !ch.has(PartCalendar) && !ch.has(PartCron) {
		return client.ScheduleSpec{}, fmt.Errorf("--%s: this schedule's times (%s) were not made by drillctl; give --calendar or --cron too",
			part, Words(cur))
	}
	v := ch.over(base)
	if !whenChanged {
		// The times are kept as they are; a stand-in checks the other parts.
		v.Calendar, v.Cron, v.At, v.Day, v.Weekdays = Quarterly, "", "", 0, nil
	}
	if !ch.has(PartSkip) {
		v.Skip = nil // kept as they are
	}
	built, err := v.Build()
	if err != nil {
		return client.ScheduleSpec{}, err
	}
	out := *cur
	if whenChanged {
		out.Calendars, out.CronExpressions, out.Intervals = built.Calendars, built.CronExpressions, nil
	}
	if ch.has(PartTZ) {
		out.TimeZoneName = built.TimeZoneName
	}
	if ch.has(PartJitter) {
		out.Jitter = built.Jitter
	}
	if ch.has(PartSkip) {
		out.Skip = built.Skip
	}
	return out, nil
}
