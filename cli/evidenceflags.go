package cli

import (
	"fmt"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/i18n"
	"github.com/drillctl/drillctl/worker"
)

// evidenceFlags are the flags of the commands that run a worker: where
// evidence goes, how it is signed, which zone reports use.
func evidenceFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "evidence-dir", EnvVars: []string{"DRILLCTL_EVIDENCE_DIR"}, Usage: "where evidence bundles are written (default: under the user's data directory)", Category: "Evidence"},
		&ucli.StringFlag{Name: "signing-key", EnvVars: []string{"DRILLCTL_SIGNING_KEY"}, Usage: "ed25519 key `FILE` that signs evidence (drillctl evidence keygen); without it bundles are unsigned", Category: "Evidence"},
		&ucli.StringFlag{Name: "tz", Value: "UTC", Usage: "time zone reports render instants in", Category: "Evidence"},
		&ucli.StringFlag{Name: "report-lang", Value: "en", EnvVars: []string{"DRILLCTL_REPORT_LANG"}, Usage: "language of the bundles' reports: en, zh-Hans, zh-Hant-HK, vi or ar (drill.json stays English)", Category: "Evidence"},
		&ucli.StringFlag{Name: "company", EnvVars: []string{"DRILLCTL_COMPANY"}, Usage: "company `NAME` on the cover of report.html and report.pdf", Category: "Evidence"},
		&ucli.StringFlag{Name: "logo", EnvVars: []string{"DRILLCTL_LOGO"}, Usage: "logo `FILE` (PNG, JPEG or SVG) on the reports' cover", Category: "Evidence"},
		&ucli.StringFlag{Name: "chromium", EnvVars: []string{"DRILLCTL_CHROMIUM"}, Usage: "headless Chromium that prints report.pdf (`PATH`, or off; default: chromium on PATH)", Category: "Evidence"},
	}
}

// evidenceStore is the store named by --evidence-dir, or the default one.
func evidenceStore(c *ucli.Context) (*evidence.Store, error) {
	dir := c.String("evidence-dir")
	if dir == "" {
		def, err := evidence.DefaultDir()
		if err != nil {
			return nil, exitf(ExitUsage, "%v (pass --evidence-dir)", err)
		}
		dir = def
	}
	return &evidence.Store{Dir: dir}, nil
}

// workerActivities builds the activities a worker runs, with the evidence
// flags applied.
func workerActivities(c *ucli.Context) (*worker.Settings, error) {
	acts := &worker.Settings{}
	store, err := evidenceStore(c)
	if err != nil {
		return nil, err
	}
	acts.Evidence = store
	if path := c.String("signing-key"); path != "" {
		key, err := evidence.LoadPrivateKey(path)
		if err != nil {
			return nil, exitf(ExitUsage, "--signing-key: %v", err)
		}
		acts.SigningKey = key
	}
	loc, err := time.LoadLocation(c.String("tz"))
	if err != nil {
		return nil, exitf(ExitUsage, "--tz %q: not a time zone (try Asia/Hong_Kong, Europe/London, UTC)", c.String("tz"))
	}
	acts.ReportTZ = loc
	acts.Report.Lang, acts.Report.Company, acts.Report.Chromium = c.String("report-lang"), c.String("company"), c.String("chromium")
	if _, err := i18n.Parse(acts.Report.Lang); err != nil {
		return nil, exitf(ExitUsage, "--report-lang: %v", err)
	}
	if path := c.String("logo"); path != "" {
		if acts.Report.Logo, err = os.ReadFile(path); err != nil {
			return nil, exitf(ExitUsage, "--logo: %v", err)
		}
	}
	return acts, nil
}

// signingNote says where evidence goes and whether it is signed.
func signingNote(acts *worker.Settings) string {
	signed := "UNSIGNED (pass --signing-key; create one with drillctl evidence keygen)"
	if acts.SigningKey != nil {
		signed = "signed"
	}
	return fmt.Sprintf("%s, %s", acts.Evidence.Dir, signed)
}
