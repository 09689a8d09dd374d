package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// The decisions people make on a running drill: approve (or reject) a
// gate, acknowledge a page, abort, decide about an action whose outcome is
// unknown. Each is refused in the user's words when the drill has ended
// (Temporal says "workflow execution already completed", or names an
// internal workflow id).

// decisionFlags are the flags of a decision carrying a free text: --comment,
// and the names it had before (--reason, --note), hidden.
func decisionFlags(required bool) []ucli.Flag {
	return []ucli.Flag{commentFlag(required), hiddenAlias("reason"), hiddenAlias("note")}
}

// comment reads a decision's free text: --comment, or an old name of it.
func comment(c *ucli.Context) string { return stringOf(c, "comment", "reason", "note") }

// approveCommand is `drill approve`: the go, or the no-go, on a gate.
func approveCommand(stdio IO, conn []ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:      "approve",
		Usage:     "give the go (or, with --reject, the no-go) on a waiting approval step",
		ArgsUsage: "DRILL_ID STEP",
		Description: `Refused unless the step is waiting and NAME is one of its approvers.

Examples:
   drillctl drill approve drill-chat-platform-quarterly-6f1c... go-no-go --as alice --comment "change window open"
   drillctl drill approve drill-chat-platform-quarterly-6f1c... go-no-go --as bob --reject --comment "freeze"`,
		Flags: append(append([]ucli.Flag{
			&ucli.StringFlag{Name: "as", Required: true, Usage: "approver `NAME` (a contact of the playbook)"},
			&ucli.BoolFlag{Name: "reject", Usage: "no-go: the step fails and the rollback runs"},
			keyFlag(),
			outputFlag(),
		}, decisionFlags(false)...), conn...),
		Action: func(c *ucli.Context) error { return drillApprove(c, stdio) },
	}
}

// ackCommand is `drill ack`: the acknowledgement of a page.
func ackCommand(stdio IO, conn []ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:      "ack",
		Usage:     "acknowledge a page: stops the escalation of a page step",
		ArgsUsage: "DRILL_ID",
		Description: `Refused for a name that was not paged (yet). --step may be left out while
only one page step is running. Pages also carry a one-click ack link.

Examples:
   drillctl drill ack drill-chat-platform-quarterly-6f1c... --as bob
   drillctl drill ack drill-chat-platform-quarterly-6f1c... --step page-admins --as bob --output json`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "step", Usage: "the page `STEP` to acknowledge"},
			&ucli.StringFlag{Name: "as", Required: true, Usage: "who acknowledges (a paged contact's `NAME`)"},
			keyFlag(),
			outputFlag(),
		}, conn...),
		Action: func(c *ucli.Context) error { return drillAck(c, stdio) },
	}
}

// abortCommand is `drill abort`: cancel the running steps, compensate.
func abortCommand(stdio IO, conn []ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:      "abort",
		Usage:     "abort a drill: cancel its running steps and run its rollback",
		ArgsUsage: "DRILL_ID",
		Description: `--comment says why, for the record (required). --output json prints
{drillId, by, comment}.

Examples:
   drillctl drill abort drill-chat-platform-quarterly-6f1c... --comment "real incident on the standby"
   drillctl drill abort drill-chat-platform-quarterly-6f1c... --comment "freeze" --as carol --output json`,
		Flags: append(append([]ucli.Flag{
			&ucli.StringFlag{Name: "as", Usage: "who aborts (default: the current user)"},
			keyFlag(),
			outputFlag(),
		}, decisionFlags(true)...), conn...),
		Action: func(c *ucli.Context) error { return drillAbort(c, stdio) },
	}
}

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
		Flags: append(append([]ucli.Flag{
			&ucli.StringFlag{Name: "as", Required: true, Usage: "who decides (`NAME`)"},
			keyFlag(),
			outputFlag(),
		}, decisionFlags(false)...), conn...),
		Action: func(c *ucli.Context) error { return drillDecide(c, stdio) },
	}
}

// drillApprove sends the approve Update and prints the decision recorded.
func drillApprove(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	if c.NArg() != 2 {
		return exitf(ExitUsage, "drill approve: expected DRILL_ID STEP, got %d arguments", c.NArg())
	}
	id, step := c.Args().Get(0), c.Args().Get(1)
	decision := identity.DecisionApprove
	if c.Bool("reject") {
		decision = identity.DecisionReject
	}
	signed, err := sign(c, identity.Statement{Drill: id, Step: step, Decision: decision, Signer: c.String("as"), Comment: comment(c)})
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
		UpdateName: workflows.UpdateApprove,
		Args: []any{workflows.ApproveInput{Step: step, By: c.String("as"), Comment: comment(c),
			Reject: c.Bool("reject"), Signed: signed, Via: "cli"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var a evidence.Approval
		if err = handle.Get(c.Context, &a); err == nil {
			if format == "json" {
				return writeJSON(stdio.Out, a)
			}
			word := "go"
			if !a.Approved {
				word = "no-go"
			}
			fmt.Fprintf(stdio.Out, "%s: %s given by %s at %s (%s)\n", step, word, a.By, a.At.Format(time.RFC3339), verifiedNote(a.Verified, a.Signed))
			return nil
		}
	}
	return exitf(ExitUsage, "approve %s on %s: %v", step, id, ended(c.Context, cl, id, err, "there is no gate left to approve"))
}

// drillAck acknowledges the page of the drill's (only, or named) running page step.
func drillAck(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		step := c.String("step")
		if step == "" {
			rec, err := queryStatus(c.Context, cl, id)
			if err != nil {
				return exitf(ExitUsage, "ack: %v", ended(c.Context, cl, id, err, "nobody is paged any more"))
			}
			if rec.Status != evidence.StatusRunning {
				return exitf(ExitUsage, "ack: %v", endedError(c.Context, cl, id, "nobody is paged any more", nil))
			}
			var running []string
			for _, s := range rec.Steps {
				if s.Type == "page" && s.Status == evidence.StepRunning {
					running = append(running, s.ID)
				}
			}
			if len(running) != 1 {
				return exitf(ExitUsage, "ack: %d page steps of %s are running (%v): name one with --step", len(running), id, running)
			}
			step = running[0]
		}
		signed, err := sign(c, identity.Statement{Drill: id, Step: step, Decision: identity.DecisionAck, Signer: c.String("as")})
		if err != nil {
			return err
		}
		a, err := worker.Ack(c.Context, cl, id, step, workflows.AckInput{By: c.String("as"), Via: "cli", Signed: signed})
		if err != nil {
			return exitf(ExitUsage, "ack %s of %s: %v", step, id, pageGone(c.Context, cl, id, step, err))
		}
		if format == "json" {
			return writeJSON(stdio.Out, a)
		}
		fmt.Fprintf(stdio.Out, "%s: acknowledged by %s (level %d) at %s\n", step, a.By, a.Level, a.At.Format(time.RFC3339))
		return nil
	})
}

// drillAbort sends the abort signal, signed when a key is found.
func drillAbort(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	id, err := oneArg(c, "DRILL_ID")
	if err != nil {
		return err
	}
	if err := requireOneOf(c, "comment", "reason", "note"); err != nil {
		return err
	}
	by := whoAmI(c)
	signed, err := sign(c, identity.Statement{Drill: id, Decision: identity.DecisionAbort, Signer: by, Comment: comment(c)})
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.SignalWorkflow(c.Context, id, "", workflows.SignalAbort,
		workflows.AbortInput{By: by, Reason: comment(c), Signed: signed, Via: "cli"}); err != nil {
		return exitf(ExitUsage, "abort %s: %v", id, ended(c.Context, cl, id, err, "there is nothing left to abort"))
	}
	if format == "json" {
		return writeJSON(stdio.Out, map[string]string{"drillId": id, "by": by, "comment": comment(c)})
	}
	fmt.Fprintf(stdio.Out, "abort sent to %s: running steps are cancelled and the rollback runs (follow: drillctl drill watch %s)\n", id, id)
	return nil
}

// drillDecide sends the decide Update and prints the decision recorded.
func drillDecide(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	if c.NArg() != 3 {
		return exitf(ExitUsage, "drill decide: expected DRILL_ID STEP rollback|continue|stop, got %d arguments", c.NArg())
	}
	id, step, decision := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	signed, err := sign(c, identity.Statement{Drill: id, Step: step, Decision: decision, Signer: c.String("as"), Comment: comment(c)})
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
		Args: []any{workflows.DecideInput{Step: step, Decision: decision, By: c.String("as"), Comment: comment(c),
			Signed: signed, Via: "cli"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var d evidence.Decision
		if err = handle.Get(c.Context, &d); err == nil {
			if format == "json" {
				return writeJSON(stdio.Out, d)
			}
			fmt.Fprintf(stdio.Out, "%s: %s decided %s at %s\n", step, d.By, d.Decision, d.At.Format(time.RFC3339))
			return nil
		}
	}
	return exitf(ExitUsage, "decide %s on %s: %v", step, id, ended(c.Context, cl, id, err, "there is nothing left to decide"))
}

// ended words Temporal's NotFound for a decision on drill id: no such
// drill, or (Temporal's "workflow execution already completed") a drill
// that has ended, saying how and when and what is left to do. Other errors
// are returned as they are.
func ended(ctx context.Context, cl worker.Client, id string, err error, nothingLeft string) error {
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return err
	}
	return endedError(ctx, cl, id, nothingLeft, err)
}

// endedError says drill id has ended (how and when) and nothingLeft, or
// that there is no such drill; cause is what Temporal answered, returned
// when the drill is in fact running.
func endedError(ctx context.Context, cl worker.Client, id, nothingLeft string, cause error) error {
	desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return notFound(id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetCloseTime() == nil {
		if cause == nil {
			return fmt.Errorf("drill %s is still running (try again)", id)
		}
		return fmt.Errorf("drill %s is running, but Temporal answered: %w", id, cause)
	}
	status, verdict := outcomeOf(ctx, cl, id)
	how := status
	if verdict != "" && verdict != status {
		how += ", verdict " + verdict
	}
	at := info.GetCloseTime().AsTime().Local().Format("2006-01-02 15:04:05 MST")
	return fmt.Errorf("drill %s has ended (%s, at %s): %s; its record: drillctl drill result %s", id, how, at, nothingLeft, id)
}

// pageGone words a refused acknowledgement whose escalation Temporal does
// not know (it names the escalation's internal workflow id): the drill
// ended, the page step ended or has not paged yet, or there is no such
// page step.
func pageGone(ctx context.Context, cl worker.Client, id, step string, err error) error {
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return err
	}
	rec, qerr := queryStatus(ctx, cl, id)
	if qerr != nil || rec.Status != evidence.StatusRunning {
		return endedError(ctx, cl, id, "nobody is paged any more", err)
	}
	var pages []string
	for _, s := range rec.Steps {
		if s.Type == "page" {
			pages = append(pages, s.ID)
		}
	}
	sort.Strings(pages)
	for _, s := range rec.Steps {
		if s.ID != step {
			continue
		}
		switch {
		case s.Type != "page":
			return fmt.Errorf("step %q of drill %s is not a page step but %s (its page steps: %s)", step, id, s.Type, listOrNone(pages))
		case s.Status == evidence.StepPending:
			return fmt.Errorf("step %q of drill %s has not paged anyone yet", step, id)
		case s.Status == evidence.StepRunning:
			return fmt.Errorf("the page of step %q of drill %s is no longer waiting for an acknowledgement", step, id)
		}
		msg := fmt.Sprintf("step %q of drill %s is no longer paging: it %s", step, id, s.Status)
		if s.EndedAt != nil {
			msg += " at " + s.EndedAt.Local().Format("15:04:05 MST")
		}
		for _, a := range rec.Acks {
			if a.Step == step {
				msg += fmt.Sprintf(" (acknowledged by %s)", a.By)
				break
			}
		}
		return errors.New(msg)
	}
	return fmt.Errorf("drill %s has no step %q (its page steps: %s)", id, step, listOrNone(pages))
}

// listOrNone joins names, or says "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
