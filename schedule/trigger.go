package schedule

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/workflows"
)

// PausedError says a schedule is paused, so no drill was started.
type PausedError struct {
	Name string
	Note string // the pause's note, if any
}

func (e *PausedError) Error() string {
	note := ""
	if e.Note != "" {
		note = " (" + e.Note + ")"
	}
	return fmt.Sprintf("schedule %s is paused%s: no drill started", e.Name, note)
}

// Is makes errors.Is(err, ErrPaused) true.
func (e *PausedError) Is(target error) bool { return target == ErrPaused }

// Outcomes of a trigger.
const (
	// Started: the schedule started a drill.
	Started = "started"
	// Skipped: a drill of the schedule still runs, so none was started
	// (the overlap policy skip).
	Skipped = "skipped"
	// Refused: the drill started, then refused to run (a lock held by
	// another drill of the playbook, a signature it lacks).
	Refused = "refused"
	// Pending: the schedule had not acted on the trigger when Trigger
	// stopped waiting.
	Pending = "pending"
)

// TriggerOptions says how to trigger a schedule.
type TriggerOptions struct {
	// EvenIfPaused starts a drill on a paused schedule; without it a
	// paused schedule refuses (PausedError), as pausing promises.
	EvenIfPaused bool
	// Wait bounds the wait for the schedule to start or skip the drill
	// (default 30s).
	Wait time.Duration
	// Settle bounds the wait for a started drill to take its locks or be
	// refused (default 5s).
	Settle time.Duration
	// Poll is the interval between looks (default 200ms).
	Poll time.Duration
}

// Triggered says what a trigger did.
type Triggered struct {
	Schedule string `json:"schedule"`
	// Outcome is started, skipped, refused or pending.
	Outcome string `json:"outcome"`
	// DrillID is the drill started (started, refused).
	DrillID string `json:"drillId,omitempty"`
	// RunningDrill is the drill of the schedule that still runs (skipped).
	RunningDrill string `json:"runningDrill,omitempty"`
	// Reason says why a started drill was refused.
	Reason string `json:"reason,omitempty"`
	// Note says what is not known yet: a started drill no worker has
	// answered for.
	Note string `json:"note,omitempty"`
}

// Trigger asks the schedule to start its drill now, under its overlap
// policy (skip: none while one of its drills runs), and waits to say what
// happened: started (with the drill), skipped (with the drill that still
// runs), refused (the started drill refused itself), or pending.
func Trigger(ctx context.Context, c Client, name string, opt TriggerOptions) (*Triggered, error) {
	opt = opt.defaults()
	h := c.ScheduleClient().GetHandle(ctx, name)
	before, err := h.Describe(ctx)
	if err != nil {
		return nil, explain(name, "trigger", err)
	}
	if err := checkPaused(name, before, opt.EvenIfPaused); err != nil {
		return nil, err
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
		return nil, explain(name, "trigger", err)
	}
	out := &Triggered{Schedule: name, Outcome: Pending}
	deadline := time.Now().Add(opt.Wait)
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			return nil, explain(name, "trigger", err)
		}
		switch {
		case d.Info.NumActions > before.Info.NumActions:
			out.Outcome, out.DrillID = Started, lastStarted(d.Info.RecentActions)
			if out.DrillID != "" {
				settle(ctx, c, out, opt)
			}
			return out, nil
		case d.Info.NumActionsSkippedOverlap > before.Info.NumActionsSkippedOverlap:
			out.Outcome = Skipped
			if n := len(d.Info.RunningWorkflows); n > 0 {
				out.RunningDrill = d.Info.RunningWorkflows[n-1].WorkflowID
			}
			return out, nil
		}
		if !time.Now().Before(deadline) || sleep(ctx, opt.Poll) != nil {
			return out, nil
		}
	}
}

func (o TriggerOptions) defaults() TriggerOptions {
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 5 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	return o
}

func checkPaused(name string, d *client.ScheduleDescription, evenIfPaused bool) error {
	if st := d.Schedule.State; st != nil && st.Paused && !evenIfPaused {
		return &PausedError{Name: name, Note: st.Note}
	}
	return nil
}

// lastStarted returns the drill the newest action started.
func lastStarted(actions []client.ScheduleActionResult) string {
	for i := len(actions) - 1; i >= 0; i-- {
		if r := actions[i].StartWorkflowResult; r != nil {
			return r.WorkflowID
		}
	}
	return ""
}

// settle waits, up to opt.Settle, for a started drill to hold its locks or
// to be refused, and marks out refused if it was. A drill that has not
// said by then stays started, with a note when no worker answered for it.
func settle(ctx context.Context, c Client, out *Triggered, opt TriggerOptions) {
	deadline := time.Now().Add(opt.Settle)
	for {
		rec, status := liveRecord(ctx, c, out.DrillID, opt.Poll*5)
		switch {
		case rec != nil && rec.Status == evidence.StatusFailed && strings.HasPrefix(rec.Reason, "refused"):
			out.Outcome, out.Reason = Refused, rec.Reason
			return
		case rec != nil && len(rec.Locks) > 0, status != evidence.StatusRunning && status != "unknown":
			return // it holds its locks, or it ended otherwise
		}
		if !time.Now().Before(deadline) || sleep(ctx, opt.Poll) != nil {
			if rec == nil {
				out.Note = "no worker has answered for the drill yet: is one running? (drillctl worker)"
			}
			return
		}
	}
}

// liveRecord queries a drill's record, running or not, waiting at most
// timeout for a worker to answer.
func liveRecord(ctx context.Context, c Client, id string, timeout time.Duration) (*evidence.Record, string) {
	rec, status := drillRecord(ctx, c, id)
	if status != evidence.StatusRunning {
		return rec, status
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, "", workflows.QueryStatus)
	if err != nil {
		return nil, status
	}
	var r evidence.Record
	if v.Get(&r) != nil {
		return nil, status
	}
	return &r, status
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backfill starts the drills the schedule would have started between from
// and to (under its overlap policy: one at a time). A paused schedule
// refuses unless evenIfPaused.
func Backfill(ctx context.Context, c Client, name string, from, to time.Time, evenIfPaused bool) error {
	if !to.After(from) {
		return fmt.Errorf("backfill %s: the window's end %s is not after its start %s", name, to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	h := c.ScheduleClient().GetHandle(ctx, name)
	d, err := h.Describe(ctx)
	if err != nil {
		return explain(name, "backfill", err)
	}
	if err := checkPaused(name, d, evenIfPaused); err != nil {
		return err
	}
	err = h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{
		{Start: from, End: to, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}}})
	return explain(name, "backfill", err)
}
