package review

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
)

// playbookYAML is a small valid playbook; extra lines go under metadata.
func playbookYAML(name, metadata, rest string) string {
	return fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata:
  name: %s
%stargets: {rto: 1h}
contacts:
  alice: {name: Alice Chan}
  bob: {name: Bob Lee}
%ssteps:
  - {id: failover, type: http, method: POST, url: "http://127.0.0.1:1/failover", marks: outage_start}
  - id: restored
    type: probe
    needs: [failover]
    marks: service_restored
    interval: 1s
    timeout: 1m
    http: {url: "http://127.0.0.1:1/health"}
`, name, metadata, rest)
}

// record is a completed, passing drill of playbook text started at.
func record(id, text string, started time.Time) evidence.Record {
	end := started.Add(20 * time.Minute)
	outage, restored := started.Add(5*time.Minute), started.Add(15*time.Minute)
	target, achieved, margin := 3600.0, 600.0, 3000.0
	return evidence.Record{SchemaVersion: 1, DrillID: id, StartedAt: started, EndedAt: &end,
		Playbook: evidence.PlaybookRef{Name: SettingsOf([]byte(text)).Name, Digest: digestOf([]byte(text))},
		Status:   evidence.StatusCompleted, Verdict: evidence.VerdictMet,
		Measures: evidence.Measures{
			RTO: evidence.Measure{TargetSeconds: &target, AchievedSeconds: &achieved, MarginSeconds: &margin, Verdict: evidence.VerdictMet,
				From: &evidence.Instant{Step: "failover", At: outage}, To: &evidence.Instant{Step: "restored", At: restored}},
			RPO:      evidence.Measure{Verdict: evidence.VerdictNotMeasured},
			Response: evidence.Measure{Verdict: evidence.VerdictNotMeasured}},
		Steps: []evidence.StepRecord{
			{ID: "failover", Type: "http", Status: evidence.StepSucceeded, Attempts: 1, Marks: "outage_start", MarkAt: &outage},
			{ID: "restored", Type: "probe", Status: evidence.StepSucceeded, Attempts: 1, Marks: "service_restored", MarkAt: &restored}},
	}
}

// failed turns a record into a failed drill.
func failed(rec *evidence.Record) {
	rec.Status, rec.Verdict, rec.Reason = evidence.StatusFailed, evidence.StatusFailed, `step "restored" failed: timeout`
	rec.Steps[1].Status, rec.Steps[1].Error = evidence.StepFailed, "timeout after 1m"
	rec.Measures.RTO = evidence.Measure{TargetSeconds: rec.Measures.RTO.TargetSeconds, Verdict: evidence.VerdictNotMeasured}
}

// writeDrill writes a drill's bundle into the store.
func writeDrill(t *testing.T, store *evidence.Store, rec evidence.Record, text string, key ed25519.PrivateKey) {
	t.Helper()
	_, err := store.Write(rec, []byte(text), key, evidence.RenderOptions{Chromium: "off"})
	require.NoError(t, err)
}

// writeFile writes a playbook file into dir.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

// sshSigner makes an ed25519 SSH signer and its authorized_keys line.
func sshSigner(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

// evidenceKey makes an ed25519 key that signs manifests.
func evidenceKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

// day is a date at 09:00 UTC.
func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(9 * time.Hour)
}
