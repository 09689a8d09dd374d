package review

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
)

// Where a sign-off's key is on record (Signoff.KeySource).
const (
	KeyFromPlaybook       = "playbook"
	KeyFromAllowedSigners = "allowed-signers"
	KeySelfAsserted       = "self-asserted"
)

// Statuses of a sign-off.
const (
	SignoffVerified    = "verified"     // a valid signature by a key on record, over the current content
	SignoffNotVerified = "not-verified" // identity: unverified, or a key only the signature vouches for
	SignoffStale       = "stale"        // a valid signature over content amended since
	SignoffInvalid     = "invalid"      // the signature or its statement does not hold
)

// Extra keys of a sign-off statement.
const (
	ExtraReview        = "review"
	ExtraRole          = "role"
	ExtraDrillManifest = "drill-manifest"
)

// SignInput is a reviewer's sign-off.
type SignInput struct {
	// Signer is who signs: a contact id of the playbook, or a name an
	// allowed_signers file gives keys to.
	Signer string
	// Role is the role signed in (dr-coordinator, senior-management…).
	Role    string
	Comment string
	// AllowedSigners are keys from an allowed_signers file the signer
	// named, for a signer the playbook declares no keys for.
	AllowedSigners map[string][]ssh.PublicKey
	At             time.Time
}

// Sign adds a reviewer's signed sign-off of the review's current content:
// an identity statement (decision signoff; extra.review the content
// digest, extra.role the role, extra.drill-manifest the drill bundle's
// manifest digest) signed with signer. In a signed review the key must be
// one of the signer's keys on record; in an unverified one any key signs,
// and the sign-off shows as not verified. Findings still proposed must be
// accepted or dismissed first, and nobody signs the same content twice.
func Sign(r *Review, signer ssh.Signer, in SignInput) (string, error) {
	if !roleRE.MatchString(in.Role) {
		return "", fmt.Errorf("role %q: expected lowercase words joined by dashes, like dr-coordinator", in.Role)
	}
	if n := r.Proposed(); n > 0 {
		return "", fmt.Errorf("%d proposed finding(s) are undecided: accept or dismiss each before signing (drillctl review show %s)", n, r.DrillID)
	}
	content := r.ContentDigest()
	for _, s := range r.Signoffs {
		if s.Signer == in.Signer && s.ContentDigest == content {
			return "", fmt.Errorf("%s already signed this content (as %s)", in.Signer, s.Role)
		}
	}
	pub := signer.PublicKey()
	source, err := keySource(r, in, pub)
	if err != nil {
		return "", err
	}
	stmt := identity.Statement{Drill: r.DrillID, Decision: identity.DecisionSignoff, Comment: in.Comment, At: in.At.UTC(),
		Nonce: identity.NewNonce(), Signer: in.Signer,
		Extra: map[string]string{ExtraReview: content, ExtraRole: in.Role, ExtraDrillManifest: r.Drill.ManifestDigest}}
	signed, err := identity.Sign(stmt, signer)
	if err != nil {
		return "", fmt.Errorf("sign the review of %s: %w", r.DrillID, err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if !hasKey(keysOf(r.Keys[in.Signer]), pub) {
		if r.Keys == nil {
			r.Keys = map[string][]string{}
		}
		r.Keys[in.Signer] = append(r.Keys[in.Signer], line)
	}
	if _, err := identity.Verify(signed, keysOf(r.Keys[in.Signer])); err != nil {
		return "", fmt.Errorf("sign the review of %s: the signature does not verify: %w", r.DrillID, err)
	}
	r.Signoffs = append(r.Signoffs, Signoff{Signer: in.Signer, Role: in.Role, At: stmt.At, ContentDigest: content, Signed: signed,
		KeySource: source, Version: r.Version + 1})
	return fmt.Sprintf("%s signed off as %s", in.Signer, in.Role), nil
}

// keySource says where the signer's key is on record, or refuses a key
// that is not in a signed review.
func keySource(r *Review, in SignInput, pub ssh.PublicKey) (string, error) {
	// A key first recorded by an earlier sign-off keeps the source it had
	// then: Keys holds the playbook's keys and those sign-offs added.
	fp := ssh.FingerprintSHA256(pub)
	for _, s := range r.Signoffs {
		if s.Signer == in.Signer && s.Signed.Fingerprint == fp {
			if s.KeySource == KeySelfAsserted && r.Identity == playbooks.IdentitySigned {
				break
			}
			return s.KeySource, nil
		}
	}
	if hasKey(keysOf(r.Keys[in.Signer]), pub) {
		return KeyFromPlaybook, nil
	}
	if hasKey(in.AllowedSigners[in.Signer], pub) {
		return KeyFromAllowedSigners, nil
	}
	if r.Identity != playbooks.IdentitySigned {
		return KeySelfAsserted, nil
	}
	return "", fmt.Errorf("%s's key %s is not on record: the playbook is identity: signed, so the key must be one of contacts.%s.keys, "+
		"or be given to %s by --allowed-signers FILE", in.Signer, ssh.FingerprintSHA256(pub), in.Signer, in.Signer)
}

func hasKey(keys []ssh.PublicKey, pub ssh.PublicKey) bool {
	for _, k := range keys {
		if bytes.Equal(k.Marshal(), pub.Marshal()) {
			return true
		}
	}
	return false
}

// SignoffStatus says whether sign-off i holds (one of the Signoff…
// statuses) and, when it is not verified, why.
func (r *Review) SignoffStatus(i int) (status, why string) {
	s := r.Signoffs[i]
	if err := r.checkSignoff(s); err != nil {
		return SignoffInvalid, err.Error()
	}
	switch {
	case s.ContentDigest != r.ContentDigest():
		return SignoffStale, fmt.Sprintf("it signed the content of version %d; the review was amended since", s.Version)
	case r.Identity != playbooks.IdentitySigned:
		return SignoffNotVerified, "the playbook is identity: unverified: names are self-asserted"
	case s.KeySource == KeySelfAsserted:
		return SignoffNotVerified, "the key is not on record: only the signature vouches for it"
	}
	return SignoffVerified, ""
}

// checkSignoff checks a sign-off's signature against the keys on record
// and that its statement says what the sign-off says.
func (r *Review) checkSignoff(s Signoff) error {
	st := s.Signed.Statement
	switch {
	case st.Signer != s.Signer || st.Decision != identity.DecisionSignoff || st.Drill != r.DrillID:
		return fmt.Errorf("the statement is not %s's sign-off of drill %s", s.Signer, r.DrillID)
	case st.Extra[ExtraReview] != s.ContentDigest || st.Extra[ExtraRole] != s.Role:
		return errors.New("the statement signs another content or role than the sign-off names")
	case st.Extra[ExtraDrillManifest] != r.Drill.ManifestDigest:
		return errors.New("the statement signs another drill bundle than the review names")
	}
	if _, err := identity.Verify(s.Signed, keysOf(r.Keys[s.Signer])); err != nil {
		return fmt.Errorf("the signature does not verify: %w", err)
	}
	return nil
}

// counts reports whether a sign-off status covers a required role: a
// verified one, or in an unverified review a not-verified one.
func (r *Review) counts(status string) bool {
	return status == SignoffVerified || (status == SignoffNotVerified && r.Identity != playbooks.IdentitySigned)
}

// MissingRoles are the required roles no holding sign-off covers, each
// person covering one role at most.
func (r *Review) MissingRoles() []string {
	used := map[int]bool{}
	people := map[string]bool{}
	missing := []string{}
	for _, role := range r.RequiredRoles {
		found := false
		for i, s := range r.Signoffs {
			if used[i] || people[s.Signer] || s.Role != role {
				continue
			}
			if st, _ := r.SignoffStatus(i); r.counts(st) {
				used[i], people[s.Signer], found = true, true, true
				break
			}
		}
		if !found {
			missing = append(missing, role)
		}
	}
	return missing
}

// SignedOff reports whether the review is signed off: every required role
// is covered and at least one sign-off holds.
func (r *Review) SignedOff() bool {
	if len(r.MissingRoles()) > 0 {
		return false
	}
	for i := range r.Signoffs {
		if st, _ := r.SignoffStatus(i); r.counts(st) {
			return true
		}
	}
	return false
}
