// Package identity signs and verifies the statements of people: every human
// decision in a drill (start, approve, reject, ack, abort, resolve, sign-off)
// is a Statement whose canonical bytes are signed with the person's SSH key in
// OpenSSH's signature format (PROTOCOL.sshsig, the armored "SSH SIGNATURE" of
// `ssh-keygen -Y sign`), namespace "drillctl", hash sha512. An auditor checks
// any decision kept in the evidence with stock OpenSSH and no drillctl:
//
//	ssh-keygen -Y verify -f allowed_signers -I alice -n drillctl -s approve.sig < approve.statement
//
// Signed.VerifyCommand prints that line and AllowedSignersLine writes the
// allowed_signers file it needs.
//
// Verify runs inside the Drill workflow's Update validator, so it must stay
// deterministic: no I/O, no clock, no randomness, no map iteration that decides
// anything, and no Temporal import. Only Sign (randomness for ECDSA and RSA
// keys, and an agent round trip), LoadSigner (files, $SSH_AUTH_SOCK, $HOME)
// and NewNonce (crypto/rand) touch the outside world; they belong to the CLI
// side. Verify checks a signature, not a policy: whether the nonce is the one
// the workflow issued, whether the signer may take this decision, and when it
// happened are the workflow's business.
//
// The SSHSIG envelope (sshsig.go) is written here over golang.org/x/crypto/ssh
// rather than imported. github.com/hiddeco/sshsig (Apache-2.0, go 1.23, v0.2.0)
// was considered and is sound, but the envelope is about 150 lines, x/crypto
// is already in the module graph, and owning it lets Verify name what went
// wrong ("namespace is git, expected drillctl") and refuse ssh-rsa (SHA-1)
// signatures and trailing data exactly as OpenSSH 9 does, with one less
// dependency on the path every audited decision takes. Test vectors made with
// ssh-keygen (testdata/vectors, and live ssh-keygen runs when it is installed)
// hold it to OpenSSH's behaviour.
package identity
