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
		"8:5: steps[0].approvers: unknown field \"approvers\" in a wait step (it belongs to approval steps); expected one of continueOnError, description, duration, id, marks, needs, retry, timeout, type",
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
	assert.Equal(t, "Bearer ${env:TOKEN}", got.HTTP.Headers["Authorization"])
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
		{"", 0, true}, {"4 hours", 0, true}, {"-5m", 0, true}, {"d", 0, true}, {"1.5d", 0, true}, {"3", 0, true},
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
