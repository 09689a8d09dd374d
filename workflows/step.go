package workflows

import (
	"errors"
	"fmt"
	"time"

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
	// canaryWriterLifetime bounds how long canaries are written while the
	// drill waits for the outage to begin.
	canaryWriterLifetime = 24 * time.Hour
)

// runStep runs one step to its end and records the outcome.
func (d *drill) runStep(ctx workflow.Context, s playbooks.Step) {
	r := d.step(s.ID)
	err := d.execute(ctx, s, r)
	end := workflow.Now(ctx).UTC()
	r.EndedAt = &end
	r.Attempts = max(r.Attempts, 1) // steps run in the workflow itself have one attempt
	switch {
	case err == nil:
		r.Status = evidence.StepSucceeded
	case temporal.IsCanceledError(err) || ctx.Err() != nil:
		r.Status = evidence.StepCancelled
		r.Error = "cancelled: the drill stopped while this step ran"
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
func (d *drill) runActivity(ctx workflow.Context, activity string, s playbooks.Step, r *evidence.StepRecord) error {
	policy := retryPolicy(s)
	timeout := stepTimeout(s)
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	in := steps.Input{DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Step: s, OutageStartAt: d.outageStartAt()}
	if s.Type == playbooks.StepProbe {
		deadline := workflow.Now(ctx).Add(timeout).UTC()
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
	actx := workflow.WithActivityOptions(ctx, opts)
	backoff := policy.InitialInterval.D()
	for attempt := 1; ; attempt++ {
		in.Attempt = attempt
		r.Attempts = attempt
		var res steps.Result
		err := workflow.ExecuteActivity(actx, activity, in).Get(actx, &res)
		if err == nil {
			d.recordResult(s, r, &res)
			return nil
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			// What a failed attempt found (a drift, an inventory) is kept.
			var partial steps.Result
			if appErr.Details(&partial) == nil {
				r.Output = partial.Output
				if partial.Inventory != nil {
					d.rec.Inventory = partial.Inventory
				}
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
	}
}

// recordResult keeps an activity's result and takes the step's mark.
func (d *drill) recordResult(s playbooks.Step, r *evidence.StepRecord, res *steps.Result) {
	d.results[s.ID] = res
	r.Output = res.Output
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
	r.Status = evidence.StepWaiting
	d.waiting[s.ID] = true
	defer delete(d.waiting, s.ID)
	decided, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool { return d.decisions[s.ID] != nil })
	if err != nil {
		return err
	}
	if !decided {
		if s.Approval.OnTimeout == "approve" {
			r.Note = fmt.Sprintf("approved by default: no decision within %s (onTimeout: approve)", timeout)
			return nil
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no decision within %s from any of %v", timeout, s.Approval.Approvers), "ApprovalTimeout", nil)
	}
	dec := d.decisions[s.ID]
	r.Output = map[string]any{"by": dec.By, "approved": !dec.Reject, "comment": dec.Comment}
	if dec.Reject {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no-go from %s: %s", dec.By, dec.Comment), "Rejected", nil)
	}
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
