package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Signature states of a VerifyResult.
const (
	SignatureValid     = "valid"     // made by the given key over these exact manifest bytes
	SignatureInvalid   = "invalid"   // missing, malformed, or not a signature of this manifest
	SignatureUnsigned  = "unsigned"  // the bundle was written without a key
	SignatureUnchecked = "unchecked" // signed, but no key was given to check it with
	SignatureWrongKey  = "wrong-key" // a sound signature, made by another key
)

// VerifyResult says whether a bundle is intact and, when it is not, why:
// OK is true exactly when Problems is empty.
type VerifyResult struct {
	Dir     string `json:"bundle"`
	DrillID string `json:"drillId,omitempty"`
	OK      bool   `json:"ok"`
	// Problems says, one sentence each starting with the file it blames,
	// everything that keeps the bundle from verifying.
	Problems []string `json:"problems"`
	// Changed, Missing and Extra name bundle files by their path in the
	// manifest ("drill.json", "attachments/x.json"). An altered manifest is
	// named alone: the files cannot be checked against it.
	Changed []string `json:"changed"`
	Missing []string `json:"missing"`
	Extra   []string `json:"extra"`
	// DrillIDMismatch is set when the bundle's folder, drill.json and
	// manifest.json do not name the same drill.
	DrillIDMismatch *DrillIDs `json:"drillIdMismatch,omitempty"`
	Signed          bool      `json:"signed"`
	Signature       string    `json:"signature"` // one of the Signature… states
	PublicKey       string    `json:"publicKey,omitempty"`
	// Statements counts the people's signed statements in drill.json that
	// verified against the keys it records (see Statements).
	Statements int `json:"statementsVerified"`
}

// DrillIDs are the drill ids a bundle states: its folder's name, drill.json's
// drillId and manifest.json's drillId (empty when the file does not say).
type DrillIDs struct {
	Folder   string `json:"folder"`
	Record   string `json:"record"`
	Manifest string `json:"manifest"`
}

// Verify checks every file's hash against the manifest, that the bundle's
// folder, drill.json and manifest.json name the same drill, and, when pub is
// given, the manifest's signature. Without pub a signed bundle's signature
// is reported unchecked, and the bundle is not OK: trust needs a key.
//
// Blame is precise where the bundle allows it: a manifest its signature
// disowns, or that is not as drillctl writes it, is named alone (its file
// entries prove nothing); a file whose digest differs from a sound manifest
// is named. Only when the manifest is well formed and matches every file but
// not its signature can either file be the altered one; both are named.
func Verify(dir string, pub ed25519.PublicKey) (*VerifyResult, error) {
	res := &VerifyResult{Dir: dir, Problems: []string{}, Changed: []string{}, Missing: []string{}, Extra: []string{}}
	raw, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if errors.Is(err, fs.ErrNotExist) {
		if _, recErr := os.Stat(filepath.Join(dir, FileRecord)); recErr != nil && kindOf(dir) == nil {
			return nil, fmt.Errorf("evidence: %s is not a bundle: %w", dir, err)
		}
		res.Missing = append(res.Missing, FileManifest)
		res.Signature = SignatureInvalid
		res.problem("%s: missing: nothing says which files the bundle holds", FileManifest)
		res.checkDrillIDs(dir, nil)
		return res.finish(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: read the manifest of %s: %w", dir, err)
	}
	m, faults, err := parseManifest(raw)
	if err != nil {
		res.Changed = append(res.Changed, FileManifest)
		res.Signature = SignatureInvalid
		res.problem("%s: altered: not a manifest (%v)", FileManifest, err)
		res.checkDrillIDs(dir, nil)
		return res.finish(), nil
	}
	res.DrillID, res.Signed, res.PublicKey = m.DrillID, m.Signed, m.PublicKey
	idFault := res.checkDrillIDs(dir, m)
	files, err := compareFiles(dir, m)
	if err != nil {
		return nil, err
	}
	sig := checkSignature(dir, raw, m, pub)
	res.Signature = sig.state
	sigDisowns := sig.matches == matchNo
	if sig.matches == matchYes && len(faults) > 0 {
		// Exactly what its signer wrote, yet not as drillctl writes it.
		res.problem("%s: signed as it is, but %s", FileManifest, strings.Join(faults, "; "))
		faults = nil
	} else if idFault != "" && sig.matches != matchYes {
		faults = append(faults, idFault)
	}

	switch {
	case len(faults) > 0 || (sigDisowns && files.any()):
		// The manifest is the altered file; what its entries say about the
		// others proves nothing.
		reasons := faults
		if sigDisowns {
			reasons = append([]string{"its signature does not match the manifest"}, reasons...)
		}
		switch names := files.names(); len(names) {
		case 0:
		case 1:
			reasons = append(reasons, "its entry for "+names[0]+" no longer matches that file")
		default:
			reasons = append(reasons, "its entries for "+strings.Join(names, ", ")+" no longer match those files")
		}
		res.Changed = append(res.Changed, FileManifest)
		res.problem("%s: altered: %s", FileManifest, strings.Join(reasons, "; "))
	case sigDisowns:
		res.Changed = append(res.Changed, FileManifest+" or "+FileSignature)
		res.problem("%s or %s: altered: the signature does not match the manifest (either file may be the altered one)", FileManifest, FileSignature)
	default:
		for _, c := range files.changed {
			res.Changed = append(res.Changed, c.name)
			res.problem("%s: changed: %s", c.name, c.why)
		}
		for _, n := range files.missing {
			res.Missing = append(res.Missing, n)
			res.problem("%s: missing (%s lists it)", n, FileManifest)
		}
		for _, n := range files.extra {
			res.Extra = append(res.Extra, n)
			res.problem("%s: extra: not listed in %s", n, FileManifest)
		}
	}
	if sig.problem != "" {
		switch sig.file {
		case "missing":
			res.Missing = append(res.Missing, FileSignature)
		case "changed":
			res.Changed = append(res.Changed, FileSignature)
		}
		res.problem("%s", sig.problem)
	}
	if pub != nil && !m.Signed {
		res.problem("the bundle is unsigned: nothing proves who wrote it")
	}
	res.checkStatements(dir)
	res.checkKind(dir)
	return res.finish(), nil
}

func (r *VerifyResult) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *VerifyResult) finish() *VerifyResult {
	r.OK = len(r.Problems) == 0
	return r
}

// checkDrillIDs compares the drill the bundle's folder, drill.json and the
// manifest (nil when unreadable) name, records a mismatch, and returns why
// the manifest looks altered when it alone names another drill.
func (r *VerifyResult) checkDrillIDs(dir string, m *Manifest) (manifestFault string) {
	ids := DrillIDs{Folder: folderName(dir)}
	if b, err := os.ReadFile(filepath.Join(dir, FileRecord)); err == nil {
		var rec struct {
			DrillID string `json:"drillId"`
		}
		if json.Unmarshal(b, &rec) == nil {
			ids.Record = rec.DrillID
		}
	}
	if m != nil {
		ids.Manifest = m.DrillID
	}
	if ids.Record != "" {
		r.DrillID = ids.Record
	}
	switch {
	case ids.Record != "" && ids.Record != ids.Folder:
		msg := fmt.Sprintf("drill id: the bundle's folder is named %q, but %s says %q", ids.Folder, FileRecord, ids.Record)
		if ids.Manifest != "" {
			msg += fmt.Sprintf(" (%s: %q)", FileManifest, ids.Manifest)
		}
		r.problem("%s", msg)
	case ids.Manifest != "" && ids.Manifest != ids.Folder:
		said := "the bundle's folder and " + FileRecord + " say"
		if ids.Record == "" {
			said = "the bundle's folder is named"
		} else {
			manifestFault = fmt.Sprintf("it names drill %q", ids.Manifest)
		}
		r.problem("drill id: %s says %q, but %s %q", FileManifest, ids.Manifest, said, ids.Folder)
	default:
		return ""
	}
	r.DrillIDMismatch = &ids
	return manifestFault
}

// folderName is the name of a bundle's folder, however dir is spelled
// ("drill-x/", ".").
func folderName(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Base(filepath.Clean(dir))
}

// digestForm is how a manifest writes a SHA-256.
var digestForm = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// parseManifest decodes a manifest. err says it is not one at all; faults
// say why a decodable manifest is not as drillctl writes it (canonical
// JSON, well-formed digests, names inside the bundle, a key matching its
// fingerprint), which betrays an altered manifest even when nothing signs it.
func parseManifest(raw []byte) (m *Manifest, faults []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	m = &Manifest{}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, nil, err
	}
	if m.SchemaVersion > SchemaVersion {
		return m, nil, nil // a newer drillctl wrote it: only its signature and files can be checked
	}
	dec.DisallowUnknownFields()
	strict := &Manifest{}
	if err := dec.Decode(strict); err != nil {
		faults = append(faults, err.Error())
	} else if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		faults = append(faults, "trailing data after the manifest")
	} else if canon, err := json.MarshalIndent(strict, "", "  "); err != nil || !bytes.Equal(append(canon, '\n'), raw) {
		faults = append(faults, "not in the form drillctl writes")
	}
	if m.SchemaVersion < 1 {
		faults = append(faults, fmt.Sprintf("schema version %d", m.SchemaVersion))
	}
	for _, n := range slices.Sorted(maps.Keys(m.Files)) {
		if !localName(n) {
			faults = append(faults, fmt.Sprintf("it lists %q, which is not a file of the bundle", n))
		} else if !digestForm.MatchString(m.Files[n]) {
			faults = append(faults, fmt.Sprintf("the digest of %s is not a SHA-256 (%q)", n, m.Files[n]))
		}
	}
	switch {
	case m.Signed && !digestForm.MatchString(m.PublicKey):
		faults = append(faults, fmt.Sprintf("the key fingerprint is not a SHA-256 (%q)", m.PublicKey))
	case !m.Signed && (m.PublicKey != "" || m.Key != ""):
		faults = append(faults, "it names a signing key but says the bundle is unsigned")
	case m.Key != "":
		if k, err := base64.StdEncoding.DecodeString(m.Key); err != nil || len(k) != ed25519.PublicKeySize || Fingerprint(k) != m.PublicKey {
			faults = append(faults, "its signing key does not match its key fingerprint")
		}
	}
	return m, faults, nil
}

// localName reports whether a manifest entry names a file inside the bundle
// (slash-separated, never the manifest or its signature).
func localName(n string) bool {
	return n != FileManifest && n != FileSignature && !strings.Contains(n, `\`) &&
		filepath.IsLocal(filepath.FromSlash(n)) && filepath.ToSlash(filepath.Clean(filepath.FromSlash(n))) == n
}

// fileDiffs are the differences between a bundle's files and its manifest.
type fileDiffs struct {
	changed []struct{ name, why string }
	missing []string
	extra   []string
}

func (d fileDiffs) any() bool { return len(d.changed)+len(d.missing)+len(d.extra) > 0 }

func (d fileDiffs) names() []string {
	var out []string
	for _, c := range d.changed {
		out = append(out, c.name)
	}
	out = append(out, d.missing...)
	out = append(out, d.extra...)
	sort.Strings(out)
	return out
}

// compareFiles hashes every file the manifest lists (inside the bundle
// only) and lists the files it does not.
func compareFiles(dir string, m *Manifest) (fileDiffs, error) {
	var d fileDiffs
	for _, n := range slices.Sorted(maps.Keys(m.Files)) {
		if !localName(n) {
			continue // never read outside the bundle; parseManifest says why
		}
		path := filepath.Join(dir, filepath.FromSlash(n))
		info, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d.missing = append(d.missing, n)
			continue
		case err != nil:
			return d, fmt.Errorf("evidence: %w", err)
		case !info.Mode().IsRegular():
			d.changed = append(d.changed, struct{ name, why string }{n, "not a regular file"})
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return d, fmt.Errorf("evidence: %w", err)
		}
		if digest(b) != m.Files[n] {
			d.changed = append(d.changed, struct{ name, why string }{n, "its SHA-256 does not match " + FileManifest})
		}
	}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		n := filepath.ToSlash(rel)
		if _, listed := m.Files[n]; !listed && n != FileManifest && (n != FileSignature || !m.Signed) {
			d.extra = append(d.extra, n)
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("evidence: list %s: %w", dir, err)
	}
	sort.Strings(d.extra)
	return d, nil
}

// Whether a signature matches its manifest.
type match int

const (
	matchUnknown match = iota // unsigned, or no key to check with
	matchYes
	matchNo
)

// sigCheck is what checkSignature found.
type sigCheck struct {
	state   string
	matches match
	// problem blames manifest.sig itself; file says how: "missing",
	// "changed", or "" (a problem of trust, not of the file).
	problem, file string
}

// checkSignature checks manifest.sig against the manifest's exact bytes:
// with pub when given; otherwise, for blame only, with the key the manifest
// names (it proves the two files belong together, never who wrote them).
func checkSignature(dir string, raw []byte, m *Manifest, pub ed25519.PublicKey) sigCheck {
	if !m.Signed {
		return sigCheck{state: SignatureUnsigned}
	}
	b, err := os.ReadFile(filepath.Join(dir, FileSignature))
	if err != nil {
		return sigCheck{state: SignatureInvalid, file: "missing",
			problem: fmt.Sprintf("%s: missing: %s says the bundle is signed", FileSignature, FileManifest)}
	}
	s, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(b), "\n"))
	if err != nil || len(s) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(s)+"\n" != string(b) {
		return sigCheck{state: SignatureInvalid, file: "changed",
			problem: fmt.Sprintf("%s: changed: not an ed25519 signature as drillctl writes it", FileSignature)}
	}
	// Does the signature match the manifest under the key the manifest
	// names? Unknown for a manifest written before manifests named the
	// whole key; no when the key it names is not sound.
	ownMatch := matchUnknown
	if m.Key != "" {
		ownMatch = matchNo
		k, err := base64.StdEncoding.DecodeString(m.Key)
		if err == nil && len(k) == ed25519.PublicKeySize && Fingerprint(k) == m.PublicKey && ed25519.Verify(k, raw, s) {
			ownMatch = matchYes
		}
	}
	switch {
	case pub == nil:
		return sigCheck{state: SignatureUnchecked, matches: ownMatch,
			problem: fmt.Sprintf("%s: the signature was not checked: no public key given", FileSignature)}
	case ed25519.Verify(pub, raw, s):
		return sigCheck{state: SignatureValid, matches: matchYes}
	case Fingerprint(pub) != m.PublicKey && ownMatch != matchNo:
		// A manifest signed by the key it names (or, before manifests named
		// the whole key, one that cannot be told apart): another signer.
		return sigCheck{state: SignatureWrongKey, matches: ownMatch,
			problem: fmt.Sprintf("%s: signed with another key (%s), not the one given", FileSignature, m.PublicKey)}
	default:
		return sigCheck{state: SignatureInvalid, matches: matchNo}
	}
}
