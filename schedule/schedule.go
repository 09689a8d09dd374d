// Package schedule plans drills ahead on Temporal Schedules: quarterly,
// monthly or weekly at a local time (or a cron expression), never on skipped
// dates, never two drills of the same schedule at once. It turns a
// coordinator's words into a ScheduleSpec and back into words, and
// Temporal's answers into the coordinator's words (no schedule X, started
// drill Y, skipped: Z still runs). It parses no flags and prints nothing.
package schedule

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/workflows"
)

// Client is what this package needs of a Temporal client; a client.Client
// is one.
type Client interface {
	ScheduleClient() client.ScheduleClient
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

var _ Client = client.Client(nil)

// ErrNotFound is matched (errors.Is) by the error of an operation on a
// schedule that does not exist.
var ErrNotFound = errors.New("no such schedule")

// ErrExists is matched by the error of creating a schedule whose name is taken.
var ErrExists = errors.New("schedule exists")

// ErrPaused is matched by the error of starting drills on a paused schedule
// without saying to start them anyway.
var ErrPaused = errors.New("schedule paused")

// NotFoundError says a schedule does not exist (or no longer does).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return "no schedule " + e.Name }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// explain turns Temporal's answer about schedule name into the user's
// words: a schedule that does not exist is a NotFoundError, not
// "workflow execution already completed" (a deleted schedule's own workflow).
func explain(name, doing string, err error) error {
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return &NotFoundError{Name: name}
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		return fmt.Errorf("schedule %s already exists: %w", name, ErrExists)
	}
	return fmt.Errorf("%s schedule %s: %w", doing, name, err)
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
func Create(ctx context.Context, c Client, p Plan) error {
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
	return explain(p.Name, "create", err)
}

// Scheduled returns the drill a schedule starts: its playbook and params.
func Scheduled(ctx context.Context, c Client, name string) (*workflows.DrillInput, error) {
	d, err := c.ScheduleClient().GetHandle(ctx, name).Describe(ctx)
	if err != nil {
		return nil, explain(name, "read", err)
	}
	a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return nil, fmt.Errorf("schedule %s starts no drill", name)
	}
	in, err := actionInput(a)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: read its drill: %w", name, err)
	}
	return in, nil
}

// Overrides returns the params of a scheduled drill that differ from its
// playbook's own (the --set values), or nil.
func Overrides(in *workflows.DrillInput) map[string]string {
	var out map[string]string
	for k, v := range in.Params {
		if def, ok := in.Playbook.Params[k]; !ok || def != v {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
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
			return nil, fmt.Errorf("decode the drill input: %w", err)
		}
		return &in, nil
	}
	return nil, fmt.Errorf("input of type %T", a.Args[0])
}

// Change is what Update changes; a nil part is kept as it is.
type Change struct {
	Spec     *SpecChange
	Playbook *playbooks.Playbook
	// Params are the drill's params, whole (see Overrides to keep the
	// --set values of the current ones).
	Params map[string]string
}

// Update changes a schedule's spec, playbook or params, keeping what the
// change does not name.
func Update(ctx context.Context, c Client, name string, ch Change) error {
	err := c.ScheduleClient().GetHandle(ctx, name).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			if ch.Spec != nil {
				spec, err := ch.Spec.apply(sched.Spec)
				if err != nil {
					return nil, err
				}
				sched.Spec = &spec
			}
			if ch.Playbook != nil || ch.Params != nil {
				a, ok := sched.Action.(*client.ScheduleWorkflowAction)
				if !ok {
					return nil, errors.New("the schedule does not start drills")
				}
				cur, err := actionInput(a)
				if err != nil {
					return nil, fmt.Errorf("read the scheduled drill: %w", err)
				}
				p := Plan{Name: name, Playbook: &cur.Playbook, Params: cur.Params}
				if ch.Playbook != nil {
					p.Playbook = ch.Playbook
				}
				if ch.Params != nil {
					p.Params = ch.Params
				}
				sched.Action = p.action()
			}
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		},
	})
	return explain(name, "update", err)
}

// Pause pauses a schedule: no drill starts until it is unpaused (Trigger
// and Backfill refuse unless told to start one anyway).
func Pause(ctx context.Context, c Client, name, note string) error {
	return explain(name, "pause", c.ScheduleClient().GetHandle(ctx, name).Pause(ctx, client.SchedulePauseOptions{Note: note}))
}

// Unpause resumes a paused schedule.
func Unpause(ctx context.Context, c Client, name, note string) error {
	return explain(name, "unpause", c.ScheduleClient().GetHandle(ctx, name).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note}))
}

// Delete deletes a schedule; the drills it started are kept.
func Delete(ctx context.Context, c Client, name string) error {
	return explain(name, "delete", c.ScheduleClient().GetHandle(ctx, name).Delete(ctx))
}
