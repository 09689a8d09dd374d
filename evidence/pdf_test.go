package evidence

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
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

// artifacts is where the language test leaves its screenshots and PDFs:
// $DRILLCTL_ARTIFACTS, or a temporary folder. Never committed.
func artifacts(t *testing.T) string {
	dir := os.Getenv("DRILLCTL_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// needTools skips the test, saying why, when a program it runs is absent.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if testChromium == "" {
		t.Skip("no chromium on PATH (.ci/run installs Debian's chromium): PDF and screenshots not checked")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs poppler-utils): %v", tool, err)
		}
	}
}

func TestRenderHTML_FiveLanguagesRightToLeftForArabic(t *testing.T) {
	rec := reportRecord(fixturePlaybook(t))
	for _, lang := range []string{"en", "zh-Hans", "zh-Hant-HK", "vi", "ar"} {
		l := i18n.Match(lang)
		page, err := RenderHTML(rec, reportOptions(t, lang))
		require.NoError(t, err, lang)
		s := string(page)
		assert.Contains(t, s, `<html lang="`+lang+`" dir="`+l.Dir()+`">`, lang)
		for _, key := range []string{"h.integrity", "h.decisions", "h.signoff", "verdict.incomplete", "role.compliance"} {
			assert.Contains(t, s, htmlText(l.T(key)), "%s: %s", lang, key)
		}
		assert.Contains(t, s, "Carol Wong", lang)
		assert.NotContains(t, s, "ZgotmplZ", "%s: a value the template refused", lang)
	}
	ar, err := RenderHTML(rec, reportOptions(t, "ar"))
	require.NoError(t, err)
	assert.Contains(t, string(ar), "<code>msg-005391</code>", "ids are code, isolated left to right")
	assert.Contains(t, string(ar), "code, pre, .mono { direction: ltr; unicode-bidi: isolate;")
	assert.Contains(t, string(ar), "\u2066120\u2069", "figures in sentences are isolated")
	assert.Contains(t, string(ar), "\u206623/11/2026 17:00:00.000 HKT\u2069", "instants keep their direction")
}

// htmlText is text as html/template writes it.
func htmlText(s string) string {
	return strings.NewReplacer("'", "&#39;", `"`, "&#34;", "+", "&#43;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var pagesRE = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)

// TestReportPDF_FiveLanguagesPrintReadably prints the fixture report in each
// language, screenshots report.html, and reads the PDF back: A4, a sensible
// page count, and the verdict, the data-integrity figures and the sign-off
// names in its text.
func TestReportPDF_FiveLanguagesPrintReadably(t *testing.T) {
	needTools(t, "pdfinfo", "pdftotext")
	dir := artifacts(t)
	rec := reportRecord(fixturePlaybook(t))
	for _, lang := range []string{"en", "zh-Hans", "zh-Hant-HK", "vi", "ar"} {
		t.Run(lang, func(t *testing.T) {
			l := i18n.Match(lang)
			opts := reportOptions(t, lang)
			opts.Chromium = testChromium
			page, err := RenderHTML(rec, opts)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "report."+lang+".html"), page, 0o644))

			work := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), DefaultPDFTimeout)
			defer cancel()
			png := filepath.Join(dir, "report."+lang+".png")
			require.NoError(t, runChromium(ctx, testChromium, work, page, "--screenshot="+png, "--window-size=1000,2600"))
			assert.FileExists(t, png)

			began := time.Now()
			pdf, err := PrintPDF(context.Background(), page, opts)
			require.NoError(t, err)
			t.Logf("%s: report.pdf printed in %s (%d KiB)", lang, time.Since(began).Round(time.Millisecond), len(pdf)/1024)
			path := filepath.Join(dir, "report."+lang+".pdf")
			require.NoError(t, os.WriteFile(path, pdf, 0o644))

			info, err := exec.Command("pdfinfo", path).CombinedOutput()
			require.NoError(t, err, "%s", info)
			assert.Contains(t, string(info), "(A4)")
			m := pagesRE.FindSubmatch(info)
			require.NotNil(t, m, "%s", info)
			pages, _ := strconv.Atoi(string(m[1]))
			assert.GreaterOrEqual(t, pages, 4, "a cover, the report and a sign-off page")
			assert.LessOrEqual(t, pages, 14)

			text, err := exec.Command("pdftotext", "-layout", path, "-").Output()
			require.NoError(t, err)
			// pdftotext marks Arabic runs with bidi controls; compare bare text.
			got := strings.Map(func(r rune) rune {
				if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f {
					return -1
				}
				return r
			}, string(text))
			for _, want := range []string{
				l.T("verdict.incomplete"), l.T("h.integrity"), l.T("h.signoff"), l.T("role.compliance"),
				"5,390", "5,415", "msg-005391", "msg-005410", "Carol Wong", "Bob Lee",
			} {
				if lang == "vi" && strings.Contains(want, ",") {
					want = strings.ReplaceAll(want, ",", ".") // 5.390 in Vietnamese
				}
				assert.Contains(t, got, want, "%s: %q not in the PDF's text", lang, want)
			}
		})
	}
	t.Logf("screenshots and PDFs in %s", dir)
}

func TestBundle_PDFWhenChromiumPrintsOrTheManifestSaysNo(t *testing.T) {
	pb := fixturePlaybook(t)
	pub, priv := newKey(t)
	store := &Store{Dir: t.TempDir()}

	ref, err := store.Write(bundleRecord(pb), pb, priv, RenderOptions{Chromium: ChromiumOff})
	require.NoError(t, err)
	m := readManifest(t, ref.Path)
	assert.True(t, m.NoPDF)
	assert.NotContains(t, m.Files, FileReportPDF)
	md, err := os.ReadFile(filepath.Join(ref.Path, FileReportMD))
	require.NoError(t, err)
	assert.Contains(t, string(md), `report.pdf is not in this bundle (manifest.json says "noPdf": true): PDF printing is turned off`)
	res, err := Verify(ref.Path, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%v", res.Problems)

	needTools(t)
	rec := bundleRecord(pb)
	rec.DrillID += "-pdf"
	ref, err = store.Write(rec, pb, priv, RenderOptions{Chromium: testChromium})
	require.NoError(t, err)
	m = readManifest(t, ref.Path)
	assert.False(t, m.NoPDF)
	assert.Contains(t, m.Files, FileReportPDF)
	pdf, err := os.ReadFile(filepath.Join(ref.Path, FileReportPDF))
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))
	res, err = Verify(ref.Path, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%v", res.Problems)
	assert.NotContains(t, string(readFile(t, ref.Path, FileReportMD)), "report.pdf is not in this bundle")
}

// TestReport_VerifyCommandsWorkWithoutDrillctl runs the commands the report
// prints on a real signed bundle: they must pass as written, and fail on a
// changed byte.
func TestReport_VerifyCommandsWorkWithoutDrillctl(t *testing.T) {
	for _, tool := range []string{"jq", "openssl", "sha256sum", "base64", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the report's commands are not checked", tool)
		}
	}
	pb := fixturePlaybook(t)
	pub, priv := newKey(t)
	store := &Store{Dir: t.TempDir()}
	ref, err := store.Write(bundleRecord(pb), pb, priv, RenderOptions{Chromium: ChromiumOff})
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	keyDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(keyDir, "drillctl.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	run := func(cmd string) (string, error) {
		cmd = strings.ReplaceAll(cmd, "/tmp/manifest.sig.bin", filepath.Join(keyDir, "sig.bin"))
		cmd = strings.ReplaceAll(cmd, "drillctl.pub", filepath.Join(keyDir, "drillctl.pub"))
		c := exec.Command("bash", "-o", "pipefail", "-c", cmd)
		c.Dir = ref.Path
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run(cmdFiles)
	require.NoError(t, err, out)
	assert.Contains(t, out, "report.html: OK")
	out, err = run(cmdSigDecode + "\n" + cmdSigVerify)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Signature Verified Successfully")
	out, err = run(cmdFingerprint)
	require.NoError(t, err, out)
	assert.Contains(t, out, strings.TrimPrefix(Fingerprint(pub), "sha256:"))
	md := string(readFile(t, ref.Path, FileReportMD))
	assert.Contains(t, md, "`"+Fingerprint(pub)+"`", "the report names the key the commands check")

	require.NoError(t, os.WriteFile(filepath.Join(ref.Path, FileReportMD), append([]byte(md), ' '), 0o600))
	out, err = run(cmdFiles)
	assert.Error(t, err, "a changed report.md must fail: %s", out)
}

// bundleRecord is the fixture drill without its (fake) SSH signatures,
// which Verify would rightly refuse.
func bundleRecord(pb []byte) Record {
	rec := reportRecord(pb)
	rec.Identity.Start = nil
	for i := range rec.Approvals {
		rec.Approvals[i].Signed = nil
	}
	return rec
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

func readManifest(t *testing.T, dir string) Manifest {
	t.Helper()
	var m Manifest
	require.NoError(t, json.Unmarshal(readFile(t, dir, FileManifest), &m))
	return m
}
