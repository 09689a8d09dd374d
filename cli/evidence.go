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

func init() { commandGroups = append(commandGroups, evidenceCommand) }

// ExitNotVerified is the exit code of `evidence verify` when the evidence
// failed verification (a changed, missing or extra file, a bad or missing
// signature, a drill id that is not its folder's): tampering, told apart
// from a usage error (ExitUsage). See README, "Exit codes".
const ExitNotVerified = 5

func evidenceDirFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "evidence-dir", EnvVars: []string{"DRILLCTL_EVIDENCE_DIR"}, Usage: "the evidence store (default: under the user's data directory)"}
}

func evidenceCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "evidence",
		Usage: "sign, verify, list and export drill evidence bundles",
		Description: `Every drill leaves a bundle: drill.json, playbook.yaml, report.md, report.html,
attachments/ (whole step outputs the record keeps truncated), manifest.json
(SHA-256 of every file) and manifest.sig (ed25519). Bundles, keys and exports
are their owner's only: folders 0700, files 0600.

Examples:
   drillctl evidence keygen --out /etc/drillctl
   drillctl evidence verify ~/.local/share/drillctl/evidence/drill-chat-platform-quarterly-6f1c... --pubkey drillctl.pub
   drillctl evidence export drill-chat-platform-quarterly-6f1c... --format tar.gz --out /tmp`,
		Subcommands: []*ucli.Command{
			{
				Name:  "keygen",
				Usage: "create an ed25519 signing key pair: drillctl.key and drillctl.pub (both 0600)",
				Description: `Give drillctl.key to the workers (--signing-key) and drillctl.pub to auditors.

Example:
   drillctl evidence keygen --out /etc/drillctl`,
				Flags: []ucli.Flag{&ucli.StringFlag{Name: "out", Required: true, Usage: "`DIR` to write the keys into"}, outputFlag()},
				Action: func(c *ucli.Context) error {
					format, err := outputFormat(c)
					if err != nil {
						return err
					}
					priv, pub, err := evidence.GenerateKey(c.String("out"))
					if err != nil {
						return exitf(ExitUsage, "%v", err)
					}
					pk, err := evidence.LoadPublicKey(pub)
					if err != nil {
						return exitf(ExitUsage, "%v", err)
					}
					if format == "json" {
						return writeJSON(stdio.Out, map[string]string{"privateKey": priv, "publicKey": pub, "fingerprint": evidence.Fingerprint(pk)})
					}
					fmt.Fprintf(stdio.Out, "private key  %s (keep it on the workers: --signing-key)\npublic key   %s (give it to auditors)\nfingerprint  %s\n",
						priv, pub, evidence.Fingerprint(pk))
					return nil
				},
			},
			{
				Name:      "verify",
				Usage:     "check every hash of a bundle, its drill id and its signature",
				ArgsUsage: "BUNDLE|DRILL_ID",
				Description: `Give a bundle's folder, or a drill id to verify its bundle in the evidence store.
Exit 0 when every file (attachments too) matches the manifest, the folder,
drill.json and manifest.json name the same drill, and the signature is valid for
--pubkey (an unsigned bundle passes only without --pubkey, and says so).
Otherwise every problem is named, blaming the file that changed (an altered
manifest.json is named alone: its signature no longer matches it), and the exit
code is 5; a usage error (no such bundle, an unreadable key) exits 1.
--output json prints {ok, bundle, drillId, problems[], changed[], missing[],
extra[], signature, ...}.

Examples:
   drillctl evidence verify ./drill-chat-platform-quarterly-6f1c... --pubkey drillctl.pub
   drillctl evidence verify drill-chat-platform-quarterly-6f1c... --pubkey drillctl.pub --output json`,
				Flags:  []ucli.Flag{&ucli.StringFlag{Name: "pubkey", Usage: "the signer's public key `FILE`"}, evidenceDirFlag(), outputFlag()},
				Action: func(c *ucli.Context) error { return evidenceVerify(c, stdio) },
			},
			{
				Name:  "list",
				Usage: "the bundles in the evidence store, oldest first",
				Description: `Example:
   drillctl evidence list --output json`,
				Flags: []ucli.Flag{evidenceDirFlag(), outputFlag()},
				Action: func(c *ucli.Context) error {
					format, err := outputFormat(c)
					if err != nil {
						return err
					}
					store, err := evidenceStore(c)
					if err != nil {
						return err
					}
					recs, err := store.List()
					if err != nil {
						return exitf(ExitUsage, "%v", err)
					}
					if format == "json" {
						type row struct {
							DrillID   string    `json:"drillId"`
							Playbook  string    `json:"playbook"`
							StartedAt time.Time `json:"startedAt"`
							Status    string    `json:"status"`
							Verdict   string    `json:"verdict"`
							Path      string    `json:"path"`
						}
						rows := []row{}
						for _, r := range recs {
							rows = append(rows, row{r.DrillID, r.Playbook.Name, r.StartedAt, r.Status, r.Verdict, store.Path(r.DrillID)})
						}
						return writeJSON(stdio.Out, rows)
					}
					if len(recs) == 0 {
						fmt.Fprintf(stdio.Out, "no bundles in %s\n", store.Dir)
						return nil
					}
					tw := newTable(stdio.Out)
					fmt.Fprintln(tw, "DRILL\tPLAYBOOK\tSTARTED (UTC)\tSTATUS\tVERDICT")
					for _, r := range recs {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.DrillID, r.Playbook.Name, r.StartedAt.Format(time.DateTime), r.Status, r.Verdict)
					}
					return tw.Flush()
				},
			},
			{
				Name:      "show",
				Usage:     "print a bundle's record (scorecard, or json)",
				ArgsUsage: "DRILL_ID",
				Description: `Example:
   drillctl evidence show drill-chat-platform-quarterly-6f1c... --output json`,
				Flags: []ucli.Flag{evidenceDirFlag(), outputFlag()},
				Action: func(c *ucli.Context) error {
					format, err := outputFormat(c)
					if err != nil {
						return err
					}
					id, err := oneArg(c, "DRILL_ID")
					if err != nil {
						return err
					}
					store, err := evidenceStore(c)
					if err != nil {
						return err
					}
					rec, err := store.Load(id)
					if err != nil {
						return exitf(ExitUsage, "no bundle of %s in %s", id, store.Dir)
					}
					if format == "json" {
						return writeJSON(stdio.Out, rec)
					}
					writeScorecard(stdio.Out, rec)
					return nil
				},
			},
			{
				Name:      "export",
				Usage:     "copy a bundle out of the store, or rebuild it from Temporal's history",
				ArgsUsage: "DRILL_ID",
				Description: `A bundle missing from the store is rebuilt from Temporal while the drill's history
is retained; the rebuilt bundle also holds the history as history.json.

Examples:
   drillctl evidence export drill-chat-platform-quarterly-6f1c... --out /tmp/audit
   drillctl evidence export drill-chat-platform-quarterly-6f1c... --format tar.gz --out /tmp/audit`,
				Flags: append([]ucli.Flag{
					evidenceDirFlag(),
					&ucli.StringFlag{Name: "out", Value: ".", Usage: "`DIR` to export into"},
					&ucli.StringFlag{Name: "format", Value: "dir", Usage: "dir or tar.gz"},
					&ucli.StringFlag{Name: "signing-key", Usage: "key `FILE` that signs a bundle rebuilt from Temporal"},
					&ucli.StringFlag{Name: "tz", Value: "UTC", Usage: "time zone of a rebuilt bundle's reports"},
				}, connectionFlags()...),
				Action: func(c *ucli.Context) error { return evidenceExport(c, stdio) },
			},
			{
				Name:  "schema",
				Usage: "print the JSON Schema of drill.json (the drill record)",
				Description: `Example:
   drillctl evidence schema > drill.schema.json`,
				Action: func(c *ucli.Context) error {
					s, err := evidence.RecordSchema()
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(stdio.Out, string(s))
					return err
				},
			},
		},
	}
}

func evidenceVerify(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	arg, err := oneArg(c, "BUNDLE|DRILL_ID")
	if err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if p := c.String("pubkey"); p != "" {
		if pub, err = evidence.LoadPublicKey(p); err != nil {
			return exitf(ExitUsage, "--pubkey: %v", err)
		}
	}
	dir, err := bundleDir(c, arg)
	if err != nil {
		return err
	}
	res, err := evidence.Verify(dir, pub)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	if format == "json" {
		if err := writeJSON(stdio.Out, res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintf(stdio.Out, "FAIL  %s\n", p)
		}
		switch res.Signature {
		case evidence.SignatureValid:
			fmt.Fprintf(stdio.Out, "signature valid (key %s)\n", res.PublicKey)
		case evidence.SignatureUnsigned:
			fmt.Fprintln(stdio.Out, "UNSIGNED: nothing proves who wrote the manifest")
		}
		if res.OK {
			fmt.Fprintf(stdio.Out, "ok: %s is intact\n", dir)
		}
	}
	if !res.OK {
		return &ExitError{Code: ExitNotVerified, Err: fmt.Errorf("%s does not verify: %d problem(s)", dir, len(res.Problems))}
	}
	return nil
}

// bundleDir is the bundle arg names: a folder, or a drill id whose bundle is
// in the evidence store (--evidence-dir).
func bundleDir(c *ucli.Context, arg string) (string, error) {
	if info, err := os.Stat(arg); err == nil && info.IsDir() {
		return arg, nil
	}
	store, err := evidenceStore(c)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(arg, `/\`) || strings.HasPrefix(arg, ".") {
		return "", exitf(ExitUsage, "no bundle at %s", arg)
	}
	if info, err := os.Stat(store.Path(arg)); err == nil && info.IsDir() {
		return store.Path(arg), nil
	}
	return "", exitf(ExitUsage, "no bundle at %s, nor a bundle of drill %q in %s (--evidence-dir)", arg, arg, store.Dir)
}

func evidenceExport(c *ucli.Context, stdio IO) error {
	id, err := oneArg(c, "DRILL_ID")
	if err != nil {
		return err
	}
	format := c.String("format")
	if format != "dir" && format != "tar.gz" {
		return exitf(ExitUsage, "--format %q: expected dir or tar.gz", format)
	}
	store, err := evidenceStore(c)
	if err != nil {
		return err
	}
	src := store.Path(id)
	if _, err := os.Stat(filepath.Join(src, evidence.FileManifest)); err != nil {
		// Not in the store: rebuild it from Temporal into a scratch store.
		tmp, err := os.MkdirTemp("", "drillctl-export-")
		if err != nil {
			return exitf(ExitUsage, "export: %v", err)
		}
		defer os.RemoveAll(tmp)
		if err := rebuildBundle(c, id, &evidence.Store{Dir: tmp}); err != nil {
			return exitf(ExitUsage, "export %s: not in the evidence store (%s), and %v", id, store.Dir, err)
		}
		src = filepath.Join(tmp, id)
	}
	if err := os.MkdirAll(c.String("out"), 0o700); err != nil {
		return exitf(ExitUsage, "export: %v", err)
	}
	var dst string
	if format == "dir" {
		dst = filepath.Join(c.String("out"), id)
		err = copyDir(src, dst)
	} else {
		dst = filepath.Join(c.String("out"), id+".tar.gz")
		err = tarGz(src, id, dst)
	}
	if err != nil {
		return exitf(ExitUsage, "export: %v", err)
	}
	fmt.Fprintln(stdio.Out, dst)
	return nil
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
