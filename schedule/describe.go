package schedule

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/workflows"
)

// Summary is what `schedule list` and `describe` show of a schedule.
type Summary struct {
	Name     string `json:"name"`
	Playbook string `json:"playbook"`
	Digest   string `json:"digest"`
	// Params are the params the drill runs with: the playbook's, and the
	// --set values (named in SetParams).
	Params    map[string]string `json:"params,omitempty"`
	SetParams []string          `json:"setParams,omitempty"`
	Spec      string            `json:"spec"`
	// TimeZone is the zone the schedule's times are in; NextRuns are
	// given in it.
	TimeZone string `json:"timeZone"`
	// Skip holds the dates with no drill, consecutive days as ranges
	// (2026-12-20..2027-01-03).
	Skip         []string    `json:"skip,omitempty"`
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
func Describe(ctx context.Context, c Client, name string) (*Summary, error) {
	d, err := c.ScheduleClient().GetHandle(ctx, name).Describe(ctx)
	if err != nil {
		return nil, explain(name, "describe", err)
	}
	return summarise(ctx, c, name, d), nil
}

func summarise(ctx context.Context, c Client, name string, d *client.ScheduleDescription) *Summary {
	spec := d.Schedule.Spec
	s := &Summary{Name: name, Spec: Words(spec), TimeZone: zoneName(spec), NextRuns: []time.Time{},
		Drills: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap, Overlap: "skip"}
	if spec != nil {
		s.Skip = skipDates(spec.Skip)
	}
	if st := d.Schedule.State; st != nil {
		s.Paused, s.Note = st.Paused, st.Note
	}
	if d.Schedule.Policy != nil && d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		s.Overlap = strings.ToLower(strings.TrimPrefix(d.Schedule.Policy.Overlap.String(), "SCHEDULE_OVERLAP_POLICY_"))
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		loc, s.TimeZone = time.UTC, "UTC"
	}
	for _, t := range d.Info.NextActionTimes {
		s.NextRuns = append(s.NextRuns, t.In(loc))
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		if in, err := actionInput(a); err == nil {
			s.Playbook, s.Digest = in.Playbook.Metadata.Name, in.Playbook.Source.Digest
			if len(in.Params) > 0 {
				s.Params = in.Params
			}
			for k := range Overrides(in) {
				s.SetParams = append(s.SetParams, k)
			}
			sort.Strings(s.SetParams)
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
	return s
}

// drillOutcome reads a drill's status and verdict, as far as it has one.
func drillOutcome(ctx context.Context, c Client, id string) (string, string) {
	rec, status := drillRecord(ctx, c, id)
	if rec == nil {
		return status, ""
	}
	return rec.Status, rec.Verdict
}

// drillRecord returns a drill's live record (nil when it cannot be read)
// and its execution status in words.
func drillRecord(ctx context.Context, c Client, id string) (*evidence.Record, string) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, "unknown"
	}
	if desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, evidence.StatusRunning
	}
	status := strings.ToLower(strings.TrimPrefix(desc.WorkflowExecutionInfo.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return nil, status
	}
	var rec evidence.Record
	if v.Get(&rec) != nil {
		return nil, "unknown"
	}
	return &rec, status
}

// List summarises every schedule, by name. A schedule deleted while the
// list is made (the list of names lags behind a delete) is left out.
func List(ctx context.Context, c Client) ([]Summary, error) {
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
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}
