package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

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

func sortCommands(cmds []*ucli.Command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
}
