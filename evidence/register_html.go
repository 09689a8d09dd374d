package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"reflect"
)

const registerHTML = `<!DOCTYPE html><html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>@page{size:A4 landscape;margin:12mm;@bottom-center{content:counter(page) " / " counter(pages);font:9px sans-serif;color:#656d76}}
body{font:12px/1.45 "Noto Sans","DejaVu Sans",Helvetica,Arial,sans-serif;max-width:1200px;margin:24px auto;padding:0 16px}
body:lang(zh-Hans){font-family:"Noto Sans CJK SC",sans-serif}body:lang(zh-Hant-HK){font-family:"Noto Sans CJK HK","Noto Sans CJK TC",sans-serif}
body:lang(ar){font-family:"Noto Naskh Arabic","Noto Sans Arabic",sans-serif}
code{direction:ltr;unicode-bidi:isolate;font-size:10px;word-break:break-all}table{border-collapse:collapse;width:100%;margin:6px 0 14px}
th,td{text-align:start;padding:3px 6px;border-bottom:1px solid #e6e8eb;vertical-align:top}th{background:#f6f8fa}
.verified,.met{color:#1a7f37;font-weight:700}.needs-verification,.overdue,.never-drilled,.missed,.failed{color:#cf222e;font-weight:700}
.summary td:last-child{text-align:end}.gap{border:2px solid #cf222e;padding:8px 12px}.note{color:#656d76}</style></head><body>
<h1>{{.Title}}</h1><p>{{.Range}} As of {{.AsOf}}; {{.Key}}.</p>
<table class="summary">{{range .Summary}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>
<table><tr><th>Playbook</th><th>State</th><th>Why</th><th>Last drill</th><th>Last passing drill</th><th>Digest now</th></tr>
{{range .Playbooks}}<tr><td><b><bdi>{{.Name}}</bdi></b></td><td class="{{.StateCls}}">{{.State}}</td><td>{{.Reason}}</td><td>{{.LastDrill}}</td><td>{{.LastPassing}}</td><td><code>{{.Digest}}</code></td></tr>
{{end}}</table>
{{range $pb := .Playbooks}}<h2><bdi>{{.Name}}</bdi> — <span class="{{.StateCls}}">{{.State}}</span></h2>
{{if .Frequency}}<p>Frequency {{.Frequency}}{{if .NextDue}}; next passing drill due by {{.NextDue}}{{end}}.</p>{{end}}
<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}{{range .Budget}}<li>{{.}}</li>{{end}}</ul>
{{if .Drills}}<table><tr>{{range $.DrillHead}}<th>{{.}}</th>{{end}}</tr>
{{range $i, $d := .Drills}}<tr>{{range $j, $c := $d}}<td{{if eq $j 3}} class="{{index $pb.DrillCls $i}}"{{end}}>{{if or (eq $j 0) (eq $j 7) (eq $j 8)}}<code>{{$c}}</code>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>No drill in the period.</p>{{end}}{{end}}
<h2>Corrective actions</h2>{{if .Actions}}<table><tr>{{range .ActionHead}}<th>{{.}}</th>{{end}}</tr>{{range .Actions}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{else}}<p>No corrective action.</p>{{end}}
<h2>Reviews</h2>{{if .Reviews}}<table><tr>{{range .ReviewHead}}<th>{{.}}</th>{{end}}</tr>{{range .Reviews}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{else}}<p>No drill of the period needs a review.</p>{{end}}
<h2>Bundles that fail verification</h2>{{if .Untrusted}}<div class="gap"><table><tr><th>Drill</th><th>Playbook</th><th>Bundle</th><th>Manifest digest</th><th>Problems</th></tr>{{range .Untrusted}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table></div>{{else}}<p>None: every bundle read verifies.</p>{{end}}
<h2>{{.NotExercisedHead}}</h2>{{if .NotExercised}}<div class="gap"><ul>{{range .NotExercised}}<li><b><bdi>{{index . 0}}</bdi></b> — {{index . 1}}</li>{{end}}</ul></div>{{else}}<p>Every playbook was exercised and is verified.</p>{{end}}
{{range .R.Notes}}<p class="note">Note: {{.}}.</p>{{end}}
</body></html>
`

var registerHTMLTemplate = template.Must(template.New("register.html").Parse(registerHTML))

func (v registerView) html() ([]byte, error) {
	var b bytes.Buffer
	if err := registerHTMLTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("register: render html: %w", err)
	}
	return b.Bytes(), nil
}

// RegisterSchemaID is the $id of the register's JSON Schema.
const RegisterSchemaID = "https://drillctl.dev/schema/register-v1.json"

// RegisterSchema returns the JSON Schema (draft 2020-12) of the register's
// JSON (drillctl report --output json), generated from the Register type.
func RegisterSchema() ([]byte, error) {
	s := jsonSchemaOf(reflect.TypeOf(Register{}))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = RegisterSchemaID
	s["title"] = "drillctl register"
	s["description"] = "Per playbook: verified, needs-verification, overdue or never-drilled, with the reasons; corrective actions; reviews; availability budgets; bundles failing verification. Fields are added over time, never renamed."
	return json.MarshalIndent(s, "", "  ")
}
