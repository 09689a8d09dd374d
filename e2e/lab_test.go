package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/lab"
)

// labPlaybook drills the lab: canaries, failover, restore probe, and both
// replication checks, with the intervals given.
func labPlaybook(probe, canary time.Duration) string {
	return fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: lab-accuracy}
targets: {rto: 4h, rpo: 15m}
params: {primary: "", standby: ""}
steps:
  - id: canary
    type: canary
    interval: %s
    verifyAfter: restored
    http: {primary: "{{ .params.primary }}", standby: "{{ .params.standby }}"}
  - {id: warmup, type: wait, duration: 3s}
  - {id: failover, type: http, needs: [warmup], marks: outage_start, method: POST, url: "{{ .params.primary }}/lab/failover", expectStatus: [202]}
  - id: restored
    type: probe
    needs: [failover]
    marks: service_restored
    interval: %s
    timeout: 2m
    http: {url: "{{ .params.standby }}/health", expectJSON: {role: active}}
  - id: permissions
    type: replication-check
    needs: [restored]
    compare: permissions
    http: {primary: "{{ .params.primary }}", standby: "{{ .params.standby }}"}
  - id: chat
    type: replication-check
    needs: [restored]
    compare: messages
    tolerance: {maxMissing: 100000}
    http: {primary: "{{ .params.primary }}", standby: "{{ .params.standby }}"}
`, canary, probe)
}

func startTestLab(t *testing.T, lag, promote time.Duration) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Config{PrimaryAddr: "127.0.0.1:0", StandbyAddr: "127.0.0.1:0",
		Lag: lag, PromoteDelay: promote, TrafficInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { l.Stop() })
	return l
}

func TestE2E_LabMeasuresMatchTheTruth(t *testing.T) {
	startWorker(t)
	for _, tc := range []struct {
		lag, promote, probe, canary time.Duration
	}{
		{lag: 500 * time.Millisecond, promote: 1500 * time.Millisecond, probe: 100 * time.Millisecond, canary: 100 * time.Millisecond},
		{lag: 1200 * time.Millisecond, promote: 800 * time.Millisecond, probe: 250 * time.Millisecond, canary: 200 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("lag=%s,outage=%s", tc.lag, tc.promote), func(t *testing.T) {
			l := startTestLab(t, tc.lag, tc.promote)
			r := drillctl(t, "drill", "run", writePlaybook(t, labPlaybook(tc.probe, tc.canary)),
				"--set", "primary="+l.PrimaryURL(), "--set", "standby="+l.StandbyURL(), "--output", "json")
			require.Equal(t, 0, r.code, "stderr: %s\nstdout: %s", r.stderr, r.stdout)
			rec := decodeRecord(t, r)
			truth := l.Truth()
			require.NotNil(t, truth.RestoredAt)
			require.NotNil(t, truth.LastReplicatedAt)

			trueOutage := truth.RestoredAt.Sub(*truth.OutageStartedAt).Seconds()
			rto := *rec.Measures.RTO.AchievedSeconds
			t.Logf("RTO measured %.3fs, true %.3fs (probe every %s)", rto, trueOutage, tc.probe)
			assert.InDelta(t, trueOutage, rto, tc.probe.Seconds()+0.1)

			trueLoss := truth.OutageStartedAt.Sub(*truth.LastReplicatedAt).Seconds()
			rpo := *rec.Measures.RPO.AchievedSeconds
			t.Logf("RPO measured %.3fs, true loss window %.3fs (canary every %s)", rpo, trueLoss, tc.canary)
			assert.InDelta(t, trueLoss, rpo, tc.canary.Seconds()+0.1)

			var chat evidence.StepRecord
			for _, s := range rec.Steps {
				if s.ID == "chat" {
					chat = s
				}
			}
			assert.Equal(t, float64(truth.LostMessages), chat.Output["missingOnStandby"], "the lost messages are counted exactly")
		})
	}
}

func TestE2E_LabPlantedPermissionDriftIsNamedExactly(t *testing.T) {
	startWorker(t)
	l := startTestLab(t, 50*time.Millisecond, 300*time.Millisecond)
	post := func(path string, body any) {
		var buf bytes.Buffer
		require.NoError(t, json.NewEncoder(&buf).Encode(body))
		resp, err := http.Post(l.PrimaryURL()+path, "application/json", &buf)
		require.NoError(t, err)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 300, path)
	}
	post("/lab/faults/break-permissions?group=finance", nil)
	post("/api/grants", lab.Grant{Group: "finance", Subject: "erin", Permission: "admin"})
	post("/lab/faults/drift", map[string]any{"site": "standby", "grant": lab.Grant{Group: "approvals", Subject: "mallory", Permission: "approve"}})

	r := drillctl(t, "drill", "run", writePlaybook(t, labPlaybook(100*time.Millisecond, 100*time.Millisecond)),
		"--set", "primary="+l.PrimaryURL(), "--set", "standby="+l.StandbyURL(), "--output", "json")
	assert.Equal(t, 4, r.code, "a drift fails the drill")
	rec := decodeRecord(t, r)
	var perms evidence.StepRecord
	for _, s := range rec.Steps {
		if s.ID == "permissions" {
			perms = s
		}
	}
	assert.Equal(t, evidence.StepFailed, perms.Status)
	assert.Contains(t, perms.Error, "group finance: erin has admin on the primary but not on the standby")
	assert.Contains(t, perms.Error, "group approvals: mallory has approve on the standby only")
	assert.Equal(t, []any{"finance/erin:admin"}, perms.Output["missing"])
	assert.Equal(t, []any{"approvals/mallory:approve"}, perms.Output["extra"])
	assert.EqualValues(t, 2, perms.Output["drift"])
}

func TestE2E_DemoRunsTheQuarterlyDrillEndToEnd(t *testing.T) {
	r := drillctl(t, "demo", "--output", "json", "--promote-delay", "1s", "--evidence-dir", t.TempDir())
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	rec := decodeRecord(t, r)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	assert.Equal(t, "chat-platform-quarterly", rec.Playbook.Name)
	assert.Equal(t, "bob", rec.Measures.Response.AckedBy, "the successor answered")
	assert.Equal(t, 2, rec.Measures.Response.Level)
	require.NotNil(t, rec.Measures.RTO.AchievedSeconds)
	require.NotNil(t, rec.Measures.RPO.AchievedSeconds)
	require.Len(t, rec.Approvals, 1)
	assert.Equal(t, "coordinator", rec.Approvals[0].By)
	require.Len(t, rec.Acks, 1)
	assert.Equal(t, "link", rec.Acks[0].Via, "bob clicked the one-click link in his page")
	require.NotNil(t, rec.Evidence, rec.EvidenceError)
}

func TestE2E_AckThroughTheCLIIsRefusedForSomeoneNotPaged(t *testing.T) {
	startWorker(t)
	text := `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-page}
targets: {response: 15m}
contacts:
  alice: {name: Alice, channels: [{console: {}}]}
  bob: {name: Bob, channels: [{console: {}}]}
escalation:
  admins:
    levels:
      - {contacts: [alice], ackTimeout: 10m}
      - {contacts: [bob], ackTimeout: 10m}
steps:
  - {id: page, type: page, escalation: admins}
`
	start := drillctl(t, "drill", "run", writePlaybook(t, text), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "page", evidence.StepRunning)
	var refused result
	require.Eventually(t, func() bool {
		refused = drillctl(t, "drill", "ack", id, "--as", "bob")
		return strings.Contains(refused.stderr, "was not paged")
	}, 10*time.Second, 50*time.Millisecond, "the escalation is up: %s", refused.stderr)
	assert.Equal(t, 1, refused.code)
	assert.Contains(t, refused.stderr, `"bob" was not paged by step "page" (paged so far: [alice])`)

	ok := drillctl(t, "drill", "ack", id, "--step", "page", "--as", "alice", "--output", "json")
	require.Equal(t, 0, ok.code, ok.stderr)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	assert.Equal(t, "alice", rec.Measures.Response.AckedBy)
	assert.Equal(t, 1, rec.Measures.Response.Level)
	assert.Equal(t, evidence.VerdictMet, rec.Measures.Response.Verdict)
	require.Len(t, rec.Acks, 1)
	assert.Equal(t, "cli", rec.Acks[0].Via)
}

func TestE2E_DryRunChecksReadinessAndTouchesNothing(t *testing.T) {
	startWorker(t)
	l := startTestLab(t, 100*time.Millisecond, 300*time.Millisecond)
	r := drillctl(t, "drill", "run", "../playbooks/examples/chat-platform-quarterly.yaml", "--dry-run",
		"--set", "primary="+l.PrimaryURL(), "--set", "standby="+l.StandbyURL(), "--output", "json")
	assert.Equal(t, 3, r.code, "a dry run measures nothing: incomplete")
	rec := decodeRecord(t, r)
	require.NotNil(t, rec.Inventory)
	assert.True(t, rec.Inventory.Ready)
	assert.Len(t, rec.Inventory.Assets, 5)
	assert.Equal(t, []string{"primary-site", "chat-api", "permissions", "standby-site", "approvals-app"}, rec.Inventory.Order)
	for _, s := range rec.Steps[1:] {
		assert.Equal(t, evidence.StepSkipped, s.Status, s.ID)
	}
	assert.Equal(t, 0, l.Truth().Failovers)
}

func TestE2E_NotReadyStopsTheDrillBeforeAnythingIsTouched(t *testing.T) {
	startWorker(t)
	l := startTestLab(t, 100*time.Millisecond, 300*time.Millisecond)
	resp, err := http.Post(l.PrimaryURL()+"/lab/faults/kill-primary", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	r := drillctl(t, "drill", "run", "../playbooks/examples/chat-platform-quarterly.yaml",
		"--set", "primary="+l.PrimaryURL(), "--set", "standby="+l.StandbyURL(), "--output", "json")
	assert.Equal(t, 4, r.code)
	rec := decodeRecord(t, r)
	require.NotNil(t, rec.Inventory)
	assert.False(t, rec.Inventory.Ready)
	assert.Contains(t, rec.Reason, `step "inventory" failed: not ready: tier 1`)
	assert.Contains(t, rec.Inventory.Reason, "primary-site degraded", "the killed primary answers, with 503")
	assert.Equal(t, 0, l.Truth().Failovers, "no failover was attempted")
}
