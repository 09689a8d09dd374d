package identity

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Namespace is the SSH signature namespace of every drillctl statement, the
// -n of ssh-keygen -Y sign and -Y verify.
const Namespace = "drillctl"

// Kinds of Verify errors, for errors.Is; the messages say the details.
var (
	// ErrMalformedSignature: the signature is not a well-formed SSH signature
	// drillctl accepts.
	ErrMalformedSignature = errors.New("malformed SSH signature")
	// ErrWrongNamespace: the signature was made for another purpose (git, file…).
	ErrWrongNamespace = errors.New("wrong signature namespace")
	// ErrKeyNotAllowed: the signing key is not one of the signer's keys.
	ErrKeyNotAllowed = errors.New("signing key not allowed")
	// ErrStatementAltered: the signature does not cover this statement.
	ErrStatementAltered = errors.New("statement altered")
)

// verifyError carries a readable message and the kind it Is.
type verifyError struct {
	kind error
	msg  string
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() error { return e.kind }

func refuse(kind error, format string, args ...any) error {
	return &verifyError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Signed is a statement with its SSH signature, as kept in the evidence.
type Signed struct {
	// Statement is what was signed, through its Canonical bytes.
	Statement Statement `json:"statement"`
	// Signature is the armored SSH signature, the content of a .sig file.
	Signature string `json:"signature"`
	// Fingerprint is the SHA256:… fingerprint of the signing key, for people;
	// Verify checks it against the signature when it is set.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Sign signs stmt's Canonical bytes with signer in namespace "drillctl" with
// sha512, using rsa-sha2-512 for RSA keys, exactly as
// `ssh-keygen -Y sign -n drillctl` would. It refuses a statement that does not
// Validate; At is stored in UTC.
func Sign(stmt Statement, signer ssh.Signer) (Signed, error) {
	if signer == nil {
		return Signed{}, errors.New("sign statement: no signer")
	}
	if err := stmt.Validate(); err != nil {
		return Signed{}, fmt.Errorf("sign statement: %w", err)
	}
	stmt.At = stmt.At.UTC()
	env, err := sealEnvelope(stmt.Canonical(), signer, Namespace, defaultHash, "")
	if err != nil {
		return Signed{}, fmt.Errorf("sign %s decision on drill %s: %w", stmt.Decision, stmt.Drill, err)
	}
	// An agent or token that signs something else is caught here, not in audit.
	if err := checkSignature(env, stmt.Canonical()); err != nil {
		return Signed{}, fmt.Errorf("sign %s decision on drill %s: signer made a bad signature: %w", stmt.Decision, stmt.Drill, err)
	}
	return Signed{Statement: stmt, Signature: env.armor(), Fingerprint: ssh.FingerprintSHA256(env.pub)}, nil
}

// Verify checks that s.Signature is a valid SSH signature, namespace
// "drillctl", over s.Statement.Canonical(), made by one of allowed (the keys
// of s.Statement.Signer), and returns the signing key's SHA256:… fingerprint.
// It refuses statements that do not Validate. Errors are ErrMalformedSignature,
// ErrWrongNamespace, ErrKeyNotAllowed, ErrStatementAltered or
// ErrInvalidStatement for errors.Is.
//
// Verify is deterministic: it does no I/O and reads no clock or randomness, so
// a Temporal Update validator may call it.
func Verify(s Signed, allowed []ssh.PublicKey) (fingerprint string, err error) {
	if err := s.Statement.Validate(); err != nil {
		return "", err
	}
	env, err := parseArmored(s.Signature)
	if err != nil {
		return "", &verifyError{kind: ErrMalformedSignature, msg: err.Error()}
	}
	if env.namespace != Namespace {
		return "", refuse(ErrWrongNamespace, "namespace is %s, expected %s", env.namespace, Namespace)
	}
	if _, err := digest(env.hashAlg, nil); err != nil {
		return "", refuse(ErrMalformedSignature, "%v", err)
	}
	fp := ssh.FingerprintSHA256(env.pub)
	signer := s.Statement.Signer
	if !containsKey(allowed, env.pub) {
		if len(allowed) == 0 {
			return "", refuse(ErrKeyNotAllowed, "%s has no SSH keys on record (signature made by %s)", signer, fp)
		}
		return "", refuse(ErrKeyNotAllowed, "signature made by %s which is not one of %s's keys", fp, signer)
	}
	if s.Fingerprint != "" && s.Fingerprint != fp {
		return "", refuse(ErrStatementAltered, "record names signing key %s but the signature was made by %s", s.Fingerprint, fp)
	}
	if err := checkSignature(env, s.Statement.Canonical()); err != nil {
		return "", err
	}
	return fp, nil
}

// checkSignature verifies env over msg in env's namespace.
func checkSignature(env envelope, msg []byte) error {
	if env.pub.Type() == ssh.KeyAlgoRSA && env.sig.Format != ssh.KeyAlgoRSASHA512 && env.sig.Format != ssh.KeyAlgoRSASHA256 {
		return refuse(ErrMalformedSignature, "RSA signature algorithm %s is not accepted (rsa-sha2-512, rsa-sha2-256)", env.sig.Format)
	}
	hash, err := digest(env.hashAlg, msg)
	if err != nil {
		return refuse(ErrMalformedSignature, "%v", err)
	}
	if err := env.pub.Verify(signedData(env.namespace, env.hashAlg, hash), env.sig); err != nil {
		return refuse(ErrStatementAltered,
			"statement altered: the signature by %s does not match this statement (%v)", ssh.FingerprintSHA256(env.pub), err)
	}
	return nil
}

// containsKey reports whether pub is one of keys, comparing wire bytes.
func containsKey(keys []ssh.PublicKey, pub ssh.PublicKey) bool {
	want := pub.Marshal()
	for _, k := range keys {
		if k != nil && bytes.Equal(k.Marshal(), want) {
			return true
		}
	}
	return false
}

// VerifyCommand returns the shell command an auditor runs to check s with
// stock OpenSSH, given where the allowed_signers file, the armored signature
// (s.Signature) and the statement (s.Statement.Canonical()) were written.
func (s Signed) VerifyCommand(allowedSignersPath, sigPath, statementPath string) string {
	return strings.Join([]string{
		"ssh-keygen -Y verify -f", shellQuote(allowedSignersPath),
		"-I", shellQuote(s.Statement.Signer),
		"-n", Namespace,
		"-s", shellQuote(sigPath),
		"<", shellQuote(statementPath),
	}, " ")
}

// shellQuote quotes w for a POSIX shell when it needs it.
func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+,=%") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
