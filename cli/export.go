package cli

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// `drillctl evidence export`: a bundle copied out of the store (or from a
// folder), or rebuilt from Temporal's history, as a folder or a .tar.gz.

// evidenceExport copies a bundle into --to DIR, as a folder or a .tar.gz.
func evidenceExport(c *ucli.Context, stdio IO) error {
	output, err := outputFormat(c)
	if err != nil {
		return err
	}
	arg, err := oneArg(c, "BUNDLE|DRILL_ID")
	if err != nil {
		return err
	}
	format := c.String("format")
	if format != "dir" && format != "tar.gz" {
		return exitf(ExitUsage, "--format %q: expected dir or tar.gz", format)
	}
	src, id, rebuilt, cleanup, err := exportSource(c, arg)
	if err != nil {
		return err
	}
	defer cleanup()
	to := stringOf(c, "to", "out")
	if err := os.MkdirAll(to, 0o700); err != nil {
		return exitf(ExitUsage, "export: %v", err)
	}
	var dst string
	if format == "dir" {
		dst = filepath.Join(to, id)
		err = copyDir(src, dst)
	} else {
		dst = filepath.Join(to, id+".tar.gz")
		err = tarGz(src, id, dst)
	}
	if err != nil {
		return exitf(ExitUsage, "export: %v", err)
	}
	if output == "json" {
		return writeJSON(stdio.Out, map[string]any{"drillId": id, "path": dst, "format": format, "rebuilt": rebuilt})
	}
	fmt.Fprintln(stdio.Out, dst)
	return nil
}

// exportSource finds the bundle arg names: a bundle's folder, a drill id's
// bundle in the store, or one rebuilt from Temporal into a scratch folder
// (rebuilt; cleanup removes it).
func exportSource(c *ucli.Context, arg string) (src, id string, rebuilt bool, cleanup func(), err error) {
	cleanup = func() {}
	if isBundle(arg) {
		rec, err := evidence.ReadRecord(arg)
		if err != nil {
			return "", "", false, cleanup, exitf(ExitUsage, "export: %s is not a readable bundle: %v", arg, err)
		}
		return arg, rec.DrillID, false, cleanup, nil
	}
	if strings.ContainsAny(arg, `/\`) || strings.HasPrefix(arg, ".") {
		return "", "", false, cleanup, exitf(ExitUsage, "export: no bundle at %s", arg)
	}
	store, err := evidenceStore(c)
	if err != nil {
		return "", "", false, cleanup, err
	}
	if isBundle(store.Path(arg)) {
		return store.Path(arg), arg, false, cleanup, nil
	}
	// Not in the store: rebuild it from Temporal into a scratch store.
	tmp, err := os.MkdirTemp("", "drillctl-export-")
	if err != nil {
		return "", "", false, cleanup, exitf(ExitUsage, "export: %v", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	if err := rebuildBundle(c, arg, &evidence.Store{Dir: tmp}); err != nil {
		return "", "", false, cleanup, exitf(ExitUsage, "export %s: not in the evidence store (%s), and %v", arg, store.Dir, err)
	}
	return filepath.Join(tmp, arg), arg, true, cleanup, nil
}

// isBundle reports whether dir is a bundle's folder (it has a manifest).
func isBundle(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, evidence.FileManifest))
	return err == nil
}

// toFlag is --to DIR: where a command writes files (--output is the format
// of what it prints).
func toFlag(usage, value string) *ucli.StringFlag {
	return &ucli.StringFlag{Name: "to", Value: value, Usage: usage}
}

// rebuildBundle writes a bundle from what Temporal still holds: the record
// (result or last status), the playbook from the drill's input, and the
// history itself.
func rebuildBundle(c *ucli.Context, id string, store *evidence.Store) error {
	ctx := c.Context
	cl, err := dial(ctx, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	rec, err := fetchRecord(ctx, cl, id, false)
	if err != nil {
		return err
	}
	if rec.Status == evidence.StatusRunning {
		return errors.New("the drill is still running")
	}
	events, err := history(ctx, cl, id)
	if err != nil {
		return err
	}
	var in workflows.DrillInput
	start := events.Events[0].GetWorkflowExecutionStartedEventAttributes()
	if start == nil || len(start.GetInput().GetPayloads()) == 0 {
		return errors.New("the history holds no drill input")
	}
	if err := converter.GetDefaultDataConverter().FromPayload(start.GetInput().GetPayloads()[0], &in); err != nil {
		return fmt.Errorf("decode the drill input: %w", err)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(events)
	if err != nil {
		return err
	}
	var key ed25519.PrivateKey
	if p := c.String("signing-key"); p != "" {
		if key, err = evidence.LoadPrivateKey(p); err != nil {
			return err
		}
	}
	loc, err := time.LoadLocation(c.String("tz"))
	if err != nil {
		return fmt.Errorf("--tz: %w", err)
	}
	_, err = store.Write(*rec, in.Playbook.Source.Raw, key, evidence.RenderOptions{TZ: loc},
		evidence.File{Name: "history.json", Data: raw})
	return err
}

// history is a drill's whole Temporal history.
func history(ctx context.Context, cl worker.Client, id string) (*historypb.History, error) {
	iter := cl.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, notFound(id, err)
		}
		h.Events = append(h.Events, e)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("no history for %s", id)
	}
	return h, nil
}

// copyDir copies a bundle's folder; what it creates is its owner's only
// (folders 0700, files 0600), like the store.
func copyDir(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s exists", dst)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
}

// tarGz writes the bundle folder src as dst, a .tar.gz (0600) whose entries
// are under prefix/ and are 0600 too. It is written aside and renamed, so
// dst is never half an archive.
func tarGz(src, prefix, dst string) error {
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename; cleans up after a failure
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(prefix, rel))
		hdr.Mode = 0o600
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(tw, in)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}
