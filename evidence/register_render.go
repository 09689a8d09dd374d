package evidence

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Register formats Render writes (and json, which is the Register itself).
const (
	RegisterText     = "text"
	RegisterMarkdown = "md"
	RegisterHTML     = "html"
)

// registerView is a Register with its texts in one language: dates,
// durations, numbers and the words the catalogs have (i18n) follow
// opts.Lang; the register's own words are English until the catalogs
// carry them.
type registerView struct {
	R                       *Register
	Lang, Dir, Title, Range string
	AsOf, Key               string
	Summary                 [][2]string
	Playbooks               []playbookView
	Actions                 [][]string
	Reviews                 [][]string
	Untrusted               [][]string
	NotExercised            [][2]string
	NotExercisedHead        string
	DrillHead, ActionHead   []string
	ReviewHead, BudgetHead  []string
}

type playbookView struct {
	Name, State, StateCls, Reason, Digest, Frequency, LastDrill, LastPassing, NextDue string
	Reasons                                                                           []string
	Drills                                                                            [][]string
	DrillCls                                                                          []string
	Budget                                                                            []string
}

func (reg *Register) view(opts RenderOptions) registerView {
	rr := newRenderer(Record{}, opts)
	l, loc := rr.l, reg.From.Location()
	at := func(t time.Time) string { return l.LTR(l.DateTime(t, loc)) }
	day := func(t time.Time) string { return l.LTR(l.Date(t, loc)) }
	pair := func(m Measure) string { return rr.secs(m.AchievedSeconds) + " (" + rr.secs(m.TargetSeconds) + ")" }
	dur := func(s float64) string {
		return l.Iso(l.Duration(time.Duration(s * float64(time.Second)).Round(time.Second)))
	}
	v := registerView{R: reg, Lang: l.String(), Dir: l.Dir(), Title: "DR register — " + reg.Period,
		Range: l.T("quarter.range", day(reg.From), day(reg.To), l.Zone(loc, reg.From)), AsOf: at(reg.AsOf),
		Key:              "signatures checked against the key each manifest names (no --pubkey)",
		DrillHead:        []string{l.T("quarter.drill"), l.T("col.started"), "Outcome", "Counts", "RTO (" + l.T("col.target") + ")", "RPO (" + l.T("col.target") + ")", "Response (" + l.T("col.target") + ")", "Playbook digest", "Manifest digest", "Integrity", "Review"},
		ActionHead:       []string{"Action", l.T("quarter.drill"), "Playbook", l.T("col.owner"), "Due", l.T("col.status"), "Ticket"},
		ReviewHead:       []string{l.T("quarter.drill"), "Playbook", "Review", l.T("col.reason"), "Sign-offs", "Due"},
		NotExercisedHead: "Not exercised in the period"}
	if strings.Contains(reg.Period, "Q") {
		v.NotExercisedHead = l.T("quarter.notDrilled")
	}
	if reg.PublicKey != "" {
		v.Key = "signatures checked with " + reg.PublicKey
	}
	s := reg.Summary
	v.Summary = [][2]string{{"Playbooks", l.Int(s.Playbooks)}, {StateVerified, l.Int(s.Verified)}, {StateNeedsVerification, l.Int(s.NeedsVerification)},
		{StateOverdue, l.Int(s.Overdue)}, {StateNeverDrilled, l.Int(s.NeverDrilled)}, {"drills in the period", l.Int(s.Drills)},
		{"drills that count", l.Int(s.Exercising)}, {"open actions", l.Int(s.OpenActions)}, {"overdue actions", l.Int(s.OverdueActions)},
		{"actions done, not verified", l.Int(s.DoneActions)}, {"unsigned reviews", l.Int(s.UnsignedReviews)},
		{"missing reviews", l.Int(s.MissingReviews)}, {"overdue reviews", l.Int(s.OverdueReviews)}, {"bundles failing verification", l.Int(s.UntrustedBundles)}}
	drillRef := func(d *RegisterDrill) string {
		if d == nil {
			return "—"
		}
		return day(d.StartedAt) + " " + l.LTR(d.DrillID) + " (" + d.Outcome + ")"
	}
	for _, p := range reg.Playbooks {
		pv := playbookView{Name: p.Name, State: p.State, StateCls: p.State, Reason: p.Reason, Reasons: p.Reasons, Digest: p.Digest,
			Frequency: p.Frequency, LastDrill: drillRef(p.LastDrill), LastPassing: drillRef(p.LastPassing)}
		if pv.Digest == "" {
			pv.Digest = "—"
		}
		if p.NextDue != nil {
			pv.NextDue = day(*p.NextDue)
		}
		for _, d := range p.Drills {
			counts := "yes"
			if !d.Exercised {
				counts = "no: " + d.Why
			}
			pv.Drills = append(pv.Drills, []string{d.DrillID, at(d.StartedAt), d.Outcome, counts, pair(d.RTO), pair(d.RPO), pair(d.Response),
				d.PlaybookDigest, d.ManifestDigest, d.Integrity, d.Review})
			cls := "met"
			if !d.Exercised {
				cls = "missed"
			}
			pv.DrillCls = append(pv.DrillCls, cls)
		}
		if b := p.Availability; b != nil {
			line := fmt.Sprintf("Availability %s: %d allows %s of downtime; drills caused %s this year (%s in the period): %s%% used, %s left",
				b.Target, b.Year, dur(b.BudgetSeconds), dur(b.YearSeconds), dur(b.PeriodSeconds), l.Decimal(b.UsedPercent, 2), dur(b.RemainingSeconds))
			if b.Estimated {
				line += " (some outages estimated: restoration not seen)"
			}
			pv.Budget = append(pv.Budget, line)
			if b.CostPerMinute != nil {
				pv.Budget = append(pv.Budget, fmt.Sprintf("Downtime cost at %s a minute: %s this year, %s in the period",
					l.Decimal(*b.CostPerMinute, 2), l.Decimal(*b.YearCost, 2), l.Decimal(*b.PeriodCost, 2)))
			}
		}
		v.Playbooks = append(v.Playbooks, pv)
		if p.State != StateVerified || !anyExercised(p.Drills) {
			v.NotExercised = append(v.NotExercised, [2]string{p.Name, p.State + ": " + p.Reason})
		}
	}
	for _, a := range reg.Actions {
		state := a.State
		switch {
		case a.Overdue:
			state = "OVERDUE (open)"
		case a.State == "verified" && a.Recorded:
			state = "verified by " + a.VerifiedBy
		case a.State == "verified":
			state = "verified by " + a.VerifiedBy + " (found by the register: record it with drillctl review verify-action)"
		}
		v.Actions = append(v.Actions, []string{a.ID + " " + a.Title, a.DrillID, a.Playbook, a.Owner, a.Due, state, a.Ticket})
	}
	for _, r := range reg.Reviews {
		var signs []string
		for _, s := range r.Signoffs {
			signs = append(signs, s.Signer+" as "+s.Role+" ("+s.Status+")")
		}
		v.Reviews = append(v.Reviews, []string{r.DrillID, r.Playbook, r.State, r.Reason, strings.Join(signs, ", "), day(r.Due)})
	}
	for _, d := range reg.Untrusted {
		v.Untrusted = append(v.Untrusted, []string{d.DrillID, d.Playbook, d.Bundle, d.ManifestDigest, strings.Join(d.Problems, "; ")})
	}
	return v
}

func anyExercised(ds []RegisterDrill) bool {
	for _, d := range ds {
		if d.Exercised {
			return true
		}
	}
	return false
}

// Render renders the register as text (a terminal), Markdown or HTML, in
// opts.Lang; JSON is the Register itself.
func (reg *Register) Render(format string, opts RenderOptions) ([]byte, error) {
	v := reg.view(opts)
	switch format {
	case RegisterText:
		return v.text(), nil
	case RegisterMarkdown:
		return v.markdown(), nil
	case RegisterHTML:
		return v.html()
	}
	return nil, fmt.Errorf("register: format %q: expected %s, %s or %s", format, RegisterText, RegisterMarkdown, RegisterHTML)
}

func (v registerView) markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	row := func(cells []string) { p("| %s |\n", strings.Join(mapCells(cells), " | ")) }
	head := func(cells []string) { row(cells); p("|%s\n", strings.Repeat(" --- |", len(cells))) }
	p("# %s\n\n%s As of %s; %s.\n\n", v.Title, v.Range, v.AsOf, v.Key)
	head([]string{"Summary", ""})
	for _, s := range v.Summary {
		row([]string{s[0], s[1]})
	}
	p("\n| Playbook | State | Why | Last drill | Last passing drill | Digest now |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, pb := range v.Playbooks {
		row([]string{"**" + pb.Name + "**", pb.State, pb.Reason, pb.LastDrill, pb.LastPassing, pb.Digest})
	}
	for _, pb := range v.Playbooks {
		p("\n## %s\n\n**%s**", pb.Name, pb.State)
		if pb.Frequency != "" {
			p(" — frequency %s", pb.Frequency)
		}
		if pb.NextDue != "" {
			p(", next passing drill due by %s", pb.NextDue)
		}
		p("\n\n")
		for _, r := range pb.Reasons {
			p("- %s\n", mdCell(r))
		}
		for _, line := range pb.Budget {
			p("- %s\n", line)
		}
		if len(pb.Drills) == 0 {
			p("\nNo drill in the period.\n")
			continue
		}
		p("\n")
		head(v.DrillHead)
		for _, d := range pb.Drills {
			row(d)
		}
	}
	p("\n## Corrective actions\n\n")
	table(&b, v.ActionHead, v.Actions, "No corrective action.")
	p("\n## Reviews\n\n")
	table(&b, v.ReviewHead, v.Reviews, "No drill of the period needs a review.")
	p("\n## Bundles that fail verification\n\n")
	table(&b, []string{v.DrillHead[0], "Playbook", "Bundle", "Manifest digest", "Problems"}, v.Untrusted, "None: every bundle read verifies.")
	p("\n## %s\n", v.NotExercisedHead)
	for _, n := range v.NotExercised {
		p("\n- **%s** — %s", n[0], mdCell(n[1]))
	}
	if len(v.NotExercised) == 0 {
		p("\nEvery playbook was exercised and is verified.")
	}
	p("\n")
	for _, n := range v.R.Notes {
		p("\nNote: %s.\n", n)
	}
	return b.Bytes()
}

func mapCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdCell(c)
	}
	return out
}

// table writes a Markdown table, or none when there are no rows.
func table(b *bytes.Buffer, head []string, rows [][]string, none string) {
	if len(rows) == 0 {
		fmt.Fprintf(b, "%s\n", none)
		return
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(mapCells(head), " | "), strings.Repeat(" --- |", len(head)))
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(mapCells(r), " | "))
	}
}

func (v registerView) text() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s As of %s; %s.\n\n", v.Title, v.Range, v.AsOf, v.Key)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAYBOOK\tSTATE\tLAST DRILL\tLAST PASSING")
	for _, pb := range v.Playbooks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", pb.Name, strings.ToUpper(pb.State), pb.LastDrill, pb.LastPassing)
	}
	tw.Flush()
	for _, pb := range v.Playbooks {
		fmt.Fprintf(&b, "\n%s: %s\n", pb.Name, pb.State)
		for _, r := range pb.Reasons {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
		if pb.Digest != "—" {
			fmt.Fprintf(&b, "  digest now %s\n", pb.Digest)
		}
		for _, line := range pb.Budget {
			fmt.Fprintf(&b, "  %s\n", line)
		}
		for _, d := range pb.Drills {
			fmt.Fprintf(&b, "  %s  %s  %s  counts: %s\n    playbook %s  manifest %s  %s", d[0], d[1], d[2], d[3], d[7], d[8], d[9])
			if d[10] != "" {
				fmt.Fprintf(&b, "  review %s", d[10])
			}
			fmt.Fprintln(&b)
		}
	}
	section := func(title string, rows [][]string, none string) {
		fmt.Fprintf(&b, "\n%s\n", title)
		if len(rows) == 0 {
			fmt.Fprintf(&b, "  %s\n", none)
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "  %s\n", strings.Join(nonEmpty(r), "  "))
		}
	}
	section("CORRECTIVE ACTIONS", v.Actions, "none")
	section("REVIEWS", v.Reviews, "no drill of the period needs a review")
	section("BUNDLES THAT FAIL VERIFICATION", v.Untrusted, "none")
	fmt.Fprintln(&b)
	for _, s := range v.Summary {
		fmt.Fprintf(&b, "%s: %s; ", s[0], s[1])
	}
	fmt.Fprintln(&b)
	for _, n := range v.R.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.Bytes()
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
