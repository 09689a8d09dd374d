package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drillctl/drillctl/evidence"
)

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// writeScorecard prints a drill's outcome: status and verdict, every measure
// beside its target, and the steps.
func writeScorecard(w io.Writer, rec *evidence.Record) {
	fmt.Fprintf(w, "\nDrill %s (playbook %s)\n", rec.DrillID, rec.Playbook.Name)
	fmt.Fprintf(w, "  status %s, verdict %s\n", rec.Status, strings.ToUpper(orDash(rec.Verdict)))
	if rec.Reason != "" {
		fmt.Fprintf(w, "  reason: %s", rec.Reason)
		if rec.AbortedBy != "" {
			fmt.Fprintf(w, " (aborted by %s)", rec.AbortedBy)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "  MEASURE\tACHIEVED\tTARGET\tVERDICT\tMARGIN\tRESOLUTION")
	for _, m := range []struct {
		name string
		m    evidence.Measure
	}{{"RTO", rec.Measures.RTO}, {"RPO", rec.Measures.RPO}, {"Response", rec.Measures.Response}} {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", m.name, secondsText(m.m.AchievedSeconds),
			secondsText(m.m.TargetSeconds), m.m.Verdict, secondsText(m.m.MarginSeconds), secondsText(m.m.ResolutionSeconds))
	}
	tw.Flush()
	for _, m := range []struct {
		name string
		m    evidence.Measure
	}{{"RTO", rec.Measures.RTO}, {"RPO", rec.Measures.RPO}, {"Response", rec.Measures.Response}} {
		if m.m.AchievedSeconds == nil && m.m.Note != "" {
			fmt.Fprintf(w, "  %s not measured: %s\n", m.name, m.m.Note)
		}
		if m.m.From != nil && m.m.To != nil {
			fmt.Fprintf(w, "  %s from %s (%s) to %s (%s)\n", m.name, m.m.From.At.Format(time.RFC3339Nano), m.m.From.Step,
				m.m.To.At.Format(time.RFC3339Nano), m.m.To.Step)
		}
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "  STEP\tTYPE\tSTATUS\tATTEMPTS\tTOOK\tNOTE")
	groups := [][]evidence.StepRecord{rec.Steps}
	if anyStarted(rec.Rollback) {
		groups = append(groups, rec.Rollback)
	}
	for _, group := range groups {
		for _, s := range group {
			took := ""
			if s.StartedAt != nil && s.EndedAt != nil {
				took = humanDuration(s.EndedAt.Sub(*s.StartedAt))
			}
			note := s.Error
			if note == "" {
				note = s.Note
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", s.ID, s.Type, s.Status, s.Attempts, took, truncateText(note, 100))
		}
	}
	tw.Flush()
	for _, a := range rec.Approvals {
		word := "go"
		if !a.Approved {
			word = "no-go"
		}
		fmt.Fprintf(w, "  approval %s: %s by %s at %s %s\n", a.Step, word, a.By, a.At.Format(time.RFC3339), a.Comment)
	}
	if rec.Evidence != nil {
		fmt.Fprintf(w, "  evidence: %s\n", rec.Evidence.Path)
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
