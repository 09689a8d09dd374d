package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/steps"
)

// A drill's guard is a workflow that outlives the drill: the drill starts it
// first, as a child that is abandoned (not closed) when the drill closes.
// It holds the drill's locks (one LockHolder child per lock, whose fixed
// workflow id makes Temporal refuse a second holder, across workers and
// machines) and watches the drill: when the drill ends normally it lets go;
// when the drill was terminated (or timed out) from outside, which skips
// the drill's own compensation and evidence, the guard runs them.
const (
	// GuardWorkflow is the registered name of the guard workflow.
	GuardWorkflow = "DrillGuard"
	// LockWorkflow is the registered name of the lock holder workflow.
	LockWorkflow = "DrillLock"
	// SignalGuard is sent by a guard to its drill (GuardReport).
	SignalGuard = "guard"
	// SignalRelease is sent by a drill to its guard when it has ended.
	SignalRelease = "release"
	// lockRetry is how often a drill that waits for a lock tries again.
	lockRetry = 2 * time.Second
	// guardReportTimeout bounds how long a drill waits for its guard.
	guardReportTimeout = 5 * time.Minute
)

// GuardInput is the input of a drill's guard: the drill's own input, so it
// can compensate the drill if the drill is terminated.
type GuardInput struct {
	Drill DrillInput `json:"drill"`
	// WaitLock makes the guard wait for a held lock instead of refusing.
	WaitLock time.Duration `json:"waitLock,omitempty"`
}

// GuardReport tells a drill whether its locks are held.
type GuardReport struct {
	Held   bool   `json:"held"`
	Lock   string `json:"lock,omitempty"`
	Holder string `json:"holder,omitempty"` // the drill holding the lock refused
}

// LockID is the workflow id that holds a lock.
func LockID(lock string) string { return "drillctl-lock-" + lock }

// GuardID is the workflow id of a drill's guard.
func GuardID(drillID string) string { return drillID + "-guard" }

// CompensationID is the workflow id of the compensation a guard runs for a
// drill terminated from outside.
func CompensationID(drillID string) string { return drillID + "-compensation" }

// LockHolder holds a lock until its guard lets go (it is closed with it).
func LockHolder(ctx workflow.Context, drillID string) error {
	workflow.GetSignalChannel(ctx, SignalRelease).Receive(ctx, nil)
	return nil
}

// DrillGuard holds a drill's locks and compensates the drill if it is
// terminated from outside.
func DrillGuard(ctx workflow.Context, in GuardInput) error {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	drillID := in.Drill.DrillID
	report := func(r GuardReport) {
		if parent != nil {
			_ = workflow.SignalExternalWorkflow(ctx, parent.ID, parent.RunID, SignalGuard, r).Get(ctx, nil)
		}
	}
	if r := acquireLocks(ctx, in); !r.Held {
		report(r)
		return nil // the holders started so far close with this guard
	}
	report(GuardReport{Held: true})
	if parent == nil {
		return nil
	}

	released := false
	watchCtx, stopWatch := workflow.WithCancel(ctx)
	watch := workflow.ExecuteActivity(workflow.WithActivityOptions(watchCtx, workflow.ActivityOptions{
		StartToCloseTimeout: 365 * 24 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second},
	}), steps.ActivityWatchDrill, steps.WatchInput{DrillID: parent.ID, RunID: parent.RunID})
	var closed steps.WatchResult
	var watchErr error
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalRelease), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		released = true
	})
	sel.AddFuture(watch, func(f workflow.Future) { watchErr = f.Get(ctx, &closed) })
	sel.Select(ctx)
	stopWatch()
	if released || watchErr != nil {
		return nil
	}
	switch closed.Status {
	case "terminated", "timed_out":
	default:
		return nil // the drill ran its own compensation and evidence
	}
	rec := closed.Record
	if rec == nil {
		rec = &evidence.Record{DrillID: drillID, Status: evidence.StatusRunning}
	}
	by := closed.By
	if by == "" {
		by = "unknown"
	}
	comp := in.Drill
	comp.Compensate = &Compensation{Record: *rec, By: by, Reason: closed.Reason, Closed: closed.Status}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        CompensationID(drillID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	_ = workflow.ExecuteChildWorkflow(cctx, DrillWorkflow, comp).Get(ctx, nil)
	return nil
}

// acquireLocks starts one holder per lock. A lock already held refuses the
// drill, naming the drill that holds it, unless the guard may wait for it.
func acquireLocks(ctx workflow.Context, in GuardInput) GuardReport {
	locks := in.Drill.Playbook.LockNames()
	deadline := workflow.Now(ctx).Add(in.WaitLock)
	for _, lock := range locks {
		for {
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:            LockID(lock),
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_TERMINATE,
				Memo:                  map[string]any{"drill": in.Drill.DrillID},
			})
			err := workflow.ExecuteChildWorkflow(cctx, LockWorkflow, in.Drill.DrillID).GetChildWorkflowExecution().Get(ctx, nil)
			if err == nil {
				break
			}
			if !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				return GuardReport{Lock: lock, Holder: "", Held: false}
			}
			if workflow.Now(ctx).Before(deadline) {
				if workflow.Sleep(ctx, lockRetry) != nil {
					return GuardReport{Lock: lock}
				}
				continue
			}
			return GuardReport{Lock: lock, Holder: lockHolder(ctx, lock)}
		}
	}
	return GuardReport{Held: true}
}

// lockHolder names the drill holding a lock, or "" when it cannot be read.
func lockHolder(ctx workflow.Context, lock string) string {
	var h steps.LockHolder
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}), steps.ActivityDescribeLock, LockID(lock)).Get(ctx, &h)
	if err != nil {
		return ""
	}
	return h.Drill
}

// Compensation asks the Drill workflow to compensate a drill that was
// terminated from outside, rather than run it: its record is the
// terminated drill's last record.
type Compensation struct {
	Record evidence.Record `json:"record"`
	By     string          `json:"by"`
	Reason string          `json:"reason,omitempty"`
	Closed string          `json:"closed"` // terminated or timed_out
}

// startGuard starts the drill's guard and waits for it to hold the drill's
// locks. It returns why the drill may not run, or "".
func (d *drill) startGuard(ctx workflow.Context) string {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        GuardID(d.rec.DrillID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	f := workflow.ExecuteChildWorkflow(cctx, GuardWorkflow, GuardInput{Drill: d.in, WaitLock: d.in.WaitLock})
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return fmt.Sprintf("refused: its guard could not start: %v", err)
	}
	d.guard = true
	var r GuardReport
	ch := workflow.GetSignalChannel(ctx, SignalGuard)
	ok, _ := workflow.AwaitWithTimeout(ctx, guardReportTimeout, func() bool { return ch.ReceiveAsync(&r) })
	switch {
	case !ok:
		return "refused: its guard did not say within 5m whether the drill's locks are free"
	case r.Held:
		d.rec.Locks = d.in.Playbook.LockNames()
		return ""
	case r.Holder != "":
		return fmt.Sprintf("refused: lock %q is held by drill %s (one drill at a time per target; drill run --wait-lock waits for it)", r.Lock, r.Holder)
	default:
		return fmt.Sprintf("refused: lock %q could not be taken", r.Lock)
	}
}

// releaseGuard tells the drill's guard the drill has ended normally.
func (d *drill) releaseGuard(ctx workflow.Context) {
	if d.guard {
		_ = workflow.SignalExternalWorkflow(ctx, GuardID(d.rec.DrillID), "", SignalRelease, nil).Get(ctx, nil)
	}
}

// takeOverTerminated prepares the compensation of a drill terminated from outside: an
// action that was running when it was terminated has an unknown outcome
// and waits for a person's decision; then the rollback runs and the
// evidence is written, under the terminated drill's id.
func (d *drill) takeOverTerminated(ctx workflow.Context, c *Compensation) {
	prev := c.Record
	d.rec.DrillID = d.in.DrillID
	if len(prev.Steps) == len(d.rec.Steps) {
		d.rec.Steps = prev.Steps
		for i := range d.rec.Steps {
			d.index[d.rec.Steps[i].ID] = &d.rec.Steps[i]
		}
	}
	d.rec.StartedAt = prev.StartedAt
	if d.rec.StartedAt.IsZero() {
		d.rec.StartedAt = workflow.Now(ctx).UTC()
	}
	d.rec.Approvals, d.rec.Acks, d.rec.Pages, d.rec.Inventory = prev.Approvals, prev.Acks, prev.Pages, prev.Inventory
	d.rec.Locks = prev.Locks
	d.rec.TerminatedBy = c.By
	d.rec.Status = evidence.StatusAborted
	d.rec.AbortedBy = c.By
	how := "terminated"
	if c.Closed == "timed_out" {
		how = "timed out"
	}
	d.rec.Reason = strings.TrimSpace(fmt.Sprintf("the drill's workflow was %s from outside (by %s) %s; its guard ran the compensation and wrote the evidence", how, c.By, c.Reason))
	for i := range d.rec.Steps {
		r := &d.rec.Steps[i]
		spec := d.specs[r.ID]
		switch {
		case (r.Status == evidence.StepRunning || r.Status == evidence.StepUnknown) && spec.Type.IsAction():
			sentAt := workflow.Now(ctx)
			if r.StartedAt != nil {
				sentAt = *r.StartedAt
			}
			err := d.awaitDecision(ctx, spec, r, sentAt, fmt.Errorf("the drill was %s while it ran", how))
			if err == nil {
				r.Status = evidence.StepSucceeded
			}
		case r.Status == evidence.StepRunning || r.Status == evidence.StepWaiting:
			r.Status = evidence.StepCancelled
			r.Error = "cancelled: the drill was " + how + " while this step ran"
		case r.Status == evidence.StepPending:
			r.Status = evidence.StepSkipped
			r.Note = "not run: the drill was " + how
		}
	}
}
