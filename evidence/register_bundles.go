package evidence

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Bundles other than a drill's. A review (package review) is kept beside
// the drill's bundle, never inside it, and sealed the same way: a
// manifest.json naming the SHA-256 of every file and an ed25519
// manifest.sig, so `drillctl evidence verify` checks it with the same code.
// What only its kind can check (the people's sign-offs inside it, its links
// to the drill and to the version it amends) is a BundleKind's Check.

// ErrBundleExists is returned by Seal when the folder is already there:
// sealed bundles are never replaced, an amendment is a new bundle.
var ErrBundleExists = errors.New("bundle exists")

// Seal writes files as a new sealed bundle at dir: every file, a
// manifest.json naming their SHA-256 (its drillId is id, empty for a bundle
// that is not a drill's own) and, with key, manifest.sig. The bundle is
// written into a temporary sibling folder and renamed into place, so dir is
// whole or absent; when dir already exists Seal writes nothing and returns
// an error wrapping ErrBundleExists. Folders are 0700 and files 0600, as in
// a Store. It returns the manifest's digest, which is how other bundles
// name this one.
func Seal(dir, id string, files []File, key ed25519.PrivateKey) (string, error) {
	parent := filepath.Dir(dir)
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("evidence: seal %s: %w", dir, ErrBundleExists)
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", fmt.Errorf("evidence: seal %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, tmpPrefix+filepath.Base(dir)+"-")
	if err != nil {
		return "", fmt.Errorf("evidence: seal %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after a failure
	m := Manifest{SchemaVersion: SchemaVersion, DrillID: id, CreatedAt: time.Now().UTC(), Files: map[string]string{}, Signed: key != nil}
	for _, f := range files {
		if !localName(f.Name) || m.Files[f.Name] != "" {
			return "", fmt.Errorf("evidence: seal %s: bad or repeated file name %q", dir, f.Name)
		}
		path := filepath.Join(tmp, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("evidence: seal %s: %w", dir, err)
		}
		if err := writeFileSync(path, f.Data); err != nil {
			return "", err
		}
		m.Files[f.Name] = digest(f.Data)
	}
	if key != nil {
		pub := key.Public().(ed25519.PublicKey)
		m.PublicKey, m.Key = Fingerprint(pub), base64.StdEncoding.EncodeToString(pub)
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("evidence: seal %s: encode manifest: %w", dir, err)
	}
	manifest = append(manifest, '\n')
	if err := writeFileSync(filepath.Join(tmp, FileManifest), manifest); err != nil {
		return "", err
	}
	if key != nil {
		sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, manifest)) + "\n"
		if err := writeFileSync(filepath.Join(tmp, FileSignature), []byte(sig)); err != nil {
			return "", err
		}
	}
	if err := syncTree(tmp); err != nil {
		return "", err
	}
	// A rename onto an existing folder that holds anything fails, so two
	// writers racing for the same version cannot both win.
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("evidence: seal %s: %w", dir, ErrBundleExists)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, fs.ErrExist) { // EEXIST or ENOTEMPTY
			return "", fmt.Errorf("evidence: seal %s: %w", dir, ErrBundleExists)
		}
		return "", fmt.Errorf("evidence: seal %s: %w", dir, err)
	}
	if err := syncDir(parent); err != nil {
		return "", err
	}
	return digest(manifest), nil
}

// syncTree syncs every folder under dir, deepest first.
func syncTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// ManifestDigest is the digest of a bundle's manifest.json ("sha256:<hex>"
// of its exact bytes): how a review names the drill bundle it reviews, and
// an amendment the version it amends.
func ManifestDigest(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return digest(b), nil
}

// Digest is "sha256:<hex>" of b, as manifests write it.
func Digest(b []byte) string { return digest(b) }

// BundleKind is a kind of sealed bundle other than a drill's. Verify knows
// a bundle of the kind by its Marker file and, after checking the manifest
// and the signature, runs Check.
type BundleKind struct {
	// Name names the kind in messages ("review").
	Name string
	// Marker is the file only bundles of this kind hold ("review.json").
	Marker string
	// Check checks what the manifest cannot: the drill the bundle is about,
	// the people's signed statements it holds (how many verified) and
	// anything else wrong, one sentence each starting with the file it
	// blames.
	Check func(dir string) (drillID string, statements int, problems []string)
}

var (
	kindsMu sync.RWMutex
	kinds   []BundleKind
)

// RegisterBundleKind makes Verify recognise a kind of bundle; the package
// that owns the kind calls it from an init function.
func RegisterBundleKind(k BundleKind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	for i, old := range kinds {
		if old.Marker == k.Marker {
			kinds[i] = k
			return
		}
	}
	kinds = append(kinds, k)
}

// kindOf is the registered kind of the bundle at dir, or nil for a drill's.
func kindOf(dir string) *BundleKind {
	if _, err := os.Stat(filepath.Join(dir, FileRecord)); err == nil {
		return nil
	}
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	for _, k := range kinds {
		if _, err := os.Stat(filepath.Join(dir, k.Marker)); err == nil {
			k := k
			return &k
		}
	}
	return nil
}

// checkKind runs the checks of a bundle's kind, when it is not a drill's.
func (r *VerifyResult) checkKind(dir string) {
	k := kindOf(dir)
	if k == nil || k.Check == nil {
		return
	}
	id, n, problems := k.Check(dir)
	if r.DrillID == "" {
		r.DrillID = id
	}
	r.Statements += n
	for _, p := range problems {
		r.problem("%s", p)
	}
}
