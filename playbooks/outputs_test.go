package playbooks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOutputKeys_DocumentEveryStepType(t *testing.T) {
	types := map[string]bool{"number": true, "text": true, "true|false": true, "list of text": true, "object": true, "JSON": true}
	for _, typ := range StepTypes {
		keys, ok := OutputKeys[typ]
		require.True(t, ok, "%s has its output keys written down", typ)
		seen := map[string]string{}
		for _, k := range keys {
			assert.NotEmpty(t, k.Name, typ)
			assert.NotEmpty(t, k.Description, "%s.%s", typ, k.Name)
			assert.True(t, types[k.Type], "%s.%s: type %q", typ, k.Name, k.Type)
			assert.Equal(t, k.Type == "JSON", k.Open, "%s.%s: JSON, and only JSON, is open", typ, k.Name)
			assert.True(t, len(k.Keys) == 0 || k.Type == "object", "%s.%s: only an object has keys", typ, k.Name)
			if when, dup := seen[k.Name]; dup {
				assert.NotEqual(t, when, k.When, "%s.%s is written down twice", typ, k.Name)
			}
			seen[k.Name] = k.When
		}
		if readable(typ) {
			assert.Contains(t, seen, "truncated", "%s: every activity output is bounded", typ)
		}
	}
	assert.Empty(t, OutputKeys[StepWait], "a wait step has no output")
	assert.False(t, readable(StepApproval), "the workflow records an approval's output; templates do not get it")
}

// outputsPlaybook is a playbook whose last step, "use", reads ref; extra
// steps come before it, and "use" needs them all.
func outputsPlaybook(ref string, extra ...string) string {
	var ids []string
	var b strings.Builder
	b.WriteString("apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: outputs}\n" +
		"contacts:\n  alice: {name: Alice, channels: [{console: {}}]}\n" +
		"escalation:\n  admins: {levels: [{contacts: [alice], ackTimeout: 10m}]}\nsteps:\n")
	for _, s := range extra {
		b.WriteString("  - " + s + "\n")
		id := strings.TrimSuffix(strings.Fields(strings.SplitN(s, "id: ", 2)[1])[0], ",")
		ids = append(ids, id)
	}
	if !strings.Contains(ref, "{{") {
		ref = "{{ " + ref + " }}"
	}
	b.WriteString("  - {id: use, type: http, needs: [" + strings.Join(ids, ", ") + "], url: 'http://x/" + ref + "'}\n")
	return b.String()
}

var (
	httpStepYAML   = `{id: a, type: http, url: "http://x"}`
	sqlStepYAML    = `{id: a, type: sql, dsn: "${env:DSN}", query: "SELECT 1"}`
	tcpProbeYAML   = `{id: a, type: probe, tcp: {address: "db:5432"}}`
	sqlProbeYAML   = `{id: a, type: probe, sql: {dsn: "${env:DSN}", query: "SELECT 1"}}`
	recordsYAML    = `{id: a, type: replication-check, compare: records, sql: {primary: "${env:P}", standby: "${env:S}", tables: [orders]}}`
	permissionYAML = `{id: a, type: replication-check, compare: permissions, http: {primary: "http://p", standby: "http://s"}}`
)

func TestValidate_StepOutputReferencesThatResolve(t *testing.T) {
	for _, tc := range []struct{ ref, step string }{
		{".steps.a.output.status", httpStepYAML},
		{".steps.a.output.json.site.role", httpStepYAML},
		{".steps.a.output.truncated.attachment", httpStepYAML},
		{`index .steps.a.output "body"`, httpStepYAML},
		{`index .steps "a" "output" "json"`, httpStepYAML},
		{`{{ range .steps.a.output }}{{ . }}{{ end }}`, httpStepYAML},
		{".steps.a.output.rows", sqlStepYAML},
		{".steps.a.output.command", sqlStepYAML},
		{".steps.a.output.address", tcpProbeYAML},
		{".steps.a.output.firstSuccessAt", tcpProbeYAML},
		{".steps.a.output.value", `{id: a, type: probe, sql: {dsn: "${env:DSN}", query: "SELECT 1", expect: "1"}}`},
		{".steps.a.output.orders.missingOnStandby", recordsYAML},
		{".steps.a.output.missingOnStandby", recordsYAML},
		{".steps.a.output.groups.roles.missing", permissionYAML},
		{".steps.a.output.lossWindowSeconds", `{id: a, type: replication-check, compare: messages, http: {primary: "http://p", standby: "http://s"}}`},
		{".steps.a.output.newestCanaryAt", `{id: a, type: canary, verifyAfter: use, http: {primary: "http://p", standby: "http://s"}}`},
		{".steps.a.output.notReady", `{id: a, type: inventory, assets: [{name: api, tier: 1}]}`},
		{".steps.a.output.stderr", `{id: a, type: exec, command: [pg_ctl, promote]}`},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			doc := outputsPlaybook(tc.ref, tc.step)
			if strings.Contains(tc.step, "canary") { // the canary waits for use; use may not need it
				doc = strings.Replace(doc, "needs: [a], ", "", 1)
				doc = strings.Replace(doc, "{{ "+tc.ref+" }}", "x", 1) +
					"rollback:\n  - {id: r, type: http, url: 'http://x/{{ " + tc.ref + " }}'}\n"
			}
			_, err := Parse("outputs.yaml", []byte(doc))
			assert.NoError(t, err, doc)
		})
	}
}

func TestValidate_StepOutputReferencesThatDoNot(t *testing.T) {
	for _, tc := range []struct{ ref, step, want string }{
		{".steps.a.output.nosuchkey", httpStepYAML,
			`template refers to output "nosuchkey" of step "a", which an http step does not produce: expected one of status, body, json, truncated (drillctl playbook explain http)`},
		{".steps.a.output.stauts", httpStepYAML, `(did you mean "status"?)`},
		{`index .steps.a.output "jsn"`, httpStepYAML, `output "jsn" of step "a", which an http step does not produce (did you mean "json"?)`},
		{".steps.a.output.body.text", httpStepYAML, `template refers to .steps.a.output.body.text, but body (the response body, its first 4 KiB, secrets scrubbed) is text, with nothing below it`},
		{".steps.a.output.truncated.size", httpStepYAML, `template refers to .steps.a.output.truncated.size, but truncated has no key "size": expected one of bytes, limit, attachment, attachmentError`},
		{".steps.a.output.decision", httpStepYAML, `template refers to output "decision" of step "a", which later steps cannot read: an http step has it in the drill record only, with an unknown outcome a person decided to continue`},
		{".steps.a.output.value", sqlProbeYAML, `which a probe with a sql check does not produce: expected one of rowCount, failures, firstAttemptAt, firstSuccessAt, truncated`},
		{".steps.a.output.status", tcpProbeYAML, `which a probe with a tcp check does not produce`},
		{".steps.a.output.customers", recordsYAML, `template refers to output "customers" of step "a", which a replication-check comparing records does not produce: expected one of orders, missingOnStandby, truncated`},
		{".steps.a.output.orders.rows", recordsYAML, `but orders has no key "rows": expected one of primaryRows, standbyRows, missingOnStandby, primaryNewestAt, standbyNewestAt`},
		{".steps.a.output.drift", `{id: a, type: replication-check, compare: messages, http: {primary: "http://p", standby: "http://s"}}`, `which a replication-check comparing messages does not produce`},
		{".steps.a.output.ackedBy", `{id: a, type: page, escalation: admins}`,
			`template refers to the output of step "a", a page step, which later steps cannot read: it is kept in the drill record only (outcome, ackedBy, level, pages, failedPages), and the drill would fail when it renders this value`},
		{".steps.a.output", `{id: a, type: wait, duration: 1s}`,
			`template refers to the output of step "a", a wait step, which has no output: the drill would fail when it renders this value`},
		{".steps.b.output.status", httpStepYAML, `template refers to unknown step "b"`},
		{".steps.aa.output.status", httpStepYAML, `template refers to unknown step "aa" (did you mean "a"?)`},
		{".steps.use.output.status", httpStepYAML, `template refers to step "use", the step itself`},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			doc := outputsPlaybook(tc.ref, tc.step)
			_, err := Parse("outputs.yaml", []byte(doc))
			require.Error(t, err, doc)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one error: %v", err)
		})
	}
}

// A template naming a step that does not exist says so, not "add it to
// needs" (which cannot help).
func TestValidate_UnknownStepInATemplateIsNotANeedsProblem(t *testing.T) {
	_, err := Parse("x.yaml", []byte(outputsPlaybook(".steps.failovr.output.status", strings.Replace(httpStepYAML, "id: a", "id: failover", 1))))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "needs")
	assert.Contains(t, err.Error(), `unknown step "failovr" (did you mean "failover"?)`)
}

func TestSchema_DocumentsTheOutputKeysOfEveryStepType(t *testing.T) {
	raw, err := Schema()
	require.NoError(t, err)
	var schema struct {
		Properties struct {
			Steps struct {
				Items struct {
					OneOf []struct {
						Title       string      `json:"title"`
						Description string      `json:"description"`
						Outputs     []OutputKey `json:"x-outputs"`
					} `json:"oneOf"`
				} `json:"items"`
			} `json:"steps"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	variants := schema.Properties.Steps.Items.OneOf
	require.Len(t, variants, len(StepTypes))
	for i, typ := range StepTypes {
		v := variants[i]
		assert.Equal(t, string(typ)+" step", v.Title)
		assert.Equal(t, len(OutputKeys[typ]), len(v.Outputs), typ)
		if readable(typ) {
			assert.Contains(t, v.Description, "{{ .steps.ID.output.KEY }}", typ)
		}
	}
	assert.Contains(t, variants[1].Description, "status, body, json, truncated")
}

func TestExplain_FieldsInOrderWithTheirTypes(t *testing.T) {
	doc, ok := Explain(StepHTTP)
	require.True(t, ok)
	assert.True(t, doc.Action)
	byName := map[string]FieldDoc{}
	var names []string
	for _, f := range doc.Fields {
		byName[f.Name] = f
		names = append(names, f.Name)
	}
	assert.Equal(t, "id", names[0])
	assert.Equal(t, FieldDoc{Name: "url", Type: "text", Required: true, Description: descriptions["url"]}, byName["url"])
	assert.Equal(t, "list of numbers", byName["expectStatus"].Type)
	assert.Equal(t, "mapping: maxAttempts, initialInterval, backoff, maxInterval", byName["retry"].Type)
	assert.True(t, byName["needs"].Common)
	assert.True(t, byName["type"].Required)

	probe, _ := Explain(StepProbe)
	var probeFields []string
	for _, f := range probe.Fields {
		probeFields = append(probeFields, f.Name)
	}
	assert.Subset(t, probeFields, []string{"interval", "http", "tcp", "exec", "sql"})

	_, ok = Explain("htp")
	assert.False(t, ok)
}
