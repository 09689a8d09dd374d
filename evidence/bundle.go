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
	// Key is the signing key itself (raw ed25519, base64). It lets Verify
	// tell an altered manifest from one signed by another key; it is never
	// a reason to trust the bundle: only the key the verifier gives is.
	Key string `json:"key,omitempty"`
	// NoPDF says report.pdf could not be printed (no Chromium, or it
	// failed); report.md and report.html say why.
	NoPDF bool `json:"noPdf,omitempty"`
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
//
// The drill's attachments (PutAttachment) go into the bundle's attachments
// folder, covered by the manifest like every other file; those of an
// earlier bundle of the drill are kept. The staging area is emptied once
// the bundle is in place. Folders are created 0700 and files 0600: evidence
// names people, systems and what went wrong.
func (s *Store) Write(rec Record, playbookYAML []byte, key ed25519.PrivateKey, opts RenderOptions, extra ...File) (EvidenceRef, error) {
	if err := checkDrillID(rec.DrillID); err != nil {
		return EvidenceRef{}, err
	}
	if sum := digest(playbookYAML); rec.Playbook.Digest != "" && sum != rec.Playbook.Digest {
		return EvidenceRef{}, fmt.Errorf("evidence: playbook bytes (%s) are not the playbook the drill ran (%s)", sum, rec.Playbook.Digest)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return EvidenceRef{}, fmt.Errorf("evidence: create the store: %w", err)
	}
	final := s.Path(rec.DrillID)
	ref := EvidenceRef{Path: final, Signed: key != nil}
	rec.Evidence = &EvidenceRef{Path: final, Signed: key != nil} // drill.json cannot hold its own manifest's digest
	opts.Signed = key != nil
	if opts.Playbook == nil {
		opts.Playbook = playbookYAML
	}
	if key != nil {
		opts.KeyFingerprint = Fingerprint(key.Public().(ed25519.PublicKey))
	}

	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return ref, fmt.Errorf("evidence: encode record: %w", err)
	}
	md, html, pdf, err := bundleReports(rec, opts)
	if err != nil {
		return ref, err
	}
	files := []File{{FileRecord, append(recJSON, '\n')}, {FilePlaybook, playbookYAML}, {FileReportMD, md}, {FileReportHTM, html}}
	if pdf != nil {
		files = append(files, File{FileReportPDF, pdf})
	}
	for _, f := range extra {
		if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || f.Name == FileManifest || f.Name == FileSignature || f.Name == AttachmentsDir || f.Name == FileReportPDF {
			return ref, fmt.Errorf("evidence: bad extra file name %q", f.Name)
		}
		files = append(files, f)
	}
	attachments, err := s.attachments(rec.DrillID)
	if err != nil {
		return ref, err
	}
	for _, a := range attachments {
		files = append(files, File{AttachmentsDir + "/" + a.name, a.data})
	}

	tmp, err := os.MkdirTemp(s.Dir, tmpPrefix+rec.DrillID+"-") // 0700
	if err != nil {
		return ref, fmt.Errorf("evidence: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after a failure
	if len(attachments) > 0 {
		if err := os.Mkdir(filepath.Join(tmp, AttachmentsDir), 0o700); err != nil {
			return ref, fmt.Errorf("evidence: %w", err)
		}
	}
	m := Manifest{SchemaVersion: SchemaVersion, DrillID: rec.DrillID, CreatedAt: time.Now().UTC(), Files: map[string]string{}, Signed: key != nil}
	m.NoPDF = pdf == nil
	for i, f := range files {
		if s.crashAfter > 0 && i >= s.crashAfter {
			return ref, errors.New("evidence: simulated crash")
		}
		if err := writeFileSync(filepath.Join(tmp, filepath.FromSlash(f.Name)), f.Data); err != nil {
			return ref, err
		}
		m.Files[f.Name] = digest(f.Data)
	}
	if key != nil {
		pub := key.Public().(ed25519.PublicKey)
		m.PublicKey, m.Key = Fingerprint(pub), base64.StdEncoding.EncodeToString(pub)
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
	if len(attachments) > 0 {
		if err := syncDir(filepath.Join(tmp, AttachmentsDir)); err != nil {
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
	s.unstage(rec.DrillID, attachments)
	ref.ManifestDigest = digest(manifest)
	return ref, nil
}

// checkDrillID refuses a drill id that is not a plain folder name.
func checkDrillID(id string) error {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return fmt.Errorf("evidence: bad drill id %q", id)
	}
	return nil
}

// writeFileSync creates path (0600) holding data, synced to disk.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
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
