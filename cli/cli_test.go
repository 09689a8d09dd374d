package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ucli "github.com/urfave/cli/v2"
)

// run runs drillctl in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), IO{In: strings.NewReader(""), Out: &out, Err: &errb}, append([]string{"drillctl"}, args...))
	return code, out.String(), errb.String()
}

func TestPlaybookValidate_ErrorsOnePerLineAsFileLineCol(t *testing.T) {
	code, out, errOut := run(t, "playbook", "validate", "../playbooks/examples/chat-platform-quarterly.yaml",
		"../playbooks/testdata/invalid/several-errors.yaml", "../playbooks/testdata/invalid/cycle.yaml")
	assert.Equal(t, ExitUsage, code)
	assert.Equal(t, "ok ../playbooks/examples/chat-platform-quarterly.yaml\n", out)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	assert.Equal(t, []string{
		`../playbooks/testdata/invalid/several-errors.yaml:7:15: steps[0].duration: "soon" is not a duration (try 4h, 15m, 1d)`,
		`../playbooks/testdata/invalid/several-errors.yaml:10:16: steps[1].needs[1]: unknown step "zz"`,
		`../playbooks/testdata/invalid/several-errors.yaml:12:26: steps[1].retry.maxAttempts: expected 1 or more, got 0`,
		`../playbooks/testdata/invalid/several-errors.yaml:13:5: steps[2]: an exec step needs a command (a list: program and arguments)`,
		`../playbooks/testdata/invalid/cycle.yaml:5:46: steps[0].needs: cycle: a -> b -> c -> a`,
	}, lines)

	code, _, _ = run(t, "playbook", "validate", "../playbooks/examples/chat-platform-quarterly.yaml", "../playbooks/examples/postgres-failover.yaml")
	assert.Equal(t, ExitOK, code)
}

func TestPlaybookValidate_JSON(t *testing.T) {
	code, out, _ := run(t, "playbook", "validate", "--output", "json", "../playbooks/testdata/invalid/unknown-need.yaml")
	assert.Equal(t, ExitUsage, code)
	var got []fileResult
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 1)
	assert.False(t, got[0].Valid)
	require.Len(t, got[0].Errors, 1)
	assert.Equal(t, 6, got[0].Errors[0].Line)
	assert.Equal(t, `unknown step "failovr" (did you mean "failover"?)`, got[0].Errors[0].Msg)
}

func TestPlaybookPlanAndSchema(t *testing.T) {
	code, out, _ := run(t, "playbook", "plan", "../playbooks/examples/chat-platform-quarterly.yaml")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "failover (http)   ← RTO clock starts (outage_start)")
	assert.Contains(t, out, "restored (probe)   ← RTO clock stops (service_restored)")

	code, out, _ = run(t, "playbook", "plan", "--output", "json", "../playbooks/examples/chat-platform-quarterly.yaml")
	require.Equal(t, ExitOK, code)
	var plan struct {
		Waves    [][]string
		RTOStart string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	assert.Equal(t, "failover", plan.RTOStart)
	assert.Equal(t, []string{"inventory"}, plan.Waves[0])

	code, out, _ = run(t, "playbook", "schema")
	require.Equal(t, ExitOK, code)
	var schema map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &schema))
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema["$schema"])
}

func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	app := NewApp(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var walk func(prefix string, cmds []*ucli.Command)
	walk = func(prefix string, cmds []*ucli.Command) {
		for _, c := range cmds {
			name := prefix + " " + c.Name
			assert.NotEmpty(t, c.Usage, name)
			if len(c.Subcommands) > 0 {
				walk(name, c.Subcommands)
				continue
			}
			assert.Contains(t, c.Description, "drillctl "+strings.TrimPrefix(name, " "), "%s: --help shows a real example", name)
		}
	}
	walk("", app.Commands)
}

func TestFlagsMayFollowArguments(t *testing.T) {
	code, out, _ := run(t, "playbook", "plan", "../playbooks/examples/postgres-failover.yaml", "--output", "json")
	require.Equal(t, ExitOK, code)
	assert.True(t, json.Valid([]byte(out)))
}

func TestBadUsageIsExitOne(t *testing.T) {
	code, _, errOut := run(t, "drill", "run")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "expected one playbook FILE")
	code, _, errOut = run(t, "report", "--quarter", "2026-4", "--evidence-dir", t.TempDir())
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `--quarter "2026-4": expected YYYYQn, e.g. 2026Q4`)
	code, _, errOut = run(t, "drill", "status", "x", "--address", "127.0.0.1:1")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "connect to Temporal at 127.0.0.1:1")
}
