package evidence

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	textTemplate "text/template"

	"github.com/drillctl/drillctl/i18n"
)

// Quarterly report formats Render writes.
const (
	QuarterMarkdown = "md"
	QuarterHTML     = "html"
)

// quarterView is a QuarterReport with its texts in one language.
type quarterView struct {
	QuarterReport
	Lang, Dir, Range string
	Rows             map[string][]quarterRow
}

type quarterRow struct {
	DrillID, Started, Status, Verdict, VerdictCls, RTO, RPO, Response string
}

const quarterLangMD = `# {{t "quarter.title" .Quarter}}

{{.Range}}
{{range .Playbooks}}
## {{.Name}}

| {{t "quarter.drill"}} | {{t "col.started"}} | {{t "col.status"}} | {{t "col.verdict"}} | RTO ({{t "col.target"}}) | RPO ({{t "col.target"}}) | {{t "measure.response"}} ({{t "col.target"}}) |
| --- | --- | --- | --- | --- | --- | --- |
{{range index $.Rows .Name}}| {{.DrillID}} | {{.Started}} | {{.Status}} | {{.Verdict}} | {{.RTO}} | {{.RPO}} | {{.Response}} |
{{end}}{{end}}
## {{t "quarter.notDrilled"}}
{{range .NotDrilled}}
- **{{.}}**{{else}}
{{t "quarter.allDrilled"}}{{end}}
`

const quarterLangHTML = `<!DOCTYPE html><html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><title>{{t "quarter.title" .Quarter}}</title>
<style>@page{size:A4;margin:14mm;@bottom-center{content:counter(page) " / " counter(pages);font:9px sans-serif;color:#656d76}}
body{font:13px/1.5 "Noto Sans","DejaVu Sans",Helvetica,Arial,sans-serif;max-width:900px;margin:24px auto;padding:0 16px}
body:lang(zh-Hans){font-family:"Noto Sans CJK SC",sans-serif}body:lang(zh-Hant-HK){font-family:"Noto Sans CJK HK","Noto Sans CJK TC",sans-serif}
body:lang(ar){font-family:"Noto Naskh Arabic","Noto Sans Arabic",sans-serif}
code{direction:ltr;unicode-bidi:isolate}table{border-collapse:collapse;width:100%}th,td{text-align:start;padding:4px 8px;border-bottom:1px solid #e6e8eb}th{background:#f6f8fa}
.met{color:#1a7f37;font-weight:700}.missed,.failed,.aborted{color:#cf222e;font-weight:700}.incomplete{color:#7d4e00;font-weight:700}
.gap{border:2px solid #cf222e;padding:8px 12px}</style></head><body>
<h1>{{t "quarter.title" .Quarter}}</h1><p>{{.Range}}</p>
{{range .Playbooks}}<h2><bdi>{{.Name}}</bdi></h2><table><tr><th>{{t "quarter.drill"}}</th><th>{{t "col.started"}}</th><th>{{t "col.status"}}</th><th>{{t "col.verdict"}}</th><th>RTO ({{t "col.target"}})</th><th>RPO ({{t "col.target"}})</th><th>{{t "measure.response"}} ({{t "col.target"}})</th></tr>
{{range index $.Rows .Name}}<tr><td><code>{{.DrillID}}</code></td><td>{{.Started}}</td><td>{{.Status}}</td><td class="{{.VerdictCls}}">{{.Verdict}}</td><td>{{.RTO}}</td><td>{{.RPO}}</td><td>{{.Response}}</td></tr>
{{end}}</table>{{end}}
<h2>{{t "quarter.notDrilled"}}</h2>{{if .NotDrilled}}<div class="gap"><ul>{{range .NotDrilled}}<li><b><bdi>{{.}}</bdi></b></li>{{end}}</ul></div>{{else}}<p>{{t "quarter.allDrilled"}}</p>{{end}}
</body></html>
`

var (
	quarterLangMDTemplate   = textTemplate.Must(textTemplate.New("q.md").Funcs(funcs).Parse(quarterLangMD))
	quarterLangHTMLTemplate = template.Must(template.New("q.html").Funcs(funcs).Parse(quarterLangHTML))
)

// Render renders the quarterly report as Markdown or HTML in opts.Lang,
// instants in the quarter's zone. Markdown() and HTML() stay the English
// renderings.
func (r QuarterReport) Render(format string, opts RenderOptions) ([]byte, error) {
	rr := newRenderer(Record{}, opts)
	l, loc := rr.l, r.From.Location()
	rr.loc = loc
	v := quarterView{QuarterReport: r, Lang: l.String(), Dir: l.Dir(), Rows: map[string][]quarterRow{},
		Range: l.T("quarter.range", l.LTR(l.Date(r.From, loc)), l.LTR(l.Date(r.To, loc)), l.Zone(loc, r.From))}
	pair := func(m Measure) string { return rr.secs(m.AchievedSeconds) + " (" + rr.secs(m.TargetSeconds) + ")" }
	for _, p := range r.Playbooks {
		for _, d := range p.Drills {
			v.Rows[p.Name] = append(v.Rows[p.Name], quarterRow{DrillID: d.DrillID, Started: l.LTR(l.DateTime(d.StartedAt, loc)),
				Status: l.T("drill." + drillStatus(d.Status)), Verdict: rr.verdict(d.Verdict), VerdictCls: d.Verdict,
				RTO: pair(d.RTO), RPO: pair(d.RPO), Response: pair(d.Response)})
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case QuarterMarkdown:
		var tmpl *textTemplate.Template
		if tmpl, err = quarterLangMDTemplate.Clone(); err == nil {
			err = tmpl.Funcs(map[string]any{"t": l.T}).Execute(&b, v)
		}
	case QuarterHTML:
		var tmpl *template.Template
		if tmpl, err = quarterLangHTMLTemplate.Clone(); err == nil {
			err = tmpl.Funcs(map[string]any{"t": l.T}).Execute(&b, v)
		}
	default:
		return nil, fmt.Errorf("quarterly report: format %q: expected %s or %s", format, QuarterMarkdown, QuarterHTML)
	}
	if err != nil {
		return nil, fmt.Errorf("quarterly report: %w", err)
	}
	return b.Bytes(), nil
}

// IntegrityLine is one replication check's result in words, for a
// terminal: the step, what it compared, its verdict against its tolerance,
// and its figures.
type IntegrityLine struct {
	Step, Compare, Verdict string
	Figures                []string
}

// Integrity summarises a drill's replication checks in opts.Lang (the
// tolerances come from opts.Playbook when given).
func Integrity(rec Record, opts RenderOptions) []IntegrityLine {
	var out []IntegrityLine
	for _, v := range newRenderer(rec, opts).integrity() {
		figures := append([]string(nil), v.Summary...)
		if v.Lost != "" {
			lost := v.Lost
			if len(v.LostIDs) > 0 {
				lost += " (" + strings.Join(v.LostIDs, ", ") + ")"
			}
			figures = append(figures, lost)
		}
		out = append(out, IntegrityLine{Step: v.Step, Compare: v.Compare, Verdict: v.Verdict, Figures: figures})
	}
	return out
}

// Locale is the i18n locale RenderOptions.Lang selects (English when it
// names no supported language).
func (o RenderOptions) Locale() i18n.Locale { return i18n.Match(o.Lang) }
