package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Integrity of a bundle as the register reads it.
const (
	// IntegrityVerified: every file matches the manifest and the signature
	// is valid for the key the reader gave.
	IntegrityVerified = "verified"
	// IntegrityIntact: every file matches the manifest and the manifest
	// matches the signing key it names; no key was given to say whose.
	IntegrityIntact = "intact"
	// IntegrityUnsigned: every file matches the manifest, which nothing
	// signs.
	IntegrityUnsigned = "unsigned"
	// IntegrityFailed: the bundle fails verification (a changed, missing or
	// extra file, a bad signature, broken JSON…): nothing in it is evidence.
	IntegrityFailed = "failed"
)

// StoredBundle is one drill bundle found in a store, read and verified.
// Unlike List, Scan keeps the bundles it cannot trust: a register must show
// them, not lose them.
type StoredBundle struct {
	// Dir is the bundle's folder; Name its name (the drill id, unless the
	// bundle was renamed).
	Dir, Name string
	// Record is drill.json, nil when it cannot be read or decoded
	// (RecordError says why).
	Record      *Record
	RecordError string
	// Rehearsal says drill.json marks the drill a rehearsal.
	Rehearsal bool
	// Playbook is the bundle's playbook.yaml (nil when missing).
	Playbook []byte
	// PlaybookName is the playbook the drill ran: the record's, else the
	// bundle's playbook.yaml's metadata.name, else the one in the folder's
	// name (drill-<playbook>-<uuid>); empty when none says.
	PlaybookName string
	// ManifestDigest is "sha256:<hex>" of manifest.json, empty without one.
	ManifestDigest string
	// Integrity is one of the Integrity… states; Problems says what failed
	// (a signature left unchecked for want of a key is not a problem here:
	// Integrity says intact).
	Integrity string
	Problems  []string
	// Verify is the whole verification result.
	Verify *VerifyResult
}

// Scan reads and verifies every drill bundle of the store, oldest drill
// first (bundles whose record cannot be read last, by folder name): with
// pub, signatures are checked against it. Review folders, folders being
// written and anything that is not a bundle are skipped.
func (s *Store) Scan(pub ed25519.PublicKey) ([]StoredBundle, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: scan %s: %w", s.Dir, err)
	}
	var out []StoredBundle
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(s.Dir, e.Name())
		if !exists(filepath.Join(dir, FileRecord)) && !exists(filepath.Join(dir, FileManifest)) {
			continue // a review's folder, or not a bundle
		}
		b, err := ReadBundle(dir, pub)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Record, out[j].Record
		switch {
		case a != nil && b != nil:
			return a.StartedAt.Before(b.StartedAt)
		case a == nil && b == nil:
			return out[i].Name < out[j].Name
		}
		return a != nil
	})
	return out, nil
}

// ReadBundle reads and verifies one drill bundle (see Scan).
func ReadBundle(dir string, pub ed25519.PublicKey) (*StoredBundle, error) {
	b := &StoredBundle{Dir: dir, Name: filepath.Base(dir)}
	raw, err := os.ReadFile(filepath.Join(dir, FileRecord))
	if err == nil {
		var rec Record
		var extra struct {
			Rehearsal bool `json:"rehearsal"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			b.RecordError = fmt.Sprintf("%s: not a drill record: %v", FileRecord, err)
		} else {
			b.Record = &rec
			_ = json.Unmarshal(raw, &extra)
			b.Rehearsal = extra.Rehearsal
		}
	} else {
		b.RecordError = fmt.Sprintf("%s: cannot be read: %v", FileRecord, err)
	}
	if pb, err := os.ReadFile(filepath.Join(dir, FilePlaybook)); err == nil {
		b.Playbook = pb
	}
	b.PlaybookName = b.playbookName()
	if d, err := ManifestDigest(dir); err == nil {
		b.ManifestDigest = d
	}
	res, err := Verify(dir, pub)
	if err != nil {
		return nil, err
	}
	b.Verify = res
	b.Integrity, b.Problems = IntegrityOf(res)
	if b.RecordError != "" {
		// A record nobody can read proves nothing, signed or not.
		b.Integrity, b.Problems = IntegrityFailed, append(b.Problems, b.RecordError)
	}
	return b, nil
}

// IntegrityOf sums a verification up as one of the Integrity… states and
// the problems that make it fail; a signature left unchecked because no
// key was given is not one of them.
func IntegrityOf(res *VerifyResult) (string, []string) {
	var problems []string
	for _, p := range res.Problems {
		if res.Signature == SignatureUnchecked && strings.HasPrefix(p, FileSignature+": the signature was not checked") {
			continue
		}
		problems = append(problems, p)
	}
	switch {
	case len(problems) > 0:
		return IntegrityFailed, problems
	case res.Signature == SignatureValid:
		return IntegrityVerified, nil
	case res.Signature == SignatureUnsigned:
		return IntegrityUnsigned, nil
	}
	return IntegrityIntact, nil
}

// folderPlaybookRE reads the playbook of a workflow id drill-<playbook>-<uuid>.
var folderPlaybookRE = regexp.MustCompile(`^drill-([a-z0-9-]+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (b *StoredBundle) playbookName() string {
	if b.Record != nil && b.Record.Playbook.Name != "" {
		return b.Record.Playbook.Name
	}
	if f := parsePlaybookFacts(b.Playbook); f != nil && f.Metadata.Name != "" {
		return f.Metadata.Name
	}
	if m := folderPlaybookRE.FindStringSubmatch(b.Name); m != nil {
		return m[1]
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
