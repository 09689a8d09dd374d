package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/i18n"
)

// pageNames are the templates/<name>.html pages; each is parsed with the
// layout and the shared partials.
var pageNames = []string{"signin", "error", "drills", "drill", "evidence", "bundle", "register", "schedules"}

// pageTemplate is one page with the layout.
type pageTemplate struct{ t *template.Template }

// parsePages parses every page with the layout and the partials.
func parsePages() (map[string]*pageTemplate, error) {
	out := map[string]*pageTemplate{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(embedded,
			"templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t: t}
	}
	return out, nil
}

// language is one entry of the language menu: its tag and its own name.
type languageOption struct{ Tag, Name string }

// languages are the five languages of the reports, each in its own words.
var languages = []languageOption{
	{"en", "English"}, {"zh-Hans", "简体中文"}, {"zh-Hant-HK", "繁體中文（香港）"}, {"vi", "Tiếng Việt"}, {"ar", "العربية"},
}

// page is what every page template receives.
type page struct {
	L         i18n.Locale
	Title     string
	Who       string
	CSRF      string
	Nav       string
	Path      string
	Languages []languageOption
	Data      any
}

// render writes a page in the viewer's language.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, code int, name, titleKey string, data any) {
	l := s.locale(w, r)
	p := page{L: l, Title: l.T(titleKey), Nav: name, Path: r.URL.Path, Languages: languages, Data: data}
	if sess != nil {
		p.Who, p.CSRF = sess.Name, s.csrfToken(sess)
	}
	var buf bytes.Buffer
	if err := s.pages[name].t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		http.Error(w, "console: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	buf.WriteTo(w)
}

// renderFragment executes one named template of a page (the live parts of
// a drill) into a string.
func (s *Server) renderFragment(name, tmpl string, p page) (string, error) {
	var buf bytes.Buffer
	if err := s.pages[name].t.ExecuteTemplate(&buf, tmpl, p); err != nil {
		return "", fmt.Errorf("console: render %s: %w", tmpl, err)
	}
	return buf.String(), nil
}

// acceptLanguage is the best of the five languages for an Accept-Language
// header, English when none fits.
func acceptLanguage(header string) i18n.Locale {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err == nil {
		for _, t := range tags {
			if l, err := i18n.Parse(t.String()); err == nil {
				return l
			}
		}
	}
	return i18n.Match("en")
}

// funcs are the template functions; those that speak take the locale.
var funcs = template.FuncMap{
	// when renders an instant as a <time> element: UTC on the server, the
	// viewer's zone once the script has run (Intl.DateTimeFormat).
	"when": func(l i18n.Locale, t any) template.HTML {
		var at time.Time
		switch v := t.(type) {
		case time.Time:
			at = v
		case *time.Time:
			if v == nil {
				return ""
			}
			at = *v
		default:
			return ""
		}
		if at.IsZero() {
			return ""
		}
		return template.HTML(fmt.Sprintf(`<time datetime="%s">%s</time>`,
			at.UTC().Format(time.RFC3339Nano), template.HTMLEscapeString(l.DateTime(at, time.UTC))))
	},
	"date": func(l i18n.Locale, t time.Time) string { return l.Date(t, time.UTC) },
	"dur": func(l i18n.Locale, secs *float64) string {
		if secs == nil {
			return "—"
		}
		return l.Duration(time.Duration(*secs * float64(time.Second)))
	},
	"took": func(l i18n.Locale, from, to *time.Time) string {
		if from == nil || to == nil {
			return ""
		}
		return l.Duration(to.Sub(*from))
	},
	// word translates a status or verdict through its catalog key.
	"word": func(l i18n.Locale, prefix, v string) string {
		if v == "" {
			return "—"
		}
		if k := prefix + "." + v; i18n.Has(k) {
			return l.T(k)
		}
		return v
	},
	"tone": tone,
	// badge is a status or verdict as a coloured label; the word carries
	// the meaning, the colour only repeats it.
	"badge": func(l i18n.Locale, prefix, v string) template.HTML {
		w := v
		if k := prefix + "." + v; v != "" && i18n.Has(k) {
			w = l.T(k)
		}
		if w == "" {
			return "—"
		}
		return template.HTML(fmt.Sprintf(`<span class="badge %s">%s</span>`, tone(v), template.HTMLEscapeString(w)))
	},
	"stepItem": func(l i18n.Locale, s evidence.StepRecord) stepItem { return stepItem{l, s} },
	"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"join":     strings.Join,
	"list":     func(v ...string) []string { return v },
	"sub":      func(a, b int) int { return a - b },
	"add":      func(a, b int) int { return a + b },
}

// stepItem is what the "step" template shows: a step, and the language.
type stepItem struct {
	L i18n.Locale
	S evidence.StepRecord
}

// tone is the CSS class of a status or verdict: good, bad, warn, busy or
// plain (the badge's colour; its word says the same in text).
func tone(v string) string {
	switch v {
	case evidence.VerdictMet, evidence.StepSucceeded, evidence.StatusCompleted, "verified", "ok", "acked":
		return "good"
	case evidence.VerdictMissed, evidence.StepFailed, evidence.StatusAborted, "breached", evidence.StepUnknown, "overdue":
		return "bad"
	case evidence.VerdictIncomplete, evidence.VerdictNotMeasured, evidence.StepWaiting, "unsigned", "unchecked", "paused", "needs-verification":
		return "warn"
	case evidence.StepRunning:
		return "busy"
	}
	return "plain"
}
