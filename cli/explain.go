package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/playbooks"
)

// playbookExplainCommand is `drillctl playbook explain [TYPE]`.
func playbookExplainCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:      "explain",
		Usage:     "describe a step type: its fields and the output keys later steps read",
		ArgsUsage: "[TYPE]",
		Description: `With no TYPE, lists the step types. With a TYPE, shows what it does, the
fields a step of that type is written with (every step's first, then its
own), and the keys of its output, which later steps read as
{{ .steps.ID.output.KEY }}. Validation refuses a template naming a key the
step does not produce.

Examples:
   drillctl playbook explain
   drillctl playbook explain http
   drillctl playbook explain probe --output json`,
		Flags:  []ucli.Flag{outputFlag()},
		Action: func(c *ucli.Context) error { return playbookExplain(c, stdio) },
	}
}

func playbookExplain(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	switch c.NArg() {
	case 0:
		var docs []playbooks.StepDoc
		for _, t := range playbooks.StepTypes {
			doc, _ := playbooks.Explain(t)
			docs = append(docs, doc)
		}
		if format == "json" {
			return writeJSON(stdio.Out, docs)
		}
		return printStepTypes(stdio.Out, docs)
	case 1:
	default:
		return exitf(ExitUsage, "playbook explain: expected at most one TYPE, got %d", c.NArg())
	}
	name := c.Args().First()
	doc, ok := playbooks.Explain(playbooks.StepType(name))
	if !ok {
		names := make([]string, len(playbooks.StepTypes))
		for i, t := range playbooks.StepTypes {
			names[i] = string(t)
		}
		return exitf(ExitUsage, "playbook explain: unknown step type %q: expected one of %s", name, strings.Join(names, ", "))
	}
	if format == "json" {
		return writeJSON(stdio.Out, doc)
	}
	return printStepDoc(stdio.Out, doc)
}

func printStepTypes(out io.Writer, docs []playbooks.StepDoc) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "Step types (drillctl playbook explain TYPE says more):")
	for _, d := range docs {
		fmt.Fprintf(w, "  %s\t%s\n", d.Type, d.Summary)
	}
	return w.Flush()
}

func printStepDoc(out io.Writer, d playbooks.StepDoc) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "%s: %s\n", d.Type, d.Summary)
	if d.Action {
		fmt.Fprintln(w, "An action: it changes the world, so it is attempted once unless its retry says otherwise.")
	}
	for _, common := range []bool{true, false} {
		if common {
			fmt.Fprintln(w, "\nFields of every step:")
		} else {
			fmt.Fprintf(w, "\nFields of %s step:\n", withArticle(string(d.Type)))
		}
		for _, f := range d.Fields {
			if f.Common != common {
				continue
			}
			req := ""
			if f.Required {
				req = "required"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", f.Name, f.Type, req, f.Description)
		}
	}
	fmt.Fprintln(w)
	readable := false
	for _, k := range d.Outputs {
		readable = readable || !k.RecordOnly
	}
	switch {
	case len(d.Outputs) == 0:
		fmt.Fprintln(w, "Output: none.")
	default:
		if readable {
			fmt.Fprintln(w, "Output, read by later steps as {{ .steps.ID.output.KEY }}:")
		} else {
			fmt.Fprintln(w, "Output, kept in the drill record (later steps cannot read it):")
		}
		for _, k := range d.Outputs {
			fmt.Fprintf(w, "  %s\t%s\t%s%s\n", k.Name, k.Type, k.Description, outputNotes(k))
		}
	}
	return w.Flush()
}

// outputNotes says how an output key may be read, in brackets.
func outputNotes(k playbooks.OutputKey) string {
	var notes []string
	if k.When != "" {
		notes = append(notes, "with "+k.When)
	}
	if len(k.Keys) > 0 {
		notes = append(notes, "keys: "+strings.Join(k.Keys, ", "))
	}
	if k.Optional {
		notes = append(notes, `sometimes absent: {{ index .steps.ID.output "`+k.Name+`" }} reads it as nothing`)
	}
	if k.RecordOnly && k.When != "" {
		notes = append(notes, "in the drill record only")
	}
	if len(notes) == 0 {
		return ""
	}
	return " [" + strings.Join(notes, "; ") + "]"
}

// withArticle puts "a" or "an" before a step type's name.
func withArticle(t string) string {
	switch t {
	case "inventory", "http", "exec", "approval":
		return "an " + t
	}
	return "a " + t
}
