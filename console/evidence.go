package console

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/drillctl/drillctl/evidence"
)

// Integrity states of a bundle, as the console shows them.
const (
	stateVerified  = "verified"  // intact, and signed by the key the console trusts
	stateUnchecked = "unchecked" // intact; signed, but the console was given no key to check it with
	stateUnsigned  = "unsigned"  // intact; nothing signs it
	stateFailed    = "failed"    // a changed, missing or extra file, or a bad signature
)

// bundleRow is one bundle of the evidence store.
type bundleRow struct {
	Name   string
	Record *evidence.Record
	State  string
	Verify *evidence.VerifyResult
	Error  string
	HasPDF bool
}

// bundleNameRE is what a bundle's folder name may be in a URL.
var bundleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$`)

// verifyState sums a verification up in one word.
func verifyState(res *evidence.VerifyResult) string {
	switch {
	case res.OK && res.Signature == evidence.SignatureValid:
		return stateVerified
	case res.OK:
		return stateUnsigned
	case res.Signature == evidence.SignatureUnchecked && len(res.Problems) == 1 &&
		len(res.Changed)+len(res.Missing)+len(res.Extra) == 0 && res.DrillIDMismatch == nil:
		return stateUnchecked
	}
	return stateFailed
}

// readBundle reads and verifies one bundle folder of the store.
func (s *Server) readBundle(name string) (*bundleRow, error) {
	if !bundleNameRE.MatchString(name) {
		return nil, fs.ErrNotExist
	}
	dir := filepath.Join(s.cfg.Evidence.Dir, name)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fs.ErrNotExist
	}
	row := &bundleRow{Name: name}
	res, err := evidence.Verify(dir, s.cfg.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", name, err)
	}
	row.Verify, row.State = res, verifyState(res)
	if rec, err := evidence.ReadRecord(dir); err == nil {
		row.Record = rec
	} else {
		row.Error = err.Error()
	}
	_, err = os.Stat(filepath.Join(dir, evidence.FileReportPDF))
	row.HasPDF = err == nil
	return row, nil
}

// evidenceView is the evidence list's data.
type evidenceView struct {
	Rows      []*bundleRow
	KeyGiven  bool
	Dir       string
	ListError string
}

// evidencePage lists the store's bundles, newest first, each verified.
func (s *Server) evidencePage(w http.ResponseWriter, r *http.Request, sess *session) {
	v := evidenceView{KeyGiven: s.cfg.PublicKey != nil, Dir: s.cfg.Evidence.Dir}
	entries, err := os.ReadDir(s.cfg.Evidence.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		v.ListError = err.Error()
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(s.cfg.Evidence.Dir, e.Name())
		if _, err := os.Stat(filepath.Join(dir, evidence.FileManifest)); err != nil {
			if _, err := os.Stat(filepath.Join(dir, evidence.FileRecord)); err != nil {
				continue // not a drill bundle (a review's folder, say)
			}
		}
		row, err := s.readBundle(e.Name())
		if err != nil {
			row = &bundleRow{Name: e.Name(), State: stateFailed, Error: err.Error()}
		}
		v.Rows = append(v.Rows, row)
	}
	sort.SliceStable(v.Rows, func(i, j int) bool {
		a, b := v.Rows[i].Record, v.Rows[j].Record
		if a == nil || b == nil {
			return a != nil
		}
		return a.StartedAt.After(b.StartedAt)
	})
	s.render(w, r, sess, http.StatusOK, "evidence", "console.nav.evidence", v)
}

// bundlePage shows one bundle: its verification and its report inline.
func (s *Server) bundlePage(w http.ResponseWriter, r *http.Request, sess *session) {
	row, err := s.readBundle(r.PathValue("id"))
	if err != nil {
		s.bundleError(w, r, sess, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "bundle", "console.bundle.title", struct {
		*bundleRow
		KeyGiven bool
	}{row, s.cfg.PublicKey != nil})
}

func (s *Server) bundleError(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		s.fail(w, r, sess, http.StatusNotFound, s.locale(w, r).T("console.err.noBundle", r.PathValue("id")))
		return
	}
	s.fail(w, r, sess, http.StatusInternalServerError, err.Error())
}

// bundleFile serves one file of a bundle.
func (s *Server) bundleFile(w http.ResponseWriter, r *http.Request, sess *session, file, contentType string) {
	name := r.PathValue("id")
	if !bundleNameRE.MatchString(name) {
		s.bundleError(w, r, sess, fs.ErrNotExist)
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.Evidence.Dir, name, file))
	if err != nil {
		s.bundleError(w, r, sess, fs.ErrNotExist)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", contentType)
	io.Copy(w, f)
}

// bundleReport serves report.html for the page's iframe, sandboxed: no
// script runs in it and it reaches nothing (it is self-contained).
func (s *Server) bundleReport(w http.ResponseWriter, r *http.Request, sess *session) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "+
		"sandbox; frame-ancestors 'self'")
	s.bundleFile(w, r, sess, evidence.FileReportHTM, "text/html; charset=utf-8")
}

// bundlePDF serves report.pdf, when the bundle has one.
func (s *Server) bundlePDF(w http.ResponseWriter, r *http.Request, sess *session) {
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, r.PathValue("id")))
	s.bundleFile(w, r, sess, evidence.FileReportPDF, "application/pdf")
}

// bundleArchive sends the whole bundle as a .tar.gz, its entries under the
// bundle's name (as drillctl evidence export writes it).
func (s *Server) bundleArchive(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("id")
	dir := filepath.Join(s.cfg.Evidence.Dir, name)
	if info, err := os.Stat(dir); !bundleNameRE.MatchString(name) || err != nil || !info.IsDir() {
		s.bundleError(w, r, sess, fs.ErrNotExist)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.tar.gz"`, name))
	if err := writeTarGz(w, dir, name); err != nil {
		// The headers are gone: a broken archive is all the client sees,
		// and gzip's checksum makes it fail loudly.
		fmt.Fprintf(s.cfg.Log, "drillctl console: archive %s: %v\n", name, err)
	}
}

// writeTarGz writes the regular files of dir as a .tar.gz under prefix/.
func writeTarGz(w io.Writer, dir, prefix string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return fmt.Errorf("header of %s: %w", path, err)
		}
		rel, _ := filepath.Rel(dir, path)
		hdr.Name = filepath.ToSlash(filepath.Join(prefix, rel))
		hdr.Mode = 0o600
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write %s: %w", hdr.Name, err)
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer f.Close()
		if _, err := io.Copy(tw, f); err != nil {
			return fmt.Errorf("write %s: %w", hdr.Name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close the archive: %w", err)
	}
	return gz.Close()
}
