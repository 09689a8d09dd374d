package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
)

// sshKeyFile writes an unencrypted OpenSSH ed25519 key and returns its path
// and its authorized_keys line.
func sshKeyFile(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, name)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return path, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// reviewStore holds one signed drill bundle whose gate opened by itself.
func reviewStore(t *testing.T, alicePub string) (dir, keyFile, pubFile, id string) {
	t.Helper()
	keys := t.TempDir()
	code, _, errOut := run(t, "evidence", "keygen", "--out", keys)
	require.Equal(t, ExitOK, code, errOut)
	priv, err := evidence.LoadPrivateKey(filepath.Join(keys, evidence.PrivateKeyFile))
	require.NoError(t, err)
	playbook := `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: chat, frequency: quarterly}
targets: {rto: 1h}
contacts:
  alice: {name: Alice Chan, keys: ["` + alicePub + `"]}
review: {signoff: [dr-coordinator]}
steps:
  - {id: go, type: approval, approvers: [alice], timeout: 1m, onTimeout: approve, auto: allowed}
`
	id = "drill-chat-1"
	started := time.Now().UTC().Add(-time.Hour)
	end := started.Add(10 * time.Minute)
	rec := evidence.Record{SchemaVersion: evidence.SchemaVersion, DrillID: id, StartedAt: started, EndedAt: &end,
		Playbook: evidence.PlaybookRef{Name: "chat", Digest: evidence.Digest([]byte(playbook))},
		Status:   evidence.StatusCompleted, Verdict: evidence.VerdictMet,
		Steps:     []evidence.StepRecord{{ID: "go", Type: "approval", Status: evidence.StepSucceeded}},
		Approvals: []evidence.Approval{{Step: "go", At: started, Approved: true, Auto: true}}}
	store := &evidence.Store{Dir: filepath.Join(t.TempDir(), "evidence")}
	_, err = store.Write(rec, []byte(playbook), priv, evidence.RenderOptions{Chromium: "off"})
	require.NoError(t, err)
	return store.Dir, filepath.Join(keys, evidence.PrivateKeyFile), filepath.Join(keys, evidence.PublicKeyFile), id
}

func TestReviewCommands_OpenAcceptActSignVerifyReport(t *testing.T) {
	aliceKey, alicePub := sshKeyFile(t, t.TempDir(), "alice")
	dir, key, pub, id := reviewStore(t, alicePub)
	common := []string{"--evidence-dir", dir, "--signing-key", key}
	rv := func(args ...string) (int, string, string) {
		return run(t, append(append([]string{"review"}, args...), common...)...)
	}

	code, out, errOut := rv("open", id, "--as", "carol", "--output", "json")
	require.Equal(t, ExitOK, code, errOut)
	var opened struct {
		Version int `json:"version"`
		Review  struct {
			Findings []struct{ ID, Rule, Status string } `json:"findings"`
		} `json:"review"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &opened))
	assert.Equal(t, 1, opened.Version)
	require.Len(t, opened.Review.Findings, 1)
	assert.Equal(t, "gate-without-human", opened.Review.Findings[0].Rule)

	code, out, errOut = rv("sign", id, "--as", "alice", "--role", "dr-coordinator", "--key", aliceKey)
	assert.Equal(t, ExitUsage, code, out)
	assert.Contains(t, errOut, "proposed finding(s) are undecided")
	code, out, errOut = rv("accept", id, "F1", "--severity", "low", "--as", "carol")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "v2 written (accepted finding F1)")
	code, _, errOut = rv("add-action", id, "--title", "Page a human first", "--owner", "alice", "--due", "2026-12-31",
		"--ticket", "https://jira.example.com/DR-7", "--finding", "F1", "--as", "carol")
	require.Equal(t, ExitOK, code, errOut)
	code, _, errOut = rv("add-action", id, "--title", "x", "--owner", "alice", "--due", "31/12/2026")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `due date "31/12/2026": expected YYYY-MM-DD`)
	code, out, errOut = rv("sign", id, "--as", "alice", "--role", "dr-coordinator", "--key", aliceKey)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "v4 written (alice signed off as dr-coordinator)")

	v4 := filepath.Join(dir, id+".review", "v4")
	code, out, _ = run(t, "evidence", "verify", v4, "--pubkey", pub, "--output", "json")
	require.Equal(t, ExitOK, code, out)
	assert.Contains(t, out, `"statementsVerified": 1`)
	assert.Contains(t, out, `"drillId": "`+id+`"`)
	code, out, _ = run(t, "review", "show", id, "--evidence-dir", dir, "--pubkey", pub)
	require.Equal(t, ExitOK, code, out)
	assert.Contains(t, out, "(verified)")
	assert.Contains(t, out, "**alice** as dr-coordinator")

	code, out, errOut = run(t, "report", "--evidence-dir", dir, "--pubkey", pub, "--output", "json")
	require.Equal(t, ExitOK, code, errOut)
	var reg evidence.Register
	require.NoError(t, json.Unmarshal([]byte(out), &reg))
	require.Len(t, reg.Playbooks, 1)
	assert.Equal(t, evidence.StateVerified, reg.Playbooks[0].State)
	require.Len(t, reg.Reviews, 1)
	assert.Equal(t, evidence.ReviewSigned, reg.Reviews[0].State)
	require.Len(t, reg.Actions, 1)
	assert.Equal(t, "https://jira.example.com/DR-7", reg.Actions[0].Ticket)
	code, out, _ = run(t, "report", "--evidence-dir", dir, "--output", "text")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "chat      VERIFIED")

	review := filepath.Join(v4, "review.json")
	raw, err := os.ReadFile(review)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(review, []byte(strings.Replace(string(raw), "Page a human first", "Page a human firsT", 1)), 0o600))
	code, out, _ = run(t, "evidence", "verify", v4, "--pubkey", pub)
	assert.Equal(t, ExitNotVerified, code, out)
	assert.Contains(t, out, "FAIL  review.json: changed")
	code, _, _ = run(t, "review", "show", id, "--evidence-dir", dir)
	assert.Equal(t, ExitNotVerified, code)
	code, out, _ = run(t, "report", "--evidence-dir", dir, "--output", "json")
	require.Equal(t, ExitOK, code)
	require.NoError(t, json.Unmarshal([]byte(out), &reg))
	assert.Equal(t, evidence.ReviewInvalid, reg.Reviews[0].State)
}

func TestReport_SchemaAndUsageErrors(t *testing.T) {
	code, out, _ := run(t, "report", "--schema")
	require.Equal(t, ExitOK, code)
	assert.True(t, json.Valid([]byte(out)))
	assert.Contains(t, out, evidence.RegisterSchemaID)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--quarter", "2026Q4", "--year", "2026"}, "give one of --quarter, --year and --since"},
		{[]string{"--year", "26"}, `--year "26": expected YYYY`},
		{[]string{"--since", "July"}, `--since "July": expected a date YYYY-MM-DD`},
		{[]string{"--review-within", "two weeks"}, "--review-within"},
		{[]string{"--playbooks", "../playbooks/testdata/invalid"}, "several-errors.yaml:"},
	} {
		code, _, errOut := run(t, append([]string{"report", "--evidence-dir", t.TempDir()}, tc.args...)...)
		assert.Equal(t, ExitUsage, code, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
	}
	code, _, errOut := run(t, "review", "sign", "drill-x", "--role", "dr-coordinator", "--evidence-dir", t.TempDir())
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--as NAME is required")
	code, _, errOut = run(t, "review", "accept", "drill-x", "--evidence-dir", t.TempDir())
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "expected DRILL_ID FINDING")
}
