package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
)

// Decisions on an action whose outcome is unknown.
const (
	// UpdateDecide decides what to do about an action whose outcome is
	// unknown (DecideInput).
	UpdateDecide = "decide"
	// DecideRollback compensates the action with everything else that ran.
	DecideRollback = "rollback"
	// DecideContinue says the action took effect: the drill goes on.
	DecideContinue = "continue"
	// DecideStop ends the drill without compensating anything.
	DecideStop = "stop"
	// EventDecisionNeeded is the lifecycle event sent when a drill waits for
	// a decision on an action whose outcome is unknown.
	EventDecisionNeeded = "decision-needed"
	// defaultDecisionTimeout is how long a drill waits for that decision;
	// with none, it stops and compensates nothing.
	defaultDecisionTimeout = 24 * time.Hour
)

// DecideInput is a person's decision on an action whose outcome is unknown.
type DecideInput struct {
	Step     string `json:"step"`
	Decision string `json:"decision"` // rollback, continue or stop
	By       string `json:"by"`
	Comment  string `json:"comment,omitempty"`
	// Signed is the signed statement of the decision (its decision word is
	// the choice: rollback, continue or stop).
	Signed *identity.Signed `json:"signed,omitempty"`
	Via    string           `json:"via,omitempty"`
}

// Error types shared with the activities (activities.ErrOutcomeUnknown and
// activities.ErrWorkerStopping): an action cut off after it was sent, and
// a read-only step whose worker is stopping. The first is also the type of
// a step a person did not let the drill continue past.
const (
	errOutcomeUnknown = "OutcomeUnknown"
	errWorkerStopping = "WorkerStopping"
)

// registerDecide registers the decide update.
func (d *drill) registerDecide(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide,
		func(ctx workflow.Context, in DecideInput) (*evidence.Decision, error) {
			d.sig.use(in.Signed)
			dec := evidence.Decision{Step: in.Step, Decision: in.Decision, By: in.By, At: workflow.Now(ctx).UTC(),
				Comment: in.Comment, Via: viaOr(in.Via), Signed: in.Signed, Verified: in.Signed != nil && len(d.sig.Keys[in.By]) > 0}
			d.rec.Decisions = append(d.rec.Decisions, dec)
			d.decided[in.Step] = &dec
			return &dec, nil
		},
		workflow.UpdateHandlerOptions{Validator: d.validateDecide})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateDecide, err)
	}
	return nil
}

// validateDecide refuses a decision on a step that is not waiting for one.
func (d *drill) validateDecide(in DecideInput) error {
	r := d.step(in.Step)
	if r == nil {
		return fmt.Errorf("no step %q in this drill", in.Step)
	}
	if r.Status != evidence.StepUnknown || d.decided[in.Step] != nil {
		return fmt.Errorf("step %q is not waiting for a decision (it is %s)", in.Step, r.Status)
	}
	switch in.Decision {
	case DecideRollback, DecideContinue, DecideStop:
	default:
		return fmt.Errorf("decision %q: expected rollback, continue or stop", in.Decision)
	}
	if in.By == "" {
		return errors.New("a decision needs the name of who makes it (--as NAME)")
	}
	if _, ok := d.in.Playbook.Contacts[in.By]; !ok && d.sig.signed() {
		return fmt.Errorf("%q is not a contact of this playbook", in.By)
	}
	_, err := d.sig.check(in.Signed, identity.Statement{Drill: d.rec.DrillID, Step: in.Step, Decision: in.Decision,
		Signer: in.By, Comment: in.Comment}, false)
	return err
}

// awaitDecision handles an action that was sent at sentAt and whose worker
// or server was lost before it answered: whether it took effect is unknown,
// so nothing is compensated blindly. The step is marked unknown (its mark,
// if any, is taken at sentAt: the RTO clock starts when the action was
// sent), the owners are told, and the drill waits for a person's decision.
func (d *drill) awaitDecision(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord, sentAt time.Time, cause error) error {
	r.Status = evidence.StepUnknown
	at := sentAt.UTC()
	if s.Marks == playbooks.MarkOutageStart {
		r.MarkAt = &at
	}
	r.Error = fmt.Sprintf("outcome unknown: sent at %s, then its worker or server was lost (%s)",
		at.Format(time.RFC3339Nano), errorText(cause))
	r.Note = fmt.Sprintf("waiting for a decision: drillctl drill decide %s %s rollback|continue|stop --as NAME",
		d.rec.DrillID, s.ID)
	d.notifyAsync(ctx, EventDecisionNeeded, fmt.Sprintf(
		"Drill %s: the outcome of step %s is unknown (sent at %s, then its worker was lost). Decide: drillctl drill decide %s %s rollback|continue|stop",
		d.rec.DrillID, s.ID, at.Format(time.RFC3339), d.rec.DrillID, s.ID))
	ok, err := workflow.AwaitWithTimeout(ctx, defaultDecisionTimeout, func() bool { return d.decided[s.ID] != nil })
	if err != nil {
		return err
	}
	if !ok {
		d.stopped = fmt.Sprintf("no decision within %s on step %q, whose outcome is unknown: nothing was compensated", defaultDecisionTimeout, s.ID)
		return temporal.NewNonRetryableApplicationError(r.Error, errOutcomeUnknown, nil)
	}
	dec := d.decided[s.ID]
	switch dec.Decision {
	case DecideContinue:
		r.Note = fmt.Sprintf("outcome was unknown; %s decided it took effect (continue)", dec.By)
		r.Error = ""
		r.Output = map[string]any{"outcome": "unknown", "decision": dec.Decision, "by": dec.By}
		return nil
	case DecideStop:
		d.stopped = fmt.Sprintf("%s stopped the drill on step %q, whose outcome was unknown: nothing was compensated", dec.By, s.ID)
	default:
		r.Note = fmt.Sprintf("outcome was unknown; %s decided to roll back", dec.By)
	}
	return temporal.NewNonRetryableApplicationError(r.Error, errOutcomeUnknown, nil)
}

// isOutcomeUnknown reports whether err is a step's unknown outcome.
func isOutcomeUnknown(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == errOutcomeUnknown
}
