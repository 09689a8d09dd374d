package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// outputFlag is the --output flag shared by every command that prints a result.
func outputFlag(formats ...string) *ucli.StringFlag {
	if len(formats) == 0 {
		formats = []string{"text", "json"}
	}
	return &ucli.StringFlag{
		Name:    "output",
		Aliases: []string{"o"},
		Value:   formats[0],
		Usage:   fmt.Sprintf("output format: %v", formats),
	}
}

// outputFormat returns the --output value, or a usage error when it is not one of formats.
func outputFormat(c *ucli.Context, formats ...string) (string, error) {
	if len(formats) == 0 {
		formats = []string{"text", "json"}
	}
	got := c.String("output")
	for _, f := range formats {
		if got == f {
			return got, nil
		}
	}
	return "", exitf(ExitUsage, "--output %q: expected one of %v", got, formats)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine prints v as one line of JSON (NDJSON: one object a line).
func writeJSONLine(w io.Writer, v any) error {
	line, err := jsonLine(v)
	if err != nil {
		return err
	}
	_, err = w.Write(line)
	return err
}

// jsonLine is v as one line of JSON, newline included.
func jsonLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return append(b, '\n'), nil
}

// sortCommands sorts commands by name, for --help.
func sortCommands(cmds []*ucli.Command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
}

// commentFlag is the free text a person's decision carries (approve,
// reject, decide, abort): one name, --comment, everywhere. old names the
// flag had before, kept working but hidden (hiddenAlias).
func commentFlag(required bool) *ucli.StringFlag {
	usage := "`TEXT`: why, for the record"
	if required {
		usage += " (required)"
	}
	return &ucli.StringFlag{Name: "comment", Usage: usage}
}

// hiddenAlias is a flag that reads like name but is left out of --help: an
// old name kept working (urfave/cli shows every alias of a flag, so an old
// name is a flag of its own). Read both with stringOf.
func hiddenAlias(old string) *ucli.StringFlag {
	return &ucli.StringFlag{Name: old, Hidden: true}
}

// stringOf is the value of the first of names that is set, else the value
// (default) of the first.
func stringOf(c *ucli.Context, names ...string) string {
	for _, n := range names {
		if c.IsSet(n) {
			return c.String(n)
		}
	}
	return c.String(names[0])
}

// requireOneOf returns a usage error unless one of names is set.
func requireOneOf(c *ucli.Context, names ...string) error {
	for _, n := range names {
		if c.IsSet(n) {
			return nil
		}
	}
	return exitf(ExitUsage, "%s: --%s is required", c.Command.FullName(), names[0])
}

// setUnknownCommand makes every command that only groups subcommands (and
// the app itself) refuse a name it does not know, with the closest one,
// instead of urfave/cli's "No help topic": `drillctl drill runn` says
// unknown command "runn" for "drillctl drill" (did you mean "run"?).
func setUnknownCommand(app *ucli.App) {
	if app.Action == nil {
		app.Action = func(c *ucli.Context) error {
			if c.NArg() == 0 || c.Args().First() == "help" {
				return ucli.ShowAppHelp(c)
			}
			return unknownCommand(app.Name, c.Args().First(), app.Commands)
		}
	}
	var walk func(path string, cmds []*ucli.Command)
	walk = func(path string, cmds []*ucli.Command) {
		for _, cmd := range cmds {
			if len(cmd.Subcommands) == 0 {
				continue
			}
			cmd := cmd
			full := path + " " + cmd.Name
			if cmd.Action == nil {
				cmd.Action = func(c *ucli.Context) error {
					if c.NArg() == 0 || c.Args().First() == "help" {
						return ucli.ShowSubcommandHelp(c)
					}
					return unknownCommand(full, c.Args().First(), cmd.Subcommands)
				}
			}
			walk(full, cmd.Subcommands)
		}
	}
	walk(app.Name, app.Commands)
}

// unknownCommand is the usage error for a command name parent does not have.
func unknownCommand(parent, name string, cmds []*ucli.Command) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden && c.Name != "help" {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("unknown command %q for %q", name, parent)
	if s := didYouMean(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += "; its commands are: " + strings.Join(names, ", ")
	}
	return exitf(ExitUsage, "%s\n  see: %s --help", msg, parent)
}

// didYouMean returns the candidate closest to s by edit distance, when it
// is close enough to be a typo (at most 1 edit, or a third of s), else "".
func didYouMean(s string, candidates []string) string {
	best, bestDist := "", max(1, len(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the number of edits (a rune inserted, deleted or
// replaced, or two neighbours swapped) that turn a into b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
