package evidence

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Bundle file names.
const (
	FileRecord    = "drill.json"
	FilePlaybook  = "playbook.yaml"
	FileReportMD  = "report.md"
	FileReportHTM = "report.html"
	FileManifest  = "manifest.json"
	FileSignature = "manifest.sig"
)

// tmpPrefix marks a bundle being written; List ignores such folders and
// Store cleans them up.
const tmpPrefix = ".tmp-"

// Manifest lists every file of a bundle with its SHA-256. manifest.sig is
// the ed25519 signature of manifest.json's exact bytes.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	DrillID       string            `json:"drillId"`
	CreatedAt     time.Time         `json:"createdAt"`
	Files         map[string]string `json:"files"` // name → "sha256:<hex>"
	Signed        bool              `json:"signed"`
	// PublicKey is the fingerprint of the signing key: "sha256:<hex>" of the
	// raw ed25519 public key.
	PublicKey string `json:"publicKey,omitempty"`
}

// File is an extra file of a bundle (the workflow history, when a bundle is
// rebuilt from Temporal).
type File struct {
	Name string
	Data []byte
}

// Store is a folder of evidence bundles, one folder per drill.
type Store struct {
	Dir string
	// crashAfter, in tests, fails a write after that many files.
	crashAfter int
}

// DefaultDir is where bundles are kept unless --evidence-dir says
// otherwise: under the user's data directory.
func DefaultDir() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the data directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "drillctl", "evidence"), nil
}

// Path is the folder of a drill's bundle.
func (s *Store) Path(drillID string) string { return filepath.Join(s.Dir, drillID) }

// Write writes a drill's bundle (and any extra files, hashed and signed
// with the rest) atomically: every file goes into a
// temporary folder that is renamed into place only once it is complete, so
// a crash never leaves a half bundle that looks whole. Writing the same
// drill again (an activity retry) replaces the bundle. key may be nil: the
// bundle is then unsigned, and its reports say so.
func (s *Store) Write(rec Record, playbookYAML []byte, key ed25519.PrivateKey, opts RenderOptions, extra ...File) (EvidenceRef, error) {
	if rec.DrillID == "" || strings.ContainsAny(rec.DrillID, `/\`) || strings.HasPrefix(rec.DrillID, ".") {
		return EvidenceRef{}, fmt.Errorf("evidence: bad drill id %q", rec.DrillID)
	}
	if sum := digest(playbookYAML); rec.Playbook.Digest != "" && sum != rec.Playbook.Digest {
		return EvidenceRef{}, fmt.Errorf("evidence: playbook bytes (%s) are not the playbook the drill ran (%s)", sum, rec.Playbook.Digest)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return EvidenceRef{}, fmt.Errorf("evidence: %w", err)
	}
	final := s.Path(rec.DrillID)
	ref := EvidenceRef{Path: final, Signed: key != nil}
	rec.Evidence = &EvidenceRef{Path: final, Signed: key != nil} // drill.json cannot hold its own manifest's digest
	opts.Signed = key != nil

	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return ref, fmt.Errorf("evidence: encode record: %w", err)
	}
	md, err := RenderMarkdown(rec, opts)
	if err != nil {
		return ref, err
	}
	html, err := RenderHTML(rec, opts)
	if err != nil {
		return ref, err
	}
	files := []struct {
		name string
		data []byte
	}{{FileRecord, append(recJSON, '\n')}, {FilePlaybook, playbookYAML}, {FileReportMD, md}, {FileReportHTM, html}}
	for _, f := range extra {
		if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || f.Name == FileManifest || f.Name == FileSignature {
			return ref, fmt.Errorf("evidence: bad extra file name %q", f.Name)
		}
		files = append(files, struct {
			name string
			data []byte
		}{f.Name, f.Data})
	}

	tmp, err := os.MkdirTemp(s.Dir, tmpPrefix+rec.DrillID+"-")
	if err != nil {
		return ref, fmt.Errorf("evidence: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after a failure
	m := Manifest{SchemaVersion: SchemaVersion, DrillID: rec.DrillID, CreatedAt: time.Now().UTC(), Files: map[string]string{}, Signed: key != nil}
	for i, f := range files {
		if s.crashAfter > 0 && i >= s.crashAfter {
			return ref, errors.New("evidence: simulated crash")
		}
		if err := writeFileSync(filepath.Join(tmp, f.name), f.data); err != nil {
			return ref, err
		}
		m.Files[f.name] = digest(f.data)
	}
	if key != nil {
		m.PublicKey = Fingerprint(key.Public().(ed25519.PublicKey))
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return ref, fmt.Errorf("evidence: encode manifest: %w", err)
	}
	manifest = append(manifest, '\n')
	if err := writeFileSync(filepath.Join(tmp, FileManifest), manifest); err != nil {
		return ref, err
	}
	if key != nil {
		sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, manifest)) + "\n"
		if err := writeFileSync(filepath.Join(tmp, FileSignature), []byte(sig)); err != nil {
			return ref, err
		}
	}
	if err := syncDir(tmp); err != nil {
		return ref, err
	}
	// Replace any earlier bundle of the same drill: move it aside first, so
	// at every instant the final name holds a complete bundle or nothing.
	if _, err := os.Stat(final); err == nil {
		old := filepath.Join(s.Dir, tmpPrefix+"old-"+rec.DrillID+fmt.Sprint(time.Now().UnixNano()))
		if err := os.Rename(final, old); err != nil {
			return ref, fmt.Errorf("evidence: replace %s: %w", final, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, final); err != nil {
		return ref, fmt.Errorf("evidence: %w", err)
	}
	if err := syncDir(s.Dir); err != nil {
		return ref, err
	}
	ref.ManifestDigest = digest(manifest)
	return ref, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("evidence: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("evidence: sync %s: %w", path, err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("evidence: sync %s: %w", dir, err)
	}
	return nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Fingerprint identifies a public key: "sha256:<hex>" of its raw bytes.
func Fingerprint(pub ed25519.PublicKey) string { return digest(pub) }

// Load reads the record of a drill's bundle.
func (s *Store) Load(drillID string) (*Record, error) {
	return ReadRecord(s.Path(drillID))
}

// ReadRecord reads drill.json from a bundle folder.
func ReadRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileRecord))
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", filepath.Join(dir, FileRecord), err)
	}
	return &rec, nil
}

// List reads every complete bundle of the store, oldest drill first.
// Folders being written (or left by a crash) are skipped.
func (s *Store) List() ([]Record, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	var out []Record
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Dir, e.Name(), FileManifest)); err != nil {
			continue
		}
		rec, err := ReadRecord(filepath.Join(s.Dir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, *rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out, nil
}

// Previous returns the newest bundle's record of a playbook that started
// before the given instant, or nil when there is none.
func (s *Store) Previous(playbook string, before time.Time) (*Record, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Playbook.Name == playbook && all[i].StartedAt.Before(before) {
			return &all[i], nil
		}
	}
	return nil, nil
}

// VerifyResult says whether a bundle is intact.
type VerifyResult struct {
	Dir       string   `json:"dir"`
	DrillID   string   `json:"drillId,omitempty"`
	OK        bool     `json:"ok"`
	Changed   []string `json:"changed"`
	Missing   []string `json:"missing"`
	Extra     []string `json:"extra"`
	Signed    bool     `json:"signed"`
	Signature string   `json:"signature"` // valid, invalid, unsigned, unchecked (no key given), wrong-key
	PublicKey string   `json:"publicKey,omitempty"`
}

// Verify checks every file's hash against the manifest and, when pub is
// given, the manifest's signature. Without pub a signed bundle's signature
// is reported unchecked, and the bundle is not OK: trust needs a key.
func Verify(dir string, pub ed25519.PublicKey) (*VerifyResult, error) {
	res := &VerifyResult{Dir: dir, Changed: []string{}, Missing: []string{}, Extra: []string{}}
	raw, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return nil, fmt.Errorf("evidence: %s is not a bundle: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		res.Changed = append(res.Changed, FileManifest)
		res.Signature = "invalid"
		return res, nil
	}
	res.DrillID, res.Signed, res.PublicKey = m.DrillID, m.Signed, m.PublicKey
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			res.Missing = append(res.Missing, n)
		case err != nil:
			return nil, fmt.Errorf("evidence: %w", err)
		case digest(b) != m.Files[n]:
			res.Changed = append(res.Changed, n)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if _, listed := m.Files[n]; !listed && n != FileManifest && !(n == FileSignature && m.Signed) {
			res.Extra = append(res.Extra, n)
		}
	}
	sig, sigErr := os.ReadFile(filepath.Join(dir, FileSignature))
	switch {
	case !m.Signed:
		res.Signature = "unsigned"
	case errors.Is(sigErr, fs.ErrNotExist):
		res.Signature = "invalid"
		res.Missing = append(res.Missing, FileSignature)
	case pub == nil:
		res.Signature = "unchecked"
	case Fingerprint(pub) != m.PublicKey:
		res.Signature = "wrong-key"
	default:
		s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
		if err == nil && ed25519.Verify(pub, raw, s) {
			res.Signature = "valid"
		} else {
			res.Signature = "invalid"
			// Either file may have changed; the signature cannot tell which.
			res.Changed = append(res.Changed, FileManifest+" or "+FileSignature)
		}
	}
	res.OK = len(res.Changed) == 0 && len(res.Missing) == 0 && len(res.Extra) == 0 &&
		(res.Signature == "valid" || (res.Signature == "unsigned" && pub == nil))
	return res, nil
}
