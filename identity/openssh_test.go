package identity

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// These tests hold drillctl to stock OpenSSH: what Sign makes, ssh-keygen
// verifies; what ssh-keygen signs, Verify accepts; and both refuse the same
// forgeries.

type openSSHKey struct {
	path   string // private key file, in t.TempDir()
	signer ssh.Signer
}

var openSSHKeyTypes = []struct {
	name, typ string
	bits      int
}{
	{"ed25519", "ed25519", 0},
	{"rsa-3072", "rsa", 3072},
	{"ecdsa-p256", "ecdsa", 256},
	{"ecdsa-p384", "ecdsa", 384},
	{"ecdsa-p521", "ecdsa", 521},
}

func requireSSHKeygen(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skipf("ssh-keygen is not installed: %v", err)
	}
}

// runSSHKeygen runs ssh-keygen with stdin and returns its combined output.
func runSSHKeygen(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("ssh-keygen", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func newOpenSSHKey(t *testing.T, typ string, bits int) openSSHKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "id_"+typ)
	args := []string{"-q", "-t", typ, "-N", "", "-C", "alice@test", "-f", path}
	if bits > 0 {
		args = append(args, "-b", strconv.Itoa(bits))
	}
	out, err := runSSHKeygen(t, nil, args...)
	require.NoError(t, err, out)
	pem, err := os.ReadFile(path)
	require.NoError(t, err)
	signer, err := ssh.ParsePrivateKey(pem)
	require.NoError(t, err)
	return openSSHKey{path: path, signer: signer}
}

// writeAllowedSigners writes an allowed_signers file naming principal.
func writeAllowedSigners(t *testing.T, dir, principal string, keys ...ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		line, err := AllowedSignersLine(principal, k)
		require.NoError(t, err)
		b.WriteString(line + "\n")
	}
	path := filepath.Join(dir, "allowed_signers")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func trickyStatement() Statement {
	s := sampleStatement()
	s.Comment = "lag ok\nsigner=mallory \u202eévité"
	s.Extra = map[string]string{"ticket": "OPS-42"}
	return s
}

func TestSign_VerifiedBySSHKeygen(t *testing.T) {
	requireSSHKeygen(t)
	for _, kt := range openSSHKeyTypes {
		t.Run(kt.name, func(t *testing.T) {
			key := newOpenSSHKey(t, kt.typ, kt.bits)
			signed, err := Sign(trickyStatement(), key.signer)
			require.NoError(t, err)

			dir := t.TempDir()
			allowed := writeAllowedSigners(t, dir, "alice", key.signer.PublicKey())
			sig := writeFile(t, dir, "statement.sig", []byte(signed.Signature))
			out, err := runSSHKeygen(t, signed.Statement.Canonical(),
				"-Y", "verify", "-f", allowed, "-I", "alice", "-n", "drillctl", "-s", sig)
			require.NoError(t, err, out)
			assert.Contains(t, out, `Good "drillctl" signature for alice`)
			assert.Contains(t, out, signed.Fingerprint)
		})
	}
}

func TestSignedVerifyCommand_RunsInAShell(t *testing.T) {
	requireSSHKeygen(t)
	key := newOpenSSHKey(t, "ed25519", 0)
	stmt := trickyStatement()
	stmt.Signer = "alice martin"
	signed, err := Sign(stmt, key.signer)
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "evidence dir")
	require.NoError(t, os.Mkdir(dir, 0o700))
	allowed := writeAllowedSigners(t, dir, "alice martin", key.signer.PublicKey())
	sig := writeFile(t, dir, "approve.sig", []byte(signed.Signature))
	msg := writeFile(t, dir, "approve.statement", signed.Statement.Canonical())

	out, err := exec.Command("sh", "-c", signed.VerifyCommand(allowed, sig, msg)).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), `Good "drillctl" signature for alice martin`)
}

func TestVerify_AcceptsSSHKeygenSignatures(t *testing.T) {
	requireSSHKeygen(t)
	for _, kt := range openSSHKeyTypes {
		t.Run(kt.name, func(t *testing.T) {
			key := newOpenSSHKey(t, kt.typ, kt.bits)
			stmt := trickyStatement()
			dir := t.TempDir()
			msg := writeFile(t, dir, "statement", stmt.Canonical())
			out, err := runSSHKeygen(t, nil, "-Y", "sign", "-n", "drillctl", "-f", key.path, msg)
			require.NoError(t, err, out)
			armored, err := os.ReadFile(msg + ".sig")
			require.NoError(t, err)

			fp, err := Verify(Signed{Statement: stmt, Signature: string(armored)},
				[]ssh.PublicKey{key.signer.PublicKey()})
			require.NoError(t, err)

			out, err = runSSHKeygen(t, nil, "-l", "-f", key.path+".pub")
			require.NoError(t, err, out)
			assert.Equal(t, strings.Fields(out)[1], fp)
		})
	}
}

func TestSign_Ed25519IsByteForByteWhatSSHKeygenWrites(t *testing.T) {
	requireSSHKeygen(t)
	key := newOpenSSHKey(t, "ed25519", 0)
	stmt := trickyStatement()
	msg := writeFile(t, t.TempDir(), "statement", stmt.Canonical())
	out, err := runSSHKeygen(t, nil, "-Y", "sign", "-n", "drillctl", "-f", key.path, msg)
	require.NoError(t, err, out)
	want, err := os.ReadFile(msg + ".sig")
	require.NoError(t, err)

	signed, err := Sign(stmt, key.signer)
	require.NoError(t, err)
	assert.Equal(t, string(want), signed.Signature)
}

func TestSSHKeygenAndVerify_RefuseTheSameForgeries(t *testing.T) {
	requireSSHKeygen(t)
	alice := newOpenSSHKey(t, "ed25519", 0)
	bob := newOpenSSHKey(t, "ed25519", 0)
	stmt := trickyStatement()
	dir := t.TempDir()
	msg := writeFile(t, dir, "statement", stmt.Canonical())

	signWith := func(key openSSHKey, ns string) string {
		out, err := runSSHKeygen(t, nil, "-Y", "sign", "-n", ns, "-f", key.path, msg)
		require.NoError(t, err, out)
		b, err := os.ReadFile(msg + ".sig")
		require.NoError(t, err)
		require.NoError(t, os.Remove(msg+".sig"))
		return string(b)
	}
	aliceSig, gitSig := signWith(alice, "drillctl"), signWith(alice, "git")
	altered := stmt
	altered.Decision = DecisionAbort
	forged := stmt
	forged.Comment = "lag ok"
	forged.Signer = "mallory"

	cases := []struct {
		name    string
		stmt    Statement
		sig     string
		allowed openSSHKey
		kind    error
	}{
		{"wrong key", stmt, aliceSig, bob, ErrKeyNotAllowed},
		{"wrong namespace", stmt, gitSig, alice, ErrWrongNamespace},
		{"altered statement", altered, aliceSig, alice, ErrStatementAltered},
		{"comment newline forging a field", forged, aliceSig, alice, ErrStatementAltered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(Signed{Statement: c.stmt, Signature: c.sig}, []ssh.PublicKey{c.allowed.signer.PublicKey()})
			assert.ErrorIs(t, err, c.kind)

			d := t.TempDir()
			allowedPath := writeAllowedSigners(t, d, "alice", c.allowed.signer.PublicKey())
			sigPath := writeFile(t, d, "sig", []byte(c.sig))
			out, err := runSSHKeygen(t, c.stmt.Canonical(),
				"-Y", "verify", "-f", allowedPath, "-I", "alice", "-n", "drillctl", "-s", sigPath)
			assert.Error(t, err, "ssh-keygen accepted it: %s", out)
		})
	}
	_, err := Verify(Signed{Statement: stmt, Signature: gitSig}, []ssh.PublicKey{alice.signer.PublicKey()})
	require.Error(t, err)
	assert.Equal(t, "namespace is git, expected drillctl", err.Error())
}
