package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/review"
)

// A real drill whose gate opened by itself; its review proposes that as a
// finding, which is accepted and given an action; alice and bob sign it off
// with keys made by ssh-keygen. The drill bundle and every review version
// verify, stock OpenSSH accepts each sign-off, one changed byte of the
// review fails it. A later passing drill of the playbook verifies the action,
// in the register first, then recorded.
func TestReview_AfterARealDrillFindingsActionsAndTwoSSHSignoffs(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen (openssh-client) is not installed")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	keys := t.TempDir()
	aliceKey, alicePub := sshKey(t, keys, "alice")
	bobKey, bobPub := sshKey(t, keys, "bob")
	kg := drillctl(t, "evidence", "keygen", "--out", filepath.Join(keys, "evidence"))
	require.Equal(t, 0, kg.code, kg.stderr)
	signingKey := filepath.Join(keys, "evidence", evidence.PrivateKeyFile)
	pub := filepath.Join(keys, "evidence", evidence.PublicKeyFile)
	key, err := evidence.LoadPrivateKey(signingKey)
	require.NoError(t, err)
	acts := testActivities()
	acts.SigningKey = key
	startWorkerWith(t, acts, nil)

	p := newPlatform(t, 100*time.Millisecond)
	gate := `  - id: go-no-go
    type: approval
    approvers: [alice, bob]
    timeout: 1s
    onTimeout: approve
    auto: allowed
`
	pb := strings.Replace(failoverPlaybook(p.srv.URL, gate), "NEEDS", "go-no-go", 1)
	pb = strings.Replace(pb, "metadata: {name: e2e-failover}", "metadata: {name: e2e-review, frequency: quarterly}\nreview: {signoff: [dr-coordinator, senior-management]}", 1)
	pb = strings.Replace(pb, "  alice: {name: Alice}\n  bob: {name: Bob}\n",
		"  alice: {name: Alice, keys: [\""+alicePub+"\"]}\n  bob: {name: Bob, keys: [\""+bobPub+"\"]}\n", 1)
	path := writePlaybook(t, pb)
	run := func() *evidence.Record {
		t.Helper()
		r := drillctl(t, "drill", "run", path, "--as", "alice", "--key", aliceKey, "--output", "json")
		require.Equal(t, 0, r.code, "stderr: %s\nstdout: %s", r.stderr, r.stdout)
		rec := decodeRecord(t, r)
		require.NotNil(t, rec.Evidence, rec.EvidenceError)
		return rec
	}
	rec := run()
	require.Len(t, rec.Approvals, 1)
	require.True(t, rec.Approvals[0].Auto)
	id := rec.DrillID
	ev := []string{"--evidence-dir", evidenceDir, "--signing-key", signingKey}
	rv := func(args ...string) result {
		t.Helper()
		r := drillctl(t, append(append([]string{"review"}, args...), ev...)...)
		require.Equal(t, 0, r.code, "review %v\nstderr: %s\nstdout: %s", args, r.stderr, r.stdout)
		return r
	}

	var opened struct {
		Review review.Review `json:"review"`
	}
	require.NoError(t, json.Unmarshal([]byte(rv("open", id, "--as", "carol", "--output", "json").stdout), &opened))
	gateFinding := ""
	for _, f := range opened.Review.Findings {
		if f.Rule == review.RuleAutoGate {
			gateFinding = f.ID
			rv("accept", id, f.ID, "--severity", "high", "--classification", "process", "--as", "carol")
		} else {
			rv("dismiss", id, f.ID, "--reason", "expected in the lab", "--as", "carol")
		}
	}
	require.NotEmpty(t, gateFinding, "the gate that opened by itself is proposed")
	rv("add-action", id, "--title", "Page a human before the go", "--owner", "bob", "--due", "2099-12-31",
		"--ticket", "https://jira.example.com/DR-9", "--finding", gateFinding, "--as", "carol")
	rv("sign", id, "--as", "alice", "--role", "dr-coordinator", "--key", aliceKey)
	signed := rv("sign", id, "--as", "bob", "--role", "senior-management", "--key", bobKey, "--output", "json")
	var last struct {
		Dir    string        `json:"dir"`
		Review review.Review `json:"review"`
	}
	require.NoError(t, json.Unmarshal([]byte(signed.stdout), &last))
	assert.True(t, last.Review.SignedOff())
	assert.Equal(t, filepath.Join(evidenceDir, id+".review"), filepath.Dir(last.Dir), "beside the drill bundle, never inside")

	ok := drillctl(t, "evidence", "verify", rec.Evidence.Path, "--pubkey", pub)
	require.Equal(t, 0, ok.code, ok.stdout)
	v := drillctl(t, "evidence", "verify", last.Dir, "--pubkey", pub, "--output", "json")
	require.Equal(t, 0, v.code, v.stdout)
	assert.Contains(t, v.stdout, `"statementsVerified": 2`)
	for i, s := range last.Review.Signoffs {
		allowed, sig, stmt := review.SignoffFiles(&last.Review, i)
		cmd := exec.Command("sh", "-c", s.Signed.VerifyCommand(allowed, sig, stmt))
		cmd.Dir = last.Dir
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "ssh-keygen -Y verify of %s's sign-off: %s", s.Signer, out)
		assert.Contains(t, string(out), `Good "drillctl" signature for `+s.Signer)
	}

	reviewFile := filepath.Join(last.Dir, review.FileReview)
	orig, err := os.ReadFile(reviewFile)
	require.NoError(t, err)
	edited := []byte(strings.Replace(string(orig), "Page a human before the go", "Page a human before the gO", 1))
	require.NoError(t, os.WriteFile(reviewFile, edited, 0o600))
	bad := drillctl(t, "evidence", "verify", last.Dir, "--pubkey", pub)
	assert.Equal(t, 5, bad.code, bad.stdout)
	assert.Contains(t, bad.stdout, "FAIL  review.json: changed")
	require.NoError(t, os.WriteFile(reviewFile, orig, 0o600))

	// Bob closes the action; the next passing drill exercises it.
	rv("close-action", id, "A1", "--as", "bob", "--note", "pager rota fixed")
	later := run()
	reg := drillctl(t, "report", "--evidence-dir", evidenceDir, "--pubkey", pub, "--output", "json")
	require.Equal(t, 0, reg.code, reg.stderr)
	var register evidence.Register
	require.NoError(t, json.Unmarshal([]byte(reg.stdout), &register))
	var action *evidence.RegisterAction
	for i, a := range register.Actions {
		if a.DrillID == id && a.ID == "A1" {
			action = &register.Actions[i]
		}
	}
	require.NotNil(t, action, reg.stdout)
	assert.Equal(t, review.ActionVerified, action.State)
	assert.Equal(t, later.DrillID, action.VerifiedBy)
	assert.False(t, action.Recorded)
	for _, pl := range register.Playbooks {
		if pl.Name == "e2e-review" {
			assert.Equal(t, evidence.StateVerified, pl.State, pl.Reason)
			require.NotNil(t, pl.LastPassing)
			assert.Equal(t, later.DrillID, pl.LastPassing.DrillID)
		}
	}
	rv("verify-action", id, "A1", "--drill", later.DrillID, "--as", "carol")
	s, err := review.Latest(&evidence.Store{Dir: evidenceDir}, id)
	require.NoError(t, err)
	assert.Equal(t, later.DrillID, s.Review.Action("A1").VerifiedBy)
	assert.True(t, s.Review.SignedOff(), "closing and verifying an action keeps the sign-off")
}
