package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/steps"
)

// Database and files out of sync: records replicate by one path (WAL
// streaming) and the files they name by another (rsync, object storage
// replication), so after a failover a surviving record may name a file the
// standby never received, or received half. A files comparison reads the
// files the standby's records name and checks each is in the standby's
// store with the checksum the record gives.

// maxFileRefs bounds how many file references a comparison reads.
const maxFileRefs = 1_000_000

// FileRef is one file a record names: its path in the store and, when the
// record gives one, its SHA-256 in hex.
type FileRef struct {
	Path   string
	SHA256 string
}

// FilesReport is what a files comparison found.
type FilesReport struct {
	Checked    int      // references read
	Missing    []string // paths absent from the standby's store
	Different  []string // paths whose standby copy has another checksum
	Invalid    []string // paths that leave the store (absolute, ..): never read
	Unverified int      // present, but with no checksum to compare with
}

// Drift is the number of files missing, different or invalid.
func (r FilesReport) Drift() int { return len(r.Missing) + len(r.Different) + len(r.Invalid) }

// CheckFiles checks every reference against the standby's store; a
// reference with no checksum is compared with the primary's copy when
// primary is set and holds it.
func CheckFiles(refs []FileRef, standby, primary string) (FilesReport, error) {
	var r FilesReport
	for _, ref := range refs {
		r.Checked++
		p := filepath.FromSlash(ref.Path)
		if !filepath.IsLocal(p) {
			r.Invalid = append(r.Invalid, ref.Path)
			continue
		}
		got, err := fileSHA256(filepath.Join(standby, p))
		if errors.Is(err, fs.ErrNotExist) {
			r.Missing = append(r.Missing, ref.Path)
			continue
		}
		if err != nil {
			return r, fmt.Errorf("standby store: %w", err)
		}
		want := strings.ToLower(strings.TrimSpace(ref.SHA256))
		if want == "" && primary != "" {
			if sum, err := fileSHA256(filepath.Join(primary, p)); err == nil {
				want = sum
			}
		}
		switch {
		case want == "":
			r.Unverified++
		case want != got:
			r.Different = append(r.Different, ref.Path)
		}
	}
	return r, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// compareFiles executes a files comparison: the references the query
// returns on the standby's database, checked against the standby's store.
func (a *Activities) compareFiles(ctx context.Context, sec *secrets, in steps.Input, res *steps.Result) error {
	spec := *in.Step.ReplicationCheck.Files
	refs, truncated, err := a.fileRefs(ctx, sec, spec.DSN, spec.Query)
	if err != nil {
		return err
	}
	standby, err := sec.resolve(spec.Standby)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	primary, err := sec.resolve(spec.Primary)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	r, err := CheckFiles(refs, standby, primary)
	if err != nil {
		return err
	}
	out := map[string]any{
		"referenced":     len(refs),
		"missingFiles":   len(r.Missing),
		"differentFiles": len(r.Different),
		"unverified":     r.Unverified,
		"drift":          r.Drift(),
	}
	if truncated {
		out["note"] = fmt.Sprintf("only the first %d references were checked", maxFileRefs)
	}
	for key, list := range map[string][]string{"missing": r.Missing, "different": r.Different, "invalid": r.Invalid} {
		if len(list) > 0 {
			out[key] = list[:min(len(list), 50)]
		}
	}
	res.Output = out
	allowed := 0
	if tol := in.Step.ReplicationCheck.Tolerance; tol != nil {
		allowed = tol.MaxMissing
	}
	if r.Drift() > allowed {
		var parts []string
		for _, x := range []struct {
			what string
			list []string
		}{{"missing", r.Missing}, {"with another checksum", r.Different}, {"outside the store", r.Invalid}} {
			if len(x.list) > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", x.what, strings.Join(x.list[:min(len(x.list), 5)], ", ")))
			}
		}
		return fmt.Errorf("database and files out of sync: %d of the %d files the standby's records name are not in its store as recorded (%d allowed); %s",
			r.Drift(), len(refs), allowed, strings.Join(parts, "; "))
	}
	return nil
}

// fileRefs runs the query on dsn: its first column is a file's path, its
// optional second the file's SHA-256; rows with a NULL path are skipped.
func (a *Activities) fileRefs(ctx context.Context, sec *secrets, dsn, sql string) ([]FileRef, bool, error) {
	conn, err := a.connect(ctx, sec, dsn)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, false, fmt.Errorf("files query on %s: %s", RedactDSN(dsn), sec.scrub(err.Error()))
	}
	defer rows.Close()
	var refs []FileRef
	truncated := false
	for rows.Next() {
		if len(refs) >= maxFileRefs {
			truncated = true
			continue
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, false, fmt.Errorf("files query on %s: %s", RedactDSN(dsn), sec.scrub(err.Error()))
		}
		if len(vals) == 0 || vals[0] == nil {
			continue
		}
		ref := FileRef{Path: fmt.Sprint(jsonable(vals[0]))}
		if len(vals) > 1 && vals[1] != nil {
			ref.SHA256 = fmt.Sprint(jsonable(vals[1]))
		}
		refs = append(refs, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("files query on %s: %s", RedactDSN(dsn), sec.scrub(err.Error()))
	}
	return refs, truncated, nil
}
