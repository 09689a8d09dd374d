package identity

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestSignFile_VerifiedBySSHKeygenAndRefusedWhenChanged(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is not installed")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput()
	require.NoError(t, err, string(out))
	signer, _, err := LoadSigner(key)
	require.NoError(t, err)
	data := []byte("apiVersion: drillctl/v1\nkind: Playbook\n")
	sig, fp, err := SignFile(data, PlaybookNamespace, signer)
	require.NoError(t, err)
	assert.Equal(t, ssh.FingerprintSHA256(signer.PublicKey()), fp)

	file := filepath.Join(dir, "p.yaml")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	require.NoError(t, os.WriteFile(file+".sig", []byte(sig), 0o600))
	line := `ops namespaces="` + PlaybookNamespace + `" ` + string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	allowed := filepath.Join(dir, "allowed")
	require.NoError(t, os.WriteFile(allowed, []byte(line+"\n"), 0o600))
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "ops", "-n", PlaybookNamespace, "-s", file+".sig")
	in, err := os.Open(file)
	require.NoError(t, err)
	defer in.Close()
	cmd.Stdin = in
	out, err = cmd.CombinedOutput()
	assert.NoError(t, err, "ssh-keygen verifies a signed playbook: %s", out)

	_, err = VerifyFile(data, sig, PlaybookNamespace, []ssh.PublicKey{signer.PublicKey()})
	assert.NoError(t, err)
	changed := append([]byte(nil), data...)
	changed[0] ^= 1
	_, err = VerifyFile(changed, sig, PlaybookNamespace, []ssh.PublicKey{signer.PublicKey()})
	assert.ErrorContains(t, err, "changed since it was signed")
	_, err = VerifyFile(data, sig, Namespace, []ssh.PublicKey{signer.PublicKey()})
	assert.ErrorIs(t, err, ErrWrongNamespace, "a playbook signature is not a decision")
	_, err = VerifyFile(data, sig, PlaybookNamespace, nil)
	assert.ErrorIs(t, err, ErrKeyNotAllowed)
}
