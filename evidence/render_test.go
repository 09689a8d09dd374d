package evidence

import (
	"flag"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// reportOptions are the options of the fixture reports: Hong Kong time, a
// signed bundle, the fixture's playbook.
func reportOptions(t *testing.T, lang string) RenderOptions {
	t.Helper()
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	return RenderOptions{TZ: hk, Signed: true, Lang: lang, Playbook: fixturePlaybook(t), Company: "Example Holdings Ltd",
		KeyFingerprint: "sha256:5b1f0c9e2d7a4b3c8e6f1a2d9c0b7e4f3a6d8c1b2e9f0a7d4c3b6e8f1a2d9c0b"}
}

func TestRenderMarkdown_GoldenEnglish(t *testing.T) {
	md, err := RenderMarkdown(reportRecord(fixturePlaybook(t)), reportOptions(t, "en"))
	require.NoError(t, err)
	golden := filepath.Join("testdata", "report.en.md")
	if *update {
		require.NoError(t, os.WriteFile(golden, md, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./evidence/ -run Golden -update to create it")
	assert.Equal(t, string(want), string(md), "report.md changed: review the diff, then rerun with -update")
}

func TestRenderMarkdown_DataIntegrityUpFrontInWords(t *testing.T) {
	md, err := RenderMarkdown(reportRecord(fixturePlaybook(t)), reportOptions(t, "en"))
	require.NoError(t, err)
	page := string(md)
	for _, want := range []string{
		"### permissions — permissions: within tolerance", "Permission drift: 0", "120 on the primary, 120 on the standby",
		"### chat-records — messages: within tolerance", "**Records lost: 25**", "`msg-005391`", "`msg-005410`",
		"(the first 20 of 25 ids are named)", "Tolerance: at most 100,000, and a loss window of at most 15m0s.",
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "msg-005411", "only the first 20 ids are named")
	assert.Less(t, strings.Index(page, "## Data integrity"), strings.Index(page, "## Scorecard"), "data integrity comes first")
}

func TestRenderMarkdown_DecisionsScopeAndDeviations(t *testing.T) {
	md, err := RenderMarkdown(reportRecord(fixturePlaybook(t)), reportOptions(t, "en"))
	require.NoError(t, err)
	page := string(md)
	for _, want := range []string{
		"Carol Wong (coordinator): started the drill", "signed, verified (key SHA256:q8vG2k",
		"drillctl: page sent to Alice Chan (alice), level 1 (page-admins), on console", // the recipient, not "by alice"
		"Bob Lee (bob): acknowledged the page (level 2) (page-admins), via link on dingtalk",
		"no one: gate opened with no human decision (change-window)",
		"Alice Chan (alice): decided on an unknown outcome: continue (it took effect) (switch-dns)", "— **unverified**",
		"Scenario: Loss of the primary data centre during business hours", "Test type: failover", "Sites drilled: primary, standby",
		"Owner: dr-team@example.com", "No more than 15 minutes of messages lost", "tier 1: 3; tier 2: 1",
		"notify-cab failed and the drill continued (continueOnError)", "switch-dns took 2 attempts", "archive-report was skipped",
		"the gate change-window opened with no human decision",
		"Signing key (ed25519) fingerprint: `sha256:5b1f0c9e", "sha256sum -c -", "openssl pkeyutl -verify -pubin",
		"| Carol Wong (coordinator) | DR coordinator (started the drill); Approver (go/no-go) |", "| &nbsp; | Compliance officer |",
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "by alice")
	assert.NotContains(t, page, "failback was skipped", "a rollback not needed is no deviation")
}

func TestRenderMarkdown_NoEmptyStepErrorsHeading(t *testing.T) {
	rec := reportRecord(fixturePlaybook(t))
	md, err := RenderMarkdown(rec, reportOptions(t, "en"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Step errors\n\n- notify-cab: dingtalk: status 502")
	for i := range rec.Steps {
		rec.Steps[i].Error = ""
	}
	md, err = RenderMarkdown(rec, reportOptions(t, "en"))
	require.NoError(t, err)
	assert.NotContains(t, string(md), "Step errors")
}

func TestRenderHTML_UnverifiedDecisionsAndUnsignedBundlesInRed(t *testing.T) {
	rec := reportRecord(fixturePlaybook(t))
	rec.Identity.Mode = "unverified"
	rec.Approvals[0].Verified = false
	opts := reportOptions(t, "en")
	opts.Signed = false
	page, err := RenderHTML(rec, opts)
	require.NoError(t, err)
	s := string(page)
	assert.Contains(t, s, `<span class="verdict bad">Identity: UNVERIFIED.`)
	assert.Contains(t, s, `<span class="verdict proof bad">signed, NOT verified (key SHA256:q8vG2k`)
	assert.Contains(t, s, `<span class="verdict bad">unsigned</span>`)
	assert.Contains(t, s, `<div class="banner">UNSIGNED: this bundle carries no signature.`)
}

func TestRenderHTML_LogoAndCompanyOnTheCover(t *testing.T) {
	opts := reportOptions(t, "en")
	opts.Logo = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`)
	page, err := RenderHTML(reportRecord(fixturePlaybook(t)), opts)
	require.NoError(t, err)
	assert.Contains(t, string(page), `<img alt="" src="data:image/svg&#43;xml;base64,`)
	assert.Contains(t, string(page), "Example Holdings Ltd")
	opts.Logo = []byte("#!/bin/sh\necho not an image\n")
	page, err = RenderHTML(reportRecord(fixturePlaybook(t)), opts)
	require.NoError(t, err)
	assert.NotContains(t, string(page), "<img", "what is not an image is left out")
}

// svgText is one label of a timeline.
type svgText struct {
	x0, y0, x1, y1 float64
	text           string
}

var svgTextRE = regexp.MustCompile(`<text x="([\d.-]+)" y="([\d.-]+)" class="([^"]+)" text-anchor="(\w+)">([^<]*)</text>`)

// svgLabels reads every label of a timeline with the box it takes.
func svgLabels(t *testing.T, svg string) []svgText {
	t.Helper()
	var out []svgText
	for _, m := range svgTextRE.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		px := tlMarkPx
		if strings.HasPrefix(m[3], "lbl") {
			px = tlStepPx
		}
		text := html.UnescapeString(m[5])
		w := textWidth(text, px)
		box := svgText{x0: x, x1: x + w, y0: y - px, y1: y + 0.25*px, text: text}
		if m[4] == "end" {
			box.x0, box.x1 = x-w, x
		}
		out = append(out, box)
	}
	require.NotEmpty(t, out)
	return out
}

// spanRecord is the fixture drill squeezed or stretched to last span.
func spanRecord(t *testing.T, span time.Duration) Record {
	rec := reportRecord(fixturePlaybook(t))
	scale := func(at time.Time) time.Time {
		return rec.StartedAt.Add(time.Duration(float64(at.Sub(rec.StartedAt)) * float64(span) / float64(20*time.Minute)))
	}
	for i, s := range rec.Steps {
		if s.StartedAt != nil {
			a, b := scale(*s.StartedAt), scale(*s.EndedAt)
			rec.Steps[i].StartedAt, rec.Steps[i].EndedAt = &a, &b
		}
	}
	for _, in := range []*Instant{rec.Measures.RTO.From, rec.Measures.RTO.To, rec.Measures.RPO.From, rec.Measures.Response.From, rec.Measures.Response.To} {
		in.At = scale(in.At)
	}
	for i := range rec.Approvals {
		rec.Approvals[i].At = scale(rec.Approvals[i].At)
	}
	for i := range rec.Decisions {
		rec.Decisions[i].At = scale(rec.Decisions[i].At)
	}
	return rec
}

func TestTimeline_LabelsNeverOverlapAtAnyDuration(t *testing.T) {
	for _, span := range []time.Duration{2 * time.Second, 20 * time.Minute, 4 * time.Hour} {
		for _, lang := range []string{"en", "zh-Hans", "vi", "ar"} {
			r := newRenderer(spanRecord(t, span), reportOptions(t, lang))
			labels := svgLabels(t, string(r.timeline()))
			for _, want := range []string{"mark.outageStart", "mark.restored", "mark.acked"} {
				assert.True(t, containsLabel(labels, i18n.Match(lang).T(want)), "%s %s: label %s", span, lang, want)
			}
			for i := range labels {
				for j := i + 1; j < len(labels); j++ {
					a, b := labels[i], labels[j]
					overlap := a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
					assert.False(t, overlap, "%s %s: %q and %q overlap", span, lang, a.text, b.text)
				}
				assert.GreaterOrEqual(t, labels[i].x0, 0.0, "%q starts off the chart", labels[i].text)
				assert.LessOrEqual(t, labels[i].x1, tlViewW, "%q ends off the chart", labels[i].text)
			}
		}
	}
}

func containsLabel(labels []svgText, text string) bool {
	for _, l := range labels {
		if l.text == text {
			return true
		}
	}
	return false
}

func TestLayoutLabels_ManyMarksAtOneInstantStack(t *testing.T) {
	xs := []float64{400, 400, 400, 401, 402}
	texts := []string{"outage start", "service restored", "first page", "acknowledged", "go"}
	boxes := layoutLabels(xs, texts, make([]string, len(xs)))
	rows := map[int]bool{}
	for _, b := range boxes {
		assert.False(t, rows[b.row], "two labels share row %d", b.row)
		rows[b.row] = true
	}
}

func TestQuarterReport_RenderInEveryLanguage(t *testing.T) {
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	q, err := ParseQuarter("2026Q4", hk)
	require.NoError(t, err)
	r := BuildQuarterReport(q, []Record{reportRecord(fixturePlaybook(t))}, []string{"sso-failover"})
	for _, lang := range []string{"en", "zh-Hans", "zh-Hant-HK", "vi", "ar"} {
		l := i18n.Match(lang)
		md, err := r.Render(QuarterMarkdown, RenderOptions{Lang: lang})
		require.NoError(t, err)
		assert.Contains(t, string(md), l.T("quarter.notDrilled"), lang)
		assert.Contains(t, string(md), "- **sso-failover**", lang)
		assert.Contains(t, string(md), "| drill-chat-platform-quarterly-6f1c | "+l.LTR(l.DateTime(reportRecord(nil).StartedAt, hk)), lang)
		page, err := r.Render(QuarterHTML, RenderOptions{Lang: lang})
		require.NoError(t, err)
		assert.Contains(t, string(page), `lang="`+lang+`" dir="`+l.Dir()+`"`)
	}
	_, err = r.Render("pdf", RenderOptions{})
	assert.Error(t, err, "PrintPDF prints the HTML")
}
