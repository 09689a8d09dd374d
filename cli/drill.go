package cli

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/google/uuid"
	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

func init() { commandGroups = append(commandGroups, drillCommand) }

// drillCommand is `drillctl drill`: run, follow, read and decide on drills.
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
(the default on a terminal) each step's state and elapsed time are shown live,
with the instants the worker took (in your time zone); piped, plain lines are
printed as steps change; with --output json, one JSON record a line (NDJSON),
as for "drill watch". Exit codes: 0 verdict met, 3 completed but a target was
missed or not measured, 4 failed or aborted, 1 bad input or no connection.

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
			listCommand(stdio, conn),
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
				Description: `Shows each step as it changes, then the scorecard. With --output json, prints
one JSON object a line (NDJSON): the drill's record at each change, then its
final record (the line whose status is no longer "running"). Exit codes as
for "drill run".

Examples:
   drillctl drill watch drill-chat-platform-quarterly-6f1c...
   drillctl drill watch drill-chat-platform-quarterly-6f1c... --output json | jq -c '.steps[] | {id, status}'`,
				Flags:  append([]ucli.Flag{outputFlag()}, conn...),
				Action: func(c *ucli.Context) error { return drillWatch(c, stdio) },
			},
			approveCommand(stdio, conn),
			ackCommand(stdio, conn),
			abortCommand(stdio, conn),
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
		_, ns := target(connection(c))
		return exitf(ExitUsage, "start drill: %v", worker.ExplainStartError(err, ns))
	}
	if c.Bool("detach") {
		if format == "json" {
			return writeJSON(stdio.Out, map[string]string{"drillId": run.GetID(), "runId": run.GetRunID()})
		}
		fmt.Fprintln(stdio.Out, run.GetID())
		return nil
	}
	follow := c.Bool("follow") || (!c.IsSet("follow") && format == "text" && isTerminal(stdio.Out))
	return followToEnd(followContext(c.Context, stdio), cl, run.GetID(), stdio, format, follow)
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
		if strings.Contains(v, "://") && worker.RedactDSN(v) != v {
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

// sortedParamNames are the names of a playbook's params, sorted.
func sortedParamNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// startDrill starts the Drill workflow for in, with the memo and search
// attributes drills are listed and found by (worker.StartOptions).
func startDrill(ctx context.Context, cl worker.Client, in workflows.DrillInput) (client.WorkflowRun, error) {
	return cl.ExecuteWorkflow(ctx, worker.StartOptions(in), workflows.DrillWorkflow, in)
}

// followToEnd waits for a drill to end, then prints its record and returns
// the exit code its verdict calls for. Following, it shows the steps as they
// change (text) or prints the record at each change, one JSON object a line
// (json); otherwise it says it waits (text) or waits silently (json).
func followToEnd(ctx context.Context, cl worker.Client, id string, stdio IO, format string, follow bool) error {
	var rec *evidence.Record
	var err error
	switch {
	case follow && format == "json":
		rec, err = streamRecords(ctx, cl, id, stdio)
	case follow:
		p := newProgress(stdio.Out, isTerminal(stdio.Out))
		closed, ferr := p.followEvent(ctx, cl, id)
		if ferr != nil {
			return ferr
		}
		if rec = recordOf(closed); rec == nil {
			rec, err = fetchRecord(ctx, cl, id, true)
		}
		if err == nil {
			p.show(rec) // the steps as they ended (the last query may not have seen it)
		}
	default:
		if format == "text" {
			fmt.Fprintf(stdio.Out, "drill %s started; waiting for it to end\n", id)
		}
		rec, err = fetchRecord(ctx, cl, id, true)
	}
	if err != nil {
		return exitf(ExitUsage, "drill %s: %v", id, err)
	}
	if follow && format == "json" {
		if err := writeJSONLine(stdio.Out, rec); err != nil {
			return err
		}
		return exitOf(rec)
	}
	return printRecord(stdio, format, rec)
}

// streamRecords prints the drill's record, one JSON object a line, each
// time it changes until the drill ends, and returns the final record (not
// printed).
func streamRecords(ctx context.Context, cl worker.Client, id string, stdio IO) (*evidence.Record, error) {
	var last []byte
	var werr error
	onChange := func(rec *evidence.Record) {
		line, err := jsonLine(rec)
		if err != nil || werr != nil || string(line) == string(last) {
			return
		}
		last = line
		_, werr = stdio.Out.Write(line)
	}
	if legacyFollow(ctx) {
		if err := pollStatus(ctx, cl, id, onChange); err != nil {
			return nil, notFound(id, err)
		}
		return fetchRecord(ctx, cl, id, true)
	}
	e, err := (&follower{src: temporalSource{cl: cl, id: id}, onChange: onChange}).wait(ctx)
	switch {
	case err != nil:
		return nil, notFound(id, err)
	case werr != nil:
		return nil, fmt.Errorf("write: %w", werr)
	case e != nil:
		if rec := recordOf(e); rec != nil {
			return rec, nil
		}
	}
	return closedRecord(ctx, cl, id)
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
	return exitOf(rec)
}

// exitOf is the error carrying the exit code a record's verdict calls for
// (nil for 0).
func exitOf(rec *evidence.Record) error {
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

// drillStatus prints a drill's record as it stands.
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

// drillWatch follows a drill to its end (text: progress; json: NDJSON).
func drillWatch(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		return followToEnd(followContext(c.Context, stdio), cl, id, stdio, format, true)
	})
}

// drillResult prints a finished drill's record (--wait: once it ends).
func drillResult(c *ucli.Context, stdio IO) error {
	return onDrill(c, func(format, id string, cl worker.Client) error {
		rec, err := fetchRecord(followContext(c.Context, stdio), cl, id, c.Bool("wait"))
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
