package console

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/i18n"
	"github.com/drillctl/drillctl/playbooks"
)

// drillView is a drill as its page shows it.
type drillView struct {
	ID         string
	Rec        *evidence.Record
	Running    bool
	Signed     bool
	Unverified bool
	Initiator  string
	Waves      [][]evidence.StepRecord
	Rollback   []evidence.StepRecord
	Finally    []evidence.StepRecord
	Timeline   template.HTML
	Clock      *rtoClock
	Measures   []measureRow
	Pages      []evidence.Page
	Acks       []evidence.Ack
	Gates      []gateAction
	PageActs   []pageAction
	Abort      *abortAction
	HasBundle  bool
	// ActionsKey changes exactly when the actions offered change.
	ActionsKey string
}

// rtoClock is the RTO as it runs: from the outage's start until the
// service is back (ticking in the page while it runs).
type rtoClock struct {
	Since         time.Time
	Ticking       bool
	TargetSeconds *float64
	Achieved      *float64
	Verdict       string
}

// measureRow is one measure with its catalog key.
type measureRow struct {
	Key string
	M   evidence.Measure
}

// gateAction is a waiting gate, and what the viewer may do about it.
type gateAction struct {
	Step      string
	Message   string
	Approvers []string
	Allowed   bool
	Refusal   string
	CLI       string // for a signed drill
}

// pageAction is a page waiting for an acknowledgement.
type pageAction struct {
	Step    string
	Paged   []string
	Allowed bool
	CLI     string
}

// abortAction is the abort lever, for those who may pull it.
type abortAction struct {
	Signed bool
	CLI    string
}

// drillView builds the view of a drill for who.
func (s *Server) drillView(d *Drill, who string, l i18n.Locale) *drillView {
	rec := d.Record
	v := &drillView{ID: rec.DrillID, Rec: rec, Running: d.Running, Signed: signedIdentity(d), Initiator: initiator(d),
		Rollback: rec.Rollback, Finally: rec.Finally}
	v.Unverified = !v.Signed
	v.Waves = waves(d)
	v.Timeline = timeline(rec, s.now(), l)
	v.Measures = []measureRow{{"measure.rto", rec.Measures.RTO}, {"measure.rpo", rec.Measures.RPO}, {"measure.response", rec.Measures.Response}}
	if rto := rec.Measures.RTO; rto.From != nil {
		v.Clock = &rtoClock{Since: rto.From.At, TargetSeconds: rto.TargetSeconds, Achieved: rto.AchievedSeconds, Verdict: rto.Verdict}
		v.Clock.Ticking = d.Running && rto.To == nil && rto.AchievedSeconds == nil
	}
	v.Pages, v.Acks = rec.Pages, rec.Acks
	steps := make([]string, 0, len(d.Escalations))
	for step := range d.Escalations {
		steps = append(steps, step)
	}
	sort.Strings(steps)
	for _, step := range steps {
		v.Pages = append(v.Pages, d.Escalations[step].Pages...)
		v.Acks = append(v.Acks, d.Escalations[step].Acks...)
	}
	_, err := s.cfg.Evidence.Load(rec.DrillID)
	v.HasBundle = err == nil
	var key strings.Builder
	fmt.Fprintf(&key, "%t|%s", d.Running, who)
	for _, step := range waitingGates(d) {
		g := gateAction{Step: step, Approvers: approversOf(d, step)}
		if spec := stepSpec(d, step); spec != nil && spec.Approval != nil {
			g.Message = spec.Approval.Message
		}
		g.Refusal = gateRefusal(d, step, who)
		g.Allowed = g.Refusal == ""
		if g.Allowed && v.Signed {
			g.Allowed, g.CLI = false, approveCLI(rec.DrillID, step, who)
		}
		v.Gates = append(v.Gates, g)
		fmt.Fprintf(&key, "|g:%s:%t:%s", step, g.Allowed, g.CLI)
	}
	for _, step := range runningPages(d) {
		pages, _ := paged(d, step)
		p := pageAction{Step: step}
		seen := map[string]bool{}
		for _, pg := range pages {
			if !seen[pg.Contact] {
				seen[pg.Contact] = true
				p.Paged = append(p.Paged, pg.Contact)
			}
		}
		if ackRefusal(d, step, who) == "" {
			p.Allowed = true
			if v.Signed {
				p.Allowed, p.CLI = false, ackCLI(rec.DrillID, step, who)
			}
		}
		v.PageActs = append(v.PageActs, p)
		fmt.Fprintf(&key, "|p:%s:%t:%s:%s", step, p.Allowed, p.CLI, strings.Join(p.Paged, ","))
	}
	if mayAbort(d, who) {
		v.Abort = &abortAction{Signed: v.Signed}
		if v.Signed {
			v.Abort.CLI = abortCLI(rec.DrillID, who)
		}
		key.WriteString("|abort")
	}
	v.ActionsKey = key.String()
	return v
}

// summary is one line for screen readers: the drill's status and what it
// waits for.
func (v *drillView) summary(l i18n.Locale) string {
	parts := []string{l.T("drill." + v.Rec.Status)}
	for _, g := range v.Gates {
		parts = append(parts, l.T("console.live.gateWaiting", g.Step))
	}
	for _, p := range v.PageActs {
		parts = append(parts, l.T("console.live.pageWaiting", p.Step))
	}
	return strings.Join(parts, "; ")
}

// waves groups the record's steps by the playbook's plan (steps of one
// wave may run in parallel); without the playbook, one step a wave.
func waves(d *Drill) [][]evidence.StepRecord {
	byID := map[string]evidence.StepRecord{}
	for _, s := range d.Record.Steps {
		byID[s.ID] = s
	}
	var out [][]evidence.StepRecord
	if d.Input != nil {
		if plan, err := playbooks.PlanOf(&d.Input.Playbook); err == nil {
			placed := map[string]bool{}
			for _, wave := range plan.Waves {
				var row []evidence.StepRecord
				for _, id := range wave {
					if s, ok := byID[id]; ok {
						row = append(row, s)
						placed[id] = true
					}
				}
				if len(row) > 0 {
					out = append(out, row)
				}
			}
			if len(placed) == len(d.Record.Steps) {
				return out
			}
			out = nil
		}
	}
	for _, s := range d.Record.Steps {
		out = append(out, []evidence.StepRecord{s})
	}
	return out
}

// timeline draws each step that ran as a bar on the drill's time axis,
// with the outage (RTO window) shaded, as inline SVG: presentation
// attributes, not style attributes, so the page's CSP allows it.
func timeline(rec *evidence.Record, now time.Time, l i18n.Locale) template.HTML {
	type bar struct {
		id, status string
		from, to   time.Time
	}
	var bars []bar
	all := append(append(append([]evidence.StepRecord{}, rec.Steps...), rec.Rollback...), rec.Finally...)
	for _, s := range all {
		if s.StartedAt == nil {
			continue
		}
		end := now
		if s.EndedAt != nil {
			end = *s.EndedAt
		}
		bars = append(bars, bar{s.ID, s.Status, *s.StartedAt, end})
	}
	if len(bars) == 0 || rec.StartedAt.IsZero() {
		return ""
	}
	t0, t1 := rec.StartedAt, now
	if rec.EndedAt != nil {
		t1 = *rec.EndedAt
	}
	for _, b := range bars {
		if b.to.After(t1) {
			t1 = b.to
		}
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	const label, width, row = 190.0, 1000.0, 22.0
	x := func(t time.Time) float64 {
		return label + (width-label-10)*min(max(t.Sub(t0).Seconds()/span, 0), 1)
	}
	h := row*float64(len(bars)) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg">`, width, h)
	b.WriteString(`<title id="timeline-title">` + template.HTMLEscapeString(l.T("timeline.aria")) + `</title>`)
	if m := rec.Measures.RTO; m.From != nil {
		to := now
		if m.To != nil {
			to = m.To.At
		}
		fmt.Fprintf(&b, `<rect class="outage" x="%.1f" y="0" width="%.1f" height="%.0f"><title>RTO</title></rect>`,
			x(m.From.At), max(x(to)-x(m.From.At), 1), h-20)
	}
	for i, br := range bars {
		y := float64(i) * row
		fmt.Fprintf(&b, `<text x="4" y="%.1f" class="tl-label">%s</text>`, y+15, template.HTMLEscapeString(br.id))
		fmt.Fprintf(&b, `<rect class="bar st-%s" x="%.1f" y="%.1f" width="%.1f" height="14" rx="2"><title>%s: %s, %s</title></rect>`,
			template.HTMLEscapeString(br.status), x(br.from), y+4, max(x(br.to)-x(br.from), 2),
			template.HTMLEscapeString(br.id), template.HTMLEscapeString(br.status), l.Duration(br.to.Sub(br.from)))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tl-axis">0</text><text x="%.0f" y="%.0f" class="tl-axis" text-anchor="end">%s</text></svg>`,
		label, h-4, width-10, h-4, template.HTMLEscapeString(l.Duration(t1.Sub(t0))))
	return template.HTML(b.String())
}
