package evidence

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strconv"
	textTemplate "text/template"
	"time"
)

// Quarter is a calendar quarter in a time zone.
type Quarter struct {
	Year  int
	Q     int // 1 to 4
	Start time.Time
	End   time.Time // exclusive
}

var quarterRE = regexp.MustCompile(`^(\d{4})[Qq]([1-4])$`)

// ParseQuarter reads "2026Q4"; the quarter's bounds are midnights in loc.
func ParseQuarter(s string, loc *time.Location) (Quarter, error) {
	m := quarterRE.FindStringSubmatch(s)
	if m == nil {
		return Quarter{}, fmt.Errorf("--quarter %q: expected YYYYQn, e.g. 2026Q4", s)
	}
	if loc == nil {
		loc = time.UTC
	}
	y, _ := strconv.Atoi(m[1])
	q, _ := strconv.Atoi(m[2])
	start := time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, loc)
	return Quarter{Year: y, Q: q, Start: start, End: start.AddDate(0, 3, 0)}, nil
}

// String is "2026Q4".
func (q Quarter) String() string { return fmt.Sprintf("%dQ%d", q.Year, q.Q) }

// QuarterOf is the quarter holding t, in loc.
func QuarterOf(t time.Time, loc *time.Location) Quarter {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	q, _ := ParseQuarter(fmt.Sprintf("%04dQ%d", t.Year(), (int(t.Month())-1)/3+1), loc)
	return q
}

// Period is the span of time a register covers: a quarter, a year, or
// since a date.
type Period struct {
	// Label names it: "2026Q4", "2026", "since 2026-07-01".
	Label string
	From  time.Time
	To    time.Time // exclusive
}

// Period is the quarter as a Period.
func (q Quarter) Period() Period { return Period{Label: q.String(), From: q.Start, To: q.End} }

var yearRE = regexp.MustCompile(`^\d{4}$`)

// ParseYear reads "2026" as that calendar year in loc.
func ParseYear(s string, loc *time.Location) (Period, error) {
	if !yearRE.MatchString(s) {
		return Period{}, fmt.Errorf("--year %q: expected YYYY, e.g. 2026", s)
	}
	if loc == nil {
		loc = time.UTC
	}
	y, _ := strconv.Atoi(s)
	start := time.Date(y, time.January, 1, 0, 0, 0, 0, loc)
	return Period{Label: s, From: start, To: start.AddDate(1, 0, 0)}, nil
}

// ParseSince reads a date ("2026-07-01", midnight in loc) as the period
// from it until now.
func ParseSince(s string, now time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	from, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return Period{}, fmt.Errorf("--since %q: expected a date YYYY-MM-DD, e.g. 2026-07-01", s)
	}
	if !from.Before(now) {
		return Period{}, fmt.Errorf("--since %q: the date is not in the past", s)
	}
	return Period{Label: "since " + s, From: from, To: now}, nil
}

// QuarterReport is a quarter's compliance summary.
type QuarterReport struct {
	Quarter   string            `json:"quarter"`
	From      time.Time         `json:"from"`
	To        time.Time         `json:"to"`
	Zone      string            `json:"zone"`
	Playbooks []PlaybookSummary `json:"playbooks"`
	// NotDrilled names the playbooks no drill of the quarter exercised.
	NotDrilled []string `json:"notDrilled"`
}

// PlaybookSummary is one playbook's drills in the quarter.
type PlaybookSummary struct {
	Name   string       `json:"name"`
	Drills []DrillEntry `json:"drills"`
}

// DrillEntry is one drill in a quarter's summary. Only a drill that
// Exercised its playbook (completed, met, not a dry run) counts as drilling
// it; PlaybookDigest says which version of the playbook it ran.
type DrillEntry struct {
	DrillID        string    `json:"drillId"`
	StartedAt      time.Time `json:"startedAt"`
	Status         string    `json:"status"`
	Verdict        string    `json:"verdict"`
	PlaybookDigest string    `json:"playbookDigest"`
	Exercised      bool      `json:"exercised"`
	// Why says why the drill does not count, when it does not.
	Why      string  `json:"why,omitempty"`
	RTO      Measure `json:"rto"`
	RPO      Measure `json:"rpo"`
	Response Measure `json:"response"`
	Schedule string  `json:"schedule,omitempty"`
}

// BuildQuarterReport summarises the drills started in q, for every playbook
// known (from the store or from the caller), naming those no drill of the
// quarter exercised (a failed, aborted, missed or dry-run drill is listed
// but does not count). The register (package review) is the fuller view.
func BuildQuarterReport(q Quarter, records []Record, known []string) QuarterReport {
	r := QuarterReport{Quarter: q.String(), From: q.Start, To: q.End, Zone: q.Start.Location().String(),
		Playbooks: []PlaybookSummary{}, NotDrilled: []string{}}
	names := map[string]bool{}
	for _, n := range known {
		names[n] = true
	}
	drills := map[string][]DrillEntry{}
	exercised := map[string]bool{}
	for _, rec := range records {
		names[rec.Playbook.Name] = true
		if rec.StartedAt.Before(q.Start) || !rec.StartedAt.Before(q.End) {
			continue
		}
		outcome := Outcome(rec, false)
		drills[rec.Playbook.Name] = append(drills[rec.Playbook.Name], DrillEntry{
			DrillID: rec.DrillID, StartedAt: rec.StartedAt, Status: rec.Status, Verdict: rec.Verdict,
			PlaybookDigest: rec.Playbook.Digest, Exercised: outcome.Exercised, Why: outcome.Why,
			RTO: rec.Measures.RTO, RPO: rec.Measures.RPO, Response: rec.Measures.Response, Schedule: rec.Schedule})
		if outcome.Exercised {
			exercised[rec.Playbook.Name] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if !exercised[n] {
			r.NotDrilled = append(r.NotDrilled, n)
		}
		if len(drills[n]) == 0 {
			continue
		}
		d := drills[n]
		sort.Slice(d, func(i, j int) bool { return d[i].StartedAt.Before(d[j].StartedAt) })
		r.Playbooks = append(r.Playbooks, PlaybookSummary{Name: n, Drills: d})
	}
	return r
}

var quarterFuncs = map[string]any{
	"secs": secs,
	"day":  func(t time.Time, zone string) string { return t.In(mustZone(zone)).Format("2006-01-02 15:04 MST") },
	"date": func(t time.Time) string { return t.Format("2006-01-02") },
}

func mustZone(z string) *time.Location {
	loc, err := time.LoadLocation(z)
	if err != nil {
		return time.UTC
	}
	return loc
}

const quarterMD = `# DR drills — {{.Quarter}}

{{date .From}} to {{date .To}} (exclusive), times in {{.Zone}}.
{{range .Playbooks}}
## {{.Name}}

| Drill | Started | Status | Verdict | RTO (target) | RPO (target) | Response (target) |
| --- | --- | --- | --- | --- | --- | --- |
{{range .Drills}}| {{.DrillID}} | {{day .StartedAt $.Zone}} | {{.Status}} | {{.Verdict}} | {{secs .RTO.AchievedSeconds}} ({{secs .RTO.TargetSeconds}}) | {{secs .RPO.AchievedSeconds}} ({{secs .RPO.TargetSeconds}}) | {{secs .Response.AchievedSeconds}} ({{secs .Response.TargetSeconds}}) |
{{end}}{{end}}
## Not drilled this quarter
{{range .NotDrilled}}
- **{{.}}**{{else}}
Every known playbook was drilled.{{end}}
`

const quarterHTML = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>DR drills {{.Quarter}}</title>
<style>@page{size:A4;margin:14mm}body{font:13px/1.45 Helvetica,Arial,sans-serif;max-width:900px;margin:24px auto;padding:0 16px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e8eb}th{background:#f6f8fa}
.met{color:#1a7f37;font-weight:700}.missed,.failed,.aborted{color:#cf222e;font-weight:700}.incomplete{color:#7d4e00;font-weight:700}
.gap{border:2px solid #cf222e;padding:8px 12px}</style></head><body>
<h1>DR drills — {{.Quarter}}</h1><p>{{date .From}} to {{date .To}} (exclusive), times in {{.Zone}}.</p>
{{range .Playbooks}}<h2>{{.Name}}</h2><table><tr><th>Drill</th><th>Started</th><th>Status</th><th>Verdict</th><th>RTO (target)</th><th>RPO (target)</th><th>Response (target)</th></tr>
{{range .Drills}}<tr><td><code>{{.DrillID}}</code></td><td>{{day .StartedAt $.Zone}}</td><td>{{.Status}}</td><td class="{{.Verdict}}">{{.Verdict}}</td>
<td>{{secs .RTO.AchievedSeconds}} ({{secs .RTO.TargetSeconds}})</td><td>{{secs .RPO.AchievedSeconds}} ({{secs .RPO.TargetSeconds}})</td><td>{{secs .Response.AchievedSeconds}} ({{secs .Response.TargetSeconds}})</td></tr>
{{end}}</table>{{end}}
<h2>Not drilled this quarter</h2>{{if .NotDrilled}}<div class="gap"><ul>{{range .NotDrilled}}<li><b>{{.}}</b></li>{{end}}</ul></div>{{else}}<p>Every known playbook was drilled.</p>{{end}}
</body></html>
`

var (
	quarterMDTemplate   = textTemplate.Must(textTemplate.New("q.md").Funcs(quarterFuncs).Parse(quarterMD))
	quarterHTMLTemplate = template.Must(template.New("q.html").Funcs(quarterFuncs).Parse(quarterHTML))
)

// Markdown renders the report as Markdown.
func (r QuarterReport) Markdown() ([]byte, error) {
	var b bytes.Buffer
	err := quarterMDTemplate.Execute(&b, r)
	return b.Bytes(), err
}

// HTML renders the report as one self-contained page.
func (r QuarterReport) HTML() ([]byte, error) {
	var b bytes.Buffer
	err := quarterHTMLTemplate.Execute(&b, r)
	return b.Bytes(), err
}
