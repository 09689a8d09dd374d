package worker

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/workflows"
)

// LinkAcker turns a clicked acknowledgement link into the ack Update of the
// page step's escalation, which refuses a name that was not paged and a
// second acknowledgement.
type LinkAcker struct {
	Client Client
}

var _ acklink.Acker = LinkAcker{}

// Ack acknowledges the page the token names.
func (a LinkAcker) Ack(ctx context.Context, t acklink.Token, via string) error {
	_, err := Ack(ctx, a.Client, t.DrillID, t.Step, workflows.AckInput{By: t.Contact, Via: via, Channel: t.Channel})
	return err
}

// Ack acknowledges the page of a drill's page step: the ack Update of the
// step's escalation, waited for until it is accepted or refused.
func Ack(ctx context.Context, c Client, drillID, step string, in workflows.AckInput) (*evidence.Ack, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.EscalationID(drillID, step),
		UpdateName:   workflows.UpdateAck,
		Args:         []any{in},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, err
	}
	var a evidence.Ack
	if err := h.Get(ctx, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
