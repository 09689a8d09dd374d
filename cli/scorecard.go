package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/i18n"
)

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// langFlag is the --lang flag of the commands that print or render a
// drill for people; the record itself stays English.
func langFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "lang", Value: "en", EnvVars: []string{"DRILLCTL_LANG"},
		Usage: "language of the report: `LANG` en, zh-Hans, zh-Hant-HK, vi or ar (zh-HK, zh-TW and zh-CN are understood)"}
}

// langOf reads --lang, or a usage error naming the languages.
func langOf(c *ucli.Context) (i18n.Locale, error) {
	l, err := i18n.Parse(c.String("lang"))
	if err != nil {
		return i18n.Locale{}, exitf(ExitUsage, "--lang: %v", err)
	}
	return l, nil
}

// writeScorecard prints a drill's outcome in English.
func writeScorecard(w io.Writer, rec *evidence.Record) { writeScorecardIn(w, rec, i18n.Match("en")) }

// writeScorecardIn prints a drill's outcome in a language: status and
// verdict, every measure beside its target, data integrity, and the steps.
func writeScorecardIn(w io.Writer, rec *evidence.Record, l i18n.Locale) {
	verdict := func(v string) string {
		if v == "" {
			return "-"
		}
		if t := l.T("verdict." + v); t != "verdict."+v {
			return t
		}
		return v
	}
	status := func(s string) string {
		if t := l.T("drill." + s); t != "drill."+s {
			return t
		}
		return s
	}
	secs := func(s *float64) string {
		if s == nil {
			return "-"
		}
		return l.Duration(time.Duration(*s * float64(time.Second)))
	}
	fmt.Fprintf(w, "\n%s\n", l.T("scorecard.drill", rec.DrillID, rec.Playbook.Name))
	fmt.Fprintf(w, "  %s\n", l.T("scorecard.outcome", status(rec.Status), strings.ToUpper(verdict(rec.Verdict))))
	if rec.Reason != "" {
		fmt.Fprintf(w, "  %s", l.T("scorecard.reason", rec.Reason))
		if rec.AbortedBy != "" {
			fmt.Fprintf(w, " %s", l.T("scorecard.abortedBy", rec.AbortedBy))
		}
		fmt.Fprintln(w)
	}
	if rec.VerdictNote != "" {
		fmt.Fprintf(w, "  %s\n", rec.VerdictNote)
	}
	fmt.Fprintln(w)
	measures := []struct {
		name string
		m    evidence.Measure
	}{{"RTO", rec.Measures.RTO}, {"RPO", rec.Measures.RPO}, {l.T("measure.response"), rec.Measures.Response}}
	if l.String() == "en" {
		measures[2].name = "Response"
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "  %s\n", strings.ToUpper(strings.Join([]string{l.T("col.measure"), l.T("col.achieved"), l.T("col.target"),
		l.T("col.verdict"), l.T("col.margin"), l.T("col.resolution")}, "\t")))
	for _, m := range measures {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", m.name, secs(m.m.AchievedSeconds),
			secs(m.m.TargetSeconds), verdict(m.m.Verdict), secs(m.m.MarginSeconds), secs(m.m.ResolutionSeconds))
	}
	tw.Flush()
	for _, m := range measures {
		if m.m.AchievedSeconds == nil && m.m.Note != "" {
			fmt.Fprintf(w, "  %s\n", l.T("scorecard.notMeasured", m.name, m.m.Note))
		}
		if m.m.From != nil && m.m.To != nil {
			fmt.Fprintf(w, "  %s\n", l.T("scorecard.fromTo", m.name, m.m.From.At.Format(time.RFC3339Nano), m.m.From.Step,
				m.m.To.At.Format(time.RFC3339Nano), m.m.To.Step))
		}
	}
	if lines := evidence.Integrity(*rec, evidence.RenderOptions{Lang: l.String()}); len(lines) > 0 {
		fmt.Fprintln(w)
		for _, line := range lines {
			fmt.Fprintf(w, "  %s\n", l.T("scorecard.integrity", line.Step, line.Compare, line.Verdict))
			for _, f := range line.Figures {
				fmt.Fprintf(w, "    %s\n", truncateText(i18n.StripIsolates(f), 160))
			}
		}
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintf(tw, "  %s\n", strings.ToUpper(strings.Join([]string{l.T("col.step"), l.T("col.type"), l.T("col.status"),
		l.T("col.attempts"), l.T("col.took"), l.T("scorecard.note")}, "\t")))
	groups := [][]evidence.StepRecord{rec.Steps}
	if anyStarted(rec.Rollback) {
		groups = append(groups, rec.Rollback)
	}
	for _, group := range groups {
		for _, s := range group {
			took := ""
			if s.StartedAt != nil && s.EndedAt != nil {
				took = l.Duration(s.EndedAt.Sub(*s.StartedAt))
			}
			note := s.Error
			if note == "" {
				note = s.Note
			}
			st := s.Status
			if t := l.T("status." + s.Status); t != "status."+s.Status {
				st = t
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", s.ID, s.Type, st, s.Attempts, took, truncateText(note, 100))
		}
	}
	tw.Flush()
	for _, a := range rec.Approvals {
		word := l.T("scorecard.go")
		if !a.Approved {
			word = l.T("scorecard.noGo")
		}
		by := a.By
		if a.Auto {
			by = l.T("decision.nobody")
		}
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(l.T("scorecard.approval", a.Step, word, by, a.At.Format(time.RFC3339), a.Comment)))
	}
	if rec.Evidence != nil {
		fmt.Fprintf(w, "  %s\n", l.T("scorecard.evidence", rec.Evidence.Path))
	}
}

// secondsText renders a figure in seconds as a duration, or "-".
func secondsText(s *float64) string {
	if s == nil {
		return "-"
	}
	return humanDuration(time.Duration(*s * float64(time.Second)))
}

// humanDuration rounds a duration for people: 812.4s → 13m32.4s.
func humanDuration(d time.Duration) string { return evidence.HumanDuration(d) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncateText(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
