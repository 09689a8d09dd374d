package evidence

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
	textTemplate "text/template"
	"time"
)

// RenderOptions say how reports render.
type RenderOptions struct {
	// TZ is the zone instants are shown in (default UTC); reports name it.
	TZ *time.Location
	// Signed says whether the bundle is signed; unsigned reports say so plainly.
	Signed bool
}

func (o RenderOptions) zone() *time.Location {
	if o.TZ == nil {
		return time.UTC
	}
	return o.TZ
}

// HumanDuration rounds a duration for people: 812.4s → 13m32.4s.
func HumanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	switch {
	case d >= time.Minute:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	s := d.String()
	if neg {
		s = "-" + s
	}
	return s
}

// measureRow is one line of the scorecard.
type measureRow struct {
	Name, Achieved, Target, Verdict, Margin, Resolution, Note, Detail string
}

// view is what the report templates read.
type view struct {
	Rec       Record
	Zone      string
	Signed    bool
	Measures  []measureRow
	Timeline  template.HTML
	Outputs   []outputRow
	Approvals []approvalRow
}

type outputRow struct {
	ID, JSON, Error, Note string
}

type approvalRow struct {
	Kind, Step, By, At, Detail string
}

func newView(rec Record, opts RenderOptions) view {
	loc := opts.zone()
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05.000 MST") }
	v := view{Rec: rec, Zone: loc.String(), Signed: opts.Signed}
	for _, m := range []struct {
		name string
		m    Measure
	}{{"RTO", rec.Measures.RTO}, {"RPO", rec.Measures.RPO}, {"Response", rec.Measures.Response}} {
		row := measureRow{Name: m.name, Achieved: secs(m.m.AchievedSeconds), Target: secs(m.m.TargetSeconds),
			Verdict: m.m.Verdict, Margin: secs(m.m.MarginSeconds), Resolution: secs(m.m.ResolutionSeconds), Note: m.m.Note}
		if m.m.From != nil && m.m.To != nil {
			row.Detail = fmt.Sprintf("from %s (%s) to %s (%s)", at(m.m.From.At), m.m.From.Step, at(m.m.To.At), m.m.To.Step)
		}
		if m.m.AckedBy != "" {
			if row.Detail != "" {
				row.Detail += "; "
			}
			row.Detail += fmt.Sprintf("acknowledged by %s at level %d", m.m.AckedBy, m.m.Level)
		}
		v.Measures = append(v.Measures, row)
	}
	for _, group := range [][]StepRecord{rec.Steps, rec.Rollback} {
		for _, s := range group {
			row := outputRow{ID: s.ID, Error: s.Error, Note: s.Note}
			if len(s.Output) > 0 {
				b, _ := json.MarshalIndent(s.Output, "", "  ")
				row.JSON = string(b)
			}
			if row.JSON != "" || row.Error != "" || row.Note != "" {
				v.Outputs = append(v.Outputs, row)
			}
		}
	}
	for _, a := range rec.Approvals {
		word := "go"
		if !a.Approved {
			word = "no-go"
		}
		v.Approvals = append(v.Approvals, approvalRow{"approval (" + word + ")", a.Step, a.By, at(a.At), a.Comment})
	}
	for _, a := range rec.Acks {
		v.Approvals = append(v.Approvals, approvalRow{"acknowledgement", a.Step, a.By, at(a.At), fmt.Sprintf("level %d via %s", a.Level, a.Via)})
	}
	for _, p := range rec.Pages {
		detail := fmt.Sprintf("level %d, %s", p.Level, p.Channel)
		if p.Error != "" {
			detail += ": " + p.Error
		}
		v.Approvals = append(v.Approvals, approvalRow{"page sent", p.Step, p.Contact, at(p.SentAt), detail})
	}
	sort.SliceStable(v.Approvals, func(i, j int) bool { return v.Approvals[i].At < v.Approvals[j].At })
	v.Timeline = timeline(rec, loc)
	return v
}

func secs(s *float64) string {
	if s == nil {
		return "—"
	}
	return HumanDuration(time.Duration(*s * float64(time.Second)))
}

// timeline draws the steps as bars on a shared time axis, with the RTO
// clock's start and stop marked.
func timeline(rec Record, loc *time.Location) template.HTML {
	type bar struct {
		id, status string
		from, to   time.Time
	}
	var bars []bar
	var start, end time.Time
	for _, group := range [][]StepRecord{rec.Steps, rec.Rollback} {
		for _, s := range group {
			if s.StartedAt == nil {
				continue
			}
			to := *s.StartedAt
			if s.EndedAt != nil {
				to = *s.EndedAt
			}
			bars = append(bars, bar{s.ID, s.Status, *s.StartedAt, to})
			if start.IsZero() || s.StartedAt.Before(start) {
				start = *s.StartedAt
			}
			if to.After(end) {
				end = to
			}
		}
	}
	if len(bars) == 0 {
		return template.HTML(`<p class="muted">No step ran.</p>`)
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	const left, width, row = 170.0, 560.0, 22.0
	x := func(t time.Time) float64 { return left + width*float64(t.Sub(start))/float64(span) }
	var b strings.Builder
	const top = 22.0 // room for the marks' labels
	height := top + row*float64(len(bars)) + 24
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="100%%" viewBox="0 0 760 %.0f" role="img" aria-label="timeline of the drill's steps">`, height)
	for i, br := range bars {
		y := top + row*float64(i)
		w := max(x(br.to)-x(br.from), 2)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="lbl">%s</text>`, left-6, y+14, template.HTMLEscapeString(br.id))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="16" class="bar %s"><title>%s: %s, %s</title></rect>`,
			x(br.from), y, w, statusClass(br.status), template.HTMLEscapeString(br.id), br.status, HumanDuration(br.to.Sub(br.from)))
	}
	mark := func(in *Instant, label string) {
		if in == nil || in.At.Before(start) || in.At.After(end) {
			return
		}
		anchor, dx := "start", 3.0
		if x(in.At) > left+width*0.6 {
			anchor, dx = "end", -3
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="14" x2="%.1f" y2="%.0f" class="mark"/><text x="%.1f" y="11" class="mlbl" text-anchor="%s">%s</text>`,
			x(in.At), x(in.At), height-18, x(in.At)+dx, anchor, label)
	}
	mark(rec.Measures.RTO.From, "outage start")
	mark(rec.Measures.RTO.To, "service restored")
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="axis">%s</text><text x="%.0f" y="%.0f" class="axis" text-anchor="end">+%s</text>`,
		left, height-6, start.In(loc).Format("15:04:05"), left+width, height-6, HumanDuration(span))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func statusClass(s string) string {
	switch s {
	case StepSucceeded:
		return "ok"
	case StepFailed:
		return "bad"
	case StepCancelled, StepSkipped:
		return "muted"
	}
	return "run"
}

//go:embed report.html.tmpl
var htmlTemplate string

//go:embed report.md.tmpl
var mdTemplate string

var funcs = map[string]any{
	"upper": strings.ToUpper,
	"time": func(t time.Time, zone string) string {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		return t.In(loc).Format("2006-01-02 15:04:05.000 MST")
	},
	"ptime": func(t *time.Time, zone string) string {
		if t == nil {
			return "—"
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		return t.In(loc).Format("15:04:05.000")
	},
	"took": func(s StepRecord) string {
		if s.StartedAt == nil || s.EndedAt == nil {
			return ""
		}
		return HumanDuration(s.EndedAt.Sub(*s.StartedAt))
	},
}

var (
	htmlReport = template.Must(template.New("report.html").Funcs(funcs).Parse(htmlTemplate))
	mdReport   = textTemplate.Must(textTemplate.New("report.md").Funcs(funcs).Parse(mdTemplate))
)

// RenderHTML renders report.html: one self-contained page (inline CSS and
// SVG, no scripts, no network) that prints on A4.
func RenderHTML(rec Record, opts RenderOptions) ([]byte, error) {
	var b bytes.Buffer
	if err := htmlReport.Execute(&b, newView(rec, opts)); err != nil {
		return nil, fmt.Errorf("evidence: render report.html: %w", err)
	}
	return b.Bytes(), nil
}

// RenderMarkdown renders report.md.
func RenderMarkdown(rec Record, opts RenderOptions) ([]byte, error) {
	var b bytes.Buffer
	if err := mdReport.Execute(&b, newView(rec, opts)); err != nil {
		return nil, fmt.Errorf("evidence: render report.md: %w", err)
	}
	return b.Bytes(), nil
}
