package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Defaults for steps that declare no timeout or retry policy.
const (
	defaultActionTimeout   = time.Minute
	defaultExecTimeout     = 10 * time.Minute
	defaultProbeTimeout    = 10 * time.Minute
	defaultCheckTimeout    = 5 * time.Minute
	defaultApprovalTimeout = 24 * time.Hour
	// actionHeartbeatTimeout is how soon the loss of an action's worker is
	// noticed (actions heartbeat every 2 s while in flight).
	actionHeartbeatTimeout = 15 * time.Second
	// maxLostWorkers bounds how often a read-only step carries on after its
	// worker or server was lost.
	maxLostWorkers = 20
	// canaryWriterLifetime bounds how long canaries are written while the
	// drill waits for the outage to begin.
	canaryWriterLifetime = 24 * time.Hour
)

// runStep runs one step to its end and records the outcome.
func (d *drill) runStep(ctx workflow.Context, s playbooks.Step) {
	r := d.step(s.ID)
	err := d.execute(ctx, s, r)
	defer d.stopGuardsAfter(ctx, s.ID)
	if err != nil && d.in.Rehearse {
		if waited := d.rehearsedNeed(s); waited != "" {
			// A probe of what a described action would have done cannot pass
			// in a rehearsal: its first check is recorded, not failed.
			r.Status = StepRehearsed
			r.Note = fmt.Sprintf("rehearsal: first check did not pass, as expected: it waits for %q, which was only described (%s)", waited, errorText(err))
		}
	}
	if r.Status == StepRehearsed {
		end := workflow.Now(ctx).UTC()
		r.EndedAt = &end
		return
	}
	end := workflow.Now(ctx).UTC()
	r.EndedAt = &end
	r.Attempts = max(r.Attempts, 1) // steps run in the workflow itself have one attempt
	action := s.Type.IsAction()
	if action && ctx.Err() != nil && !temporal.IsCanceledError(err) {
		r.Note = joinNote(r.Note, "the drill was stopping while this action ran: it was waited for, not cancelled")
	}
	switch {
	case err == nil:
		r.Status = evidence.StepSucceeded
	case isOutcomeUnknown(err):
		r.Status = evidence.StepUnknown
	case temporal.IsCanceledError(err) || (!action && ctx.Err() != nil):
		r.Status = evidence.StepCancelled
		r.Error = "cancelled: the drill stopped while this step ran"
	case isType(err, errRejected):
		r.Status = evidence.StepFailed // the gate said no
		r.Error = errorText(err)
	default:
		r.Status = evidence.StepFailed
		r.Error = errorText(err)
		d.notifyAsync(ctx, EventStepFailed, fmt.Sprintf("Step %s of drill %s failed: %s", s.ID, d.rec.DrillID, r.Error))
	}
}

// execute dispatches a step on its type.
func (d *drill) execute(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord) error {
	rendered, err := playbooks.RenderStep(s, d.templateData())
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("render templates: %v", err), "Template", nil)
	}
	if d.in.Rehearse && rehearses(rendered) {
		d.rehearse(ctx, rendered, r)
		return nil
	}
	switch s.Type {
	case playbooks.StepWait:
		if rendered.Wait == nil {
			return errors.New("wait step has no duration")
		}
		return workflow.Sleep(ctx, rendered.Wait.Duration.D())
	case playbooks.StepApproval:
		return d.awaitApproval(ctx, rendered, r)
	case playbooks.StepHTTP:
		return d.runActivity(ctx, steps.ActivityHTTP, rendered, r)
	case playbooks.StepExec:
		return d.runActivity(ctx, steps.ActivityExec, rendered, r)
	case playbooks.StepProbe:
		return d.runActivity(ctx, steps.ActivityProbe, rendered, r)
	case playbooks.StepSQL:
		return d.runActivity(ctx, steps.ActivitySQL, rendered, r)
	case playbooks.StepCanary:
		return d.runCanary(ctx, rendered, r)
	case playbooks.StepReplicationCheck:
		return d.runActivity(ctx, steps.ActivityReplicationCheck, rendered, r)
	case playbooks.StepInventory:
		return d.runActivity(ctx, steps.ActivityInventory, rendered, r)
	case playbooks.StepPage:
		return d.runPage(ctx, rendered, r)
	case playbooks.StepNotify:
		return d.runNotify(ctx, rendered, r)
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("step type %q has no behaviour in this release yet", s.Type), "Unsupported", nil)
}

// runActivity runs a step's activity, attempt after attempt as its retry
// policy allows. Each attempt is one activity execution, so every attempt
// shows in the history and the record, and an action is never retried
// behind the playbook's back.
//
// An action, once started, is not cancelled by an abort: it is waited for
// (up to its timeout) so compensation never races it. An action whose worker
// or server was lost after it was sent has an unknown outcome: the drill asks
// a person what to do (awaitDecision). A read-only step whose worker was lost
// carries on, with its progress, without using up an attempt.
func (d *drill) runActivity(ctx workflow.Context, activity string, s playbooks.Step, r *evidence.StepRecord) error {
	policy := retryPolicy(s)
	timeout := stepTimeout(s)
	action := s.Type.IsAction()
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		// The Web UI shows the step, not the activity type.
		Summary: s.ID,
	}
	in := steps.Input{DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Step: s, OutageStartAt: d.outageStartAt()}
	var deadline time.Time
	if s.Type == playbooks.StepProbe {
		if d.in.Rehearse {
			timeout = time.Millisecond // a rehearsal takes the probe's first check only
			policy.MaxAttempts = 1
		}
		deadline = workflow.Now(ctx).Add(timeout).UTC()
		in.Deadline = &deadline
		interval := time.Second
		if s.Probe != nil && s.Probe.Interval > 0 {
			interval = s.Probe.Interval.D()
		}
		// A probe outlives its deadline by one check; heartbeats tell a dead
		// worker from a slow target.
		opts.StartToCloseTimeout = timeout + interval + 30*time.Second
		opts.HeartbeatTimeout = max(3*interval+2*time.Second, 10*time.Second)
	}
	execCtx := ctx
	if action {
		// The instant an action is sent is heartbeated before it is sent; a
		// lost worker is noticed within the heartbeat timeout.
		opts.HeartbeatTimeout = actionHeartbeatTimeout
		execCtx, _ = workflow.NewDisconnectedContext(ctx)
	}
	actx := workflow.WithActivityOptions(execCtx, opts)
	backoff := policy.InitialInterval.D()
	lost := 0
	for attempt := 1; ; {
		in.Attempt = attempt
		r.Attempts = attempt
		var res steps.Result
		err := workflow.ExecuteActivity(actx, activity, in).Get(actx, &res)
		if err == nil {
			d.recordResult(s, r, &res)
			return nil
		}
		d.keepPartial(r, err)
		if progress, timedOut := lostProgress(err); timedOut {
			if action && progress.SentAt != nil {
				return d.awaitDecision(execCtx, s, r, *progress.SentAt, err)
			}
			if !action && lost < maxLostWorkers && ctx.Err() == nil &&
				(deadline.IsZero() || workflow.Now(ctx).Before(deadline)) {
				// The worker or server was lost, not the target: carry on.
				lost++
				in.Resume = progress
				r.Note = fmt.Sprintf("worker or server lost during attempt %d (%s); carried on", attempt, errorText(err))
				continue
			}
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil || attempt >= policy.MaxAttempts || !retryable(err) {
			return err
		}
		r.Note = fmt.Sprintf("attempt %d failed: %s", attempt, errorText(err))
		if err := workflow.Sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(time.Duration(float64(backoff)*policy.Backoff), policy.MaxInterval.D())
		attempt++
		in.Resume = nil
	}
}

// keepPartial keeps what a failed attempt found (a drift, an inventory).
func (d *drill) keepPartial(r *evidence.StepRecord, err error) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var partial steps.Result
		if appErr.Details(&partial) == nil {
			d.keepOutput(r, partial.Output)
			if partial.Inventory != nil {
				d.rec.Inventory = partial.Inventory
			}
			if partial.PermissionNewestAt != nil { // a failed permission check still measured the directory's lag
				d.results[r.ID] = &partial
			}
		}
	}
}

// lostProgress reports whether err says the activity's worker or server was
// lost (a heartbeat or start-to-close timeout, not an answer of the target),
// with the progress the activity heartbeated before.
func lostProgress(err error) (*steps.Progress, bool) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case errOutcomeUnknown, errWorkerStopping:
			var p steps.Progress
			if appErr.HasDetails() && appErr.Details(&p) != nil {
				return nil, true
			}
			return &p, true
		}
		return nil, false
	}
	var te *temporal.TimeoutError
	if !errors.As(err, &te) {
		return nil, false
	}
	switch te.TimeoutType() {
	case enumspb.TIMEOUT_TYPE_HEARTBEAT, enumspb.TIMEOUT_TYPE_START_TO_CLOSE:
	default:
		return nil, false
	}
	var p steps.Progress
	if te.HasLastHeartbeatDetails() {
		if te.LastHeartbeatDetails(&p) != nil {
			return nil, true
		}
	}
	return &p, true
}

// recordResult keeps an activity's result and takes the step's mark.
func (d *drill) recordResult(s playbooks.Step, r *evidence.StepRecord, res *steps.Result) {
	d.results[s.ID] = res
	d.keepOutput(r, res.Output)
	if res.Inventory != nil {
		d.rec.Inventory = res.Inventory
	}
	switch s.Marks {
	case playbooks.MarkOutageStart:
		at := res.ActionAt
		if at == nil {
			at = &res.StartedAt
			r.Note = "outage start taken as the step's start: this step type reports no action instant"
		}
		r.MarkAt = at
	case playbooks.MarkServiceRestored:
		at := res.FirstSuccessAt
		if at == nil {
			at = &res.EndedAt
			r.Note = "service restored taken as the step's end: this step type reports no first-success instant"
		}
		r.MarkAt = at
	}
}

// awaitApproval waits for a decision from one of the step's approvers, up to
// the step's timeout. With no decision the step fails, unless the playbook
// says onTimeout: approve.
func (d *drill) awaitApproval(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord) error {
	if s.Approval == nil {
		return errors.New("approval step has no approvers")
	}
	timeout := durationOr(s.Timeout, defaultApprovalTimeout)
	need := max(s.Approval.MinApprovals, 1)
	r.Status = evidence.StepWaiting
	d.waiting[s.ID] = true
	defer delete(d.waiting, s.ID)
	// goes are the approvers who gave the go; a single no-go stops the gate.
	tally := func() (goes []string, noGo *ApproveInput) {
		for i, dec := range d.decisions[s.ID] {
			if dec.Reject {
				return goes, &d.decisions[s.ID][i]
			}
			goes = append(goes, dec.By)
		}
		return goes, nil
	}
	decided, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool {
		goes, noGo := tally()
		return noGo != nil || len(goes) >= need
	})
	if err != nil {
		return err
	}
	goes, noGo := tally()
	if !decided {
		if s.Approval.OnTimeout == "approve" {
			note := fmt.Sprintf("the gate opened with no human decision: %d of %d approvals within %s (onTimeout: approve)", len(goes), need, timeout)
			r.Note = note
			d.rec.Approvals = append(d.rec.Approvals, evidence.Approval{Step: s.ID, At: workflow.Now(ctx).UTC(),
				Approved: true, Auto: true, Comment: note})
			return nil
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no decision within %s: %d of %d approvals from %v", timeout, len(goes), need, s.Approval.Approvers), "ApprovalTimeout", nil)
	}
	if noGo != nil {
		// A no-go is an abort with a reason, not a failure: the drill ends
		// aborted, and compensates only what ran (before the gate).
		r.Output = map[string]any{"by": noGo.By, "approved": false, "comment": noGo.Comment}
		if d.abort == nil {
			d.abort = &AbortInput{By: noGo.By, Reason: strings.TrimSpace("no-go: " + noGo.Comment), Via: noGo.Via}
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no-go from %s: %s", noGo.By, noGo.Comment), errRejected, nil)
	}
	last := d.decisions[s.ID][len(d.decisions[s.ID])-1]
	r.Output = map[string]any{"by": strings.Join(goes, ", "), "approvers": len(goes), "approved": true, "comment": last.Comment}
	return nil
}

// templateData is what step templates may read: params, the outputs of the
// steps that have succeeded, and the drill's id.
func (d *drill) templateData() playbooks.TemplateData {
	data := playbooks.TemplateData{
		Params: d.in.Params,
		Steps:  map[string]playbooks.StepData{},
		Drill:  playbooks.DrillData{ID: d.rec.DrillID},
	}
	for id, res := range d.results {
		data.Steps[id] = playbooks.StepData{Output: res.Output}
	}
	return data
}

// outageStartAt is the instant the outage_start step executed its action,
// once it has.
func (d *drill) outageStartAt() *time.Time {
	for _, r := range d.rec.Steps {
		if playbooks.Mark(r.Marks) == playbooks.MarkOutageStart && r.MarkAt != nil {
			return r.MarkAt
		}
	}
	return nil
}

// retryPolicy is the step's policy, or the default: one attempt for actions,
// three with backoff for everything else.
func retryPolicy(s playbooks.Step) playbooks.Retry {
	p := playbooks.Retry{MaxAttempts: 3, InitialInterval: playbooks.Duration(time.Second), Backoff: 2,
		MaxInterval: playbooks.Duration(30 * time.Second)}
	if s.Type.IsAction() {
		p.MaxAttempts = 1
	}
	if s.Retry != nil {
		if s.Retry.MaxAttempts > 0 {
			p.MaxAttempts = s.Retry.MaxAttempts
		}
		if s.Retry.InitialInterval > 0 {
			p.InitialInterval = s.Retry.InitialInterval
		}
		if s.Retry.Backoff >= 1 {
			p.Backoff = s.Retry.Backoff
		}
		if s.Retry.MaxInterval > 0 {
			p.MaxInterval = s.Retry.MaxInterval
		}
	}
	if p.MaxInterval < p.InitialInterval {
		p.MaxInterval = p.InitialInterval
	}
	return p
}

// stepTimeout is the step's timeout, or its type's default.
func stepTimeout(s playbooks.Step) time.Duration {
	def := defaultCheckTimeout
	switch s.Type {
	case playbooks.StepHTTP, playbooks.StepSQL:
		def = defaultActionTimeout
	case playbooks.StepExec:
		def = defaultExecTimeout
	case playbooks.StepProbe:
		def = defaultProbeTimeout
	}
	return durationOr(s.Timeout, def)
}

// retryable reports whether another attempt may help.
func retryable(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable()
	}
	return true
}

// errorText is the innermost meaningful message of an activity error.
func errorText(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return fmt.Sprintf("timed out (%s)", timeoutErr.TimeoutType())
	}
	return err.Error()
}

// joinNote appends a sentence to a step's note.
func joinNote(note, more string) string {
	if note == "" {
		return more
	}
	return note + "; " + more
}

// maxRecordOutputBytes bounds the step outputs kept in the drill record
// altogether, so the record (the workflow's result, the status query, the
// evidence activity's input) stays well inside Temporal's 2 MB payload
// limit whatever the number of steps. Later steps' templates still read
// every output whole (each bounded by its step).
const maxRecordOutputBytes = 512 << 10

// keepOutput records a step's output while the record's budget lasts, and
// a note saying what was left out once it is spent.
func (d *drill) keepOutput(r *evidence.StepRecord, out map[string]any) {
	size := 0
	if b, err := json.Marshal(out); err == nil {
		size = len(b)
	}
	if d.outputBytes+size > maxRecordOutputBytes {
		r.Output = map[string]any{"truncated": map[string]any{"bytes": size,
			"note": fmt.Sprintf("not kept: the drill record keeps %d KiB of step outputs in all", maxRecordOutputBytes>>10)}}
		d.rec.Truncated = "some step outputs were left out of this record to keep it inside Temporal's payload limits"
		return
	}
	d.outputBytes += size
	r.Output = out
}

// errRejected is the error type of an approval step given a no-go.
const errRejected = "Rejected"

// isType reports whether err is an application error of type typ.
func isType(err error, typ string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ
}

// rehearsedNeed names a need of s that a rehearsal only described, if any.
func (d *drill) rehearsedNeed(s playbooks.Step) string {
	for _, n := range s.Needs {
		if r := d.step(n); r != nil && r.Status == StepRehearsed {
			return n
		}
	}
	return ""
}
