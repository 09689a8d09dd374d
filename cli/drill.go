package cli

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	ucli "github.com/urfave/cli/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/activities"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

func init() { commandGroups = append(commandGroups, drillCommand) }

func drillCommand(stdio IO) *ucli.Command {
	conn := connectionFlags()
	return &ucli.Command{
		Name:  "drill",
		Usage: "run, watch, approve and abort drills",
		Description: `A drill is one durable run of a playbook on Temporal. It needs a Temporal
server and a drillctl worker: on one machine, run "drillctl dev" in another terminal.

Examples:
   drillctl drill run playbooks/examples/chat-platform-quarterly.yaml --follow
   drillctl drill approve drill-chat-platform-quarterly-6f1c... go-no-go --as alice
   drillctl drill result drill-chat-platform-quarterly-6f1c... --output json`,
		Subcommands: []*ucli.Command{
			{
				Name:      "run",
				Usage:     "start a drill from a playbook and wait for its scorecard",
				ArgsUsage: "FILE",
				Description: `Validates the playbook, starts the drill and waits for it to end. With --follow
(the default on a terminal) each step's state and elapsed time are shown live;
piped, plain lines are printed as steps change. Exit codes: 0 verdict met,
3 completed but a target was missed or not measured, 4 failed or aborted,
1 bad input or no connection.

Examples:
   drillctl drill run playbooks/examples/chat-platform-quarterly.yaml
   drillctl drill run quarterly.yaml --set primary=http://10.0.0.5:8080 --output json
   drillctl drill run quarterly.yaml --dry-run      # inventory only, touches nothing
   drillctl drill run quarterly.yaml --rehearse     # every read for real, every action described, nothing sent
   drillctl drill run quarterly.yaml --detach       # print the drill id and return`,
				Flags: append([]ucli.Flag{
					&ucli.StringSliceFlag{Name: "set", Usage: "override a playbook param: `KEY=VALUE` (repeatable)"},
					&ucli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "show live progress (default: on a terminal)"},
					&ucli.BoolFlag{Name: "detach", Usage: "start the drill, print its id and return"},
					&ucli.BoolFlag{Name: "dry-run", Usage: "run only the inventory steps: a read-only readiness check"},
					&ucli.BoolFlag{Name: "rehearse", Usage: "run every read-only step for real and only describe the actions (what each would send): would this drill work today?"},
					&ucli.StringFlag{Name: "as", Usage: "who starts the drill (`NAME`, a contact of a signed playbook; default: your login)"},
					keyFlag(),
					&ucli.DurationFlag{Name: "wait-lock", Usage: "wait up to `DURATION` for a drill holding one of this playbook's locks to end, instead of being refused"},
					outputFlag(),
				}, conn...),
				Action: func(c *ucli.Context) error { return drillRun(c, stdio) },
			},
			{
				Name:  "list",
				Usage: "list drills, newest first",
				Description: `Examples:
   drillctl drill list
   drillctl drill list --running --output json`,
				Flags: append([]ucli.Flag{
					&ucli.BoolFlag{Name: "running", Usage: "only drills still running"},
					&ucli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many"},
					outputFlag(),
				}, conn...),
				Action: func(c *ucli.Context) error { return drillList(c, stdio) },
			},
			{
				Name:      "status",
				Usage:     "show a drill's steps and measures so far",
				ArgsUsage: "DRILL_ID",
				Description: `Examples:
   drillctl drill status drill-chat-platform-quarterly-6f1c...
   drillctl drill status drill-chat-platform-quarterly-6f1c... --output json`,
				Flags:  append([]ucli.Flag{outputFlag()}, conn...),
				Action: func(c *ucli.Context) error { return drillStatus(c, stdio) },
			},
			{
				Name:      "watch",
				Usage:     "follow a running drill live until it ends",
				ArgsUsage: "DRILL_ID",
				Description: `Exit codes as for "drill run".

Example:
   drillctl drill watch drill-chat-platform-quarterly-6f1c...`,
				Flags:  append([]ucli.Flag{outputFlag()}, conn...),
				Action: func(c *ucli.Context) error { return drillWatch(c, stdio) },
			},
			{
				Name:      "approve",
				Usage:     "give the go (or, with --reject, the no-go) on a waiting approval step",
				ArgsUsage: "DRILL_ID STEP",
				Description: `Refused unless the step is waiting and NAME is one of its approvers.

Examples:
   drillctl drill approve drill-chat-platform-quarterly-6f1c... go-no-go --as alice --comment "change window open"
   drillctl drill approve drill-chat-platform-quarterly-6f1c... go-no-go --as bob --reject --comment "freeze"`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "as", Required: true, Usage: "approver `NAME` (a contact of the playbook)"},
					&ucli.StringFlag{Name: "comment", Usage: "why, for the record"},
					&ucli.BoolFlag{Name: "reject", Usage: "no-go: the step fails and the rollback runs"},
					keyFlag(),
					outputFlag(),
				}, conn...),
				Action: func(c *ucli.Context) error { return drillApprove(c, stdio) },
			},
			{
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
			},
			{
				Name:      "abort",
				Usage:     "abort a drill: cancel its running steps and run its rollback",
				ArgsUsage: "DRILL_ID",
				Description: `Example:
   drillctl drill abort drill-chat-platform-quarterly-6f1c... --reason "real incident on the standby"`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "reason", Required: true, Usage: "why, for the record"},
					&ucli.StringFlag{Name: "as", Usage: "who aborts (default: the current user)"},
					keyFlag(),
				}, conn...),
				Action: func(c *ucli.Context) error { return drillAbort(c, stdio) },
			},
			decideCommand(stdio, conn),
			{
				Name:      "result",
				Usage:     "print a finished drill's record and scorecard",
				ArgsUsage: "DRILL_ID",
				Description: `Exit codes as for "drill run".

Examples:
   drillctl drill result drill-chat-platform-quarterly-6f1c...
   drillctl drill result drill-chat-platform-quarterly-6f1c... --output json | jq .measures.rto`,
				Flags: append([]ucli.Flag{
					&ucli.BoolFlag{Name: "wait", Usage: "wait for a running drill to end"},
					outputFlag(),
				}, conn...),
				Action: func(c *ucli.Context) error { return drillResult(c, stdio) },
			},
		},
	}
}

// drillRun loads the playbook, starts the drill and follows it.
func drillRun(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	if c.NArg() != 1 {
		return exitf(ExitUsage, "drill run: expected one playbook FILE, got %d arguments", c.NArg())
	}
	in, err := drillInput(c.Args().First(), c.StringSlice("set"), c.Bool("dry-run"))
	if err != nil {
		return err
	}
	in.WaitLock = c.Duration("wait-lock")
	in.Rehearse = c.Bool("rehearse")
	if in.PlaybookSignature, err = playbookSignature(c.Args().First()); err != nil {
		return err
	}
	in.Initiator = whoAmI(c)
	if in.Start, err = sign(c, identity.Statement{Drill: in.DrillID, Decision: identity.DecisionStart, Signer: in.Initiator}); err != nil {
		return err
	}
	if in.Start == nil && in.Playbook.IdentityMode() == playbooks.IdentitySigned && !c.Bool("dry-run") && !in.Rehearse {
		return exitf(ExitUsage, "%s is a signed playbook (identity: signed): its drills start with a signed statement, "+
			"and no SSH key was found; pass --key FILE (or load your key into the ssh-agent) and --as NAME", c.Args().First())
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	run, err := startDrill(c.Context, cl, in)
	if err != nil {
		return exitf(ExitUsage, "start drill: %v", err)
	}
	if c.Bool("detach") {
		if format == "json" {
			return writeJSON(stdio.Out, map[string]string{"drillId": run.GetID(), "runId": run.GetRunID()})
		}
		fmt.Fprintln(stdio.Out, run.GetID())
		return nil
	}
	follow := c.Bool("follow") || (!c.IsSet("follow") && format == "text" && isTerminal(stdio.Out))
	return followToEnd(c.Context, cl, run.GetID(), stdio, format, follow)
}

// drillInput builds the workflow input from a playbook file and --set values.
func drillInput(path string, sets []string, dryRun bool) (workflows.DrillInput, error) {
	pb, err := playbooks.Load(path)
	if err != nil {
		return workflows.DrillInput{}, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s is not a valid playbook:\n%v", path, err)}
	}
	return drillInputFrom(pb, sets, dryRun)
}

// drillInputFrom builds the workflow input from a loaded playbook and --set values.
func drillInputFrom(pb *playbooks.Playbook, sets []string, dryRun bool) (workflows.DrillInput, error) {
	params := map[string]string{}
	for k, v := range pb.Params {
		params[k] = v
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return workflows.DrillInput{}, exitf(ExitUsage, "--set %q: expected KEY=VALUE", kv)
		}
		if strings.Contains(v, "${env:") || strings.Contains(v, "${file:") {
			return workflows.DrillInput{}, exitf(ExitUsage,
				"--set %s=...: a --set value is data and its secret references are never resolved (a value from outside "+
					"the playbook must not be able to pull a secret out); write ${env:NAME} in the playbook's own step text, "+
					"or use the target's own convention on the worker (PGPASSWORD or ~/.pgpass for PostgreSQL)", k)
		}
		if strings.Contains(v, "://") && activities.RedactDSN(v) != v {
			return workflows.DrillInput{}, exitf(ExitUsage,
				"--set %s=...: the value holds a password, which would be stored in clear text in the drill's history; "+
					"leave it out and give it to the worker the target's own way (PGPASSWORD or ~/.pgpass for PostgreSQL), "+
					"or write ${env:NAME} in the playbook's own step text", k)
		}
		if _, declared := pb.Params[k]; !declared {
			return workflows.DrillInput{}, exitf(ExitUsage, "--set %s: the playbook declares no param %q (it has: %s)",
				kv, k, strings.Join(sortedParamNames(pb.Params), ", "))
		}
		params[k] = v
	}
	if err := playbooks.CheckParams(params); err != nil {
		return workflows.DrillInput{}, exitf(ExitUsage, "--set: %v", err)
	}
	host, _ := os.Hostname()
	return workflows.DrillInput{
		DrillID:     "drill-" + pb.Metadata.Name + "-" + uuid.NewString(),
		Playbook:    *pb,
		Params:      params,
		DryRun:      dryRun,
		Environment: evidence.Environment{DrillctlVersion: Version, WorkerHost: host},
	}, nil
}

func sortedParamNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// startDrill starts the Drill workflow for in.
func startDrill(ctx context.Context, cl worker.Client, in workflows.DrillInput) (client.WorkflowRun, error) {
	return cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    in.DrillID,
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo:                  map[string]any{"playbook": in.Playbook.Metadata.Name, "digest": in.Playbook.Source.Digest},
	}, workflows.DrillWorkflow, in)
}

// followToEnd waits for a drill to end, showing progress if asked, then
// prints its record and returns the exit code its verdict calls for.
func followToEnd(ctx context.Context, cl worker.Client, id string, stdio IO, format string, follow bool) error {
	if follow {
		p := newProgress(stdio.Out, isTerminal(stdio.Out))
		if err := p.follow(ctx, cl, id); err != nil {
			return err
		}
	} else if format == "text" {
		fmt.Fprintf(stdio.Out, "drill %s started; waiting for it to end\n", id)
	}
	rec, err := fetchRecord(ctx, cl, id, true)
	if err != nil {
		return exitf(ExitUsage, "drill %s: %v", id, err)
	}
	return printRecord(stdio, format, rec)
}

// printRecord prints a record as JSON or a scorecard and maps its verdict to
// the exit code.
func printRecord(stdio IO, format string, rec *evidence.Record) error {
	if format == "json" {
		if err := writeJSON(stdio.Out, rec); err != nil {
			return err
		}
	} else {
		writeScorecard(stdio.Out, rec)
	}
	if code := verdictExitCode(rec); code != ExitOK {
		return &ExitError{Code: code}
	}
	return nil
}

// verdictExitCode maps a record to the documented exit codes.
func verdictExitCode(rec *evidence.Record) int {
	switch {
	case rec.Status == evidence.StatusRunning:
		return ExitOK
	case rec.Status != evidence.StatusCompleted:
		return ExitDrillFail
	case rec.Verdict == evidence.VerdictMet:
		return ExitOK
	case rec.Rehearsal:
		// A rehearsal passes when every step it ran for real passed.
		for _, s := range rec.Steps {
			if s.Status == evidence.StepFailed {
				return ExitMissed
			}
		}
		return ExitOK
	default:
		return ExitMissed
	}
}

// fetchRecord returns a drill's final record (waiting for it when wait is
// true), or its live record when it is still running and wait is false.
func fetchRecord(ctx context.Context, cl worker.Client, id string, wait bool) (*evidence.Record, error) {
	if !wait {
		desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return nil, notFound(id, err)
		}
		if desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return queryStatus(ctx, cl, id)
		}
	}
	if err := waitClosed(ctx, cl, id); err != nil {
		return nil, notFound(id, err)
	}
	var rec evidence.Record
	err := cl.GetWorkflow(ctx, id, "").Get(ctx, &rec)
	for tries := 0; err != nil && transient(err) && tries < 60 && ctx.Err() == nil; tries++ {
		time.Sleep(time.Second)
		err = cl.GetWorkflow(ctx, id, "").Get(ctx, &rec)
	}
	if err == nil {
		return &rec, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.ErrDrillFailed && appErr.HasDetails() {
		if derr := appErr.Details(&rec); derr == nil {
			return &rec, nil
		}
	}
	// Terminated or timed out: the last state the workflow can tell.
	if live, qerr := queryStatus(ctx, cl, id); qerr == nil {
		if live.Status == evidence.StatusRunning {
			live.Status = evidence.StatusFailed
			live.Verdict = evidence.StatusFailed
			live.Reason = fmt.Sprintf("the workflow ended without a result: %v", err)
		}
		return live, nil
	}
	return nil, notFound(id, err)
}

// waitClosed polls until the drill's workflow has closed. drillctl polls
// rather than relying on the result's long poll alone: on the embedded
// server that long poll was seen to miss the close now and then (about one
// drill in 30) and wait out its 20 s expiry.
//
// A server that restarts meanwhile is waited for: the drill goes on without
// the CLI, so the CLI keeps following it rather than give up.
func waitClosed(ctx context.Context, cl worker.Client, id string) error {
	for {
		desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
		if err != nil && transient(err) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
				continue
			}
		}
		if err != nil {
			return err
		}
		if desc.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func queryStatus(ctx context.Context, cl worker.Client, id string) (*evidence.Record, error) {
	v, err := cl.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return nil, notFound(id, err)
	}
	var rec evidence.Record
	if err := v.Get(&rec); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	return &rec, nil
}

func notFound(id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("no drill %q in this namespace (see: drillctl drill list)", id)
	}
	return err
}

func drillList(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.DrillWorkflow)
	if c.Bool("running") {
		query += " AND ExecutionStatus = 'Running'"
	}
	type row struct {
		DrillID   string     `json:"drillId"`
		Playbook  string     `json:"playbook"`
		Status    string     `json:"status"`
		StartedAt time.Time  `json:"startedAt"`
		EndedAt   *time.Time `json:"endedAt,omitempty"`
	}
	var rows []row
	var token []byte
	for len(rows) < c.Int("limit") {
		resp, err := cl.ListWorkflow(c.Context, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: int32(c.Int("limit")), NextPageToken: token,
		})
		if err != nil {
			return exitf(ExitUsage, "list drills: %v", err)
		}
		for _, e := range resp.Executions {
			r := row{DrillID: e.Execution.GetWorkflowId(), Status: executionStatus(e.GetStatus()),
				StartedAt: e.GetStartTime().AsTime().UTC()}
			if ct := e.GetCloseTime(); ct != nil && !ct.AsTime().IsZero() {
				t := ct.AsTime().UTC()
				r.EndedAt = &t
			}
			if f, ok := e.GetMemo().GetFields()["playbook"]; ok {
				var name string
				if converter.GetDefaultDataConverter().FromPayload(f, &name) == nil {
					r.Playbook = name
				}
			}
			rows = append(rows, r)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	if len(rows) > c.Int("limit") {
		rows = rows[:c.Int("limit")]
	}
	if format == "json" {
		if rows == nil {
			rows = []row{}
		}
		return writeJSON(stdio.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdio.Out, "no drills yet (start one: drillctl drill run FILE)")
		return nil
	}
	tw := newTable(stdio.Out)
	fmt.Fprintln(tw, "DRILL\tPLAYBOOK\tSTATUS\tSTARTED (UTC)")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.DrillID, r.Playbook, r.Status, r.StartedAt.Format(time.DateTime))
	}
	return tw.Flush()
}

// executionStatus names a workflow status in drill terms.
func executionStatus(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return evidence.StatusRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return evidence.StatusCompleted
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed-or-aborted"
	default:
		return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
	}
}

func drillStatus(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		rec, err := fetchRecord(c.Context, cl, id, false)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		if format == "json" {
			return writeJSON(stdio.Out, rec)
		}
		writeScorecard(stdio.Out, rec)
		return nil
	})
}

func drillWatch(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		return followToEnd(c.Context, cl, id, stdio, format, format == "text")
	})
}

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
		UpdateName: workflows.UpdateApprove,
		Args: []any{workflows.ApproveInput{Step: step, By: c.String("as"), Comment: c.String("comment"),
			Reject: c.Bool("reject"), Signed: signed, Via: "cli"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return exitf(ExitUsage, "approve %s on %s: %v", step, id, notFound(id, err))
	}
	var a evidence.Approval
	if err := handle.Get(c.Context, &a); err != nil {
		return exitf(ExitUsage, "approve %s on %s: %v", step, id, err)
	}
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

func drillAck(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		step := c.String("step")
		if step == "" {
			rec, err := queryStatus(c.Context, cl, id)
			if err != nil {
				return exitf(ExitUsage, "ack: %v", err)
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
			return exitf(ExitUsage, "ack %s of %s: %v", step, id, notFound(workflows.EscalationID(id, step), err))
		}
		if format == "json" {
			return writeJSON(stdio.Out, a)
		}
		fmt.Fprintf(stdio.Out, "%s: acknowledged by %s (level %d) at %s\n", step, a.By, a.Level, a.At.Format(time.RFC3339))
		return nil
	})
}

func drillAbort(c *ucli.Context, stdio IO) error {
	id, err := oneArg(c, "DRILL_ID")
	if err != nil {
		return err
	}
	by := whoAmI(c)
	signed, err := sign(c, identity.Statement{Drill: id, Decision: identity.DecisionAbort, Signer: by, Comment: c.String("reason")})
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.SignalWorkflow(c.Context, id, "", workflows.SignalAbort,
		workflows.AbortInput{By: by, Reason: c.String("reason"), Signed: signed, Via: "cli"}); err != nil {
		return exitf(ExitUsage, "abort %s: %v", id, notFound(id, err))
	}
	fmt.Fprintf(stdio.Out, "abort sent to %s: running steps are cancelled and the rollback runs (follow: drillctl drill watch %s)\n", id, id)
	return nil
}

func drillResult(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		rec, err := fetchRecord(c.Context, cl, id, c.Bool("wait"))
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		if rec.Status == evidence.StatusRunning {
			return exitf(ExitUsage, "drill %s is still running (follow it: drillctl drill watch %s, or add --wait)", id, id)
		}
		return printRecord(stdio, format, rec)
	})
}

// onDrill runs fn with the --output format, the DRILL_ID argument and a
// connection to Temporal, closed after.
func onDrill(c *ucli.Context, fn func(format, id string, cl worker.Client) error) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	id, err := oneArg(c, "DRILL_ID")
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(format, id, cl)
}

// oneArg returns the single positional argument a command takes.
func oneArg(c *ucli.Context, name string) (string, error) {
	if c.NArg() != 1 {
		return "", exitf(ExitUsage, "%s: expected %s, got %d arguments", c.Command.FullName(), name, c.NArg())
	}
	return c.Args().First(), nil
}

// transient reports whether err says the server could not be reached (it is
// restarting, or the network blinked) rather than answered no.
func transient(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailable) || errors.As(err, &deadline) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	}
	return false
}
