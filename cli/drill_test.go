package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ucli "github.com/urfave/cli/v2"
)

func TestUnknownCommand_SaysSoWithTheClosestAndExitsOne(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"drill", "runn"}, `unknown command "runn" for "drillctl drill" (did you mean "run"?)`},
		{[]string{"drill", "abrot", "x"}, `unknown command "abrot" for "drillctl drill" (did you mean "abort"?)`},
		{[]string{"evidence", "verfy"}, `unknown command "verfy" for "drillctl evidence" (did you mean "verify"?)`},
		{[]string{"dril", "list"}, `unknown command "dril" for "drillctl" (did you mean "drill"?)`},
		{[]string{"drill", "zzzzzz"}, `unknown command "zzzzzz" for "drillctl drill"; its commands are: abort, ack, approve, decide, list, result, run, status, watch`},
	} {
		code, _, errOut := run(t, tc.args...)
		assert.Equal(t, ExitUsage, code, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
		assert.NotContains(t, errOut, "No help topic", tc.args)
	}
	// A group alone still shows its help.
	code, out, _ := run(t, "drill")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "run, watch, approve and abort drills")
}

// subcommands returns the subcommands of the named top-level command.
func subcommands(t *testing.T, name string) []*ucli.Command {
	t.Helper()
	app := NewApp(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	for _, c := range app.Commands {
		if c.Name == name {
			return c.Subcommands
		}
	}
	t.Fatalf("no command %s", name)
	return nil
}

func flagNames(c *ucli.Command) map[string]ucli.Flag {
	names := map[string]ucli.Flag{}
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			names[n] = f
		}
	}
	return names
}

func TestEveryDrillAndEvidenceCommandHasOutputJSON(t *testing.T) {
	for _, group := range []string{"drill", "evidence"} {
		for _, c := range subcommands(t, group) {
			f, ok := flagNames(c)["output"]
			if assert.True(t, ok, "%s %s has no --output", group, c.Name) {
				assert.Contains(t, f.(*ucli.StringFlag).Usage, "json", "%s %s", group, c.Name)
			}
		}
	}
}

func TestDecisionsTakeCommentAndTheOldNamesHidden(t *testing.T) {
	for _, c := range subcommands(t, "drill") {
		switch c.Name {
		case "approve", "decide", "abort":
		default:
			continue
		}
		names := flagNames(c)
		require.Contains(t, names, "comment", c.Name)
		for _, old := range []string{"reason", "note"} {
			if f, ok := names[old]; ok {
				assert.True(t, f.(*ucli.StringFlag).Hidden, "drill %s --%s is an old name: hidden", c.Name, old)
			}
		}
		code, out, _ := run(t, "drill", c.Name, "--help")
		require.Equal(t, ExitOK, code)
		assert.Contains(t, out, "--comment", c.Name)
		assert.NotContains(t, out, "--reason", c.Name)
		assert.NotContains(t, out, "--note", c.Name)
	}
	// The old name keeps working: the command gets as far as connecting.
	code, _, errOut := run(t, "drill", "abort", "drill-x", "--reason", "freeze", "--as", "carol", "--address", "127.0.0.1:1", "--tls=false")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "127.0.0.1:1")
	code, _, errOut = run(t, "drill", "abort", "drill-x", "--as", "carol", "--address", "127.0.0.1:1")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--comment is required")
}

func TestEvidenceWritesTakeToAndTheOldOutHidden(t *testing.T) {
	for _, c := range subcommands(t, "evidence") {
		names := flagNames(c)
		if f, ok := names["out"]; ok {
			assert.True(t, f.(*ucli.StringFlag).Hidden, "evidence %s --out is an old name: hidden", c.Name)
			assert.Contains(t, names, "to", c.Name)
		}
	}
	code, out, _ := run(t, "evidence", "export", "--help")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "--to DIR")
	assert.NotContains(t, out, "--out ")
}

func TestDidYouMean_OnlyWhatLooksLikeATypo(t *testing.T) {
	names := []string{"abort", "ack", "approve", "decide", "list", "result", "run", "status", "watch"}
	for in, want := range map[string]string{
		"runn": "run", "rn": "run", "aprove": "approve", "stauts": "status", "reslut": "result",
		"lits": "list", "xyz": "", "stop": "", "watch": "watch",
	} {
		assert.Equal(t, want, didYouMean(in, names), in)
	}
}
