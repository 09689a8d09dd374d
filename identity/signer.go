package identity

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// LoadSigner finds the key a person signs with and says where it came from.
//
// With a keyPath, it reads that file: a private key (OpenSSH, PEM or PKCS#8,
// unencrypted), or a public key whose private half is in the ssh-agent, as
// `ssh-keygen -Y sign -f key.pub` does. An encrypted key is refused with
// advice to add it to the agent: drillctl never asks for passphrases.
//
// With an empty keyPath, it tries the ssh-agent at $SSH_AUTH_SOCK (its first
// plain key), then ~/.ssh/id_ed25519. An agent signer keeps its connection
// open for the life of the process.
func LoadSigner(keyPath string) (signer ssh.Signer, from string, err error) {
	if keyPath != "" {
		return loadKeyFile(expandHome(keyPath))
	}
	signer, from, agentErr := agentSigner(nil)
	if agentErr == nil {
		return signer, from, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, "", fmt.Errorf("no signing key: ssh-agent: %v; home directory: %w", agentErr, err)
	}
	defaultKey := filepath.Join(home, ".ssh", "id_ed25519")
	signer, from, fileErr := loadKeyFile(defaultKey)
	if fileErr != nil {
		return nil, "", fmt.Errorf("no signing key: ssh-agent: %v; %w", agentErr, fileErr)
	}
	return signer, from, nil
}

// expandHome expands a leading "~/" as a shell would.
func expandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// loadKeyFile reads a private key file, or a public key file to find in the agent.
func loadKeyFile(path string) (ssh.Signer, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("key file %s: not found", path)
		}
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	if !bytes.Contains(data, []byte("PRIVATE KEY")) {
		pub, pubErr := ParseAuthorizedKey(string(bytes.TrimSpace(data)))
		if pubErr != nil {
			return nil, "", fmt.Errorf("key file %s: neither a private key nor a public key: %w", path, pubErr)
		}
		signer, from, err := agentSigner(pub)
		if err != nil {
			return nil, "", fmt.Errorf("key file %s is a public key, so its private half must be in the ssh-agent: %w", path, err)
		}
		return signer, from, nil
	}
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, "", fmt.Errorf("key file %s is encrypted: drillctl does not ask for passphrases; "+
			"run `ssh-add %s` and sign through the ssh-agent (leave the key path empty, or give %s.pub)", path, path, path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	return signer, fmt.Sprintf("key file %s (%s %s)", path, signer.PublicKey().Type(), ssh.FingerprintSHA256(signer.PublicKey())), nil
}

// agentSigner returns the agent's signer for want, or its first plain key when
// want is nil.
func agentSigner(want ssh.PublicKey) (ssh.Signer, string, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, "", errors.New("SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, "", fmt.Errorf("connect to ssh-agent at %s: %w", sock, err)
	}
	client := agent.NewClient(conn)
	signers, err := client.Signers()
	if err != nil {
		_ = conn.Close()
		return nil, "", fmt.Errorf("list keys of ssh-agent at %s: %w", sock, err)
	}
	var plain []ssh.Signer
	for _, s := range signers {
		if _, isCert := s.PublicKey().(*ssh.Certificate); !isCert {
			plain = append(plain, s)
		}
	}
	for i, s := range plain {
		if want == nil || bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
			fp := ssh.FingerprintSHA256(s.PublicKey())
			return s, fmt.Sprintf("ssh-agent at %s, key %d of %d (%s %s)", sock, i+1, len(plain), s.PublicKey().Type(), fp), nil
		}
	}
	_ = conn.Close()
	if want != nil {
		return nil, "", fmt.Errorf("key %s is not in the ssh-agent at %s (ssh-add it)", ssh.FingerprintSHA256(want), sock)
	}
	return nil, "", fmt.Errorf("ssh-agent at %s holds no keys (ssh-add one)", sock)
}

// NewNonce returns a fresh random nonce (128 bits, base32) for a Statement.
// It is for the side that issues challenges, never for workflow code.
func NewNonce() string {
	return rand.Text()
}
