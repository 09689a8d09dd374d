package review

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
)

// ErrNoReview is returned (wrapped) when a drill has no review yet.
var ErrNoReview = errors.New("no review")

// ErrConflict is returned (wrapped) when someone else wrote the next
// version first: load the review again and redo the change.
var ErrConflict = errors.New("the review was amended meanwhile")

// Dir is the folder holding every version of a drill's review:
// <store>/<drill-id>.review, beside the drill's bundle.
func Dir(store *evidence.Store, drillID string) string {
	return filepath.Join(store.Dir, drillID+".review")
}

// VersionDir is the folder of one version: <store>/<drill-id>.review/v<n>.
func VersionDir(store *evidence.Store, drillID string, version int) string {
	return filepath.Join(Dir(store, drillID), "v"+strconv.Itoa(version))
}

// Versions lists the version numbers of a drill's review, oldest first.
func Versions(store *evidence.Store, drillID string) ([]int, error) {
	entries, err := os.ReadDir(Dir(store, drillID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	var out []int
	for _, e := range entries {
		if n, ok := versionOf(e.Name()); ok && e.IsDir() {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// versionOf reads "v12" as 12.
func versionOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "v")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || "v"+strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}

// Saved is one stored version of a review.
type Saved struct {
	Review *Review
	Dir    string
	// ManifestDigest names this version (a later version's Previous).
	ManifestDigest string
}

// Read reads the review version stored at dir. It does not verify it: see
// evidence.Verify, which checks a review bundle whole.
func Read(dir string) (*Saved, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileReview))
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	r, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("review: %s: %w", filepath.Join(dir, FileReview), err)
	}
	d, err := evidence.ManifestDigest(dir)
	if err != nil {
		return nil, fmt.Errorf("review: %s: %w", dir, err)
	}
	return &Saved{Review: r, Dir: dir, ManifestDigest: d}, nil
}

// decode reads review.json strictly: a field this release does not know
// comes from a newer drillctl or from an edit.
func decode(raw []byte) (*Review, error) {
	var r Review
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a review: %w", err)
	}
	if r.SchemaVersion < 1 || r.DrillID == "" || r.Version < 1 {
		return nil, errors.New("not a review: schemaVersion, drillId or version missing")
	}
	return &r, nil
}

// Latest reads the newest version of a drill's review; the error wraps
// ErrNoReview when there is none.
func Latest(store *evidence.Store, drillID string) (*Saved, error) {
	vs, err := Versions(store, drillID)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("review of %s: %w (start one with drillctl review open %s)", drillID, ErrNoReview, drillID)
	}
	return Read(VersionDir(store, drillID, vs[len(vs)-1]))
}

// save seals r as its version's bundle. r.Version must be the next free
// version: when it was taken meanwhile, the error wraps ErrConflict.
func save(store *evidence.Store, r *Review, key ed25519.PrivateKey) (*Saved, error) {
	files, err := bundleFiles(r)
	if err != nil {
		return nil, err
	}
	dir := VersionDir(store, r.DrillID, r.Version)
	digest, err := evidence.Seal(dir, "", files, key)
	if errors.Is(err, evidence.ErrBundleExists) {
		return nil, fmt.Errorf("review of %s: version %d exists: %w", r.DrillID, r.Version, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("review of %s: %w", r.DrillID, err)
	}
	return &Saved{Review: r, Dir: dir, ManifestDigest: digest}, nil
}

// bundleFiles are the files of a review version: review.json, review.md,
// and per sign-off its statement and signature, with an allowed_signers
// file of the keys on record.
func bundleFiles(r *Review) ([]evidence.File, error) {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("review: encode: %w", err)
	}
	files := []evidence.File{{Name: FileReview, Data: append(js, '\n')}, {Name: FileReportMD, Data: Markdown(r, time.UTC)}}
	if len(r.Signoffs) == 0 {
		return files, nil
	}
	var allowed strings.Builder
	seen := map[string]bool{}
	for i, s := range r.Signoffs {
		base := signoffBase(i, s)
		files = append(files, evidence.File{Name: base + ".statement", Data: s.Signed.Statement.Canonical()},
			evidence.File{Name: base + ".sig", Data: []byte(s.Signed.Signature)})
		for _, line := range r.Keys[s.Signer] {
			k, err := identity.ParseAuthorizedKey(line)
			if err != nil || seen[s.Signer+" "+line] {
				continue
			}
			seen[s.Signer+" "+line] = true
			l, err := identity.AllowedSignersLine(s.Signer, k)
			if err != nil {
				return nil, fmt.Errorf("review: allowed_signers: %w", err)
			}
			allowed.WriteString(l + "\n")
		}
	}
	return append(files, evidence.File{Name: FileAllowedSigners, Data: []byte(allowed.String())}), nil
}

// signoffBase is the path, without extension, of a sign-off's files:
// signoffs/01-alice-dr-coordinator.
func signoffBase(i int, s Signoff) string {
	clean := func(v string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
				return r
			}
			return '_'
		}, v)
	}
	return fmt.Sprintf("%s/%02d-%s-%s", SignoffsDir, i+1, clean(s.Signer), clean(s.Role))
}

// SignoffFiles are the paths, inside a version's folder, of sign-off i's
// statement and signature, and of the allowed_signers file: the arguments
// of identity.Signed.VerifyCommand.
func SignoffFiles(r *Review, i int) (allowedSigners, sig, statement string) {
	base := signoffBase(i, r.Signoffs[i])
	return FileAllowedSigners, base + ".sig", base + ".statement"
}

// keysOf parses the authorized_keys lines of a person.
func keysOf(lines []string) []ssh.PublicKey {
	var out []ssh.PublicKey
	for _, l := range lines {
		if k, err := identity.ParseAuthorizedKey(l); err == nil {
			out = append(out, k)
		}
	}
	return out
}
