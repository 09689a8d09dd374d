package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/playbooks"
)

func TestPlaybookExplain_ShowsFieldsAndOutputKeys(t *testing.T) {
	code, out, errOut := run(t, "playbook", "explain", "http")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "http: Sends one HTTP request")
	assert.Contains(t, out, "An action:")
	assert.Contains(t, out, "Fields of every step:")
	assert.Contains(t, out, "Fields of an http step:")
	assert.Regexp(t, `\n  url +text +required +An http:// or https:// URL\.`, out)
	assert.Contains(t, out, "Output, read by later steps as {{ .steps.ID.output.KEY }}:")
	assert.Regexp(t, `\n  status +number +the response's HTTP status code\n`, out)
	assert.Regexp(t, `\n  json +JSON +.*\[sometimes absent: \{\{ index \.steps\.ID\.output "json" \}\} reads it as nothing\]`, out)
	assert.Regexp(t, `\n  decision +text +.*in the drill record only`, out)
	assert.Regexp(t, `\n  type +http +required`, out)

	code, out, _ = run(t, "playbook", "explain", "approval")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "Output, kept in the drill record (later steps cannot read it):")

	code, out, _ = run(t, "playbook", "explain", "wait")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "Output: none.")
	assert.NotContains(t, out, "An action")
}

func TestPlaybookExplain_JSON(t *testing.T) {
	code, out, _ := run(t, "playbook", "explain", "probe", "--output", "json")
	require.Equal(t, ExitOK, code)
	var doc playbooks.StepDoc
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, playbooks.StepProbe, doc.Type)
	var fields, outputs []string
	for _, f := range doc.Fields {
		fields = append(fields, f.Name)
	}
	for _, k := range doc.Outputs {
		outputs = append(outputs, k.Name)
	}
	assert.Subset(t, fields, []string{"id", "needs", "interval", "http", "tcp", "exec", "sql"})
	assert.Subset(t, outputs, []string{"status", "address", "firstSuccessAt", "truncated"})
}

func TestPlaybookExplain_NoTypeListsTheTypes(t *testing.T) {
	code, out, _ := run(t, "playbook", "explain")
	require.Equal(t, ExitOK, code)
	for _, typ := range playbooks.StepTypes {
		assert.Contains(t, out, "\n  "+string(typ)+" ", typ)
	}

	code, out, _ = run(t, "playbook", "explain", "-o", "json")
	require.Equal(t, ExitOK, code)
	var docs []playbooks.StepDoc
	require.NoError(t, json.Unmarshal([]byte(out), &docs))
	assert.Len(t, docs, len(playbooks.StepTypes))
}

func TestPlaybookExplain_UnknownTypeIsAUsageError(t *testing.T) {
	code, _, errOut := run(t, "playbook", "explain", "htp")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `unknown step type "htp": expected one of inventory, http, exec`)
	assert.True(t, strings.HasPrefix(errOut, "drillctl: playbook explain:"), errOut)
}
