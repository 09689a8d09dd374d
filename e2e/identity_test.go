package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/workflows"
)

// sshKey makes an ed25519 key pair with ssh-keygen and returns the private
// key's path and the public key line.
func sshKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@corp", "-f", path).CombinedOutput()
	require.NoError(t, err, string(out))
	pub, err := os.ReadFile(path + ".pub")
	require.NoError(t, err)
	return path, strings.TrimSpace(string(pub))
}

// Alice, bob and carol have SSH keys; the gate needs two of them and not
// the one who started the drill. An unsigned go, a go as alice with bob's
// key and a replayed go are refused; alice and bob's signed go opens the
// gate; the evidence keeps both statements and stock OpenSSH verifies each.
func TestIdentity_SignedFourEyesGateVerifiedByOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen (openssh-client) is not installed")
	}
	// No agent and no ~/.ssh: a decision without --key goes unsigned.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	keys := t.TempDir()
	aliceKey, alicePub := sshKey(t, keys, "alice")
	bobKey, bobPub := sshKey(t, keys, "bob")
	carolKey, carolPub := sshKey(t, keys, "carol")

	startWorker(t)
	p := newPlatform(t, 100*time.Millisecond)
	pb := strings.Replace(gatedPlaybook(p.srv.URL), "metadata: {name: e2e-failover}", "metadata: {name: e2e-signed}", 1)
	pb = strings.Replace(pb, `contacts:
  alice: {name: Alice}
  bob: {name: Bob}
`, `starters: [carol]
contacts:
  alice: {name: Alice, keys: ["`+alicePub+`"]}
  bob: {name: Bob, keys: ["`+bobPub+`"]}
  carol: {name: Carol, keys: ["`+carolPub+`"]}
`, 1)
	pb = strings.Replace(pb, "    approvers: [alice, bob]\n", "    approvers: [alice, bob, carol]\n    minApprovals: 2\n    forbid: [initiator]\n", 1)
	path := writePlaybook(t, pb)

	unsignedStart := drillctl(t, "drill", "run", path, "--as", "carol", "--detach")
	assert.Equal(t, 1, unsignedStart.code, "a signed playbook's drill is not started unsigned")
	assert.Contains(t, unsignedStart.stderr, "no SSH key was found")

	start := drillctl(t, "drill", "run", path, "--as", "carol", "--key", carolKey, "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "go-no-go", evidence.StepWaiting)

	unsigned := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "alice")
	assert.Equal(t, 1, unsigned.code)
	assert.Contains(t, unsigned.stderr, "requires signed decisions")
	wrongKey := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "alice", "--key", bobKey)
	assert.Equal(t, 1, wrongKey.code)
	assert.Contains(t, wrongKey.stderr, "signature of alice")
	initiator := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "carol", "--key", carolKey)
	assert.Equal(t, 1, initiator.code)
	assert.Contains(t, initiator.stderr, "four eyes")

	ok := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "alice", "--key", aliceKey, "--comment", "window open")
	require.Equal(t, 0, ok.code, ok.stderr)
	assert.Contains(t, ok.stdout, "signature verified")

	// The same signed statement, sent again by anyone who saw it, is refused.
	live := decodeRecord(t, drillctl(t, "drill", "status", id, "--output", "json"))
	require.Len(t, live.Approvals, 1)
	cl := dialServer(t)
	h, err := cl.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateApprove, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.ApproveInput{Step: "go-no-go", By: "alice", Comment: "window open", Signed: live.Approvals[0].Signed}},
	})
	if err == nil {
		err = h.Get(context.Background(), nil)
	}
	require.Error(t, err, "a replayed signature is refused")
	failovers, _ := p.counts()
	assert.Equal(t, 0, failovers, "one go is not enough")

	second := drillctl(t, "drill", "approve", id, "go-no-go", "--as", "bob", "--key", bobKey)
	require.Equal(t, 0, second.code, second.stderr)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	assert.Equal(t, "carol", rec.Identity.InitiatedBy)
	require.Len(t, rec.Approvals, 2)
	require.NotNil(t, rec.Evidence, rec.EvidenceError)

	// Stock OpenSSH checks every statement, with no drillctl.
	bundleRec := decodeRecord(t, result{stdout: readFile(t, filepath.Join(rec.Evidence.Path, evidence.FileRecord))})
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed_signers")
	require.NoError(t, os.WriteFile(allowed, []byte(
		"alice "+alicePub+"\nbob "+bobPub+"\ncarol "+carolPub+"\n"), 0o600))
	signedOnes := []*identity.Signed{bundleRec.Identity.Start}
	for _, a := range bundleRec.Approvals {
		assert.True(t, a.Verified, a.By)
		signedOnes = append(signedOnes, a.Signed)
	}
	for i, s := range signedOnes {
		require.NotNil(t, s)
		msg, sig := filepath.Join(dir, "statement"), filepath.Join(dir, "sig")
		require.NoError(t, os.WriteFile(msg, s.Statement.Canonical(), 0o600))
		require.NoError(t, os.WriteFile(sig, []byte(s.Signature), 0o600))
		cmd := exec.Command("sh", "-c", s.VerifyCommand(allowed, sig, msg))
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "statement %d (%s by %s): %s", i, s.Statement.Decision, s.Statement.Signer, out)
	}
	v := drillctl(t, "evidence", "verify", rec.Evidence.Path, "--output", "json")
	assert.Equal(t, 0, v.code, v.stdout)
	assert.Contains(t, v.stdout, `"statementsVerified": 3`)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// A worker that trusts only signed playbooks refuses an unsigned one, and a
// signed one changed by one byte, at the drill's first activity; it runs the
// signed one as it was signed.
func TestIdentity_AWorkerRunsOnlyPlaybooksSignedByAKeyItTrusts(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen (openssh-client) is not installed")
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	key, pub := sshKey(t, t.TempDir(), "ops")
	trusted, err := identity.ParseAuthorizedKey(pub)
	require.NoError(t, err)
	acts := testActivities()
	acts.Trust = []ssh.PublicKey{trusted}
	startWorkerWith(t, acts, nil)

	p := newPlatform(t, 100*time.Millisecond)
	pb := strings.Replace(simplePlaybook(p.srv.URL), "name: e2e-failover", "name: e2e-trust", 1)
	path := writePlaybook(t, pb)
	unsigned := drillctl(t, "drill", "run", path, "--output", "json")
	assert.Equal(t, 4, unsigned.code, unsigned.stderr)
	assert.Contains(t, decodeRecord(t, unsigned).Reason, "is not signed")

	s := drillctl(t, "playbook", "sign", path, "--key", key)
	require.Equal(t, 0, s.code, s.stderr)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(pb, "rto: 4h", "rto: 5h", 1)), 0o644))
	edited := drillctl(t, "drill", "run", path, "--output", "json")
	assert.Equal(t, 4, edited.code, edited.stderr)
	assert.Contains(t, decodeRecord(t, edited).Reason, "changed since it was signed")
	failovers, _ := p.counts()
	assert.Equal(t, 0, failovers, "nothing was touched")

	require.NoError(t, os.WriteFile(path, []byte(pb), 0o644))
	ok := drillctl(t, "drill", "run", path, "--output", "json")
	assert.Equal(t, 0, ok.code, ok.stderr)
}
