package evidence

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// guardView is one guard in a report: what it watched, whether it
// breached, and a small chart of its points.
type guardView struct {
	ID, Kind, Outcome string
	Breached          bool
	Chart             template.HTML
}

// guards renders the drill's guards.
func (r *renderer) guards() []guardView {
	var out []guardView
	for _, g := range r.rec.Guards {
		v := guardView{ID: g.ID, Kind: g.Kind, Breached: g.Breached, Chart: sparkline(g.Points)}
		if g.Breached && g.At != nil {
			what := g.Reason
			if g.Value != "" && !strings.Contains(what, g.Value) {
				what = g.Value + " — " + what
			}
			v.Outcome = r.l.T("guards.breached", r.l.LTR(r.l.Clock(*g.At, r.loc)), what)
		} else {
			v.Outcome = r.l.T("guards.held", r.l.Int(len(g.Points)))
		}
		out = append(out, v)
	}
	return out
}

// sparkline draws a guard's points: its values as a line when it read
// numbers, its evaluations as ticks otherwise (red where one breached or
// could not be made).
func sparkline(points []GuardPoint) template.HTML {
	if len(points) == 0 {
		return ""
	}
	const w, h = 320.0, 40.0
	t0, t1 := points[0].At, points[len(points)-1].At
	span := t1.Sub(t0).Seconds()
	x := func(i int) float64 {
		if span <= 0 {
			return w * float64(i+1) / float64(len(points)+1)
		}
		return 4 + (w-8)*points[i].At.Sub(t0).Seconds()/span
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		if p.Value != nil {
			lo, hi = math.Min(lo, *p.Value), math.Max(hi, *p.Value)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, w, h, w, h)
	if !math.IsInf(lo, 1) {
		if hi == lo {
			hi = lo + 1
		}
		var pts []string
		for i, p := range points {
			if p.Value != nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), h-4-(h-8)*(*p.Value-lo)/(hi-lo)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="%s"/>`, strings.Join(pts, " "))
	}
	for i, p := range points {
		if !p.OK {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="0" y2="%.0f" stroke="#dc2626" stroke-width="2"><title>%s</title></line>`,
				x(i), x(i), h, template.HTMLEscapeString(p.Error))
		} else if p.Value == nil {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#16a34a" stroke-width="1"/>`, x(i), x(i), h-12, h-2)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// metrics renders the drill's context metrics.
func (r *renderer) metrics() []guardView {
	var out []guardView
	for _, m := range r.rec.Metrics {
		v := guardView{ID: m.ID, Kind: "prometheus", Chart: sparkline(m.Points)}
		if n := len(m.Points); n > 0 {
			v.Outcome = r.l.T("metrics.samples", r.l.Int(n), r.l.LTR(r.l.Clock(m.Points[0].At, r.loc)), r.l.LTR(r.l.Clock(m.Points[n-1].At, r.loc)))
		}
		out = append(out, v)
	}
	return out
}
