package cli

import (
	"crypto/ed25519"
	"fmt"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/review"
)

func init() { commandGroups = append(commandGroups, reportCommand) }

func reportCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "report",
		Usage: "the register: per playbook verified, needs-verification, overdue or never-drilled; actions, reviews, downtime",
		Description: `Reads and verifies every bundle and review of the evidence store and states, per
playbook (every playbook the store has seen, and every file in --playbooks):

   verified            its last drill passed, on the playbook as it is now, within its frequency
   needs-verification  it changed since its last passing drill (digests differ), or its last
                       drill failed, missed a target, or fails verification
   overdue             no passing drill within metadata.frequency (monthly, quarterly, yearly)
   never-drilled       no drill that exercised it

with the reason. Failed, aborted, refused, dry-run and rehearsal drills are listed but
never count; a bundle that fails verification (or whose drill.json is broken) is shown as
such, never counted. Every drill carries its playbook digest and its bundle's manifest
digest. Also: the corrective actions of reviews (open, overdue, done, and verified when a
later passing drill of the same playbook exists), the reviews of the period's drills
(signed, unsigned, missing, overdue past --review-within), and each playbook's
availability budget (targets.availability, per year) against the outages its drills
caused, priced with metadata.downtimeCostPerMinute.

The period is the current quarter unless --quarter, --year or --since says otherwise;
states are judged now, or at the period's end when it is past.

Examples:
   drillctl report
   drillctl report --quarter 2026Q4 --playbooks playbooks/ --pubkey drillctl.pub
   drillctl report --year 2026 --playbooks playbooks/ --output html > 2026.html
   drillctl report --since 2026-07-01 --review-within 7d --output text
   drillctl report --quarter 2026Q4 --tz Asia/Hong_Kong --output json
   drillctl report --quarter 2026Q4 --lang zh-HK --output pdf > 2026Q4.pdf
   drillctl report --schema > register.schema.json

--output pdf prints the HTML report on A4 with headless Chromium (Debian's chromium on
PATH, $DRILLCTL_CHROMIUM, or --chromium). --lang changes the dates, durations and the
words the catalogs hold of md, html and pdf; json stays English. Exit 0 when the register
was written, 1 on a usage error (a playbook in --playbooks that does not validate is one).`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "quarter", Usage: "the quarter, `YYYYQn` (2026Q4; default: the current one)"},
			&ucli.StringFlag{Name: "year", Usage: "a calendar year, `YYYY`"},
			&ucli.StringFlag{Name: "since", Usage: "from a `DATE` (YYYY-MM-DD) until now"},
			evidenceDirFlag(),
			&ucli.StringFlag{Name: "playbooks", Usage: "a `DIR` of the playbook files as they are now (changes since a passing drill are seen only with it)"},
			&ucli.StringFlag{Name: "pubkey", Usage: "the evidence signer's public key `FILE`: every bundle's signature is checked against it"},
			&ucli.StringFlag{Name: "review-within", Value: "14d", Usage: "how long after a drill its review may be missing (`DURATION`: 14d, 72h)"},
			&ucli.StringFlag{Name: "tz", Value: "UTC", Usage: "time zone of the period's bounds and of the times shown"},
			outputFlag("md", "text", "html", "json", "pdf"),
			langFlag(),
			&ucli.StringFlag{Name: "chromium", EnvVars: []string{"DRILLCTL_CHROMIUM"}, Usage: "the headless Chromium that prints --output pdf (`PATH`; default: chromium on PATH)"},
			&ucli.BoolFlag{Name: "schema", Usage: "print the JSON Schema of --output json and exit"},
		},
		Action: func(c *ucli.Context) error {
			if c.Bool("schema") {
				s, err := evidence.RegisterSchema()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(stdio.Out, string(s))
				return err
			}
			format, err := outputFormat(c, "md", "text", "html", "json", "pdf")
			if err != nil {
				return err
			}
			lang, err := langOf(c)
			if err != nil {
				return err
			}
			loc, err := time.LoadLocation(c.String("tz"))
			if err != nil {
				return exitf(ExitUsage, "--tz %q: not a time zone", c.String("tz"))
			}
			now := time.Now()
			period, err := reportPeriod(c, now, loc)
			if err != nil {
				return err
			}
			within, err := playbooks.ParseDuration(c.String("review-within"))
			if err != nil {
				return exitf(ExitUsage, "--review-within: %v", err)
			}
			var pub ed25519.PublicKey
			if p := c.String("pubkey"); p != "" {
				if pub, err = evidence.LoadPublicKey(p); err != nil {
					return exitf(ExitUsage, "--pubkey: %v", err)
				}
			}
			store, err := evidenceStore(c)
			if err != nil {
				return err
			}
			current, err := review.LoadPlaybooks(c.String("playbooks"))
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			reg, err := review.BuildRegister(review.RegisterOptions{Store: store, Period: period, Now: now, Playbooks: current,
				Pub: pub, ReviewWithin: within.D()})
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			opts := evidence.RenderOptions{Lang: lang.String(), TZ: loc, Chromium: c.String("chromium")}
			var out []byte
			switch format {
			case "json":
				return writeJSON(stdio.Out, reg)
			case "pdf":
				if out, err = reg.Render(evidence.RegisterHTML, opts); err == nil {
					out, err = evidence.PrintPDF(c.Context, out, opts)
				}
				if err != nil {
					return exitf(ExitUsage, "--output pdf: %v", err)
				}
			default:
				if out, err = reg.Render(format, opts); err != nil {
					return err
				}
			}
			_, err = stdio.Out.Write(out)
			return err
		},
	}
}

// reportPeriod is the period --quarter, --year or --since names (at most
// one), or the current quarter.
func reportPeriod(c *ucli.Context, now time.Time, loc *time.Location) (evidence.Period, error) {
	set := 0
	for _, f := range []string{"quarter", "year", "since"} {
		if c.String(f) != "" {
			set++
		}
	}
	if set > 1 {
		return evidence.Period{}, exitf(ExitUsage, "give one of --quarter, --year and --since")
	}
	var p evidence.Period
	var err error
	switch {
	case c.String("quarter") != "":
		var q evidence.Quarter
		if q, err = evidence.ParseQuarter(c.String("quarter"), loc); err == nil {
			p = q.Period()
		}
	case c.String("year") != "":
		p, err = evidence.ParseYear(c.String("year"), loc)
	case c.String("since") != "":
		p, err = evidence.ParseSince(c.String("since"), now, loc)
	default:
		p = evidence.QuarterOf(now, loc).Period()
	}
	if err != nil {
		return evidence.Period{}, exitf(ExitUsage, "%v", err)
	}
	return p, nil
}
