package evidence

// verifyView tells a reader how to check the bundle without drillctl.
type verifyView struct {
	Fingerprint    string // the signing key, or "" when unsigned
	PlaybookDigest string
	Steps          []verifyStep
	// NoPDF says why the bundle holds no report.pdf, when it does not.
	NoPDF string
}

// verifyStep is one check: what it proves, and the command.
type verifyStep struct {
	Text, Cmd string
}

// Commands that check a bundle with stock tools, true to the format Write
// produces: manifest.json maps each file to "sha256:<hex>"; manifest.sig is
// the base64 ed25519 signature of manifest.json's exact bytes; drillctl.pub
// is a PKIX PEM public key whose raw 32 bytes hash to the fingerprint.
const (
	cmdFiles       = `jq -r '.files | to_entries[] | "\(.value | ltrimstr("sha256:"))  \(.key)"' manifest.json | sha256sum -c -`
	cmdSigDecode   = `base64 -d manifest.sig > /tmp/manifest.sig.bin`
	cmdSigVerify   = `openssl pkeyutl -verify -pubin -inkey drillctl.pub -rawin -in manifest.json -sigfile /tmp/manifest.sig.bin`
	cmdFingerprint = `openssl pkey -pubin -in drillctl.pub -outform DER | tail -c 32 | sha256sum`
	cmdPlaybook    = `sha256sum playbook.yaml`
	cmdDrillctl    = `drillctl evidence verify <bundle> --pubkey drillctl.pub`
)

func (r *renderer) verification() verifyView {
	l := r.l
	v := verifyView{Fingerprint: r.opts.KeyFingerprint, PlaybookDigest: r.rec.Playbook.Digest}
	if r.opts.pdfMissing != "" {
		v.NoPDF = l.T("verify.noPdf", r.opts.pdfMissing)
	}
	v.Steps = append(v.Steps, verifyStep{l.T("verify.files"), cmdFiles})
	if r.opts.Signed {
		v.Steps = append(v.Steps,
			verifyStep{l.T("verify.signature"), cmdSigDecode + "\n" + cmdSigVerify},
			verifyStep{l.T("verify.fingerprint"), cmdFingerprint})
	}
	v.Steps = append(v.Steps,
		verifyStep{l.T("verify.playbook"), cmdPlaybook},
		verifyStep{l.T("verify.drillctl"), cmdDrillctl})
	return v
}
