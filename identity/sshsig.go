package identity

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// The SSHSIG envelope of OpenSSH's PROTOCOL.sshsig:
//
//	blob   = "SSHSIG" uint32(1) string(publickey) string(namespace)
//	         string(reserved) string(hash_algorithm) string(signature)
//	signed = "SSHSIG" string(namespace) string(reserved)
//	         string(hash_algorithm) string(H(message))
//
// armored as base64 wrapped at 70 columns between BEGIN and END lines.

const (
	sigMagic    = "SSHSIG"
	sigVersion  = 1
	armorBegin  = "-----BEGIN SSH SIGNATURE-----"
	armorEnd    = "-----END SSH SIGNATURE-----"
	armorWidth  = 70
	defaultHash = "sha512"
)

// envelope is a parsed SSH signature.
type envelope struct {
	pub       ssh.PublicKey
	namespace string
	hashAlg   string
	sig       *ssh.Signature
}

// digest hashes msg with one of the two algorithms PROTOCOL.sshsig allows.
func digest(hashAlg string, msg []byte) ([]byte, error) {
	switch hashAlg {
	case "sha512":
		h := sha512.Sum512(msg)
		return h[:], nil
	case "sha256":
		h := sha256.Sum256(msg)
		return h[:], nil
	}
	return nil, fmt.Errorf("hash algorithm %s is not supported (sha256, sha512)", hashAlg)
}

// signedData is what the key actually signs. The reserved field is always
// empty, as OpenSSH writes and checks it.
func signedData(namespace, hashAlg string, hash []byte) []byte {
	b := []byte(sigMagic)
	b = appendString(b, []byte(namespace))
	b = appendString(b, nil)
	b = appendString(b, []byte(hashAlg))
	return appendString(b, hash)
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// sealEnvelope signs msg. algo picks the signature algorithm; empty means
// rsa-sha2-512 for RSA keys, as ssh-keygen does, and the key's own otherwise.
func sealEnvelope(msg []byte, signer ssh.Signer, namespace, hashAlg, algo string) (envelope, error) {
	pub := signer.PublicKey()
	if _, isCert := pub.(*ssh.Certificate); isCert {
		return envelope{}, errors.New("certificates cannot sign statements: use the plain key")
	}
	hash, err := digest(hashAlg, msg)
	if err != nil {
		return envelope{}, err
	}
	if algo == "" && pub.Type() == ssh.KeyAlgoRSA {
		algo = ssh.KeyAlgoRSASHA512
	}
	data := signedData(namespace, hashAlg, hash)
	var sig *ssh.Signature
	if algo == "" {
		sig, err = signer.Sign(rand.Reader, data)
	} else {
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return envelope{}, fmt.Errorf("%s signer cannot choose the %s algorithm", pub.Type(), algo)
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, algo)
	}
	if err != nil {
		return envelope{}, fmt.Errorf("sign with %s key %s: %w", pub.Type(), ssh.FingerprintSHA256(pub), err)
	}
	return envelope{pub: pub, namespace: namespace, hashAlg: hashAlg, sig: sig}, nil
}

// marshal returns the envelope's wire blob.
func (e envelope) marshal() []byte {
	b := []byte(sigMagic)
	b = binary.BigEndian.AppendUint32(b, sigVersion)
	b = appendString(b, e.pub.Marshal())
	b = appendString(b, []byte(e.namespace))
	b = appendString(b, nil)
	b = appendString(b, []byte(e.hashAlg))
	return appendString(b, ssh.Marshal(e.sig))
}

// armor returns the envelope as ssh-keygen writes a .sig file, final newline
// included.
func (e envelope) armor() string {
	enc := base64.StdEncoding.EncodeToString(e.marshal())
	var b strings.Builder
	b.WriteString(armorBegin + "\n")
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.String()
}

// errMalformed marks parse failures; Verify turns them into ErrMalformedSignature.
var errMalformed = errors.New("malformed SSH signature")

// parseArmored reads an armored SSH signature. It checks the format only,
// never the signature.
func parseArmored(armored string) (envelope, error) {
	s := strings.TrimSpace(strings.ReplaceAll(armored, "\r\n", "\n"))
	body, ok := strings.CutPrefix(s, armorBegin+"\n")
	if ok {
		body, ok = strings.CutSuffix(body, "\n"+armorEnd)
	}
	if !ok {
		return envelope{}, errors.New("not an armored SSH signature (-----BEGIN SSH SIGNATURE----- ... -----END SSH SIGNATURE-----)")
	}
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return envelope{}, fmt.Errorf("%w: base64: %v", errMalformed, err)
	}
	return parseBlob(blob)
}

// parseBlob reads the wire blob, refusing trailing data as OpenSSH does.
func parseBlob(blob []byte) (envelope, error) {
	r := wireReader{b: blob}
	magic := r.bytes(len(sigMagic))
	version := r.uint32()
	pubBytes, namespace := r.string(), r.string()
	_ = r.string() // reserved: ignored, as OpenSSH ignores it
	hashAlg, sigBytes := r.string(), r.string()
	switch {
	case r.err != nil:
		return envelope{}, fmt.Errorf("%w: %v", errMalformed, r.err)
	case !bytes.Equal(magic, []byte(sigMagic)):
		return envelope{}, fmt.Errorf("%w: does not start with %q", errMalformed, sigMagic)
	case version != sigVersion:
		return envelope{}, fmt.Errorf("%w: version %d, expected %d", errMalformed, version, sigVersion)
	case len(r.b) != 0:
		return envelope{}, fmt.Errorf("%w: %d bytes of trailing data", errMalformed, len(r.b))
	}
	pub, err := ssh.ParsePublicKey(pubBytes)
	if err != nil {
		return envelope{}, fmt.Errorf("%w: public key: %v", errMalformed, err)
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(sigBytes, sig); err != nil {
		return envelope{}, fmt.Errorf("%w: signature: %v", errMalformed, err)
	}
	return envelope{pub: pub, namespace: string(namespace), hashAlg: string(hashAlg), sig: sig}, nil
}

// wireReader reads SSH wire types, keeping the first error.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("truncated: need %d bytes, have %d", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) uint32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *wireReader) string() []byte {
	n := r.uint32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.err = fmt.Errorf("truncated: string of %d bytes, have %d", n, len(r.b))
		return nil
	}
	return r.bytes(int(n))
}
