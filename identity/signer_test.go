package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// writeKeyFile writes an OpenSSH private key file, encrypted when passphrase
// is not empty, and its .pub beside it.
func writeKeyFile(t *testing.T, path, passphrase string) ssh.PublicKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	pub, err := ssh.NewPublicKey(priv.Public())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644))
	return pub
}

// serveAgent runs an in-memory ssh-agent holding keys and points
// SSH_AUTH_SOCK at it.
func serveAgent(t *testing.T, keys ...any) {
	t.Helper()
	keyring := agent.NewKeyring()
	for _, k := range keys {
		require.NoError(t, keyring.Add(agent.AddedKey{PrivateKey: k, Comment: "agent-key"}))
	}
	dir, err := os.MkdirTemp("", "agent")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(keyring, c); _ = c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func TestLoadSigner_KeyFile(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	path := filepath.Join(t.TempDir(), "id_ed25519")
	pub := writeKeyFile(t, path, "")
	signer, from, err := LoadSigner(path)
	require.NoError(t, err)
	assert.Equal(t, pub.Marshal(), signer.PublicKey().Marshal())
	assert.Contains(t, from, path)
	assert.Contains(t, from, ssh.FingerprintSHA256(pub))
}

func TestLoadSigner_EncryptedKeySaysToUseTheAgent(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	path := filepath.Join(t.TempDir(), "id_ed25519")
	writeKeyFile(t, path, "secret")
	_, _, err := LoadSigner(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is encrypted")
	assert.Contains(t, err.Error(), "ssh-add "+path)
}

func TestLoadSigner_MissingFile(t *testing.T) {
	_, _, err := LoadSigner(filepath.Join(t.TempDir(), "nope"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope")
}

func TestLoadSigner_EmptyPathTriesAgentThenDefaultKey(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	_, agentKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	serveAgent(t, agentKey)

	signer, from, err := LoadSigner("")
	require.NoError(t, err)
	agentPub, err := ssh.NewPublicKey(agentKey.Public())
	require.NoError(t, err)
	assert.Equal(t, agentPub.Marshal(), signer.PublicKey().Marshal())
	assert.Contains(t, from, "ssh-agent")
	signed, err := Sign(sampleStatement(), signer)
	require.NoError(t, err, "agent signers sign statements")
	_, err = Verify(signed, []ssh.PublicKey{signer.PublicKey()})
	require.NoError(t, err)

	t.Setenv("SSH_AUTH_SOCK", "")
	_, _, err = LoadSigner("")
	require.Error(t, err, "no agent and no ~/.ssh/id_ed25519")
	assert.Contains(t, err.Error(), "SSH_AUTH_SOCK is not set")
	assert.Contains(t, err.Error(), filepath.Join(home, ".ssh", "id_ed25519"))

	pub := writeKeyFile(t, filepath.Join(home, ".ssh", "id_ed25519"), "")
	signer, from, err = LoadSigner("")
	require.NoError(t, err)
	assert.Equal(t, pub.Marshal(), signer.PublicKey().Marshal())
	assert.Contains(t, from, filepath.Join(home, ".ssh", "id_ed25519"))

	serveAgent(t) // an empty agent falls through to the key file
	_, from, err = LoadSigner("")
	require.NoError(t, err)
	assert.Contains(t, from, filepath.Join(home, ".ssh", "id_ed25519"))
}

func TestLoadSigner_PublicKeyPathPicksThatKeyFromTheAgent(t *testing.T) {
	_, k1, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, k2, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	serveAgent(t, k1, k2)
	pub2, err := ssh.NewPublicKey(k2.Public())
	require.NoError(t, err)
	path := writeFile(t, t.TempDir(), "id.pub", ssh.MarshalAuthorizedKey(pub2))

	signer, from, err := LoadSigner(path)
	require.NoError(t, err)
	assert.Equal(t, pub2.Marshal(), signer.PublicKey().Marshal())
	assert.Contains(t, from, "ssh-agent")

	other := writeKeyFile(t, filepath.Join(t.TempDir(), "other"), "")
	_, _, err = LoadSigner(writeFile(t, t.TempDir(), "other.pub", ssh.MarshalAuthorizedKey(other)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not in the ssh-agent")
}

func TestNewNonce_IsLongAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n := NewNonce()
		assert.GreaterOrEqual(t, len(n), 22)
		assert.False(t, seen[n])
		seen[n] = true
	}
}
