package evidence

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Geometry of the timeline (SVG user units; the page scales the whole).
const (
	tlViewW   = 760.0
	tlLeft    = 170.0 // where the time axis starts; step ids sit left of it
	tlWidth   = 560.0 // the time axis
	tlRow     = 22.0  // one step's row
	tlStepPx  = 11.0  // font size of step ids
	tlMarkPx  = 10.0  // font size of mark and axis labels
	tlMarkRow = 14.0  // one row of mark labels
	tlGap     = 6.0   // least room between two labels on a row
)

// timelineMark is an instant drawn on the timeline with its label.
type timelineMark struct {
	at    time.Time
	label string
	cls   string
}

// labelBox is where a label is drawn: x0..x1 across, on a row of labels.
type labelBox struct {
	x0, x1, lineX float64
	row           int
	anchor        string
	text          string
	cls           string
}

// textWidth estimates the width of text at a font size, erring wide: CJK
// ideographs take a full em, other letters at most 0.62 em in the report's
// sans-serif fonts.
func textWidth(s string, px float64) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r >= 0xff00 && r <= 0xffef || r >= 0x3000 && r <= 0x303f:
			w += px
		case r == ' ' || r == '.' || r == ',' || r == ':' || r == 'i' || r == 'l' || r == '|':
			w += 0.34 * px
		default:
			w += 0.62 * px
		}
	}
	return w
}

// layoutLabels gives each mark a row of labels so that no two labels
// overlap, whatever the drill's length: a label sits right of its mark (left
// of it near the axis' end) on the lowest row where it fits and, when
// possible, where no other mark's leader line crosses it and its own leader
// crosses no label below it. xs must be in ascending order.
func layoutLabels(xs []float64, texts, classes []string) []labelBox {
	boxes := make([]labelBox, 0, len(xs))
	fits := func(b labelBox, strict bool) bool {
		for _, p := range boxes {
			if p.row == b.row && b.x0 < p.x1+tlGap && p.x0 < b.x1+tlGap {
				return false
			}
			if !strict {
				continue
			}
			if p.row > b.row && p.lineX >= b.x0-2 && p.lineX <= b.x1+2 {
				return false // a higher label's leader would cross this one
			}
			if p.row < b.row && b.lineX >= p.x0-2 && b.lineX <= p.x1+2 {
				return false // this leader would cross a lower label
			}
		}
		return true
	}
	// Right to left: a label then only ever rises above the labels to its
	// right, so its leader passes left of them and theirs never cross it.
	for i := len(xs) - 1; i >= 0; i-- {
		x := xs[i]
		w := textWidth(texts[i], tlMarkPx)
		b := labelBox{x0: x + 3, x1: x + 3 + w, lineX: x, anchor: "start", text: texts[i], cls: classes[i]}
		if b.x1 > tlViewW-2 {
			b = labelBox{x0: x - 3 - w, x1: x - 3, lineX: x, anchor: "end", text: texts[i], cls: classes[i]}
		}
		placed := false
		for _, strict := range []bool{true, false} {
			for row := 0; row <= len(xs) && !placed; row++ {
				b.row = row
				if fits(b, strict) {
					placed = true
				}
			}
			if placed {
				break
			}
		}
		boxes = append(boxes, b)
	}
	return boxes
}

// truncateLabel shortens text to fit a width, ending it with "…".
func truncateLabel(s string, px, width float64) string {
	if textWidth(s, px) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && textWidth(string(r)+"…", px) > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// timeline draws the steps as bars on a shared time axis, with the drill's
// instants (outage start, service restored, page, acknowledgement, gates)
// marked and labelled on rows that never collide.
func (r *renderer) timeline() template.HTML {
	l, rec := r.l, r.rec
	type bar struct {
		id, status string
		from, to   time.Time
	}
	var bars []bar
	var start, end time.Time
	widen := func(t time.Time) {
		if start.IsZero() || t.Before(start) {
			start = t
		}
		if t.After(end) {
			end = t
		}
	}
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
			widen(*s.StartedAt)
			widen(to)
		}
	}
	if len(bars) == 0 {
		return template.HTML(`<p class="muted">` + template.HTMLEscapeString(l.T("timeline.none")) + `</p>`)
	}
	var marks []timelineMark
	mark := func(in *Instant, key, cls string) {
		if in != nil && !in.At.IsZero() {
			marks = append(marks, timelineMark{in.At, l.T(key), cls})
		}
	}
	mark(rec.Measures.RTO.From, "mark.outageStart", "rto")
	mark(rec.Measures.RTO.To, "mark.restored", "rto")
	mark(rec.Measures.RPO.From, "mark.newestWrite", "rpo")
	mark(rec.Measures.Response.From, "mark.firstPage", "people")
	mark(rec.Measures.Response.To, "mark.acked", "people")
	for _, a := range rec.Approvals {
		key := "mark.go"
		switch {
		case a.Auto:
			key = "mark.autoGo"
		case !a.Approved:
			key = "mark.noGo"
		}
		mark(&Instant{Step: a.Step, At: a.At}, key, "people")
	}
	for _, d := range rec.Decisions {
		mark(&Instant{Step: d.Step, At: d.At}, "mark.decision", "people")
	}
	for _, m := range marks {
		widen(m.at)
	}
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].at.Before(marks[j].at) })
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	x := func(t time.Time) float64 { return tlLeft + tlWidth*float64(t.Sub(start))/float64(span) }

	xs := make([]float64, len(marks))
	texts := make([]string, len(marks))
	classes := make([]string, len(marks))
	for i, m := range marks {
		xs[i], texts[i], classes[i] = x(m.at), m.label, m.cls
	}
	labels := layoutLabels(xs, texts, classes)
	rows := 0
	for _, b := range labels {
		rows = max(rows, b.row+1)
	}
	top := 6 + float64(rows)*tlMarkRow + 4 // the bars start below the label rows
	height := top + tlRow*float64(len(bars)) + 24

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="100%%" viewBox="0 0 %.0f %.0f" style="direction:ltr" role="img" aria-label="%s">`,
		tlViewW, height, template.HTMLEscapeString(l.T("timeline.aria")))
	for i, br := range bars {
		y := top + tlRow*float64(i)
		w := max(x(br.to)-x(br.from), 2)
		id := truncateLabel(br.id, tlStepPx, tlLeft-12)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="lbl" text-anchor="end">%s</text>`, tlLeft-6, y+12, template.HTMLEscapeString(id))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="16" class="bar %s"><title>%s</title></rect>`,
			x(br.from), y, w, statusClass(br.status), template.HTMLEscapeString(
				br.id+": "+l.T("status."+stepStatus(br.status))+", "+l.Duration(br.to.Sub(br.from))))
	}
	for _, lb := range labels {
		y := 6 + float64(rows-lb.row)*tlMarkRow - 3
		tx := lb.x0
		if lb.anchor == "end" {
			tx = lb.x1
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="mark %s"/>`, lb.lineX, y+3, lb.lineX, height-18, lb.cls)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="mlbl %s" text-anchor="%s">%s</text>`, tx, y, lb.cls, lb.anchor, template.HTMLEscapeString(lb.text))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="start">%s</text><text x="%.1f" y="%.1f" class="axis" text-anchor="end">%s</text>`,
		tlLeft, height-6, start.In(r.loc).Format("15:04:05 MST"), tlLeft+tlWidth, height-6, template.HTMLEscapeString(l.Iso(l.Duration(span))))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func statusClass(s string) string {
	switch s {
	case StepSucceeded:
		return "ok"
	case StepFailed, StepUnknown:
		return "bad"
	case StepCancelled, StepSkipped:
		return "muted"
	}
	return "run"
}
