package evidence

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/drillctl/drillctl/identity"
)

// testChromium is the Chromium the PDF tests print with ("" when none):
// TestMain turns printing off for every other test of the package, so the
// bundle tests do not each start a browser.
var testChromium string

func TestMain(m *testing.M) {
	testChromium, _ = FindChromium(os.Getenv("DRILLCTL_CHROMIUM"))
	os.Setenv("DRILLCTL_CHROMIUM", ChromiumOff)
	os.Exit(m.Run())
}

// fixturePlaybook is testdata/playbook.yaml, the playbook of reportRecord.
func fixturePlaybook(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/playbook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reportRecord is a drill with everything a report shows: two replication
// checks (no permission drift; 25 messages lost), signed, unsigned and
// automatic decisions, a retried, a skipped and a failed-but-continued step,
// an unknown outcome decided by a person, and a skipped rollback.
func reportRecord(playbook []byte) Record {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := start.Add(d); return &x }
	f := func(v float64) *float64 { return &v }
	step := func(id, typ, status string, from, to time.Duration) StepRecord {
		return StepRecord{ID: id, Type: typ, Status: status, Attempts: 1, StartedAt: at(from), EndedAt: at(to)}
	}
	signed := func(who, decision, stepID string, d time.Duration) *identity.Signed {
		return &identity.Signed{
			Statement:   identity.Statement{Drill: "drill-chat-platform-quarterly-6f1c", Step: stepID, Decision: decision, At: *at(d), Nonce: "n-" + stepID, Signer: who},
			Signature:   "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg\n-----END SSH SIGNATURE-----\n",
			Fingerprint: "SHA256:q8vG2kC0c3m7ZtJHkq3p1wq0l1H0b9xg2rj9bDk3cE4",
		}
	}
	var ids []string
	for i := 1; i <= 25; i++ {
		ids = append(ids, fmt.Sprintf("msg-%06d", 5390+i))
	}
	inv := step("inventory", "inventory", StepSucceeded, 0, 2*time.Second)
	page := step("page-admins", "page", StepSucceeded, 2*time.Second, 95*time.Second+2*time.Second)
	gonogo := step("go-no-go", "approval", StepSucceeded, 97*time.Second, 3*time.Minute)
	window := step("change-window", "approval", StepSucceeded, 97*time.Second, 4*time.Minute)
	window.Note = "the gate opened with no human decision: 0 of 1 approvals within 2m30s (onTimeout: approve)"
	notify := step("notify-cab", "notify", StepFailed, 3*time.Minute, 3*time.Minute+time.Second)
	notify.Error = "dingtalk: status 502"
	failover := step("failover", "http", StepSucceeded, 5*time.Minute, 5*time.Minute+time.Second)
	failover.Marks, failover.MarkAt = "outage_start", at(5*time.Minute)
	failover.Output = map[string]any{"status": 202}
	dns := step("switch-dns", "exec", StepSucceeded, 5*time.Minute+time.Second, 6*time.Minute)
	dns.Attempts, dns.Note = 2, "worker or server lost during attempt 1 (heartbeat timeout); carried on"
	restored := step("restored", "probe", StepSucceeded, 5*time.Minute+time.Second, 5*time.Minute+812400*time.Millisecond)
	restored.Marks, restored.MarkAt = "service_restored", restored.EndedAt
	perms := step("permissions", "replication-check", StepSucceeded, 19*time.Minute, 19*time.Minute+2*time.Second)
	perms.Output = map[string]any{"primaryGrants": 120, "standbyGrants": 120, "drift": 0, "missing": []string{}, "extra": []string{},
		"changed": []string{}, "groups": map[string]any{}}
	chat := step("chat-records", "replication-check", StepSucceeded, 19*time.Minute, 19*time.Minute+3*time.Second)
	chat.Output = map[string]any{"primaryCount": 5415, "standbyCount": 5390, "missingOnStandby": 25, "missingIds": ids,
		"primaryNewestAt": start.Add(5*time.Minute - 500*time.Millisecond).Format(time.RFC3339Nano),
		"standbyNewestAt": start.Add(5*time.Minute - 2*time.Second).Format(time.RFC3339Nano), "lossWindowSeconds": 1.5}
	archive := StepRecord{ID: "archive-report", Type: "notify", Status: StepSkipped, Note: "not run: the drill stopped before its turn"}

	return Record{
		SchemaVersion: SchemaVersion, DrillID: "drill-chat-platform-quarterly-6f1c", RunID: "run-7d2e", Namespace: "default",
		Playbook:  PlaybookRef{Name: "chat-platform-quarterly", Digest: digest(playbook)},
		Schedule:  "quarterly",
		StartedAt: start, EndedAt: at(20 * time.Minute), Status: StatusCompleted, Verdict: VerdictIncomplete,
		VerdictNote: `gate "change-window" opened with no human decision (onTimeout: approve) and the playbook does not mark it auto: allowed`,
		Measures: Measures{
			RTO: Measure{TargetSeconds: f(14400), AchievedSeconds: f(812.4), ResolutionSeconds: f(0.25), MarginSeconds: f(13587.6), Verdict: VerdictMet,
				From: &Instant{Step: "failover", At: *at(5 * time.Minute)}, To: &Instant{Step: "restored", At: *restored.EndedAt}},
			RPO: Measure{TargetSeconds: f(900), AchievedSeconds: f(2), ResolutionSeconds: f(0.25), MarginSeconds: f(898), Verdict: VerdictMet,
				From: &Instant{Step: "chat-records", At: *at(5*time.Minute - 2*time.Second)}, To: &Instant{Step: "failover", At: *at(5 * time.Minute)}},
			Response: Measure{TargetSeconds: f(900), AchievedSeconds: f(95), MarginSeconds: f(805), Verdict: VerdictMet, AckedBy: "bob", Level: 2,
				From: &Instant{Step: "page-admins", At: *at(2 * time.Second)}, To: &Instant{Step: "page-admins", At: *at(97 * time.Second)}},
		},
		Steps:    []StepRecord{inv, page, gonogo, window, notify, failover, dns, restored, perms, chat, archive},
		Rollback: []StepRecord{{ID: "failback", Type: "http", Status: StepSkipped, Note: "not needed: the drill completed"}},
		Approvals: []Approval{
			{Step: "go-no-go", By: "coordinator", At: *at(3 * time.Minute), Approved: true, Comment: "change window open", Via: "cli",
				Signed: signed("coordinator", "approve", "go-no-go", 3*time.Minute), Verified: true},
			{Step: "change-window", At: *at(4 * time.Minute), Approved: true, Auto: true, Comment: window.Note},
		},
		Pages: []Page{
			{Step: "page-admins", Level: 1, Contact: "alice", Channel: "console", SentAt: *at(2 * time.Second)},
			{Step: "page-admins", Level: 2, Contact: "bob", Channel: "dingtalk", SentAt: *at(62 * time.Second)},
		},
		Acks:      []Ack{{Step: "page-admins", By: "bob", Level: 2, At: *at(97 * time.Second), Via: "link", Channel: "dingtalk"}},
		Decisions: []Decision{{Step: "switch-dns", Decision: "continue", By: "alice", At: *at(5*time.Minute + 40*time.Second), Comment: "DNS already points at the standby", Via: "cli"}},
		Identity:  &Identity{Mode: "signed", InitiatedBy: "coordinator", Start: signed("coordinator", "start", "", 0)},
		Inventory: &Inventory{Step: "inventory", TakenAt: start, Ready: true, Assets: []AssetStatus{
			{Name: "primary-site", Kind: "site", Tier: 1, Site: "primary", Status: "ready", LatencyMs: 3.2},
			{Name: "standby-site", Kind: "site", Tier: 1, Site: "standby", Status: "ready", LatencyMs: 4.1},
			{Name: "chat-api", Kind: "app", Tier: 1, Site: "primary", Owner: "chat-team", Status: "ready", LatencyMs: 5.7},
			{Name: "approvals-app", Kind: "app", Tier: 2, Status: "degraded", Reason: "slow health check"},
		}},
		Locks:       []string{"chat-platform-quarterly", "chat-platform-primary"},
		Environment: Environment{DrillctlVersion: "v1.4.0", WorkerHost: "dr-worker-1", TaskQueue: "drillctl"},
	}
}
