package evidence

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	textTemplate "text/template"
	"time"

	"github.com/drillctl/drillctl/i18n"
)

// RenderOptions say how reports render.
type RenderOptions struct {
	// TZ is the zone instants are shown in (default UTC); reports name it.
	TZ *time.Location
	// Signed says whether the bundle is signed; unsigned reports say so plainly.
	Signed bool
	// Lang is the BCP 47 language of the reports (en, zh-Hans, zh-Hant-HK,
	// vi, ar; default en). The record itself stays English.
	Lang string
	// Company names the organisation on the cover of report.html and .pdf.
	Company string
	// Logo is the company's logo (PNG, JPEG, GIF, WebP or SVG bytes), shown
	// on the cover; other content is left out.
	Logo []byte
	// SignOff names who signs the report off; without it the sign-off page
	// lists the drill's people and a compliance officer, with blank lines.
	SignOff []Signatory
	// Playbook is the playbook.yaml the drill ran (Store.Write sets it); the
	// report's scope, tolerances and people's names come from it.
	Playbook []byte
	// KeyFingerprint is the bundle's signing key, "sha256:<hex>" of the raw
	// ed25519 public key (Store.Write sets it).
	KeyFingerprint string
	// Chromium is the headless Chromium that prints report.pdf: a path, ""
	// for $DRILLCTL_CHROMIUM or the first chromium on PATH, or "off".
	Chromium string
	// PDFTimeout bounds printing report.pdf (default DefaultPDFTimeout).
	PDFTimeout time.Duration

	// pdfMissing says why a bundle holds no report.pdf (set by Write).
	pdfMissing string
}

func (o RenderOptions) zone() *time.Location {
	if o.TZ == nil {
		return time.UTC
	}
	return o.TZ
}

// HumanDuration rounds a duration for people: 812.4s → 13m32.4s.
func HumanDuration(d time.Duration) string { return i18n.Match("en").Duration(d) }

// renderer builds what the report templates read, in one language.
type renderer struct {
	rec          Record
	opts         RenderOptions
	l            i18n.Locale
	loc          *time.Location
	facts        *playbookFacts
	decisionRows []decisionRow
}

// view is what the report templates read; every text in it is already in
// the report's language.
type view struct {
	Lang, Dir       string
	Rec             Record
	Title           string
	Company         string
	Logo            template.URL
	Zone            string
	Signed          bool
	Fingerprint     string
	Status, Verdict string
	Started, Ended  string
	Took            string
	Reason          string
	VerdictNote     string
	IdentityNote    string
	IdentityCls     string
	Measures        []measureRow
	Integrity       []integrityView
	Scope           scopeView
	Decisions       []decisionRow
	Deviations      []string
	Timeline        template.HTML
	Guards          []guardView
	Metrics         []guardView
	Rehearsal       bool
	Steps           []stepRow
	Outputs         []outputRow
	Errors          []outputRow
	Inventory       *Inventory
	InventoryReady  string
	Verify          verifyView
	SignOff         []signatory
	Statements      []statementRow
	Env             [][2]string
}

// measureRow is one line of the scorecard.
type measureRow struct {
	Name, Achieved, Target, Verdict, VerdictCls, Margin, Resolution, Note, Detail string
}

type stepRow struct {
	ID, Type, Status, StatusCls, Attempts, Started, Took, Marks string
	Rollback, Finally                                           bool
}

type outputRow struct {
	ID, JSON, Error, Note string
}

func newRenderer(rec Record, opts RenderOptions) *renderer {
	return &renderer{rec: rec, opts: opts, l: i18n.Match(opts.Lang), loc: opts.zone(), facts: parsePlaybookFacts(opts.Playbook)}
}

func (r *renderer) view() view {
	l, rec := r.l, r.rec
	v := view{Lang: l.String(), Dir: l.Dir(), Rec: rec, Company: r.opts.Company, Signed: r.opts.Signed,
		Title: l.T("report.title", l.LTR(rec.Playbook.Name)), Zone: l.Zone(r.loc, rec.StartedAt),
		Status: l.T("drill." + drillStatus(rec.Status)), Verdict: r.verdict(rec.Verdict),
		Started: l.LTR(l.DateTime(rec.StartedAt, r.loc)), Reason: rec.Reason, VerdictNote: rec.VerdictNote,
		Fingerprint: r.opts.KeyFingerprint, Inventory: rec.Inventory}
	v.Logo = logoURL(r.opts.Logo)
	if rec.EndedAt != nil {
		v.Ended = l.LTR(l.DateTime(*rec.EndedAt, r.loc))
		v.Took = l.Iso(l.Duration(rec.EndedAt.Sub(rec.StartedAt)))
	}
	switch {
	case rec.Identity == nil:
		v.IdentityNote, v.IdentityCls = l.T("identity.unknown"), "warn"
	case rec.Identity.Mode == "signed":
		v.IdentityNote, v.IdentityCls = l.T("identity.signed"), "ok"
	default:
		v.IdentityNote, v.IdentityCls = l.T("identity.unverified"), "bad"
	}
	v.Measures = r.measures()
	v.Integrity = r.integrity()
	v.Scope = r.scope()
	r.decisionRows = r.decisions()
	v.Decisions = r.decisionRows
	v.Deviations = r.deviations()
	v.Timeline = r.timeline()
	v.Guards = r.guards()
	v.Metrics = r.metrics()
	v.Rehearsal = rec.Rehearsal
	for gi, group := range [][]StepRecord{rec.Steps, rec.Rollback, rec.Finally} {
		for _, s := range group {
			row := stepRow{ID: s.ID, Type: s.Type, Status: l.T("status." + stepStatus(s.Status)), StatusCls: s.Status,
				Attempts: l.Int(s.Attempts), Rollback: gi == 1, Finally: gi == 2}
			if s.StartedAt != nil {
				row.Started = l.LTR(l.Clock(*s.StartedAt, r.loc))
				if s.EndedAt != nil {
					row.Took = l.Iso(l.Duration(s.EndedAt.Sub(*s.StartedAt)))
				}
			}
			if s.Marks != "" {
				row.Marks = l.T("mark." + markKey(s.Marks))
			}
			v.Steps = append(v.Steps, row)
			out := outputRow{ID: s.ID, Error: s.Error, Note: s.Note}
			if len(s.Output) > 0 {
				b, _ := json.MarshalIndent(s.Output, "", "  ")
				out.JSON = string(b)
			}
			if out.JSON != "" || out.Error != "" || out.Note != "" {
				v.Outputs = append(v.Outputs, out)
			}
			if out.Error != "" {
				v.Errors = append(v.Errors, out)
			}
		}
	}
	if inv := rec.Inventory; inv != nil {
		v.InventoryReady = l.T("inventory.ready")
		if !inv.Ready {
			v.InventoryReady = l.T("inventory.notReady")
		}
	}
	v.Verify = r.verification()
	v.SignOff = r.signOff()
	v.Statements = r.statements()
	env := rec.Environment
	for _, kv := range [][2]string{{"env.drillctl", env.DrillctlVersion}, {"env.host", env.WorkerHost}, {"env.namespace", rec.Namespace},
		{"env.queue", env.TaskQueue}, {"env.workflow", rec.DrillID + " / " + rec.RunID}, {"env.schema", l.Int(rec.SchemaVersion)}} {
		v.Env = append(v.Env, [2]string{l.T(kv[0]), kv[1]})
	}
	return v
}

func (r *renderer) verdict(v string) string {
	switch v {
	case VerdictMet, VerdictMissed, VerdictNotMeasured, VerdictIncomplete, StatusFailed, StatusAborted, StatusRunning, "no-target":
		return r.l.T("verdict." + v)
	case "":
		return "—"
	}
	return v
}

func (r *renderer) measures() []measureRow {
	l, rec := r.l, r.rec
	at := func(t time.Time) string { return l.LTR(l.DateTime(t, r.loc)) }
	var rows []measureRow
	for _, m := range []struct {
		key string
		m   Measure
	}{{"rto", rec.Measures.RTO}, {"rpo", rec.Measures.RPO}, {"permissionRpo", rec.Measures.PermissionRPO}, {"response", rec.Measures.Response}} {
		if m.key == "permissionRpo" && m.m.TargetSeconds == nil && m.m.AchievedSeconds == nil {
			continue // measured only by directory (ldap) replication checks
		}
		row := measureRow{Name: l.T("measure." + m.key), Achieved: r.secs(m.m.AchievedSeconds), Target: r.secs(m.m.TargetSeconds),
			Verdict: r.verdict(m.m.Verdict), VerdictCls: m.m.Verdict, Margin: r.secs(m.m.MarginSeconds),
			Resolution: r.secs(m.m.ResolutionSeconds), Note: l.Iso(m.m.Note)}
		if m.m.From != nil && m.m.To != nil {
			row.Detail = l.T("measure.fromTo", at(m.m.From.At), l.LTR(m.m.From.Step), at(m.m.To.At), l.LTR(m.m.To.Step))
		}
		if m.m.AckedBy != "" {
			if row.Detail != "" {
				row.Detail += l.T("list.sep")
			}
			row.Detail += l.T("measure.acked", l.Iso(m.m.AckedBy), l.LTR(l.Int(m.m.Level)))
		}
		rows = append(rows, row)
	}
	return rows
}

func (r *renderer) secs(s *float64) string {
	if s == nil {
		return "—"
	}
	return r.l.Iso(r.l.Duration(time.Duration(*s * float64(time.Second))))
}

func drillStatus(s string) string {
	switch s {
	case StatusRunning, StatusCompleted, StatusFailed, StatusAborted:
		return s
	}
	return "unknown"
}

func markKey(m string) string {
	switch m {
	case "outage_start":
		return "outageStart"
	case "service_restored":
		return "restored"
	}
	return "other"
}

// logoURL makes the logo a data: URL the page carries itself, for the
// image types browsers show; anything else is left out.
func logoURL(b []byte) template.URL {
	if len(b) == 0 {
		return ""
	}
	typ := http.DetectContentType(b)
	if strings.HasPrefix(typ, "text/") && bytes.Contains(b[:min(len(b), 512)], []byte("<svg")) {
		typ = "image/svg+xml"
	}
	switch typ {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml":
		return template.URL("data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(b))
	}
	return ""
}

//go:embed report.html.tmpl
var htmlTemplate string

//go:embed report.md.tmpl
var mdTemplate string

// funcs are the templates' functions; "t" is bound to the report's
// language at each render (see execute).
var funcs = map[string]any{
	"t":    func(key string, args ...any) string { return key },
	"cell": mdCell,
	"join": strings.Join,
	"indent": func(s string) string {
		return "   " + strings.ReplaceAll(s, "\n", "\n   ")
	},
}

// mdCell makes text safe in a Markdown table cell: one line, no bar.
func mdCell(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "|", `\|`).Replace(s)
	return strings.TrimSpace(s)
}

var (
	htmlReport = template.Must(template.New("report.html").Funcs(funcs).Parse(htmlTemplate))
	mdReport   = textTemplate.Must(textTemplate.New("report.md").Funcs(funcs).Parse(mdTemplate))
)

// RenderHTML renders report.html: one self-contained page (inline CSS and
// SVG, no scripts, no network) that prints on A4 with a cover, page numbers
// and a sign-off page; report.pdf is this page printed.
func RenderHTML(rec Record, opts RenderOptions) ([]byte, error) {
	r := newRenderer(rec, opts)
	tmpl, err := htmlReport.Clone() // the base is never executed, so it clones
	if err != nil {
		return nil, fmt.Errorf("evidence: render report.html: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Funcs(map[string]any{"t": r.l.T}).Execute(&b, r.view()); err != nil {
		return nil, fmt.Errorf("evidence: render report.html: %w", err)
	}
	return b.Bytes(), nil
}

// RenderMarkdown renders report.md.
func RenderMarkdown(rec Record, opts RenderOptions) ([]byte, error) {
	r := newRenderer(rec, opts)
	tmpl, err := mdReport.Clone()
	if err != nil {
		return nil, fmt.Errorf("evidence: render report.md: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Funcs(map[string]any{"t": r.l.T}).Execute(&b, r.view()); err != nil {
		return nil, fmt.Errorf("evidence: render report.md: %w", err)
	}
	return b.Bytes(), nil
}

// secs renders a figure in seconds as an English duration, or "—" (the
// quarterly report's cells).
func secs(s *float64) string {
	if s == nil {
		return "—"
	}
	return HumanDuration(time.Duration(*s * float64(time.Second)))
}
