package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Lifecycle events a playbook may subscribe its notifications to.
const (
	EventStarted      = "started"
	EventStepFailed   = "step-failed"
	EventTargetMissed = "target-missed"
	EventFinished     = "finished"
)

func notifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
}

// runNotify executes a notify step: the message goes to every channel of
// every named contact; the step fails only if nothing could be sent.
func (d *drill) runNotify(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord) error {
	if s.Notify == nil {
		return temporal.NewNonRetryableApplicationError("notify step has no recipients", "BadStep", nil)
	}
	to, err := d.contacts(s.Notify.To)
	if len(to) == 0 && err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "BadStep", nil)
	}
	in := steps.NotifyInput{DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Step: s.ID, Event: "notify",
		Title: fmt.Sprintf("DR drill %s: %s", d.in.Playbook.Metadata.Name, s.ID), Text: s.Notify.Message, To: to}
	r.Attempts = 1
	var res steps.NotifyResult
	if err := workflow.ExecuteActivity(notifyOptions(ctx), steps.ActivityNotify, in).Get(ctx, &res); err != nil {
		return err
	}
	if err != nil {
		res.Failed = append(res.Failed, err.Error())
	}
	r.Output = map[string]any{"sent": len(res.Sent), "failed": res.Failed}
	if len(res.Sent) == 0 && len(res.Failed) > 0 {
		return fmt.Errorf("no notification could be sent: %s", strings.Join(res.Failed, "; "))
	}
	return nil
}

// contacts returns the named contacts of the playbook, rendered like a step
// (templates expanded, secret references sealed for the worker). A contact
// whose channels cannot be rendered is left out and named in the error.
func (d *drill) contacts(names []string) (map[string]playbooks.Contact, error) {
	out := make(map[string]playbooks.Contact, len(names))
	var bad []string
	data := d.templateData()
	for _, n := range names {
		c, ok := d.in.Playbook.Contacts[n]
		if !ok {
			continue
		}
		rendered, err := playbooks.Render(c, data)
		if err != nil {
			bad = append(bad, fmt.Sprintf("contact %s: %v", n, err))
			continue
		}
		out[n] = rendered
	}
	if len(bad) > 0 {
		return out, errors.New(strings.Join(bad, "; "))
	}
	return out, nil
}

// lifecycle sends a drill lifecycle notification when the playbook asks for
// it. A notification that cannot be sent never changes the drill's outcome.
func (d *drill) lifecycle(ctx workflow.Context, event, text string) {
	n := d.in.Playbook.Notifications
	if n == nil || len(n.To) == 0 {
		return
	}
	if len(n.Events) > 0 {
		wanted := false
		for _, e := range n.Events {
			wanted = wanted || e == event
		}
		if !wanted {
			return
		}
	}
	to, _ := d.contacts(n.To) // a contact that cannot be rendered is not notified
	in := steps.NotifyInput{DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Event: event,
		Title: fmt.Sprintf("DR drill %s: %s", d.in.Playbook.Metadata.Name, event), Text: text, To: to}
	_ = workflow.ExecuteActivity(notifyOptions(ctx), steps.ActivityNotify, in).Get(ctx, nil)
}

// notifyAsync sends a lifecycle notification without holding up the drill;
// the drill waits for it before it ends. It is sent even when ctx is the
// context of a step being cancelled.
func (d *drill) notifyAsync(ctx workflow.Context, event, text string) {
	if d.in.Playbook.Notifications == nil {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	d.notifying.Add(1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer d.notifying.Done()
		d.lifecycle(ctx, event, text)
	})
}
