package schedule

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones work on machines without a zoneinfo database

	"go.temporal.io/sdk/client"
)

// Calendars a schedule may follow.
const (
	Quarterly = "quarterly"
	Monthly   = "monthly"
	Weekly    = "weekly"
)

// cronComment starts the comment Build gives a cron expression, so the
// expression can be read back: the server turns it into a calendar.
const cronComment = "cron "

// Spec is when drills run, as a coordinator says it.
type Spec struct {
	Calendar string        // quarterly, monthly or weekly; or empty with Cron
	Cron     string        // a cron expression instead of a calendar
	At       string        // HH:MM local time; default 09:00
	Day      int           // day of the month (quarterly, monthly); default 1
	Weekdays []string      // weekly: mon, tue, ...; default mon
	TZ       string        // IANA zone; default UTC
	Jitter   time.Duration // random delay up to this, so drills do not all start at once
	Skip     []string      // dates (2026-12-25) or ranges (2026-12-20..2027-01-03) with no drill
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	atRE    = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)
	weekday = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
	dayName = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// Build checks the spec and returns Temporal's form of it.
func (s Spec) Build() (client.ScheduleSpec, error) {
	var out client.ScheduleSpec
	tz := s.TZ
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return out, fmt.Errorf("--tz %q: not a time zone (try Asia/Hong_Kong, Europe/London, UTC)", s.TZ)
	}
	out.TimeZoneName = tz
	if s.Jitter < 0 {
		return out, fmt.Errorf("--jitter %s: expected a positive duration", s.Jitter)
	}
	out.Jitter = s.Jitter
	at := s.At
	if at == "" {
		at = "09:00"
	}
	m := atRE.FindStringSubmatch(at)
	if m == nil {
		return out, fmt.Errorf("--at %q: expected HH:MM, like 09:00", s.At)
	}
	hour, _ := strconv.Atoi(m[1])
	minute, _ := strconv.Atoi(m[2])
	day := s.Day
	if day == 0 {
		day = 1
	}
	if day < 1 || day > 28 {
		return out, fmt.Errorf("--day %d: expected 1 to 28, so every month has it", s.Day)
	}
	cal := client.ScheduleCalendarSpec{
		Second: []client.ScheduleRange{{Start: 0}},
		Minute: []client.ScheduleRange{{Start: minute}},
		Hour:   []client.ScheduleRange{{Start: hour}},
	}
	if len(s.Weekdays) > 0 && s.Calendar != Weekly {
		return out, fmt.Errorf("--weekday: only a --calendar weekly schedule runs on weekdays (this one: %s)", s.when())
	}
	if s.Day != 0 && (s.Calendar == Weekly || s.Cron != "") {
		return out, fmt.Errorf("--day %d: only a quarterly or monthly calendar has a day of the month (this one: %s)", s.Day, s.when())
	}
	switch {
	case s.Cron != "" && s.Calendar != "":
		return out, errors.New("give --calendar or --cron, not both")
	case s.Cron != "":
		if s.At != "" {
			return out, fmt.Errorf("--at %s: a cron schedule takes its time from the expression (%q); change --cron, or give --calendar", s.At, s.Cron)
		}
		if len(strings.Fields(s.Cron)) < 5 && !strings.HasPrefix(s.Cron, "@") {
			return out, fmt.Errorf("--cron %q: expected five fields (minute hour day-of-month month day-of-week), like \"0 9 1 */3 *\"", s.Cron)
		}
		cron := s.Cron
		if !strings.Contains(cron, "#") {
			cron += " #" + cronComment + s.Cron
		}
		out.CronExpressions = []string{cron}
	case s.Calendar == Quarterly:
		cal.DayOfMonth = []client.ScheduleRange{{Start: day}}
		cal.Month = []client.ScheduleRange{{Start: 1}, {Start: 4}, {Start: 7}, {Start: 10}}
		cal.Comment = Quarterly
		out.Calendars = []client.ScheduleCalendarSpec{cal}
	case s.Calendar == Monthly:
		cal.DayOfMonth = []client.ScheduleRange{{Start: day}}
		cal.Month = []client.ScheduleRange{{Start: 1, End: 12}}
		cal.Comment = Monthly
		out.Calendars = []client.ScheduleCalendarSpec{cal}
	case s.Calendar == Weekly:
		days := s.Weekdays
		if len(days) == 0 {
			days = []string{"mon"}
		}
		for _, d := range days {
			n, ok := weekday[strings.ToLower(d)[:min(3, len(d))]]
			if !ok {
				return out, fmt.Errorf("--weekday %q: expected mon, tue, wed, thu, fri, sat or sun", d)
			}
			cal.DayOfWeek = append(cal.DayOfWeek, client.ScheduleRange{Start: n})
		}
		cal.Comment = Weekly
		out.Calendars = []client.ScheduleCalendarSpec{cal}
	case s.Calendar == "":
		return out, errors.New("say when: --calendar quarterly|monthly|weekly, or --cron EXPR")
	default:
		return out, fmt.Errorf("--calendar %q: expected quarterly, monthly or weekly", s.Calendar)
	}
	for _, skip := range s.Skip {
		days, err := skipDays(skip)
		if err != nil {
			return out, err
		}
		for _, d := range days {
			out.Skip = append(out.Skip, client.ScheduleCalendarSpec{
				Year:       []client.ScheduleRange{{Start: d.Year()}},
				Month:      []client.ScheduleRange{{Start: int(d.Month())}},
				DayOfMonth: []client.ScheduleRange{{Start: d.Day()}},
				Hour:       []client.ScheduleRange{{Start: 0, End: 23}},
				Minute:     []client.ScheduleRange{{Start: 0, End: 59}},
				Second:     []client.ScheduleRange{{Start: 0, End: 59}},
				Comment:    "skip " + d.Format(time.DateOnly),
			})
		}
	}
	return out, nil
}

// when names the kind of times a spec follows, for messages.
func (s Spec) when() string {
	if s.Cron != "" {
		return fmt.Sprintf("cron %q", s.Cron)
	}
	if s.Calendar == "" {
		return "no calendar"
	}
	return s.Calendar
}

// skipDays expands a date or a range of dates (at most a year).
func skipDays(text string) ([]time.Time, error) {
	from, to, isRange := strings.Cut(text, "..")
	start, err := time.Parse(time.DateOnly, strings.TrimSpace(from))
	if err != nil {
		return nil, fmt.Errorf("--skip %q: expected a date like 2026-12-25 or a range like 2026-12-20..2027-01-03", text)
	}
	end := start
	if isRange {
		if end, err = time.Parse(time.DateOnly, strings.TrimSpace(to)); err != nil || end.Before(start) {
			return nil, fmt.Errorf("--skip %q: expected a range like 2026-12-20..2027-01-03, its end not before its start", text)
		}
	}
	if end.Sub(start) > 366*24*time.Hour {
		return nil, fmt.Errorf("--skip %q: a range covers at most a year", text)
	}
	var days []time.Time
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days, nil
}

// Words describes a spec for people: "quarterly, day 1, 09:00 Asia/Hong_Kong".
func Words(s *client.ScheduleSpec) string {
	if s == nil {
		return "no spec"
	}
	var parts []string
	for _, c := range s.Calendars {
		when := fmt.Sprintf("%02d:%02d", first(c.Hour), first(c.Minute))
		switch {
		case c.Comment == Quarterly:
			parts = append(parts, fmt.Sprintf("quarterly (Jan, Apr, Jul, Oct), day %d, %s", first(c.DayOfMonth), when))
		case c.Comment == Monthly:
			parts = append(parts, fmt.Sprintf("monthly, day %d, %s", first(c.DayOfMonth), when))
		case c.Comment == Weekly:
			parts = append(parts, fmt.Sprintf("weekly on %s, %s", strings.Join(weekdays(c.DayOfWeek), ", "), when))
		case strings.HasPrefix(c.Comment, cronComment):
			parts = append(parts, fmt.Sprintf("cron %q", strings.TrimPrefix(c.Comment, cronComment)))
		default:
			parts = append(parts, fmt.Sprintf("calendar %s", when))
		}
	}
	for _, c := range s.CronExpressions {
		expr, _, _ := strings.Cut(c, "#")
		parts = append(parts, fmt.Sprintf("cron %q", strings.TrimSpace(expr)))
	}
	for _, iv := range s.Intervals {
		parts = append(parts, fmt.Sprintf("every %s", iv.Every))
	}
	out := strings.Join(parts, "; ")
	if len(parts) == 0 {
		out = "custom spec"
	}
	out += " " + zoneName(s)
	if s.Jitter > 0 {
		out += fmt.Sprintf(", jitter up to %s", s.Jitter)
	}
	switch n := len(s.Skip); n {
	case 0:
	case 1:
		out += ", 1 skipped day"
	default:
		out += fmt.Sprintf(", %d skipped days", n)
	}
	return out
}

// zoneName is the spec's time zone; Temporal reads no zone as UTC.
func zoneName(s *client.ScheduleSpec) string {
	if s == nil || s.TimeZoneName == "" {
		return "UTC"
	}
	return s.TimeZoneName
}

// weekdays names the days of the week of ranges (a range may span days).
func weekdays(rs []client.ScheduleRange) []string {
	var days []string
	for _, r := range rs {
		end, step := max(r.End, r.Start), max(r.Step, 1)
		for n := r.Start; n <= end && n < 7; n += step {
			days = append(days, dayName[n])
		}
	}
	return days
}

func first(r []client.ScheduleRange) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start
}

// single returns the one value of ranges that hold exactly one.
func single(rs []client.ScheduleRange) (int, bool) {
	if len(rs) != 1 || (rs[0].End != 0 && rs[0].End != rs[0].Start) {
		return 0, false
	}
	return rs[0].Start, true
}

// skipDates reads back the skip dates Build made, joining consecutive days
// into ranges (2026-12-20..2027-01-03). A skip not made by drillctl is
// shown by its comment, or as "custom".
func skipDates(skips []client.ScheduleCalendarSpec) []string {
	var out []string
	var from, to time.Time
	flush := func() {
		switch {
		case from.IsZero():
		case from.Equal(to):
			out = append(out, from.Format(time.DateOnly))
		default:
			out = append(out, from.Format(time.DateOnly)+".."+to.Format(time.DateOnly))
		}
		from, to = time.Time{}, time.Time{}
	}
	for _, c := range skips {
		y, okY := single(c.Year)
		m, okM := single(c.Month)
		d, okD := single(c.DayOfMonth)
		if !okY || !okM || !okD || first(c.Hour) != 0 || len(c.Hour) != 1 || c.Hour[0].End != 23 {
			flush()
			out = append(out, cmpOr(c.Comment, "custom"))
			continue
		}
		day := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if !from.IsZero() && day.Equal(to.AddDate(0, 0, 1)) {
			to = day
			continue
		}
		flush()
		from, to = day, day
	}
	flush()
	return out
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// specOf reads back a spec Build made. whenOK is false when its times are
// not ones drillctl makes (a calendar made elsewhere): then only TZ, Jitter
// and Skip are read.
func specOf(s *client.ScheduleSpec) (spec Spec, whenOK bool) {
	if s == nil {
		return Spec{}, false
	}
	spec = Spec{TZ: zoneName(s), Jitter: s.Jitter, Skip: skipDates(s.Skip)}
	switch {
	case len(s.Calendars) == 0 && len(s.Intervals) == 0 && len(s.CronExpressions) == 1:
		expr, _, _ := strings.Cut(s.CronExpressions[0], "#")
		spec.Cron = strings.TrimSpace(expr)
		return spec, true
	case len(s.Calendars) != 1 || len(s.Intervals) != 0 || len(s.CronExpressions) != 0:
		return spec, false
	}
	c := s.Calendars[0]
	if strings.HasPrefix(c.Comment, cronComment) {
		spec.Cron = strings.TrimPrefix(c.Comment, cronComment)
		return spec, true
	}
	hour, okH := single(c.Hour)
	minute, okM := single(c.Minute)
	if !okH || !okM {
		return spec, false
	}
	spec.At = fmt.Sprintf("%02d:%02d", hour, minute)
	switch c.Comment {
	case Quarterly, Monthly:
		day, ok := single(c.DayOfMonth)
		if !ok {
			return spec, false
		}
		spec.Calendar, spec.Day = c.Comment, day
	case Weekly:
		spec.Calendar, spec.Weekdays = Weekly, weekdays(c.DayOfWeek)
	default:
		return spec, false
	}
	return spec, true
}
