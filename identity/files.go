package identity

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// PlaybookNamespace is the SSH signature namespace of signed playbooks, so a
// signature over a playbook can never pass for a person's decision, or the
// other way round.
const PlaybookNamespace = "drillctl-playbook"

// SignFile signs the bytes of a file in namespace, as
// `ssh-keygen -Y sign -n NAMESPACE -f KEY FILE` does, and returns the armored
// signature (the .sig file's content) and the key's fingerprint.
func SignFile(data []byte, namespace string, signer ssh.Signer) (armored, fingerprint string, err error) {
	if signer == nil {
		return "", "", errors.New("sign file: no signer")
	}
	env, err := sealEnvelope(data, signer, namespace, defaultHash, "")
	if err != nil {
		return "", "", fmt.Errorf("sign file: %w", err)
	}
	if err := checkSignature(env, data); err != nil {
		return "", "", fmt.Errorf("sign file: signer made a bad signature: %w", err)
	}
	return env.armor(), ssh.FingerprintSHA256(env.pub), nil
}

// VerifyFile checks an armored SSH signature over data in namespace, made by
// one of allowed, as `ssh-keygen -Y verify` does; it returns the signing
// key's fingerprint. It is pure.
func VerifyFile(data []byte, armored, namespace string, allowed []ssh.PublicKey) (string, error) {
	env, err := parseArmored(armored)
	if err != nil {
		return "", &verifyError{kind: ErrMalformedSignature, msg: err.Error()}
	}
	if env.namespace != namespace {
		return "", refuse(ErrWrongNamespace, "namespace is %s, expected %s", env.namespace, namespace)
	}
	fp := ssh.FingerprintSHA256(env.pub)
	if !containsKey(allowed, env.pub) {
		return "", refuse(ErrKeyNotAllowed, "signed by %s, which is not a trusted signer", fp)
	}
	if err := checkSignature(env, data); err != nil {
		return "", refuse(ErrStatementAltered, "the file changed since it was signed by %s", fp)
	}
	return fp, nil
}
