package playbooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invalidCorpus pins, for every broken playbook in testdata/invalid, every
// error Load reports: line, column, field path and message, all at once.
var invalidCorpus = []struct {
	file string
	want []string
}{
	{"asset-bad-tier.yaml", []string{
		"8:27: steps[0].assets[0].tier: expected a tier from 1 (critical) to 3, got 4",
		"9:16: steps[0].assets[1].name: duplicate asset \"api\"",
		"9:42: steps[0].assets[1].dependsOn[0]: unknown asset \"cache\"",
		"12:34: steps[0].readiness.rules[0].maxNotReady: \"ten percent\": expected a count (\"0\", \"2\") or a percentage (\"10%\")",
	}},
	{"asset-cycle.yaml", []string{
		"8:41: steps[0].assets[0].dependsOn: asset dependency cycle: api -> db -> storage -> api",
	}},
	{"bad-duration.yaml", []string{
		"8:14: steps[0].timeout: \"4 hours\" is not a duration (try 4h, 15m, 1d)",
	}},
	{"bad-name.yaml", []string{
		"3:18: metadata.name: \"Chat Platform\": expected lowercase letters, digits and dashes (at most 63), like chat-platform-quarterly",
	}},
	{"bad-secret.yaml", []string{
		"8:30: steps[0].headers.Authorization: secret reference \"${env:API-TOKEN}\": \"API-TOKEN\" is not an environment variable name",
		"8:66: steps[0].headers.X-Other: secret reference \"${vault:kv/x}\": expected ${env:NAME} or ${file:/path}",
	}},
	{"blank.yaml", []string{
		"1:1: the file is empty: expected a playbook (apiVersion, kind, metadata, steps)",
	}},
	{"canary-deadlock.yaml", []string{
		"5:5: steps[0]: the outage_start step \"failover\" needs the canary, which writes until the outage starts: the drill would never end",
	}},
	{"channel-two-kinds.yaml", []string{
		"8:9: contacts.alice.channels[0]: expected exactly one of webhook, slack, dingtalk, pagerduty, email or console, got 2",
	}},
	{"cycle.yaml", []string{
		"5:46: steps[0].needs: cycle: a -> b -> c -> a",
	}},
	{"duplicate-id.yaml", []string{
		"6:10: steps[1].id: duplicate step id \"a\"",
	}},
	{"duplicate-key.yaml", []string{
		"8:5: steps[0].url: duplicate key \"url\"",
	}},
	{"empty.yaml", []string{
		"1:1: the file is empty: expected a playbook (apiVersion, kind, metadata, steps)",
	}},
	{"escalation-unknown-contact.yaml", []string{
		"10:9: escalation.dr-admins.levels[1].ackTimeout: a level needs an ackTimeout above zero (like 10m)",
		"10:21: escalation.dr-admins.levels[1].contacts[0]: unknown contact \"carol\"; contacts are: alice",
	}},
	{"field-of-other-type.yaml", []string{
		"8:5: steps[0].approvers: unknown field \"approvers\" in a wait step (it belongs to approval steps); expected one of compensate, continueOnError, description, duration, id, marks, maxOutput, needs, retry, timeout, type",
	}},
	{"missing-name.yaml", []string{
		"3:11: metadata.name: missing: every playbook needs a name (lowercase letters, digits and dashes)",
	}},
	{"missing-type.yaml", []string{
		"5:5: steps[0]: missing field \"type\": expected one of inventory, http, exec, probe, sql, canary, replication-check, page, approval, wait, notify",
	}},
	{"no-steps.yaml", []string{
		"4:8: steps: a playbook needs at least one step",
	}},
	{"not-a-mapping.yaml", []string{
		"1:1: expected a playbook (a mapping with apiVersion, kind, metadata and steps), got a list",
	}},
	{"probe-no-check.yaml", []string{
		"5:5: steps[0]: a probe needs exactly one check (http, tcp, exec or sql), got 0",
	}},
	{"restored-before-outage.yaml", []string{
		"7:5: steps[1].needs: service_restored step \"restored\" must run after outage_start step \"failover\": add \"failover\" to its needs (directly or through another step)",
	}},
	{"restored-not-probe.yaml", []string{
		"6:58: steps[1].marks: service_restored goes on a probe step: only a probe sees when the service came back (\"b\" is a wait step)",
	}},
	{"rollback-needs-step.yaml", []string{
		"7:60: rollback[0].needs[0]: rollback step \"failback\" needs \"failover\", a step of the drill: rollback steps may only need other rollback steps",
	}},
	{"rto-without-marks.yaml", []string{
		"4:16: targets.rto: an rto target needs a step with marks: outage_start (the failover action)",
	}},
	{"self-need.yaml", []string{
		"5:47: steps[0].needs[0]: step \"a\" needs itself",
	}},
	{"several-errors.yaml", []string{
		"7:15: steps[0].duration: \"soon\" is not a duration (try 4h, 15m, 1d)",
		"10:16: steps[1].needs[1]: unknown step \"zz\"",
		"12:26: steps[1].retry.maxAttempts: expected 1 or more, got 0",
		"13:5: steps[2]: an exec step needs a command (a list: program and arguments)",
	}},
	{"syntax.yaml", []string{
		"3:1: YAML syntax: did not find expected ',' or '}' (a [list] or {mapping} opened on this line is not closed)",
	}},
	{"tabs.yaml", []string{
		"4:1: tab in indentation: YAML indents with spaces",
	}},
	{"template-not-ancestor.yaml", []string{
		"6:32: steps[1].url: template refers to step \"login\", which is not among the steps \"use\" needs: its output may not exist yet (add it to needs)",
	}},
	{"template-syntax.yaml", []string{
		"6:30: steps[0].url: template: unexpected \"}\" in operand",
	}},
	{"template-unknown-param.yaml", []string{
		"6:30: steps[0].url: template refers to param \"primry\", which the playbook does not declare (did you mean \"primary\"?)",
	}},
	{"two-outage-starts.yaml", []string{
		"6:47: steps[1].marks: a second outage_start (\"a\" is the first): exactly one step marks the outage start",
	}},
	{"unknown-approver.yaml", []string{
		"7:51: steps[0].approvers[1]: unknown contact \"bobb\"; contacts are: alice",
	}},
	{"unknown-escalation.yaml", []string{
		"11:40: steps[0].escalation: unknown escalation policy \"dr-admin\" (did you mean \"dr-admins\"?)",
	}},
	{"unknown-mark.yaml", []string{
		"5:47: steps[0].marks: unknown mark \"outage_begin\": expected outage_start or service_restored",
	}},
	{"unknown-need.yaml", []string{
		"6:54: steps[1].needs[0]: unknown step \"failovr\" (did you mean \"failover\"?)",
	}},
	{"unknown-step-field.yaml", []string{
		"8:5: steps[0].timout: unknown field \"timout\" in an http step (did you mean \"timeout\"?)",
	}},
	{"unknown-top-field.yaml", []string{
		"4:1: target: unknown field \"target\" (did you mean \"targets\"?)",
	}},
	{"unknown-type.yaml", []string{
		"6:11: steps[0].type: unknown step type \"htp\" (did you mean \"http\"?)",
	}},
	{"wrong-api-version.yaml", []string{
		"1:13: apiVersion: expected \"drillctl/v1\", got \"drillctl/v2\"",
	}},
	{"wrong-kind.yaml", []string{
		"2:7: kind: expected \"Playbook\", got \"Runbook\"",
	}},
	{"wrong-type-bool.yaml", []string{
		"5:56: steps[0].continueOnError: expected true or false, got \"yes please\"",
	}},
	{"wrong-type-needs.yaml", []string{
		"9:12: steps[1].needs: expected a list, got a mapping",
	}},
	{"alias-bomb.yaml", []string{
		"10:75: rollback[9]: aliases expand to more than 10000 YAML values (MaxAliasNodes): every use of an alias copies its anchor, and aliases inside anchors multiply; write the repeated part out, or use fewer aliases",
	}},
	{"bad-addresses.yaml", []string{
		"9:46: contacts.alice.channels[0].email.smtp: \"mail.example.com:smtp\": port \"smtp\" is not a number: expected 1 to 65535",
		"10:24: contacts.alice.channels[1].webhook.url: \"hooks.example.com/page\": expected an http:// or https:// URL; write \"https://hooks.example.com/page\" or \"http://hooks.example.com/page\"",
		"11:22: contacts.alice.channels[2].slack.url: \"https://hooks.slack.com:0/services/x\": port 0 is out of range: expected 1 to 65535",
		"12:60: contacts.alice.channels[3].pagerduty.severity: unknown severity \"high\": expected critical, error, warning or info (PagerDuty refuses others)",
		"17:44: steps[0].assets[0].tcp.address: \"db.internal:65536\": port 65536 is out of range: expected 1 to 65535",
		"18:47: steps[0].assets[1].tcp.address: \"cache.internal\": expected host:port (like db.internal:5432)",
		"21:71: steps[1].url: \"http://127.0.0.1:80808/failover\": port 80808 is out of range: expected 1 to 65535",
		"22:64: steps[2].http.url: \"ftp://standby.internal/health\": expected an http:// or https:// URL, got ftp://",
		"23:65: steps[3].http.url: \"http://standby.internal:http/health\": port \"http\" is not a number: expected 1 to 65535",
		"28:21: steps[4].http.primary: \"127.0.0.1:9101\": expected an http:// or https:// URL; write \"https://127.0.0.1:9101\" or \"http://127.0.0.1:9101\"",
		"28:48: steps[4].http.standby: \"http://:9102\": no host: expected http://host:port",
	}},
	{"bad-run-values.yaml", []string{
		"8:25: steps[0].expectStatus[1]: expected an HTTP status from 100 to 599, got 2000",
		"9:26: steps[0].headers.X Token: header name \"X Token\" is not valid: expected letters, digits and dashes (like X-Request-Id)",
		"9:39: steps[0].headers.X-Line: header value holds a line break: a header value is one line; remove it",
		"10:26: steps[0].retry.maxAttempts: expected at most 100 (MaxAttempts), got 1000: every attempt is recorded in the drill's Temporal history; retry fewer times, with a longer maxInterval",
		"11:16: steps[0].maxOutput: expected at most 1 MiB (MaxOutputLimit), got 4194304: a step output travels in an activity result, which Temporal refuses over 2 MB; the whole output is kept as an evidence attachment anyway",
		"15:15: steps[1].interval: the probe checks every 2h but times out after 1h: it would check once and give up; make the interval shorter than the timeout",
		"21:15: steps[2].command[0]: the program is empty: expected a program name or path (like pg_ctl)",
		"22:18: steps[2].env.A=B: env name \"A=B\" is not valid: expected a name without \"=\" (like PGPASSWORD)",
		"23:17: steps[2].expectExit: expected an exit status from 0 to 255, got 256",
		"29:29: steps[3].tolerance.maxMissing: expected 0 or more, got -1",
		"30:14: steps[3].timeout: \"200000d\" is longer than a duration can hold (at most 106751d)",
	}},
	{"multi-document.yaml", []string{
		"6:1: a second YAML document starts here: a playbook file holds one playbook, and drillctl would read only the first; remove this --- and what follows, or move it to a file of its own",
	}},
	{"param-too-big.yaml", []string{
		"5:9: params.note: the value is 16385 bytes, over the limit of 16 KiB per param value (MaxParamBytes): params travel in the drill's Temporal history; pass a reference to the data (a URL, a file path) instead",
		"6:8: params.nul: the value holds a NUL byte (at byte 1): a param is text; remove it",
	}},
	{"shell-quote-context.yaml", []string{
		"6:43: steps[0].command[2]: {{ .params.db | shellquote }} is inside double quotes in the shell script, where the quotes shellquote adds do not protect it; remove the quotes around it (shellquote quotes the whole value), or pass it as an argument after the script (\"$1\")",
		"7:43: steps[1].command[2]: {{ .params.db | shellquote }} is inside single quotes in the shell script, where the quotes shellquote adds end them; remove the quotes around it (shellquote quotes the whole value), or pass it as an argument after the script (\"$1\")",
		"8:43: steps[2].command[2]: {{ .params.db | shellquote }} is inside a shell comment, which a line break in the value would end; take it out of the comment",
		"14:9: steps[3].command[2]: {{ .params.db | shellquote }} is inside a here-document, where shellquote does not protect it; pass it through env (env: {NAME: \"{{ … }}\"}, then \"$NAME\"), or pass it as an argument after the script (\"$1\")",
		"19:43: steps[4].command[2]: {{ .params.db | shellquote }} follows a backslash, which cancels the opening quote shellquote adds; remove the backslash",
	}},
	{"identity-rules.yaml", []string{
		"5:19: starters[1]: unknown contact \"zed\"; contacts are: alice, bob, carol",
		"8:27: contacts.bob.keys[0]: not an SSH public key: expected an authorized_keys line like \"ssh-ed25519 AAAA… alice@corp\" (cat ~/.ssh/id_ed25519.pub)",
		"13:24: steps[0].approvers[1]: \"carol\" has no keys: in a signed playbook (identity: signed) every approver signs the go; add keys: to the contact, or write identity: unverified",
		"14:19: steps[0].minApprovals: expected 1 to 2 (the number of approvers), got 3",
		"15:14: steps[0].forbid[0]: expected initiator (the person who started the drill), got \"owner\"",
		"16:11: steps[0].auto: expected allowed, got \"maybe\"",
	}},
	{"shell-unquoted.yaml", []string{
		"6:43: steps[0].command[2]: {{ .params.db }} is spliced unquoted into a shell script (params and step outputs are data); write {{ .params.db | shellquote }}, or pass it as an argument after the script (\"$1\")",
		"7:52: steps[1].command[2]: {{ .params.host }} is spliced unquoted into a shell script (params and step outputs are data); write {{ .params.host | shellquote }}, or pass it as an argument after the script (\"$1\")",
		"8:73: steps[2].command[5]: {{ .params.db }} is spliced unquoted into a shell script (params and step outputs are data); write {{ .params.db | shellquote }}, or pass it as an argument after the script (\"$1\")",
		"9:53: steps[3].command[3]: {{ . }} is spliced unquoted into a shell script (params and step outputs are data); write {{ . | shellquote }}, or pass it as an argument after the script (\"$1\")",
		"12:53: steps[6].exec.command[2]: {{ printf \"/run/%s\" .params.db }} is spliced unquoted into a shell script (params and step outputs are data); write {{ printf \"/run/%s\" .params.db | shellquote }}, or pass it as an argument after the script (\"$1\")",
		"13:44: steps[7].command[2]: {{ .drill.id }} is spliced unquoted into a shell script (params and step outputs are data); write {{ .drill.id | shellquote }}, or pass it as an argument after the script (\"$1\")",
	}},
	{"template-loops.yaml", []string{
		"6:30: steps[0].url: template ranges over 300000: at most 1000 (MaxTemplateRange) for a literal count, since values are rendered inside the drill's workflow; range over data instead, or produce the value in a step",
		"7:30: steps[1].url: template nests a range inside another: nested loops multiply, and values are rendered inside the drill's workflow; write one loop",
		"9:30: steps[3].url: template defines or calls a named template (define, block, template): a playbook value is one template; write the text inline",
		"10:30: steps[4].url: template pads a printf value to 1000000 characters: at most 1000, since values are rendered inside the drill's workflow",
		"11:30: steps[5].url: template ranges over 5000: at most 1000 (MaxTemplateRange) for a literal count, since values are rendered inside the drill's workflow; range over data instead, or produce the value in a step",
	}},
	{"too-many-steps.yaml", []string{
		"506:5: rollback[100]: the playbook has 501 steps (steps and rollback together), over the limit of 500 (MaxSteps): every step adds events to the drill's Temporal history, which holds at most 51,200; split the drill into several playbooks",
	}},
	{"template-unknown-step.yaml", []string{
		"6:54: steps[1].url: template refers to unknown step \"failovr\" (did you mean \"failover\"?)",
		"7:33: steps[2].url: template refers to step \"self\", the step itself: a step reads only the outputs of the steps it needs",
		"9:51: rollback[0].url: template refers to unknown step \"nosuch\"",
	}},
	{"output-unknown-key.yaml", []string{
		"14:10: steps[4].url: template refers to output \"nosuchkey\" of step \"failover\", which an http step does not produce: expected one of status, body, json, truncated (drillctl playbook explain http)",
		"15:11: steps[4].body: template refers to output \"statsu\" of step \"failover\", which an http step does not produce (did you mean \"status\"?)",
		"17:13: steps[4].headers.X-By: template refers to the output of step \"gate\", an approval step, which later steps cannot read: it is kept in the drill record only (by, approvers, approved, comment), and the drill would fail when it renders this value",
		"18:15: steps[4].headers.X-Code: template refers to .steps.failover.output.status.code, but status (the response's HTTP status code) is a number, with nothing below it",
		"19:13: steps[4].headers.X-Ok: template refers to output \"bdy\" of step \"failover\", which an http step does not produce (did you mean \"body\"?)",
		"20:16: steps[4].headers.X-Probe: template refers to output \"status\" of step \"restored\", which a probe with a tcp check does not produce: expected one of address, failures, firstAttemptAt, firstSuccessAt, truncated (drillctl playbook explain probe)",
	}},
	{"indent-field-too-few.yaml", []string{
		"30:4: YAML indentation: \"interval\" is indented 3 spaces, but the entries around it are indented 4 (\"http\" on line 27) or 2 (the list item on line 23): indent it like those it belongs with",
	}},
	{"indent-field-too-many.yaml", []string{
		"21:6: YAML indentation: \"interval\" is indented 5 spaces, but the entries around it are indented 6 (\"expectStatus\" on line 20) or 4 (\"http\" on line 17): indent it like those it belongs with",
	}},
	{"indent-list-item-wrong-key.yaml", []string{
		"17:9: YAML indentation: this list item is indented 8 spaces, like \"tcp\" on line 16, a field of a mapping, so it is in no list: indent it like the list item on line 11 (6 spaces)",
	}},
	{"indent-needs-item.yaml", []string{
		"20:5: YAML indentation: this list item is indented 4 spaces, like \"needs\" on line 18, a field of a mapping, so it is in no list: indent it like the list item on line 19 (6 spaces)",
	}},
	{"indent-step-over.yaml", []string{
		"13:6: YAML indentation: \"needs\" is indented 5 spaces, more than \"type\" on line 12 (indented 4), which already has its value: indent it like \"type\"",
	}},
	{"indent-step-item.yaml", []string{
		"21:4: YAML indentation: this list item is indented 3 spaces, but the entries around it are indented 4 (\"duration\" on line 20) or 2 (the list item on line 17): indent it like those it belongs with",
	}},
}

func TestLoad_InvalidCorpusReportsEveryErrorWithItsPosition(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.Len(t, invalidCorpus, len(files), "every file of testdata/invalid has its expectations here")
	require.GreaterOrEqual(t, len(files), 30)
	for _, tc := range invalidCorpus {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tc.file)
			p, err := Load(path)
			require.Error(t, err)
			assert.Nil(t, p, "nothing is returned from a broken playbook")
			var list ErrorList
			require.True(t, errors.As(err, &list), "the error is an ErrorList")
			var got []string
			for _, e := range list {
				assert.Equal(t, path, e.File)
				got = append(got, strings.TrimPrefix(e.Error(), path+":"))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLoad_ExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := Load(f)
			require.NoError(t, err)
			assert.NotEmpty(t, p.Steps)
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			assert.Equal(t, raw, p.Source.Raw)
			assert.True(t, strings.HasPrefix(p.Source.Digest, "sha256:"))
			_, err = PlanOf(p)
			require.NoError(t, err)
		})
	}
}

const validPlaybook = `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: small}
targets: {rto: 4h, rpo: 15m}
params: {primary: "http://p", standby: "http://s"}
contacts:
  alice: {name: Alice, channels: [{console: {}}]}
steps:
  - {id: inventory, type: inventory, assets: [{name: api, tier: 1, tcp: {address: "127.0.0.1:1"}}]}
  - {id: gate, type: approval, needs: [inventory], approvers: [alice], timeout: 30m, onTimeout: fail}
  - {id: canary, type: canary, needs: [gate], verifyAfter: restored, interval: 1s, http: {primary: "{{ .params.primary }}", standby: "{{ .params.standby }}"}}
  - {id: warm, type: wait, needs: [gate], duration: 2s}
  - id: failover
    type: http
    needs: [warm]
    marks: outage_start
    method: POST
    url: "{{ .params.primary }}/failover"
    headers: {Authorization: "Bearer ${env:LAB_TOKEN}"}
    retry: {maxAttempts: 2, initialInterval: 5s, backoff: 2, maxInterval: 1m}
  - id: restored
    type: probe
    needs: [failover]
    marks: service_restored
    interval: 500ms
    timeout: 1d2h
    http: {url: "{{ .params.standby }}/health?token={{ .steps.failover.output.status }}", expectStatus: [200]}
  - {id: perms, type: replication-check, needs: [restored], compare: permissions, http: {primary: "{{ .params.primary }}", standby: "{{ .params.standby }}"}}
  - {id: msgs, type: replication-check, needs: [restored], compare: messages, continueOnError: true, http: {primary: "{{ .params.primary }}", standby: "{{ .params.standby }}"}}
rollback:
  - {id: failback, type: http, method: POST, url: "{{ .params.primary }}/failback"}
`

func TestParse_ValidPlaybookDecodesEveryField(t *testing.T) {
	p, err := Parse("small.yaml", []byte(validPlaybook))
	require.NoError(t, err)
	assert.Equal(t, "small", p.Metadata.Name)
	assert.Equal(t, 4*time.Hour, p.Targets.RTO.D())
	require.Len(t, p.Steps, 8)
	fo := p.Steps[4]
	require.NotNil(t, fo.HTTP)
	assert.Equal(t, "POST", fo.HTTP.Method)
	assert.Equal(t, MarkOutageStart, fo.Marks)
	assert.Equal(t, &Retry{MaxAttempts: 2, InitialInterval: Duration(5 * time.Second), Backoff: 2, MaxInterval: Duration(time.Minute)}, fo.Retry)
	assert.Equal(t, Pos{Line: 13, Col: 5}, fo.Pos)
	probe := p.Steps[5]
	require.NotNil(t, probe.Probe)
	assert.Equal(t, 26*time.Hour, probe.Timeout.D())
	assert.Equal(t, 500*time.Millisecond, probe.Probe.Interval.D())
	require.NotNil(t, probe.Probe.HTTP)
	assert.Equal(t, []int{200}, probe.Probe.HTTP.ExpectStatus)
	assert.True(t, p.Steps[7].ContinueOnError)
	assert.Nil(t, p.Steps[7].HTTP, "only the step's own type is set")
	assert.Equal(t, "Bearer ${env:LAB_TOKEN}", fo.HTTP.Headers["Authorization"], "secrets stay unresolved")
}

func TestPlan_WavesAndTheRTOClock(t *testing.T) {
	p, err := Parse("small.yaml", []byte(validPlaybook))
	require.NoError(t, err)
	plan, err := PlanOf(p)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"inventory"}, {"gate"}, {"canary", "warm"}, {"failover"}, {"restored"}, {"perms", "msgs"}}, plan.Waves)
	assert.Equal(t, "failover", plan.RTOStart)
	assert.Equal(t, "restored", plan.RTOStop)
	assert.Equal(t, [][]string{{"failback"}}, plan.Rollback)
	assert.Equal(t, []string{"api"}, plan.RestoreOrder)
}

func TestRestoreOrder_DependenciesFirstThenTier(t *testing.T) {
	order, err := RestoreOrder([]Asset{
		{Name: "search", Tier: 3, DependsOn: []string{"db"}},
		{Name: "chat", Tier: 1, DependsOn: []string{"db", "auth"}},
		{Name: "db", Tier: 1},
		{Name: "auth", Tier: 2},
		{Name: "wiki", Tier: 2},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"db", "auth", "chat", "wiki", "search"}, order, "chat (tier 1) comes as soon as auth is back, before wiki (tier 2)")
}

func TestRenderStep_ExpandsTemplatesButNotSecrets(t *testing.T) {
	s := Step{ID: "a", Type: StepHTTP, HTTP: &HTTPStep{
		URL:     "{{ .params.primary }}/x/{{ .steps.login.output.token }}/{{ .drill.id }}",
		Headers: map[string]string{"Authorization": "Bearer ${env:TOKEN}", "X-Step": `{{ index .steps "login" }}`},
	}}
	got, err := RenderStep(s, TemplateData{
		Params: map[string]string{"primary": "http://p"},
		Steps:  map[string]StepData{"login": {Output: map[string]any{"token": "t1"}}},
		Drill:  DrillData{ID: "drill-1"},
	})
	require.NoError(t, err)
	assert.Equal(t, "http://p/x/t1/drill-1", got.HTTP.URL)
	assert.Equal(t, "Bearer ${env:TOKEN}", ShowRefs(got.HTTP.Headers["Authorization"]), "secret references stay unresolved")
	assert.True(t, HasSealedRef(got.HTTP.Headers["Authorization"]), "the playbook's own reference is sealed for the worker")
	assert.Equal(t, "{{ .params.primary }}/x/{{ .steps.login.output.token }}/{{ .drill.id }}", s.HTTP.URL, "the input is not changed")

	_, err = RenderStep(s, TemplateData{Params: map[string]string{"primary": "http://p"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "login")
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false}, {"4h", 4 * time.Hour, false}, {"1d", 24 * time.Hour, false},
		{"2d12h", 60 * time.Hour, false}, {"1h30m", 90 * time.Minute, false}, {"250ms", 250 * time.Millisecond, false},
		{"", 0, true}, {"4 hours", 0, true}, {"-5m", 0, true}, {"200000d", 0, true}, {"106751d", 106751 * 24 * time.Hour, false}, {"106751d24h", 0, true}, {"d", 0, true}, {"1.5d", 0, true}, {"3", 0, true},
	} {
		got, err := ParseDuration(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got.D(), tc.in)
	}
}

// A value that came from outside the playbook (a target's answer, a param,
// --set) is data: whatever it holds, it never becomes a secret reference the
// worker would resolve.
func TestRenderStep_DataNeverBecomesASecretReference(t *testing.T) {
	hostile := []string{"${file:/etc/shadow}", "${env:TOKEN}", "\ue000env:TOKEN\ue001", "$", "{env:TOKEN}"}
	for _, h := range hostile {
		s := Step{ID: "a", Type: StepHTTP, HTTP: &HTTPStep{
			URL: "http://t/{{ .params.p }}",
			Headers: map[string]string{
				"X-From-Upstream": "{{ .steps.up.output.v }}",
				"X-Nested":        "{{ with .steps.up.output }}{{ .v }}{{ end }}",
				"X-Range":         "{{ range .steps.up.output.list }}{{ . }}{{ end }}",
				"X-Printf":        `{{ printf "%s" .params.p }}`,
				"X-Glued":         "${{ .params.p }}",
				"X-Var":           "{{ $v := .params.p }}{{ $v }}",
			},
		}}
		got, err := RenderStep(s, TemplateData{
			Params: map[string]string{"p": h},
			Steps:  map[string]StepData{"up": {Output: map[string]any{"v": h, "list": []any{h, h}}}},
		})
		require.NoError(t, err, h)
		assert.False(t, HasSealedRef(got.HTTP.URL), "%q in a param became a secret reference", h)
		for k, v := range got.HTTP.Headers {
			assert.False(t, HasSealedRef(v), "%q spliced into %s became a secret reference: %q", h, k, v)
			assert.False(t, SealedRef.MatchString(v), k)
		}
	}
}

func TestRenderStep_LiteralReferencesAreSealedOutsideTemplatesToo(t *testing.T) {
	s := Step{ID: "a", Type: StepHTTP, HTTP: &HTTPStep{URL: "https://h/${env:PATH_TOKEN}",
		Headers: map[string]string{"A": "{{ if true }}${file:/run/secret}{{ end }}"}}}
	got, err := RenderStep(s, TemplateData{})
	require.NoError(t, err)
	assert.Equal(t, []string{"env", "PATH_TOKEN"}, SealedRef.FindStringSubmatch(got.HTTP.URL)[1:])
	assert.Equal(t, []string{"file", "/run/secret"}, SealedRef.FindStringSubmatch(got.HTTP.Headers["A"])[1:])
}

func TestRenderStep_BoundsTheRenderedValue(t *testing.T) {
	s := Step{ID: "a", Type: StepHTTP, HTTP: &HTTPStep{URL: "http://h", Body: "{{ range 300000 }}0123456789{{ end }}"}}
	_, err := RenderStep(s, TemplateData{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over 64 KiB")
}
