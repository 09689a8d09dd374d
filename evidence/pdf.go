package evidence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FileReportPDF is report.html printed on A4 (see PrintPDF).
const FileReportPDF = "report.pdf"

// DefaultPDFTimeout bounds one Chromium run when RenderOptions says nothing.
const DefaultPDFTimeout = 60 * time.Second

// ChromiumOff, as RenderOptions.Chromium or $DRILLCTL_CHROMIUM, turns PDF
// printing off.
const ChromiumOff = "off"

// ErrNoChromium says no Chromium was found to print a PDF with.
var ErrNoChromium = errors.New("no headless Chromium found (install Debian's chromium, or give its path with --chromium or $DRILLCTL_CHROMIUM)")

// errChromiumOff says PDF printing was turned off.
var errChromiumOff = errors.New("PDF printing is turned off (chromium: off)")

// chromiumNames are the executables FindChromium looks for on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// FindChromium returns the Chromium to print with: path when given, else
// $DRILLCTL_CHROMIUM, else the first of chromium, chromium-browser and
// google-chrome on PATH. "off" in either place turns printing off.
func FindChromium(path string) (string, error) {
	if path == "" {
		path = os.Getenv("DRILLCTL_CHROMIUM")
	}
	switch {
	case strings.EqualFold(path, ChromiumOff) || strings.EqualFold(path, "none"):
		return "", errChromiumOff
	case path != "":
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("chromium %q: %w", path, err)
		}
		return p, nil
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// RenderPDF renders report.html and prints it to PDF (A4, a cover, page
// numbers, a sign-off page).
func RenderPDF(rec Record, opts RenderOptions) ([]byte, error) {
	html, err := RenderHTML(rec, opts)
	if err != nil {
		return nil, err
	}
	return PrintPDF(context.Background(), html, opts)
}

// PrintPDF prints a self-contained HTML page to PDF with headless Chromium:
// A4 as the page's CSS @page says, with the page numbers its @page margin
// boxes draw (Chromium's own header and footer are turned off). Each run has
// a fresh profile in a temporary folder, no network features, and ends
// within opts.PDFTimeout; the folder is removed afterwards.
func PrintPDF(ctx context.Context, html []byte, opts RenderOptions) ([]byte, error) {
	chromium, err := FindChromium(opts.Chromium)
	if err != nil {
		return nil, err
	}
	timeout := opts.PDFTimeout
	if timeout <= 0 {
		timeout = DefaultPDFTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "drillctl-pdf-")
	if err != nil {
		return nil, fmt.Errorf("print PDF: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, FileReportPDF)
	if err := runChromium(ctx, chromium, dir, html, "--print-to-pdf="+out, "--no-pdf-header-footer"); err != nil {
		return nil, err
	}
	pdf, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("print PDF: chromium wrote no PDF: %w", err)
	}
	if !strings.HasPrefix(string(pdf[:min(len(pdf), 5)]), "%PDF-") {
		return nil, errors.New("print PDF: chromium's output is not a PDF")
	}
	return pdf, nil
}

// runChromium writes html into dir as page.html and runs headless Chromium
// on it with args added, its profile, cache and home inside dir.
func runChromium(ctx context.Context, chromium, dir string, html []byte, args ...string) error {
	page := filepath.Join(dir, "page.html")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return fmt.Errorf("chromium: %w", err)
	}
	argv := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(dir, "profile")}, args...)
	argv = append(argv, "file://"+filepath.ToSlash(page))
	cmd := exec.CommandContext(ctx, chromium, argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	killGroup(cmd) // Chromium forks helpers: a timeout ends them all
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("chromium %s: %w", chromium, ctx.Err())
		}
		return fmt.Errorf("chromium %s: %w: %s", chromium, err, lastLines(stderr.String(), 3))
	}
	return nil
}

// lastLines returns the last n lines of s, for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// bundleReports renders a bundle's report.md and report.html and prints
// report.pdf from the HTML. A PDF that cannot be printed never fails the
// bundle: pdf is then nil, and report.md and report.html say why.
func bundleReports(rec Record, opts RenderOptions) (md, html, pdf []byte, err error) {
	if html, err = RenderHTML(rec, opts); err != nil {
		return nil, nil, nil, err
	}
	pdf, pdfErr := PrintPDF(context.Background(), html, opts)
	if pdfErr != nil {
		opts.pdfMissing = pdfErr.Error()
		if html, err = RenderHTML(rec, opts); err != nil {
			return nil, nil, nil, err
		}
	}
	if md, err = RenderMarkdown(rec, opts); err != nil {
		return nil, nil, nil, err
	}
	return md, html, pdf, nil
}
