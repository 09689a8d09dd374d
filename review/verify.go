package review

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drillctl/drillctl/evidence"
)

func init() {
	evidence.RegisterBundleKind(evidence.BundleKind{Name: "review", Marker: FileReview, Check: Check})
}

// Check checks what a review bundle's manifest cannot (evidence.Verify
// runs it on any folder holding review.json): every sign-off's signature
// against the keys on record and its statement files; that the version
// names its predecessor, and that the predecessor beside it is the one
// named (history is never rewritten); that the drill bundle beside it is
// the one reviewed. It returns the drill reviewed, how many sign-offs
// verified, and the problems.
func Check(dir string) (drillID string, signoffs int, problems []string) {
	raw, err := os.ReadFile(filepath.Join(dir, FileReview))
	if err != nil {
		return "", 0, []string{fmt.Sprintf("%s: cannot be read: %v", FileReview, err)}
	}
	r, err := decode(raw)
	if err != nil {
		return "", 0, []string{fmt.Sprintf("%s: %v", FileReview, err)}
	}
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	name, parent := filepath.Base(absDir(dir)), filepath.Dir(absDir(dir))
	if n, ok := versionOf(name); ok && n != r.Version {
		bad("%s: says it is version %d, but its folder is %s", FileReview, r.Version, name)
	}
	inStore := filepath.Base(parent) == r.DrillID+".review"
	if id, ok := strings.CutSuffix(filepath.Base(parent), ".review"); ok && id != r.DrillID {
		bad("%s: reviews drill %s, but it is kept in the review folder of %s", FileReview, r.DrillID, id)
	}
	for i, s := range r.Signoffs {
		what := fmt.Sprintf("%s: sign-off %d (%s as %s)", FileReview, i+1, s.Signer, s.Role)
		if err := r.checkSignoff(s); err != nil {
			bad("%s: %v", what, err)
			continue
		}
		_, sig, stmt := SignoffFiles(r, i)
		if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(stmt))); err != nil || !bytes.Equal(b, s.Signed.Statement.Canonical()) {
			bad("%s: not the statement %s signed", stmt, s.Signer)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sig))); err != nil || string(b) != s.Signed.Signature {
			bad("%s: not %s's signature", sig, s.Signer)
			continue
		}
		signoffs++
	}
	switch {
	case r.Version > 1 && r.Previous == nil:
		bad("%s: version %d names no predecessor", FileReview, r.Version)
	case r.Previous != nil && r.Previous.Version != r.Version-1:
		bad("%s: version %d names version %d as its predecessor", FileReview, r.Version, r.Previous.Version)
	case r.Previous != nil && inStore:
		prev := filepath.Join(parent, fmt.Sprintf("v%d", r.Previous.Version))
		if d, err := evidence.ManifestDigest(prev); err != nil {
			bad("%s: its predecessor v%d is missing beside it", FileReview, r.Previous.Version)
		} else if d != r.Previous.ManifestDigest {
			bad("%s: its predecessor v%d is not the version it amended (manifest %s, named %s): an earlier version was rewritten",
				FileReview, r.Previous.Version, d, r.Previous.ManifestDigest)
		}
	}
	if inStore {
		drill := filepath.Join(filepath.Dir(parent), r.DrillID)
		if d, err := evidence.ManifestDigest(drill); err == nil && d != r.Drill.ManifestDigest {
			bad("%s: the drill bundle %s is not the one reviewed: its manifest is %s, the review names %s", FileReview, r.DrillID, d, r.Drill.ManifestDigest)
		}
	}
	return r.DrillID, signoffs, problems
}

// Verify verifies a review version's bundle: its manifest and signature
// (with pub, when given) and Check's checks. It is evidence.Verify, which
// knows review bundles once this package is linked.
func Verify(dir string, pub ed25519.PublicKey) (*evidence.VerifyResult, error) {
	return evidence.Verify(dir, pub)
}

// absDir is dir made absolute when it can be, so "." has a name.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return filepath.Clean(dir)
}
