package cli

import (
	"fmt"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/workflows"
)

// decideCommand is `drill decide`: a person's decision on an action whose
// outcome is unknown.
func decideCommand(stdio IO, conn []ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:      "decide",
		Usage:     "decide what to do about an action whose outcome is unknown",
		ArgsUsage: "DRILL_ID STEP rollback|continue|stop",
		Description: `When an action was sent and its worker or server was lost before it answered,
nobody knows whether it took effect, so drillctl compensates nothing blindly:
the step shows "unknown" and the drill waits for a person. Check the target,
then decide:
   rollback   it may have taken effect: compensate it with everything else
   continue   it took effect: the drill goes on
   stop       end the drill here and compensate nothing (you will fix it by hand)

Examples:
   drillctl drill decide drill-chat-platform-quarterly-6f1c... failover continue --as alice --comment "standby is active"
   drillctl drill decide drill-chat-platform-quarterly-6f1c... failover rollback --as alice --output json`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "as", Required: true, Usage: "who decides (`NAME`)"},
			&ucli.StringFlag{Name: "comment", Usage: "why, for the record"},
			keyFlag(),
			outputFlag(),
		}, conn...),
		Action: func(c *ucli.Context) error { return drillDecide(c, stdio) },
	}
}

func drillDecide(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	if c.NArg() != 3 {
		return exitf(ExitUsage, "drill decide: expected DRILL_ID STEP rollback|continue|stop, got %d arguments", c.NArg())
	}
	id, step, decision := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	signed, err := sign(c, identity.Statement{Drill: id, Step: step, Decision: decision, Signer: c.String("as"), Comment: c.String("comment")})
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	handle, err := cl.UpdateWorkflow(c.Context, client.UpdateWorkflowOptions{
		WorkflowID: id,
		UpdateName: workflows.UpdateDecide,
		Args: []any{workflows.DecideInput{Step: step, Decision: decision, By: c.String("as"), Comment: c.String("comment"),
			Signed: signed, Via: "cli"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return exitf(ExitUsage, "decide %s on %s: %v", step, id, notFound(id, err))
	}
	var d evidence.Decision
	if err := handle.Get(c.Context, &d); err != nil {
		return exitf(ExitUsage, "decide %s on %s: %v", step, id, err)
	}
	if format == "json" {
		return writeJSON(stdio.Out, d)
	}
	fmt.Fprintf(stdio.Out, "%s: %s decided %s at %s\n", step, d.By, d.Decision, d.At.Format(time.RFC3339))
	return nil
}
