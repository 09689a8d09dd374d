package identity

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// goSigner makes a key in Go, for tests that must run without ssh-keygen.
func goSigner(t *testing.T, kind string) ssh.Signer {
	t.Helper()
	var key any
	var err error
	switch kind {
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(key)
	require.NoError(t, err)
	return s
}

func TestSignVerify_RoundTripForEachKeyType(t *testing.T) {
	for _, kind := range []string{"ed25519", "rsa", "ecdsa"} {
		t.Run(kind, func(t *testing.T) {
			signer := goSigner(t, kind)
			signed, err := Sign(sampleStatement(), signer)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(signed.Signature, "-----BEGIN SSH SIGNATURE-----\n"))
			assert.True(t, strings.HasSuffix(signed.Signature, "-----END SSH SIGNATURE-----\n"))
			assert.Equal(t, ssh.FingerprintSHA256(signer.PublicKey()), signed.Fingerprint)

			other := goSigner(t, "ed25519")
			fp, err := Verify(signed, []ssh.PublicKey{other.PublicKey(), signer.PublicKey()})
			require.NoError(t, err)
			assert.Equal(t, signed.Fingerprint, fp)

			env, err := parseArmored(signed.Signature)
			require.NoError(t, err)
			assert.Equal(t, "sha512", env.hashAlg)
			if kind == "rsa" {
				assert.Equal(t, ssh.KeyAlgoRSASHA512, env.sig.Format)
			}
		})
	}
}

func TestSign_NormalizesTimeToUTCAndRefusesIncompleteStatements(t *testing.T) {
	signer := goSigner(t, "ed25519")
	s := sampleStatement()
	s.At = s.At.In(time.FixedZone("CET", 3600))
	signed, err := Sign(s, signer)
	require.NoError(t, err)
	assert.Equal(t, "UTC", signed.Statement.At.Location().String())

	s.Nonce = ""
	_, err = Sign(s, signer)
	assert.ErrorIs(t, err, ErrInvalidStatement)

	_, err = Sign(sampleStatement(), nil)
	assert.Error(t, err)
}

func TestVerify_AcceptsSHA256Envelope(t *testing.T) {
	signer := goSigner(t, "ed25519")
	stmt := sampleStatement()
	env, err := sealEnvelope(stmt.Canonical(), signer, Namespace, "sha256", "")
	require.NoError(t, err)
	_, err = Verify(Signed{Statement: stmt, Signature: env.armor()}, []ssh.PublicKey{signer.PublicKey()})
	assert.NoError(t, err)
}

func TestVerify_RefusesForgeriesWithClearErrors(t *testing.T) {
	alice := goSigner(t, "ed25519")
	bob := goSigner(t, "ed25519")
	rsaKey := goSigner(t, "rsa")
	aliceKeys := []ssh.PublicKey{alice.PublicKey()}

	good, err := Sign(sampleStatement(), alice)
	require.NoError(t, err)

	seal := func(stmt Statement, signer ssh.Signer, ns, hash, algo string) Signed {
		env, err := sealEnvelope(stmt.Canonical(), signer, ns, hash, algo)
		require.NoError(t, err)
		return Signed{Statement: stmt, Signature: env.armor()}
	}

	// Under a naive key=value encoding these two statements are the same bytes.
	smuggled := sampleStatement()
	smuggled.Comment = "noted\nextra.approved=yes"
	smuggledSigned, err := Sign(smuggled, alice)
	require.NoError(t, err)
	forged := smuggledSigned
	forged.Statement.Comment = "noted"
	forged.Statement.Extra = map[string]string{"approved": "yes"}

	cases := []struct {
		name    string
		signed  Signed
		allowed []ssh.PublicKey
		kind    error
		want    string
	}{
		{"wrong key", good, []ssh.PublicKey{bob.PublicKey()}, ErrKeyNotAllowed,
			"signature made by " + ssh.FingerprintSHA256(alice.PublicKey()) + " which is not one of alice's keys"},
		{"signer has no keys", good, nil, ErrKeyNotAllowed, "alice has no SSH keys on record"},
		{"reattributed to bob", func() Signed {
			s := good
			s.Statement.Signer = "bob"
			return s
		}(), []ssh.PublicKey{bob.PublicKey()}, ErrKeyNotAllowed, "which is not one of bob's keys"},
		{"wrong namespace", seal(sampleStatement(), alice, "git", "sha512", ""), aliceKeys, ErrWrongNamespace,
			"namespace is git, expected drillctl"},
		{"changed statement byte", func() Signed {
			s := good
			s.Statement.Drill = "dr-2026-q5"
			return s
		}(), aliceKeys, ErrStatementAltered, "statement altered"},
		{"comment newline forging a field", forged, aliceKeys, ErrStatementAltered, "statement altered"},
		{"replayed on a different statement", func() Signed {
			s := good
			s.Statement.Decision = DecisionAbort
			s.Statement.Nonce = "ANOTHER"
			return s
		}(), aliceKeys, ErrStatementAltered, "statement altered"},
		{"fingerprint field rewritten", func() Signed {
			s := good
			s.Fingerprint = ssh.FingerprintSHA256(bob.PublicKey())
			return s
		}(), aliceKeys, ErrStatementAltered, "record names signing key " + ssh.FingerprintSHA256(bob.PublicKey())},
		{"not armored", Signed{Statement: sampleStatement(), Signature: "hello"}, aliceKeys, ErrMalformedSignature,
			"not an armored SSH signature"},
		{"truncated", Signed{Statement: sampleStatement(), Signature: truncateArmor(good.Signature)}, aliceKeys,
			ErrMalformedSignature, "malformed SSH signature"},
		{"rsa with sha1", seal(sampleStatement(), rsaKey, Namespace, "sha512", ssh.KeyAlgoRSA),
			[]ssh.PublicKey{rsaKey.PublicKey()}, ErrMalformedSignature, "RSA signature algorithm ssh-rsa is not accepted"},
		{"unknown hash", func() Signed {
			env, err := parseArmored(good.Signature)
			require.NoError(t, err)
			env.hashAlg = "md5"
			return Signed{Statement: good.Statement, Signature: env.armor()}
		}(), aliceKeys, ErrMalformedSignature, "hash algorithm md5 is not supported"},
		{"incomplete statement", func() Signed {
			s := sampleStatement()
			s.Nonce = ""
			return seal(s, alice, Namespace, "sha512", "")
		}(), aliceKeys, ErrInvalidStatement, "nonce is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fp, err := Verify(c.signed, c.allowed)
			require.Error(t, err)
			assert.Empty(t, fp)
			assert.ErrorIs(t, err, c.kind)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func truncateArmor(armored string) string {
	lines := strings.Split(armored, "\n")
	// Drop the last body line: base64 stays valid, the blob does not.
	return strings.Join(append(lines[:len(lines)-3:len(lines)-3], lines[len(lines)-2:]...), "\n")
}
