// Package schedule plans drills ahead on Temporal Schedules: quarterly,
// monthly or weekly at a local time (or a cron expression), never on skipped
// dates, never two drills of the same schedule at once. It turns a
// coordinator's words into a ScheduleSpec and back into words.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones work on machines without a zoneinfo database

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/workflows"
)

// Calendars a schedule may follow.
const (
	Quarterly = "quarterly"
	Monthly   = "monthly"
	Weekly    = "weekly"
)

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
	switch {
	case s.Cron != "" && s.Calendar != "":
		return out, errors.New("give --calendar or --cron, not both")
	case s.Cron != "":
		if len(strings.Fields(s.Cron)) < 5 && !strings.HasPrefix(s.Cron, "@") {
			return out, fmt.Errorf("--cron %q: expected five fields (minute hour day-of-month month day-of-week), like \"0 9 1 */3 *\"", s.Cron)
		}
		out.CronExpressions = []string{s.Cron}
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
		switch c.Comment {
		case Quarterly:
			parts = append(parts, fmt.Sprintf("quarterly (Jan, Apr, Jul, Oct), day %d, %s", first(c.DayOfMonth), when))
		case Monthly:
			parts = append(parts, fmt.Sprintf("monthly, day %d, %s", first(c.DayOfMonth), when))
		case Weekly:
			var days []string
			for _, r := range c.DayOfWeek {
				for name, n := range weekday {
					if n == r.Start {
						days = append(days, name)
					}
				}
			}
			parts = append(parts, fmt.Sprintf("weekly on %s, %s", strings.Join(days, ", "), when))
		default:
			parts = append(parts, fmt.Sprintf("calendar %s", when))
		}
	}
	for _, c := range s.CronExpressions {
		parts = append(parts, fmt.Sprintf("cron %q", c))
	}
	out := strings.Join(parts, "; ")
	if len(parts) == 0 {
		out = "custom spec"
	}
	out += " " + s.TimeZoneName
	if s.Jitter > 0 {
		out += fmt.Sprintf(", jitter up to %s", s.Jitter)
	}
	if n := len(s.Skip); n > 0 {
		out += fmt.Sprintf(", %d skipped days", n)
	}
	return out
}

func first(r []client.ScheduleRange) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start
}

// Plan is a schedule to create or update.
type Plan struct {
	Name     string
	Playbook *playbooks.Playbook
	Params   map[string]string
	Spec     Spec
	Paused   bool
	Note     string
}

// action is the drill a schedule starts: the playbook travels in the
// schedule, so a drill runs exactly the playbook that was scheduled.
func (p Plan) action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        "drill-" + p.Playbook.Metadata.Name + "-" + p.Name,
		Workflow:  workflows.DrillWorkflow,
		TaskQueue: workflows.TaskQueue,
		Args: []any{workflows.DrillInput{
			Playbook: *p.Playbook, Params: p.Params, Schedule: p.Name,
			Environment: evidence.Environment{DrillctlVersion: "schedule"},
		}},
		Memo: map[string]any{"playbook": p.Playbook.Metadata.Name, "digest": p.Playbook.Source.Digest, "schedule": p.Name},
	}
}

// Create creates the schedule; a bad spec or name creates nothing.
func Create(ctx context.Context, c client.Client, p Plan) error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("schedule name %q: expected lowercase letters, digits and dashes", p.Name)
	}
	spec, err := p.Spec.Build()
	if err != nil {
		return err
	}
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      p.Name,
		Spec:    spec,
		Action:  p.action(),
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Paused:  p.Paused,
		Note:    p.Note,
		Memo:    map[string]any{"drillctl": true},
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", p.Name, err)
	}
	return nil
}

// Summary is what `schedule list` and `describe` show of a schedule.
type Summary struct {
	Name         string      `json:"name"`
	Playbook     string      `json:"playbook"`
	Digest       string      `json:"digest"`
	Spec         string      `json:"spec"`
	Paused       bool        `json:"paused"`
	Note         string      `json:"note,omitempty"`
	Overlap      string      `json:"overlap"`
	NextRuns     []time.Time `json:"nextRuns"`
	Drills       int         `json:"drills"`
	Skipped      int         `json:"skippedOverlap"`
	LastDrill    string      `json:"lastDrill,omitempty"`
	LastStatus   string      `json:"lastStatus,omitempty"`
	LastVerdict  string      `json:"lastVerdict,omitempty"`
	RunningDrill string      `json:"runningDrill,omitempty"`
}

// Describe returns the summary of one schedule.
func Describe(ctx context.Context, c client.Client, name string) (*Summary, error) {
	d, err := c.ScheduleClient().GetHandle(ctx, name).Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", name, err)
	}
	s := &Summary{Name: name, Spec: Words(d.Schedule.Spec), NextRuns: []time.Time{},
		Drills: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap, Overlap: "skip"}
	if st := d.Schedule.State; st != nil {
		s.Paused, s.Note = st.Paused, st.Note
	}
	if d.Schedule.Policy != nil && d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		s.Overlap = strings.ToLower(strings.TrimPrefix(d.Schedule.Policy.Overlap.String(), "SCHEDULE_OVERLAP_POLICY_"))
	}
	for _, t := range d.Info.NextActionTimes {
		s.NextRuns = append(s.NextRuns, t.UTC())
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		if in, err := actionInput(a); err == nil {
			s.Playbook, s.Digest = in.Playbook.Metadata.Name, in.Playbook.Source.Digest
		}
	}
	if n := len(d.Info.RunningWorkflows); n > 0 {
		s.RunningDrill = d.Info.RunningWorkflows[n-1].WorkflowID
	}
	if n := len(d.Info.RecentActions); n > 0 {
		last := d.Info.RecentActions[n-1]
		if last.StartWorkflowResult != nil {
			s.LastDrill = last.StartWorkflowResult.WorkflowID
			s.LastStatus, s.LastVerdict = drillOutcome(ctx, c, s.LastDrill)
		}
	}
	return s, nil
}

// actionInput decodes the drill input a schedule holds (Describe returns
// it as a payload).
func actionInput(a *client.ScheduleWorkflowAction) (*workflows.DrillInput, error) {
	if len(a.Args) == 0 {
		return nil, errors.New("no input")
	}
	switch v := a.Args[0].(type) {
	case workflows.DrillInput:
		return &v, nil
	case *commonpb.Payload:
		var in workflows.DrillInput
		if err := converter.GetDefaultDataConverter().FromPayload(v, &in); err != nil {
			return nil, err
		}
		return &in, nil
	}
	return nil, fmt.Errorf("input of type %T", a.Args[0])
}

// drillOutcome reads a drill's status and verdict, as far as it has one.
func drillOutcome(ctx context.Context, c client.Client, id string) (string, string) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "unknown", ""
	}
	if desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return evidence.StatusRunning, ""
	}
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return strings.ToLower(strings.TrimPrefix(desc.WorkflowExecutionInfo.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")), ""
	}
	var rec evidence.Record
	if v.Get(&rec) != nil {
		return "unknown", ""
	}
	return rec.Status, rec.Verdict
}

// List summarises every schedule, by name.
func List(ctx context.Context, c client.Client) ([]Summary, error) {
	iter, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var names []string
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		names = append(names, e.ID)
	}
	sort.Strings(names)
	out := []Summary{}
	for _, n := range names {
		s, err := Describe(ctx, c, n)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// Update changes a schedule's spec, playbook or params; nil leaves a part as it is.
func Update(ctx context.Context, c client.Client, name string, spec *Spec, pb *playbooks.Playbook, params map[string]string) error {
	var built client.ScheduleSpec
	if spec != nil {
		var err error
		if built, err = spec.Build(); err != nil {
			return err
		}
	}
	return c.ScheduleClient().GetHandle(ctx, name).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			if spec != nil {
				sched.Spec = &built
			}
			if pb != nil || params != nil {
				a, ok := sched.Action.(*client.ScheduleWorkflowAction)
				if !ok {
					return nil, errors.New("the schedule does not start drills")
				}
				cur, err := actionInput(a)
				if err != nil {
					return nil, fmt.Errorf("read the scheduled drill: %w", err)
				}
				p := Plan{Name: name, Playbook: &cur.Playbook, Params: cur.Params}
				if pb != nil {
					p.Playbook = pb
				}
				if params != nil {
					p.Params = params
				}
				sched.Action = p.action()
			}
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		},
	})
}
