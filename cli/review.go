package cli

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/review"
)

func init() { commandGroups = append(commandGroups, reviewCommand) }

// reviewFlags are the flags every review command that writes takes.
func reviewFlags(extra ...ucli.Flag) []ucli.Flag {
	return append([]ucli.Flag{
		evidenceDirFlag(),
		&ucli.StringFlag{Name: "as", Usage: "who makes the change (`NAME`; default: your login)"},
		&ucli.StringFlag{Name: "signing-key", EnvVars: []string{"DRILLCTL_SIGNING_KEY"}, Usage: "ed25519 key `FILE` that signs the review's manifest, as drill bundles (drillctl evidence keygen); without it the review is unsigned"},
		outputFlag(),
	}, extra...)
}

func findingFlags(required bool) []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "title", Required: required, Usage: "what was found, in one line"},
		&ucli.StringFlag{Name: "severity", Required: required, Usage: "critical, high, medium or low"},
		&ucli.StringFlag{Name: "classification", Required: required, Usage: "people, process, technology or third-party"},
		&ucli.StringFlag{Name: "step", Usage: "the step it concerns (`ID`)"},
		&ucli.StringFlag{Name: "measure", Usage: "the measure it concerns: rto, rpo or response"},
		&ucli.StringFlag{Name: "text", Usage: "free text"},
	}
}

func findingInput(c *ucli.Context) review.FindingInput {
	return review.FindingInput{Title: c.String("title"), Severity: c.String("severity"), Classification: c.String("classification"),
		Step: c.String("step"), Measure: c.String("measure"), Text: c.String("text")}
}

func reviewCommand(stdio IO) *ucli.Command {
	amend := func(name, usage, args, desc string, flags []ucli.Flag, change func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error)) *ucli.Command {
		return &ucli.Command{Name: name, Usage: usage, ArgsUsage: args, Description: desc, Flags: reviewFlags(flags...),
			Action: func(c *ucli.Context) error {
				pos, err := nArgs(c, args)
				if err != nil {
					return err
				}
				return reviewUpdate(c, stdio, pos[0], change(c, pos, whoAmI(c), time.Now().UTC()))
			}}
	}
	return &ucli.Command{
		Name:  "review",
		Usage: "the review after a drill: findings, corrective actions, participants, signed sign-off",
		Description: `A review is a signed bundle of its own beside the drill's bundle (never inside it):
<evidence-dir>/<drill-id>.review/v1/, v2/… Each change is a new version naming its
predecessor's manifest digest; versions are never rewritten. drillctl evidence verify
checks a version like a drill bundle, and its sign-offs and links too. Sign-offs are SSH
signatures (namespace drillctl) that ssh-keygen -Y verify checks with the files the
version holds (signoffs/). drillctl report shows open actions and unsigned reviews.

Every command that writes prints the new version; --output json prints
{version, dir, manifestDigest, change, review}. Exit 0 on success, 1 on a usage error
or when someone else wrote a version meanwhile (run the command again).

Examples:
   drillctl review open drill-chat-platform-quarterly-6f1c... --as carol
   drillctl review accept drill-chat-platform-quarterly-6f1c... F1 --severity critical
   drillctl review add-action drill-chat-platform-quarterly-6f1c... --title "Alert on grant drift" --owner alice --due 2026-12-31 --finding F1
   drillctl review sign drill-chat-platform-quarterly-6f1c... --as alice --role dr-coordinator --key ~/.ssh/id_ed25519`,
		Subcommands: []*ucli.Command{
			{
				Name:      "open",
				Usage:     "start the review of a drill: findings proposed from its record, the roster, the sign-off roles",
				ArgsUsage: "DRILL_ID",
				Description: `Proposes findings from drill.json (a missed or unmeasured target, a failed step, an
unknown outcome, a gate opened with no human decision, permission drift, data lost, an
escalation to level 2 or more, assets not ready, pages not delivered) for you to accept
or dismiss, and fills the roster from the record (paged, acknowledged, approved…).
A drill bundle that fails verification is refused.

Example:
   drillctl review open drill-chat-platform-quarterly-6f1c... --as carol --summary "Quarterly failover, Q4"`,
				Flags: reviewFlags(&ucli.StringFlag{Name: "summary", Usage: "the review's summary, in words"},
					&ucli.StringFlag{Name: "pubkey", Usage: "check the drill bundle's signature against this public key `FILE` first"}),
				Action: func(c *ucli.Context) error { return reviewOpen(c, stdio) },
			},
			amend("accept", "accept a proposed finding (optionally changing its title, severity, classification…)", "DRILL_ID FINDING",
				"Example:\n   drillctl review accept drill-chat-platform-quarterly-6f1c... F2 --severity critical --classification process",
				findingFlags(false), func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error) {
					return func(r *review.Review) (string, error) {
						return review.Decide(r, pos[1], true, findingInput(c), "", by, at)
					}
				}),
			amend("dismiss", "dismiss a proposed finding, saying why", "DRILL_ID FINDING",
				"Example:\n   drillctl review dismiss drill-chat-platform-quarterly-6f1c... F3 --reason \"planned: the lab has no pager\"",
				[]ucli.Flag{&ucli.StringFlag{Name: "reason", Required: true, Usage: "why it is not a finding"}},
				func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error) {
					return func(r *review.Review) (string, error) {
						return review.Decide(r, pos[1], false, review.FindingInput{}, c.String("reason"), by, at)
					}
				}),
			amend("add-finding", "add a reviewer's finding", "DRILL_ID",
				"Example:\n   drillctl review add-finding drill-chat-platform-quarterly-6f1c... --title \"Runbook step 4 out of date\" --severity medium --classification process --step failover",
				findingFlags(true), func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error) {
					return func(r *review.Review) (string, error) { return review.AddFinding(r, findingInput(c), by, at) }
				}),
			amend("add-action", "add a corrective action: owner (a contact or participant), due date, ticket", "DRILL_ID",
				"Example:\n   drillctl review add-action drill-chat-platform-quarterly-6f1c... --title \"Alert on grant drift\" --owner alice --due 2026-12-31 --ticket https://jira.example.com/DR-42 --finding F1",
				[]ucli.Flag{&ucli.StringFlag{Name: "title", Required: true, Usage: "what will be done"},
					&ucli.StringFlag{Name: "owner", Required: true, Usage: "who does it (`NAME`: a contact of the playbook or a participant)"},
					&ucli.StringFlag{Name: "due", Required: true, Usage: "due `DATE` (YYYY-MM-DD)"},
					&ucli.StringFlag{Name: "ticket", Usage: "the ticket's `URL`"},
					&ucli.StringFlag{Name: "finding", Usage: "the finding it answers (`ID`)"}},
				func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error) {
					return func(r *review.Review) (string, error) {
						return review.AddAction(r, review.ActionInput{Title: c.String("title"), Owner: c.String("owner"), Due: c.String("due"),
							Ticket: c.String("ticket"), Finding: c.String("finding")}, by, at)
					}
				}),
			amend("close-action", "mark an action done (open → done)", "DRILL_ID ACTION",
				"Example:\n   drillctl review close-action drill-chat-platform-quarterly-6f1c... A1 --as alice --note \"alert live since 2026-12-02\"",
				[]ucli.Flag{&ucli.StringFlag{Name: "note", Usage: "what was done"}},
				func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error) {
					return func(r *review.Review) (string, error) { return review.CloseAction(r, pos[1], c.String("note"), by, at) }
				}),
			{
				Name:      "verify-action",
				Usage:     "record that a later passing drill of the same playbook exercised a done action (done → verified)",
				ArgsUsage: "DRILL_ID ACTION",
				Description: `--drill names the later drill; its bundle must verify, be of the same playbook,
have started after the action was done, and have passed. drillctl report marks such
actions verified even before this is recorded.

Example:
   drillctl review verify-action drill-chat-platform-quarterly-6f1c... A1 --drill drill-chat-platform-quarterly-9a2b...`,
				Flags: reviewFlags(&ucli.StringFlag{Name: "drill", Required: true, Usage: "the later passing drill (`DRILL_ID`)"},
					&ucli.StringFlag{Name: "pubkey", Usage: "check the later drill's signature against this public key `FILE`"}),
				Action: func(c *ucli.Context) error { return reviewVerifyAction(c, stdio) },
			},
			amend("add-participant", "add a person to the roster (present or observer), or give one on it another role", "DRILL_ID",
				"Example:\n   drillctl review add-participant drill-chat-platform-quarterly-6f1c... --name dana --role senior-management --observer",
				[]ucli.Flag{&ucli.StringFlag{Name: "name", Required: true, Usage: "who (`NAME`: a contact id, or a person's name)"},
					&ucli.StringFlag{Name: "role", Required: true, Usage: "their `ROLE` (dr-coordinator, senior-management, independent-reviewer…)"},
					&ucli.BoolFlag{Name: "observer", Usage: "they observed rather than took part"}},
				func(c *ucli.Context, pos []string, by string, at time.Time) func(*review.Review) (string, error) {
					return func(r *review.Review) (string, error) {
						att := review.Present
						if c.Bool("observer") {
							att = review.Observer
						}
						return review.AddParticipant(r, c.String("name"), c.String("role"), att)
					}
				}),
			{
				Name:      "sign",
				Usage:     "sign the review off in a role, with your SSH key",
				ArgsUsage: "DRILL_ID",
				Description: `Signs the review's content digest (findings, action definitions, roster, summary)
as an identity statement, decision signoff, with --key (or the ssh-agent, then
~/.ssh/id_ed25519). In a signed playbook the key must be one of the contact's keys, or
be given to --as by --allowed-signers; in an identity: unverified one the sign-off is
shown as not verified. Findings still proposed must be accepted or dismissed first.
Closing or verifying an action later does not undo a sign-off; amending the content does
(the sign-off is then stale). The version's signoffs/ folder holds what ssh-keygen needs.

Example:
   drillctl review sign drill-chat-platform-quarterly-6f1c... --as alice --role dr-coordinator --key ~/.ssh/id_ed25519
   (cd <evidence-dir>/<drill-id>.review/v5 && ssh-keygen -Y verify -f signoffs/allowed_signers -I alice -n drillctl -s signoffs/01-alice-dr-coordinator.sig < signoffs/01-alice-dr-coordinator.statement)`,
				Flags: reviewFlags(&ucli.StringFlag{Name: "role", Required: true, Usage: "the `ROLE` you sign in (dr-coordinator, senior-management…)"},
					keyFlag(), &ucli.StringFlag{Name: "comment", Usage: "a comment, signed with the rest"},
					&ucli.StringFlag{Name: "allowed-signers", Usage: "an allowed_signers `FILE` giving --as keys the playbook does not"}),
				Action: func(c *ucli.Context) error { return reviewSign(c, stdio) },
			},
			{
				Name:      "show",
				Usage:     "print a drill's review (newest version, or --version), verified",
				ArgsUsage: "DRILL_ID",
				Description: `Prints the review as review.md renders it, after verifying the version (exit 5 when
it fails verification, as drillctl evidence verify).

Examples:
   drillctl review show drill-chat-platform-quarterly-6f1c...
   drillctl review show drill-chat-platform-quarterly-6f1c... --version 1 --output json`,
				Flags: []ucli.Flag{evidenceDirFlag(), outputFlag(), &ucli.IntFlag{Name: "version", Usage: "the version `N` (default: the newest)"},
					&ucli.StringFlag{Name: "pubkey", Usage: "check the review's signature against this public key `FILE`"},
					&ucli.StringFlag{Name: "tz", Value: "UTC", Usage: "time zone of the times shown"}},
				Action: func(c *ucli.Context) error { return reviewShow(c, stdio) },
			},
		},
	}
}

// nArgs checks the positional arguments against usage ("DRILL_ID ACTION").
func nArgs(c *ucli.Context, usage string) ([]string, error) {
	want := strings.Fields(usage)
	if c.NArg() != len(want) {
		return nil, exitf(ExitUsage, "%s: expected %s, got %d arguments", c.Command.FullName(), usage, c.NArg())
	}
	return c.Args().Slice(), nil
}

// reviewKey reads --signing-key, nil when not given.
func reviewKey(c *ucli.Context) (ed25519.PrivateKey, error) {
	p := c.String("signing-key")
	if p == "" {
		return nil, nil
	}
	key, err := evidence.LoadPrivateKey(p)
	if err != nil {
		return nil, exitf(ExitUsage, "--signing-key: %v", err)
	}
	return key, nil
}

// optionalPub reads --pubkey, nil when not given.
func optionalPub(c *ucli.Context) (ed25519.PublicKey, error) {
	p := c.String("pubkey")
	if p == "" {
		return nil, nil
	}
	pub, err := evidence.LoadPublicKey(p)
	if err != nil {
		return nil, exitf(ExitUsage, "--pubkey: %v", err)
	}
	return pub, nil
}

func reviewOpen(c *ucli.Context, stdio IO) error {
	id, err := oneArg(c, "DRILL_ID")
	if err != nil {
		return err
	}
	return reviewWrite(c, stdio, func(store *evidence.Store, key ed25519.PrivateKey) (*review.Saved, error) {
		pub, err := optionalPub(c)
		if err != nil {
			return nil, err
		}
		return review.Open(store, id, review.OpenOptions{By: whoAmI(c), Summary: c.String("summary"), Key: key, Pub: pub})
	})
}

func reviewUpdate(c *ucli.Context, stdio IO, id string, change func(*review.Review) (string, error)) error {
	return reviewWrite(c, stdio, func(store *evidence.Store, key ed25519.PrivateKey) (*review.Saved, error) {
		return review.Update(store, id, whoAmI(c), key, time.Now().UTC(), change)
	})
}

func reviewVerifyAction(c *ucli.Context, stdio IO) error {
	pos, err := nArgs(c, "DRILL_ID ACTION")
	if err != nil {
		return err
	}
	return reviewWrite(c, stdio, func(store *evidence.Store, key ed25519.PrivateKey) (*review.Saved, error) {
		pub, err := optionalPub(c)
		if err != nil {
			return nil, err
		}
		later, err := evidence.ReadBundle(store.Path(c.String("drill")), pub)
		if err != nil {
			return nil, fmt.Errorf("--drill %s: no bundle in %s", c.String("drill"), store.Dir)
		}
		return review.Update(store, pos[0], whoAmI(c), key, time.Now().UTC(), func(r *review.Review) (string, error) {
			return review.VerifyAction(r, pos[1], later, whoAmI(c), time.Now().UTC())
		})
	})
}

func reviewSign(c *ucli.Context, stdio IO) error {
	id, err := oneArg(c, "DRILL_ID")
	if err != nil {
		return err
	}
	as := c.String("as")
	if as == "" {
		return exitf(ExitUsage, "review sign: --as NAME is required: who signs")
	}
	signer, from, err := identity.LoadSigner(c.String("key"))
	if err != nil {
		return exitf(ExitUsage, "review sign: no SSH key to sign with (--key FILE): %v", err)
	}
	var allowed map[string][]ssh.PublicKey
	if p := c.String("allowed-signers"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			return exitf(ExitUsage, "--allowed-signers: %v", err)
		}
		allowed, err = identity.ParseAllowedSigners(f)
		f.Close()
		if err != nil {
			return exitf(ExitUsage, "--allowed-signers %s: %v", p, err)
		}
	}
	if c.String("output") != "json" {
		fmt.Fprintf(stdio.Err, "signing with %s\n", from)
	}
	return reviewUpdate(c, stdio, id, func(r *review.Review) (string, error) {
		return review.Sign(r, signer, review.SignInput{Signer: as, Role: c.String("role"), Comment: c.String("comment"),
			AllowedSigners: allowed, At: time.Now().UTC()})
	})
}

// reviewWrite runs a change that writes a version, and prints it.
func reviewWrite(c *ucli.Context, stdio IO, write func(*evidence.Store, ed25519.PrivateKey) (*review.Saved, error)) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	store, err := evidenceStore(c)
	if err != nil {
		return err
	}
	key, err := reviewKey(c)
	if err != nil {
		return err
	}
	s, err := write(store, key)
	var exit *ExitError
	switch {
	case errors.As(err, &exit):
		return err
	case err != nil:
		return exitf(ExitUsage, "%v", err)
	}
	r := s.Review
	if format == "json" {
		return writeJSON(stdio.Out, map[string]any{"version": r.Version, "dir": s.Dir, "manifestDigest": s.ManifestDigest, "change": r.Change, "review": r})
	}
	fmt.Fprintf(stdio.Out, "%s: v%d written (%s)\n  %s\n  manifest %s\n", r.DrillID, r.Version, r.Change, s.Dir, s.ManifestDigest)
	if key == nil {
		fmt.Fprintln(stdio.Out, "  UNSIGNED: pass --signing-key to sign the review's manifest")
	}
	for _, f := range r.Findings {
		if f.Status == review.FindingProposed {
			fmt.Fprintf(stdio.Out, "  proposed %s [%s, %s] %s\n", f.ID, f.Severity, f.Classification, f.Title)
		}
	}
	if n := r.Proposed(); n > 0 {
		fmt.Fprintf(stdio.Out, "  accept or dismiss each: drillctl review accept|dismiss %s ID\n", r.DrillID)
	}
	if missing := r.MissingRoles(); len(missing) > 0 {
		fmt.Fprintf(stdio.Out, "  sign-off missing: %s\n", strings.Join(missing, ", "))
	}
	return nil
}

func reviewShow(c *ucli.Context, stdio IO) error {
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
	pub, err := optionalPub(c)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(c.String("tz"))
	if err != nil {
		return exitf(ExitUsage, "--tz %q: not a time zone", c.String("tz"))
	}
	dir := ""
	if v := c.Int("version"); v > 0 {
		dir = review.VersionDir(store, id, v)
	} else {
		latest, err := review.Latest(store, id)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		dir = latest.Dir
	}
	res, err := evidence.Verify(dir, pub)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	integrity, problems := evidence.IntegrityOf(res)
	s, err := review.Read(dir)
	if err != nil {
		return &ExitError{Code: ExitNotVerified, Err: fmt.Errorf("%s does not verify: %v", dir, err)}
	}
	if format == "json" {
		err = writeJSON(stdio.Out, map[string]any{"dir": dir, "manifestDigest": s.ManifestDigest, "integrity": integrity, "problems": problems, "review": s.Review})
	} else {
		fmt.Fprintf(stdio.Out, "%s (%s)\n", dir, integrity)
		for _, p := range problems {
			fmt.Fprintf(stdio.Out, "FAIL  %s\n", p)
		}
		_, err = stdio.Out.Write(append([]byte("\n"), review.Markdown(s.Review, loc)...))
	}
	if err != nil {
		return err
	}
	if integrity == evidence.IntegrityFailed {
		return &ExitError{Code: ExitNotVerified, Err: fmt.Errorf("%s does not verify: %d problem(s)", dir, len(problems))}
	}
	return nil
}
