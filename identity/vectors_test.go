package identity

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// update regenerates testdata/vectors with ssh-keygen:
//
//	go test ./identity/ -run Vectors -update
//
// The private keys live only in t.TempDir(); only public keys, the statement
// and the signatures are kept.
var update = flag.Bool("update", false, "regenerate testdata/vectors with ssh-keygen")

const vectorDir = "testdata/vectors"

var vectorKeys = []struct{ name, typ, bits string }{
	{"ed25519", "ed25519", ""},
	{"rsa", "rsa", "3072"},
	{"ecdsa", "ecdsa", "256"},
}

// vectorStatement is the statement ssh-keygen signed for testdata/vectors.
func vectorStatement() Statement {
	return Statement{
		Drill:    "dr-2026-q4",
		Step:     "failover-db",
		Decision: DecisionSignoff,
		Comment:  "RTO met\nsigner=mallory",
		At:       time.Date(2026, 11, 23, 9, 41, 7, 250000000, time.UTC),
		Nonce:    "JX4C3OQ2GZ6LW5B7MNSPVKTQAE",
		Signer:   "alice",
		Extra:    map[string]string{"review": "q4-2026"},
	}
}

func regenerateVectors(t *testing.T) {
	requireSSHKeygen(t)
	require.NoError(t, os.MkdirAll(vectorDir, 0o755))
	msg := filepath.Join(vectorDir, "statement")
	require.NoError(t, os.WriteFile(msg, vectorStatement().Canonical(), 0o644))
	var allowed strings.Builder
	for _, k := range vectorKeys {
		priv := filepath.Join(t.TempDir(), "id_"+k.name)
		args := []string{"-q", "-t", k.typ, "-N", "", "-C", "alice@vector", "-f", priv}
		if k.bits != "" {
			args = append(args, "-b", k.bits)
		}
		out, err := runSSHKeygen(t, nil, args...)
		require.NoError(t, err, out)
		out, err = runSSHKeygen(t, nil, "-Y", "sign", "-n", "drillctl", "-f", priv, msg)
		require.NoError(t, err, out)
		require.NoError(t, os.Rename(msg+".sig", filepath.Join(vectorDir, k.name+".sig")))
		pub, err := os.ReadFile(priv + ".pub")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(vectorDir, k.name+".pub"), pub, 0o644))
		allowed.WriteString(`alice,"alice martin" namespaces="drillctl" ` + string(pub))
	}
	require.NoError(t, os.WriteFile(filepath.Join(vectorDir, "allowed_signers"), []byte(allowed.String()), 0o644))
}

func readVector(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	require.NoError(t, err)
	return string(b)
}

func TestVerify_CommittedSSHKeygenVectors(t *testing.T) {
	if *update {
		regenerateVectors(t)
	}
	stmt := vectorStatement()
	require.Equal(t, readVector(t, "statement"), string(stmt.Canonical()),
		"the canonical encoding changed: old signatures would no longer verify")

	keys := map[string]ssh.PublicKey{}
	for _, k := range vectorKeys {
		pub, err := ParseAuthorizedKey(readVector(t, k.name+".pub"))
		require.NoError(t, err)
		keys[k.name] = pub
	}
	signers, err := ParseAllowedSigners(strings.NewReader(readVector(t, "allowed_signers")))
	require.NoError(t, err)
	require.Len(t, signers["alice"], len(vectorKeys))
	require.Len(t, signers["alice martin"], len(vectorKeys))

	for _, k := range vectorKeys {
		t.Run(k.name, func(t *testing.T) {
			signed := Signed{Statement: stmt, Signature: readVector(t, k.name+".sig")}
			fp, err := Verify(signed, []ssh.PublicKey{keys[k.name]})
			require.NoError(t, err)
			assert.Equal(t, ssh.FingerprintSHA256(keys[k.name]), fp)
			_, err = Verify(signed, signers["alice"])
			assert.NoError(t, err)

			var others []ssh.PublicKey
			for name, pub := range keys {
				if name != k.name {
					others = append(others, pub)
				}
			}
			_, err = Verify(signed, others)
			assert.ErrorIs(t, err, ErrKeyNotAllowed)

			signed.Statement.Comment = "RTO met"
			_, err = Verify(signed, signers["alice"])
			assert.ErrorIs(t, err, ErrStatementAltered)
		})
	}
}
