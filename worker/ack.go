package worker

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/acklink"
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
	h, err := a.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.EscalationID(t.DrillID, t.Step),
		UpdateName:   workflows.UpdateAck,
		Args:         []any{workflows.AckInput{By: t.Contact, Via: via}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, nil)
}
