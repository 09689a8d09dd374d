package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

func TestE2E_SignedEvidenceOfARealDrillVerifiesAndCatchesTampering(t *testing.T) {
	keys := t.TempDir()
	kg := drillctl(t, "evidence", "keygen", "--out", keys)
	require.Equal(t, 0, kg.code, kg.stderr)
	info, err := os.Stat(filepath.Join(keys, evidence.PrivateKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	key, err := evidence.LoadPrivateKey(filepath.Join(keys, evidence.PrivateKeyFile))
	require.NoError(t, err)
	acts := testActivities()
	acts.SigningKey = key
	startWorkerWith(t, acts, nil)

	p := newPlatform(t, 300*time.Millisecond)
	r := drillctl(t, "drill", "run", writePlaybook(t, gatedPlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	waitForStep(t, id, "go-no-go", evidence.StepWaiting)
	require.Equal(t, 0, drillctl(t, "drill", "approve", id, "go-no-go", "--as", "bob", "--comment", "evidence test").code)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	rec := decodeRecord(t, res)
	require.NotNil(t, rec.Evidence, rec.EvidenceError)
	assert.True(t, rec.Evidence.Signed)
	bundle := rec.Evidence.Path
	assert.Equal(t, filepath.Join(evidenceDir, id), bundle)

	pub := filepath.Join(keys, evidence.PublicKeyFile)
	ok := drillctl(t, "evidence", "verify", bundle, "--pubkey", pub)
	require.Equal(t, 0, ok.code, ok.stdout+ok.stderr)
	assert.Contains(t, ok.stdout, "signature valid")

	stored, err := evidence.ReadRecord(bundle)
	require.NoError(t, err)
	assert.Equal(t, "bob", stored.Approvals[0].By)
	assert.Equal(t, rec.Measures.RTO.AchievedSeconds, stored.Measures.RTO.AchievedSeconds)
	assert.NotEmpty(t, stored.Environment.WorkerHost)
	playbook, err := os.ReadFile(filepath.Join(bundle, evidence.FilePlaybook))
	require.NoError(t, err)
	assert.Equal(t, gatedPlaybook(p.srv.URL), string(playbook), "the exact playbook run")

	// Export as tar.gz, then tamper with the store's copy: verify names the file.
	out := t.TempDir()
	ex := drillctl(t, "evidence", "export", id, "--evidence-dir", evidenceDir, "--format", "tar.gz", "--out", out)
	require.Equal(t, 0, ex.code, ex.stderr)
	tgz := strings.TrimSpace(ex.stdout)
	listing, err := exec.Command("tar", "-tzf", tgz).Output()
	require.NoError(t, err)
	assert.Contains(t, string(listing), id+"/manifest.sig")

	report := filepath.Join(bundle, evidence.FileReportHTM)
	orig, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(report, bytes.Replace(orig, []byte("met"), []byte("mot"), 1), 0o644))
	bad := drillctl(t, "evidence", "verify", bundle, "--pubkey", pub, "--output", "json")
	assert.Equal(t, 5, bad.code, "verification failure has its own exit code")
	assert.Contains(t, bad.stdout, `"changed": [`+"\n"+`    "report.html"`)
	require.NoError(t, os.WriteFile(report, orig, 0o644))

	q := time.Now().UTC()
	quarter := fmt.Sprintf("%dQ%d", q.Year(), (int(q.Month())-1)/3+1)
	rep := drillctl(t, "report", "--quarter", quarter, "--evidence-dir", evidenceDir, "--playbooks", "../playbooks/examples")
	require.Equal(t, 0, rep.code, rep.stderr)
	assert.Contains(t, rep.stdout, "## e2e-failover")
	assert.Contains(t, rep.stdout, id)
	assert.Contains(t, rep.stdout, "- **postgres-failover**", "a shipped playbook not drilled through this store")
}

func TestE2E_ASecretNeverReachesHistoryLogsOrEvidence(t *testing.T) {
	const secret = "s3cr3t-Token-for-the-pager-9f2d"
	t.Setenv("E2E_LAB_TOKEN", secret)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	startWorkerWith(t, testActivities(), logger)

	var seen []string
	p := newPlatform(t, 100*time.Millisecond)
	p.srv.Config.Handler = echoAuth(p.srv.Config.Handler, &seen)
	text := strings.Replace(simplePlaybook(p.srv.URL), `    url: "{{ .params.site }}/failover"`,
		`    url: "{{ .params.site }}/failover"
    headers: {Authorization: "Bearer ${env:E2E_LAB_TOKEN}"}`, 1)
	r := drillctl(t, "drill", "run", writePlaybook(t, text), "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	rec := decodeRecord(t, r)
	require.NotNil(t, rec.Evidence, rec.EvidenceError)
	assert.Contains(t, seen, "Bearer "+secret, "the secret did reach the target")

	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Error("the secret is in the drill record")
	}
	cl := dialServer(t)
	h, err := history(t, cl, rec.DrillID)
	require.NoError(t, err)
	payloads := decodedPayloads(t, h)
	require.Contains(t, payloads, "E2E_LAB_TOKEN", "the decoded history holds the reference")
	if strings.Contains(h+payloads, secret) {
		t.Error("the secret is in the Temporal history")
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the secret is in the worker's logs")
	}
	err = filepath.Walk(rec.Evidence.Path, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		if strings.Contains(string(b), secret) {
			t.Errorf("the secret is in %s", path)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestE2E_ChromiumRendersTheReportAsAPageAPersonCanRead(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium missing on CI: .ci/run installs Debian's chromium")
		}
		t.Skip("no chromium (apt-get install chromium)")
	}
	startWorker(t)
	p := newPlatform(t, 200*time.Millisecond)
	r := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	rec := decodeRecord(t, r)
	require.NotNil(t, rec.Evidence, rec.EvidenceError)

	shot := filepath.Join(t.TempDir(), "report.png")
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--window-size=1000,1400", "--screenshot="+shot,
		"file://"+filepath.Join(rec.Evidence.Path, evidence.FileReportHTM))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	inked, colors := inkedShare(img)
	t.Logf("screenshot %v: %.1f%% of pixels not white, %d colours", img.Bounds().Size(), 100*inked, colors)
	assert.Greater(t, inked, 0.02, "the page is not blank")
	assert.Greater(t, colors, 8, "text, tables and the timeline's colours")
	if dir := os.Getenv("DRILLCTL_KEEP_SCREENSHOT"); dir != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(filepath.Join(dir, "report.png"), b, 0o644)
	}
}

// inkedShare is the share of pixels that are not near-white, and the
// number of distinct colours (capped).
func inkedShare(img image.Image) (float64, int) {
	b := img.Bounds()
	inked, total := 0, 0
	colors := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				inked++
			}
			if len(colors) < 1000 {
				colors[(r>>12)<<8|(g>>12)<<4|bl>>12] = true
			}
		}
	}
	return float64(inked) / float64(total), len(colors)
}

func TestE2E_ExportRebuildsAMissingBundleFromTemporal(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 100*time.Millisecond)
	r := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	rec := decodeRecord(t, r)

	// Another store, which never saw this drill: the bundle is rebuilt.
	empty, out := t.TempDir(), t.TempDir()
	ex := drillctl(t, "evidence", "export", rec.DrillID, "--evidence-dir", empty, "--out", out)
	require.Equal(t, 0, ex.code, ex.stderr)
	bundle := strings.TrimSpace(ex.stdout)
	assert.Equal(t, filepath.Join(out, rec.DrillID), bundle)
	for _, f := range []string{evidence.FileRecord, evidence.FilePlaybook, evidence.FileReportHTM, "history.json"} {
		_, err := os.Stat(filepath.Join(bundle, f))
		assert.NoError(t, err, f)
	}
	res, err := evidence.Verify(bundle, nil)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	stored, err := evidence.ReadRecord(bundle)
	require.NoError(t, err)
	assert.Equal(t, rec.Measures.RTO.AchievedSeconds, stored.Measures.RTO.AchievedSeconds)

	missing := drillctl(t, "evidence", "export", "drill-that-never-ran", "--evidence-dir", empty, "--out", out)
	assert.Equal(t, 1, missing.code)
	assert.Contains(t, missing.stderr, "not in the evidence store")
}
