package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
)

// registerHandlers registers the status query and the approve update.
func (d *drill) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (*evidence.Record, error) {
		d.rec.Measures = d.measures()
		return d.rec, nil
	}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryStatus, err)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
		func(ctx workflow.Context, in ApproveInput) (*evidence.Approval, error) {
			d.decisions[in.Step] = append(d.decisions[in.Step], in)
			d.sig.use(in.Signed)
			a := evidence.Approval{Step: in.Step, By: in.By, At: workflow.Now(ctx).UTC(), Approved: !in.Reject,
				Comment: in.Comment, Via: viaOr(in.Via), Signed: in.Signed, Verified: in.Signed != nil && len(d.sig.Keys[in.By]) > 0}
			d.rec.Approvals = append(d.rec.Approvals, a)
			return &a, nil
		},
		workflow.UpdateHandlerOptions{Validator: d.validateApproval})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateApprove, err)
	}
	return d.registerDecide(ctx)
}

// validateApproval refuses a decision on a step that is not an approval
// waiting for one, or from someone who is not one of its approvers.
func (d *drill) validateApproval(in ApproveInput) error {
	spec, ok := d.specs[in.Step]
	if !ok {
		return fmt.Errorf("no step %q in this drill", in.Step)
	}
	if spec.Type != playbooks.StepApproval || spec.Approval == nil {
		return fmt.Errorf("step %q is a %s step, not an approval", in.Step, spec.Type)
	}
	if !d.waiting[in.Step] {
		return fmt.Errorf("step %q is not waiting for a decision (it is %s)", in.Step, d.step(in.Step).Status)
	}
	if in.By == "" {
		return errors.New("an approval needs the approver's name (--as NAME)")
	}
	if !contains(spec.Approval.Approvers, in.By) {
		return fmt.Errorf("%q may not decide step %q: its approvers are %v", in.By, in.Step, spec.Approval.Approvers)
	}
	if contains(spec.Approval.Forbid, "initiator") && in.By == d.rec.Identity.InitiatedBy {
		return fmt.Errorf("%s started this drill and may not approve it (forbid: [initiator]): four eyes", in.By)
	}
	for _, prev := range d.decisions[in.Step] {
		if prev.By == in.By {
			return fmt.Errorf("%s has already decided step %q: the go needs distinct people", in.By, in.Step)
		}
	}
	decision := identity.DecisionApprove
	if in.Reject {
		decision = identity.DecisionReject
	}
	_, err := d.sig.check(in.Signed, identity.Statement{Drill: d.rec.DrillID, Step: in.Step, Decision: decision,
		Signer: in.By, Comment: in.Comment}, false)
	return err
}

// viaOr is how a decision came, cli when unsaid.
func viaOr(via string) string {
	if via == "" {
		return "cli"
	}
	return via
}
