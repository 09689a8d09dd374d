// Package scheduletest is an in-memory stand-in for the parts of Temporal
// the schedule package and the schedule commands use: Temporal Schedules
// and the drills they start. It answers the way the server does where tests
// depend on it (not-found errors, manual starts ignoring a pause, skipping a
// start while a drill of the schedule runs, range canonicalisation), so
// commands can be tested without a server. It must not grow business logic.
package scheduletest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Temporal holds schedules and drills in memory. It is a schedule.Client.
type Temporal struct {
	// NextRuns are the next action times every schedule reports.
	NextRuns []time.Time
	// Lag is how many describes a trigger takes to be acted on, as the
	// server's scheduler acts on it a moment later.
	Lag int
	// ListDeleted keeps deleted schedules in List, as a lagging visibility
	// store does.
	ListDeleted bool
	// OnStart, if set, is called with every drill a schedule starts.
	OnStart func(*Drill)

	mu        sync.Mutex
	schedules map[string]*sched
	deleted   map[string]bool
	drills    map[string]*Drill
	now       time.Time
}

// Drill is a drill a schedule started.
type Drill struct {
	ID     string
	Closed bool
	// Record is what the drill's status query returns (nil: no answer).
	Record any
}

type sched struct {
	desc    client.ScheduleDescription
	pending []enumspb.ScheduleOverlapPolicy // triggers not yet acted on
	lag     int
	// Backfills holds the windows backfilled.
	backfills []client.ScheduleBackfill
}

// New returns an empty Temporal.
func New() *Temporal {
	return &Temporal{schedules: map[string]*sched{}, deleted: map[string]bool{}, drills: map[string]*Drill{},
		now: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)}
}

// ScheduleClient returns the schedule client.
func (t *Temporal) ScheduleClient() client.ScheduleClient { return scheduleClient{t} }

// Finish ends a running drill.
func (t *Temporal) Finish(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.drills[id]; d != nil {
		d.Closed = true
	}
	for _, s := range t.schedules {
		run := s.desc.Info.RunningWorkflows[:0]
		for _, w := range s.desc.Info.RunningWorkflows {
			if w.WorkflowID != id {
				run = append(run, w)
			}
		}
		s.desc.Info.RunningWorkflows = run
	}
}

// Backfills returns the windows backfilled on a schedule.
func (t *Temporal) Backfills(name string) []client.ScheduleBackfill {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.schedules[name]; s != nil {
		return s.backfills
	}
	return nil
}

// Spec returns a schedule's spec as stored.
func (t *Temporal) Spec(name string) *client.ScheduleSpec {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.schedules[name]; s != nil {
		return s.desc.Schedule.Spec
	}
	return nil
}

// DescribeWorkflowExecution describes a drill.
func (t *Temporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.drills[id]
	if d == nil {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	st := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if d.Closed {
		st = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: st}}, nil
}

// QueryWorkflow answers a drill's status query with its Record.
func (t *Temporal) QueryWorkflow(_ context.Context, id, _, _ string, _ ...any) (converter.EncodedValue, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.drills[id]
	if d == nil {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	if d.Record == nil {
		return nil, errors.New("no worker answered the query")
	}
	b, err := json.Marshal(d.Record)
	if err != nil {
		return nil, err
	}
	return encoded(b), nil
}

type encoded []byte

func (e encoded) HasValue() bool    { return len(e) > 0 }
func (e encoded) Get(ptr any) error { return json.Unmarshal(e, ptr) }

// gone is the server's answer about a schedule that does not exist.
func (t *Temporal) gone(name string) error {
	if t.deleted[name] {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	return serviceerror.NewNotFound("schedule not found")
}

// act applies the triggers a schedule has been given, as the server's
// scheduler does: a manual start ignores a pause, and with the skip policy
// it is skipped while a drill of the schedule runs.
func (t *Temporal) act(s *sched) {
	for _, overlap := range s.pending {
		if overlap == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
			overlap = s.desc.Schedule.Policy.Overlap
		}
		if overlap == enumspb.SCHEDULE_OVERLAP_POLICY_SKIP && len(s.desc.Info.RunningWorkflows) > 0 {
			s.desc.Info.NumActionsSkippedOverlap++
			continue
		}
		t.now = t.now.Add(time.Second)
		a := s.desc.Schedule.Action.(*client.ScheduleWorkflowAction)
		d := &Drill{ID: a.ID + "-" + t.now.Format(time.RFC3339)}
		t.drills[d.ID] = d
		if t.OnStart != nil {
			t.OnStart(d)
		}
		w := client.ScheduleWorkflowExecution{WorkflowID: d.ID, FirstExecutionRunID: "run-" + d.ID}
		s.desc.Info.NumActions++
		s.desc.Info.RecentActions = append(s.desc.Info.RecentActions,
			client.ScheduleActionResult{ScheduleTime: t.now, ActualTime: t.now, StartWorkflowResult: &w})
		if !d.Closed {
			s.desc.Info.RunningWorkflows = append(s.desc.Info.RunningWorkflows, w)
		}
	}
	s.pending = nil
}

// Canonical returns the spec as the server stores it and describes it:
// ranges with End and Step filled in, cron expressions turned into
// calendars.
func Canonical(in client.ScheduleSpec) *client.ScheduleSpec {
	fix := func(rs []client.ScheduleRange) []client.ScheduleRange {
		out := make([]client.ScheduleRange, len(rs))
		for i, r := range rs {
			if r.End < r.Start {
				r.End = r.Start
			}
			if r.Step == 0 {
				r.Step = 1
			}
			out[i] = r
		}
		return out
	}
	cals := func(cs []client.ScheduleCalendarSpec) []client.ScheduleCalendarSpec {
		out := make([]client.ScheduleCalendarSpec, len(cs))
		for i, c := range cs {
			c.Second, c.Minute, c.Hour = fix(c.Second), fix(c.Minute), fix(c.Hour)
			c.DayOfMonth, c.Month, c.Year, c.DayOfWeek = fix(c.DayOfMonth), fix(c.Month), fix(c.Year), fix(c.DayOfWeek)
			out[i] = c
		}
		return out
	}
	in.Calendars, in.Skip = cals(in.Calendars), cals(in.Skip)
	// The server parses cron expressions into calendars, keeping only the
	// comment after "#" of the text; the fields are left out here.
	for _, cron := range in.CronExpressions {
		_, comment, _ := strings.Cut(cron, "#")
		in.Calendars = append(in.Calendars, client.ScheduleCalendarSpec{Comment: strings.TrimSpace(comment)})
	}
	in.CronExpressions = nil
	return &in
}

// payloads turns an action's arguments into payloads, as Describe returns them.
func payloads(a client.ScheduleAction) client.ScheduleAction {
	wa, ok := a.(*client.ScheduleWorkflowAction)
	if !ok {
		return a
	}
	cp := *wa
	cp.Args = nil
	for _, arg := range wa.Args {
		if p, ok := arg.(*commonpb.Payload); ok {
			cp.Args = append(cp.Args, p)
			continue
		}
		p, err := converter.GetDefaultDataConverter().ToPayload(arg)
		if err != nil {
			panic(fmt.Sprintf("scheduletest: encode the action's input: %v", err))
		}
		cp.Args = append(cp.Args, p)
	}
	return &cp
}

type scheduleClient struct{ t *Temporal }

func (c scheduleClient) Create(_ context.Context, o client.ScheduleOptions) (client.ScheduleHandle, error) {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.schedules[o.ID] != nil {
		return nil, temporal.ErrScheduleAlreadyRunning
	}
	delete(t.deleted, o.ID)
	t.schedules[o.ID] = &sched{desc: client.ScheduleDescription{Schedule: client.Schedule{
		Action: payloads(o.Action),
		Spec:   Canonical(o.Spec),
		Policy: &client.SchedulePolicies{Overlap: o.Overlap},
		State:  &client.ScheduleState{Paused: o.Paused, Note: o.Note},
	}}}
	return handle{t, o.ID}, nil
}

func (c scheduleClient) List(context.Context, client.ScheduleListOptions) (client.ScheduleListIterator, error) {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	var names []string
	for n := range t.schedules {
		names = append(names, n)
	}
	if t.ListDeleted {
		for n := range t.deleted {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return &iter{names: names}, nil
}

func (c scheduleClient) GetHandle(_ context.Context, id string) client.ScheduleHandle {
	return handle{c.t, id}
}

type iter struct{ names []string }

func (i *iter) HasNext() bool { return len(i.names) > 0 }
func (i *iter) Next() (*client.ScheduleListEntry, error) {
	n := i.names[0]
	i.names = i.names[1:]
	return &client.ScheduleListEntry{ID: n}, nil
}

type handle struct {
	t  *Temporal
	id string
}

func (h handle) GetID() string { return h.id }

// with runs f on the schedule, or returns the server's not-found error.
func (h handle) with(f func(*sched) error) error {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	s := h.t.schedules[h.id]
	if s == nil {
		return h.t.gone(h.id)
	}
	return f(s)
}

func (h handle) Delete(context.Context) error {
	return h.with(func(*sched) error {
		delete(h.t.schedules, h.id)
		h.t.deleted[h.id] = true
		return nil
	})
}

func (h handle) Backfill(_ context.Context, o client.ScheduleBackfillOptions) error {
	return h.with(func(s *sched) error {
		s.backfills = append(s.backfills, o.Backfill...)
		return nil
	})
}

func (h handle) Update(_ context.Context, o client.ScheduleUpdateOptions) error {
	var desc client.ScheduleDescription
	if err := h.with(func(s *sched) error { desc = s.desc; return nil }); err != nil {
		return err
	}
	desc.Schedule.Action = payloads(desc.Schedule.Action)
	up, err := o.DoUpdate(client.ScheduleUpdateInput{Description: desc})
	if errors.Is(err, temporal.ErrSkipScheduleUpdate) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.with(func(s *sched) error {
		if up.Schedule != nil {
			s.desc.Schedule.Action = payloads(up.Schedule.Action)
			if up.Schedule.Spec != nil {
				s.desc.Schedule.Spec = Canonical(*up.Schedule.Spec)
			}
			if up.Schedule.Policy != nil {
				s.desc.Schedule.Policy = up.Schedule.Policy
			}
			if up.Schedule.State != nil {
				s.desc.Schedule.State = up.Schedule.State
			}
		}
		return nil
	})
}

func (h handle) Describe(context.Context) (*client.ScheduleDescription, error) {
	var out client.ScheduleDescription
	err := h.with(func(s *sched) error {
		if len(s.pending) > 0 {
			if s.lag > 0 {
				s.lag--
			} else {
				h.t.act(s)
			}
		}
		out = s.desc
		out.Info.NextActionTimes = append([]time.Time(nil), h.t.NextRuns...)
		out.Info.RunningWorkflows = append([]client.ScheduleWorkflowExecution(nil), s.desc.Info.RunningWorkflows...)
		out.Info.RecentActions = append([]client.ScheduleActionResult(nil), s.desc.Info.RecentActions...)
		st := *s.desc.Schedule.State
		out.Schedule.State = &st
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (h handle) Trigger(_ context.Context, o client.ScheduleTriggerOptions) error {
	return h.with(func(s *sched) error {
		s.pending = append(s.pending, o.Overlap)
		s.lag = h.t.Lag
		return nil
	})
}

func (h handle) Pause(_ context.Context, o client.SchedulePauseOptions) error {
	return h.with(func(s *sched) error {
		s.desc.Schedule.State.Paused, s.desc.Schedule.State.Note = true, o.Note
		return nil
	})
}

func (h handle) Unpause(_ context.Context, o client.ScheduleUnpauseOptions) error {
	return h.with(func(s *sched) error {
		s.desc.Schedule.State.Paused, s.desc.Schedule.State.Note = false, o.Note
		return nil
	})
}

// Close does nothing: there is no connection.
func (t *Temporal) Close() {}
