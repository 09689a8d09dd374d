package evidence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Attachments keep whole what the drill record keeps truncated (a step
// output over its bound). The worker puts one while the drill runs, before
// the drill's bundle exists, so it waits in a per-drill staging area of the
// store; writing the bundle moves it into the bundle's attachments folder,
// where the manifest covers it like every other file.

// AttachmentsDir is the folder of a bundle that holds its attachments.
const AttachmentsDir = "attachments"

// stagingDir is the store's folder of attachments waiting for their drill's
// bundle: <store>/.attachments/<drill id>/<name>. Its leading dot keeps it
// out of List.
const stagingDir = ".attachments"

// maxAttachmentName bounds an attachment's name, well under the 255 bytes
// file systems allow.
const maxAttachmentName = 200

// attachmentName is the safe charset of an attachment's name: letters,
// digits, dot, dash and underscore, never first a dot or a dash.
var attachmentName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// PutAttachment keeps data as the attachment name of a drill's evidence and
// returns its reference inside the bundle, "attachments/<name>", for the
// record to point at. The data waits (0600) in the store's staging area
// until the drill's bundle is written. Putting the same name again (a
// retried step) replaces it. name is a plain file name: no path separators,
// no "..", only letters, digits, '.', '-' and '_', at most 200 bytes.
func (s *Store) PutAttachment(drillID, name string, data []byte) (string, error) {
	if err := checkDrillID(drillID); err != nil {
		return "", err
	}
	if err := checkAttachmentName(name); err != nil {
		return "", err
	}
	dir := s.stagingPath(drillID)
	// Write aside, then rename: a crash never leaves half an attachment
	// under its name. Twice at most: a bundle written meanwhile may have
	// removed the (then empty) staging folder.
	var f *os.File
	var err error
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("evidence: attachment %s of %s: %w", name, drillID, err)
		}
		f, err = os.CreateTemp(dir, tmpPrefix+name+"-") // 0600
		if err == nil {
			break
		}
		if attempt > 0 || !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("evidence: attachment %s of %s: %w", name, drillID, err)
		}
	}
	tmp := f.Name()
	defer os.Remove(tmp) // gone after the rename; cleans up after a failure
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		return "", fmt.Errorf("evidence: attachment %s of %s: %w", name, drillID, err)
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return AttachmentsDir + "/" + name, nil
}

// checkAttachmentName refuses a name that could leave the attachments
// folder or surprise a shell.
func checkAttachmentName(name string) error {
	switch {
	case len(name) > maxAttachmentName:
		return fmt.Errorf("evidence: attachment name %.40q…: longer than %d bytes", name, maxAttachmentName)
	case !attachmentName.MatchString(name) || strings.Contains(name, ".."):
		return fmt.Errorf("evidence: attachment name %q: expected a plain file name (letters, digits, '.', '-', '_'; no \"..\")", name)
	}
	return nil
}

func (s *Store) stagingPath(drillID string) string {
	return filepath.Join(s.Dir, stagingDir, drillID)
}

// attachment is one attachment going into a bundle; staged holds the
// staging file it comes from (nil when it comes from an earlier bundle).
type attachment struct {
	name   string
	data   []byte
	staged fs.FileInfo
}

// attachments returns what goes into a drill's bundle's attachments
// folder, by name: those of an earlier bundle of the drill (an activity
// retried after it wrote the bundle), when they still match its manifest,
// then the staged ones, which win.
func (s *Store) attachments(drillID string) ([]attachment, error) {
	byName := map[string]attachment{}
	var order []string
	add := func(a attachment) {
		if _, seen := byName[a.name]; !seen {
			order = append(order, a.name)
		}
		byName[a.name] = a
	}
	old, err := os.ReadFile(filepath.Join(s.Path(drillID), FileManifest))
	if err == nil {
		var m Manifest
		if json.Unmarshal(old, &m) == nil {
			for _, path := range slices.Sorted(maps.Keys(m.Files)) {
				name, ok := strings.CutPrefix(path, AttachmentsDir+"/")
				if !ok || checkAttachmentName(name) != nil {
					continue
				}
				b, err := os.ReadFile(filepath.Join(s.Path(drillID), AttachmentsDir, name))
				if err == nil && digest(b) == m.Files[path] {
					add(attachment{name: name, data: b})
				}
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("evidence: read the earlier bundle of %s: %w", drillID, err)
	}
	entries, err := os.ReadDir(s.stagingPath(drillID))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("evidence: attachments of %s: %w", drillID, err)
	}
	for _, e := range entries { // sorted by name
		if !e.Type().IsRegular() || checkAttachmentName(e.Name()) != nil {
			continue // a file being put (.tmp-…), or nothing PutAttachment wrote
		}
		path := filepath.Join(s.stagingPath(drillID), e.Name())
		info, err := os.Lstat(path)
		if err != nil {
			return nil, fmt.Errorf("evidence: attachment %s of %s: %w", e.Name(), drillID, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("evidence: attachment %s of %s: %w", e.Name(), drillID, err)
		}
		add(attachment{name: e.Name(), data: b, staged: info})
	}
	out := make([]attachment, 0, len(order))
	for _, n := range order {
		out = append(out, byName[n])
	}
	return out, nil
}

// unstage removes the staged files a written bundle now holds, then the
// drill's staging folder once empty. A file put again meanwhile (not the
// same file any more) stays for the next write. Failures only leave files
// behind, which the next write of the bundle takes again.
func (s *Store) unstage(drillID string, written []attachment) {
	dir := s.stagingPath(drillID)
	for _, a := range written {
		if a.staged == nil {
			continue
		}
		path := filepath.Join(dir, a.name)
		if now, err := os.Lstat(path); err == nil && os.SameFile(now, a.staged) {
			os.Remove(path)
		}
	}
	os.Remove(dir)                              // only if empty
	os.Remove(filepath.Join(s.Dir, stagingDir)) // likewise
}
