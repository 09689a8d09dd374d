package cli

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/evidence"
)

func init() { commandGroups = append(commandGroups, evidenceCommand) }

// ExitNotVerified is the exit code of `evidence verify` when the evidence
// failed verification (a changed, missing or extra file, a bad or missing
// signature, a drill id that is not its folder's): tampering, told apart
// from a usage error (ExitUsage). See README, "Exit codes".
const ExitNotVerified = 5

// evidenceDirFlag is --evidence-dir, the evidence store read.
func evidenceDirFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "evidence-dir", EnvVars: []string{"DRILLCTL_EVIDENCE_DIR"}, Usage: "the evidence store (default: under the user's data directory)"}
}

// evidenceCommand is `drillctl evidence`: keys, bundles, verification, export.
func evidenceCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "evidence",
		Usage: "sign, verify, list and export drill evidence bundles",
		Description: `Every drill leaves a bundle: drill.json, playbook.yaml, report.md, report.html,
attachments/ (whole step outputs the record keeps truncated), manifest.json
(SHA-256 of every file) and manifest.sig (ed25519). Bundles, keys and exports
are their owner's only: folders 0700, files 0600.

Examples:
   drillctl evidence keygen --to /etc/drillctl
   drillctl evidence verify ~/.local/share/drillctl/evidence/drill-chat-platform-quarterly-6f1c... --pubkey drillctl.pub
   drillctl evidence export drill-chat-platform-quarterly-6f1c... --format tar.gz --to /tmp

Every command that takes a bundle takes its folder or a drill id (looked up
in --evidence-dir).`,
		Subcommands: []*ucli.Command{
			{
				Name:  "keygen",
				Usage: "create an ed25519 signing key pair: drillctl.key and drillctl.pub (both 0600)",
				Description: `Give drillctl.key to the workers (--signing-key) and drillctl.pub to auditors.

Example:
   drillctl evidence keygen --to /etc/drillctl`,
				Flags: []ucli.Flag{toFlag("`DIR` to write the keys into", ""), hiddenAlias("out"), outputFlag()},
				Action: func(c *ucli.Context) error {
					format, err := outputFormat(c)
					if err != nil {
						return err
					}
					if err := requireOneOf(c, "to", "out"); err != nil {
						return err
					}
					priv, pub, err := evidence.GenerateKey(stringOf(c, "to", "out"))
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
				ArgsUsage: "BUNDLE|DRILL_ID",
				Description: `Give a bundle's folder, or a drill id to show its bundle in the evidence store.

Examples:
   drillctl evidence show drill-chat-platform-quarterly-6f1c... --output json
   drillctl evidence show ./audit/drill-chat-platform-quarterly-6f1c...`,
				Flags: []ucli.Flag{evidenceDirFlag(), outputFlag()},
				Action: func(c *ucli.Context) error {
					format, err := outputFormat(c)
					if err != nil {
						return err
					}
					arg, err := oneArg(c, "BUNDLE|DRILL_ID")
					if err != nil {
						return err
					}
					dir, err := bundleDir(c, arg)
					if err != nil {
						return err
					}
					rec, err := evidence.ReadRecord(dir)
					if err != nil {
						return exitf(ExitUsage, "%s is not a readable bundle: %v", dir, err)
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
				ArgsUsage: "BUNDLE|DRILL_ID",
				Description: `Copies a bundle (its folder, or a drill id's bundle in the evidence store) into
--to DIR, as a folder or a .tar.gz. A bundle missing from the store is rebuilt
from Temporal while the drill's history is retained; the rebuilt bundle also
holds the history as history.json. --output json prints {drillId, path,
format, rebuilt}.

Examples:
   drillctl evidence export drill-chat-platform-quarterly-6f1c... --to /tmp/audit
   drillctl evidence export drill-chat-platform-quarterly-6f1c... --format tar.gz --to /tmp/audit --output json`,
				Flags: append([]ucli.Flag{
					evidenceDirFlag(),
					toFlag("`DIR` to export into", "."),
					hiddenAlias("out"),
					&ucli.StringFlag{Name: "format", Value: "dir", Usage: "dir or tar.gz"},
					&ucli.StringFlag{Name: "signing-key", Usage: "key `FILE` that signs a bundle rebuilt from Temporal"},
					&ucli.StringFlag{Name: "tz", Value: "UTC", Usage: "time zone of a rebuilt bundle's reports"},
					outputFlag(),
				}, connectionFlags()...),
				Action: func(c *ucli.Context) error { return evidenceExport(c, stdio) },
			},
			{
				Name:  "schema",
				Usage: "print the JSON Schema of drill.json (the drill record)",
				Description: `The schema is JSON: --output takes json only (every evidence command has --output).

Example:
   drillctl evidence schema > drill.schema.json`,
				Flags: []ucli.Flag{outputFlag("json")},
				Action: func(c *ucli.Context) error {
					if _, err := outputFormat(c, "json"); err != nil {
						return err
					}
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

// evidenceVerify checks a bundle and exits 5 when it does not verify.
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
