package cli

import (
	"errors"
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/playbooks"
)

func init() { commandGroups = append(commandGroups, playbookCommand) }

func playbookCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "playbook",
		Usage: "validate, plan and describe playbooks",
		Description: `Examples:
   drillctl playbook validate playbooks/examples/*.yaml
   drillctl playbook plan playbooks/examples/chat-platform-quarterly.yaml
   drillctl playbook schema > playbook.schema.json`,
		Subcommands: []*ucli.Command{
			playbookSignCommand(stdio),
			playbookExplainCommand(stdio),
			{
				Name:      "validate",
				Usage:     "check playbooks; every error as FILE:LINE:COL: message",
				ArgsUsage: "FILE...",
				Description: `Exit 0 when every file is valid; otherwise every error of every file on
stderr, one per line, and exit 1. Nothing is started.

Examples:
   drillctl playbook validate playbooks/examples/*.yaml
   drillctl playbook validate quarterly.yaml --output json`,
				Flags:  []ucli.Flag{outputFlag()},
				Action: func(c *ucli.Context) error { return playbookValidate(c, stdio) },
			},
			{
				Name:      "plan",
				Usage:     "show the waves of parallel steps and where the RTO clock starts and stops",
				ArgsUsage: "FILE",
				Description: `Examples:
   drillctl playbook plan playbooks/examples/chat-platform-quarterly.yaml
   drillctl playbook plan quarterly.yaml --output json`,
				Flags:  []ucli.Flag{outputFlag()},
				Action: func(c *ucli.Context) error { return playbookPlan(c, stdio) },
			},
			{
				Name:  "schema",
				Usage: "print the JSON Schema (draft 2020-12) of the playbook language",
				Description: `For editors: with the YAML language server, put this first in a playbook:
   # yaml-language-server: $schema=./playbook.schema.json

Example:
   drillctl playbook schema > playbook.schema.json`,
				Action: func(c *ucli.Context) error {
					s, err := playbooks.Schema()
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(stdio.Out, string(s))
					return err
				},
			},
		},
	}
}

// fileResult is one file's outcome in `playbook validate --output json`.
type fileResult struct {
	File   string             `json:"file"`
	Valid  bool               `json:"valid"`
	Errors []*playbooks.Error `json:"errors"`
}

func playbookValidate(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	if c.NArg() == 0 {
		return exitf(ExitUsage, "playbook validate: expected one or more FILEs")
	}
	results := make([]fileResult, 0, c.NArg())
	invalid := 0
	for _, file := range c.Args().Slice() {
		r := fileResult{File: file, Valid: true, Errors: []*playbooks.Error{}}
		if _, err := playbooks.Load(file); err != nil {
			r.Valid = false
			invalid++
			var list playbooks.ErrorList
			if errors.As(err, &list) {
				r.Errors = list
			} else {
				r.Errors = []*playbooks.Error{{File: file, Msg: err.Error()}}
			}
		}
		results = append(results, r)
	}
	if format == "json" {
		if err := writeJSON(stdio.Out, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Valid {
				fmt.Fprintf(stdio.Out, "ok %s\n", r.File)
			}
			for _, e := range r.Errors {
				fmt.Fprintln(stdio.Err, e.Error())
			}
		}
	}
	if invalid > 0 {
		// The errors, one per line, are the whole of stderr: scripts read them.
		return &ExitError{Code: ExitUsage}
	}
	return nil
}

func playbookPlan(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	file, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	p, err := playbooks.Load(file)
	if err != nil {
		fmt.Fprintln(stdio.Err, err)
		return &ExitError{Code: ExitUsage}
	}
	plan, err := playbooks.PlanOf(p)
	if err != nil {
		return exitf(ExitUsage, "plan %s: %v", file, err)
	}
	if format == "json" {
		return writeJSON(stdio.Out, plan)
	}
	types := map[string]string{}
	for _, s := range append(append([]playbooks.Step{}, p.Steps...), p.Rollback...) {
		types[s.ID] = string(s.Type)
	}
	fmt.Fprintf(stdio.Out, "Playbook %s: %d steps", p.Metadata.Name, len(p.Steps))
	if t := p.Targets; t.RTO != nil || t.RPO != nil || t.Response != nil {
		var parts []string
		for _, x := range []struct {
			name string
			d    *playbooks.Duration
		}{{"RTO", t.RTO}, {"RPO", t.RPO}, {"response", t.Response}} {
			if x.d != nil {
				parts = append(parts, fmt.Sprintf("%s ≤ %s", x.name, humanDuration(x.d.D())))
			}
		}
		fmt.Fprintf(stdio.Out, ", targets %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(stdio.Out)
	for i, wave := range plan.Waves {
		fmt.Fprintf(stdio.Out, "  wave %d:\n", i+1)
		for _, id := range wave {
			note := ""
			switch id {
			case plan.RTOStart:
				note = "   ← RTO clock starts (outage_start)"
			case plan.RTOStop:
				note = "   ← RTO clock stops (service_restored)"
			}
			fmt.Fprintf(stdio.Out, "    %s (%s)%s\n", id, types[id], note)
		}
	}
	if len(plan.Rollback) > 0 {
		fmt.Fprintln(stdio.Out, "  on failure or abort, rollback:")
		for i, wave := range plan.Rollback {
			for _, id := range wave {
				fmt.Fprintf(stdio.Out, "    %d. %s (%s)\n", i+1, id, types[id])
			}
		}
	}
	if len(plan.RestoreOrder) > 0 {
		fmt.Fprintf(stdio.Out, "  restore order of the assets: %s\n", strings.Join(plan.RestoreOrder, " → "))
	}
	return nil
}
