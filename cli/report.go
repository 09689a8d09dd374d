package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/drillctl/drillctl/evidence"
)

func init() { commandGroups = append(commandGroups, reportCommand) }

func reportCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "report",
		Usage: "a quarter's compliance summary: drills run, verdicts, measures, and playbooks not drilled",
		Description: `Reads the evidence store. Every playbook the store has seen, and every playbook
file in --playbooks, is listed; those with no drill in the quarter are named.

Examples:
   drillctl report --quarter 2026Q4
   drillctl report --quarter 2026Q4 --playbooks playbooks/ --output html > 2026Q4.html
   drillctl report --quarter 2026Q4 --tz Asia/Hong_Kong --output json
   drillctl report --quarter 2026Q4 --lang zh-HK --output pdf > 2026Q4.pdf

--output pdf prints the HTML report on A4 with headless Chromium (Debian's
chromium on PATH, $DRILLCTL_CHROMIUM, or --chromium). --lang changes the words,
dates and durations of md, html and pdf; json stays English.`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "quarter", Required: true, Usage: "the quarter, `YYYYQn` (2026Q4)"},
			evidenceDirFlag(),
			&ucli.StringFlag{Name: "playbooks", Usage: "a `DIR` of playbooks that should have been drilled"},
			&ucli.StringFlag{Name: "tz", Value: "UTC", Usage: "time zone of the quarter's bounds and of the times shown"},
			outputFlag("md", "html", "json", "pdf"),
			langFlag(),
			&ucli.StringFlag{Name: "chromium", EnvVars: []string{"DRILLCTL_CHROMIUM"}, Usage: "the headless Chromium that prints --output pdf (`PATH`; default: chromium on PATH)"},
		},
		Action: func(c *ucli.Context) error {
			format, err := outputFormat(c, "md", "html", "json", "pdf")
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
			q, err := evidence.ParseQuarter(c.String("quarter"), loc)
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			store, err := evidenceStore(c)
			if err != nil {
				return err
			}
			recs, err := store.List()
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			known, err := playbookNames(c.String("playbooks"))
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			r := evidence.BuildQuarterReport(q, recs, known)
			var out []byte
			opts := evidence.RenderOptions{Lang: lang.String(), TZ: loc, Chromium: c.String("chromium")}
			switch format {
			case "json":
				return writeJSON(stdio.Out, r)
			case "html":
				out, err = r.Render(evidence.QuarterHTML, opts)
			case "pdf":
				if out, err = r.Render(evidence.QuarterHTML, opts); err == nil {
					out, err = evidence.PrintPDF(c.Context, out, opts)
				}
				if err != nil {
					return exitf(ExitUsage, "--output pdf: %v", err)
				}
			default:
				out, err = r.Render(evidence.QuarterMarkdown, opts)
			}
			if err != nil {
				return err
			}
			_, err = stdio.Out.Write(out)
			return err
		},
	}
}

// playbookNames reads metadata.name of every playbook file in dir.
func playbookNames(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	var names []string
	for _, pattern := range []string{"*.yaml", "*.yml", "*/*.yaml", "*/*.yml"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var doc struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if yaml.Unmarshal(b, &doc) != nil || doc.Kind != "Playbook" || doc.Metadata.Name == "" {
				continue
			}
			names = append(names, doc.Metadata.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("--playbooks %s: no playbook found", dir)
	}
	return names, nil
}
