package console

import (
	"archive/tar"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

const bundleID = "drill-chat-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

// writeBundle writes a signed bundle of a met drill into the console's
// store and returns the key's public half.
func writeBundle(t *testing.T, store *evidence.Store) ed25519.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	started := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ended := started.Add(10 * time.Minute)
	target, achieved := 14400.0, 3.2
	rec := evidence.Record{SchemaVersion: 1, DrillID: bundleID, Playbook: evidence.PlaybookRef{Name: "chat"},
		StartedAt: started, EndedAt: &ended, Status: evidence.StatusCompleted, Verdict: evidence.VerdictMet,
		Measures: evidence.Measures{RTO: evidence.Measure{TargetSeconds: &target, AchievedSeconds: &achieved, Verdict: evidence.VerdictMet}},
		Steps:    []evidence.StepRecord{{ID: "failover", Type: "http", Status: evidence.StepSucceeded, Attempts: 1, StartedAt: &started, EndedAt: &ended}}}
	_, err = store.Write(rec, []byte(testPlaybook), priv, evidence.RenderOptions{Chromium: evidence.ChromiumOff})
	require.NoError(t, err)
	return pub
}

func TestEvidence_BundlesAreShownVerifiedAndTamperingIsCaught(t *testing.T) {
	var store *evidence.Store
	var pub ed25519.PublicKey
	tc := newTestConsole(t, func(c *Config) {
		store = c.Evidence
		pub = writeBundle(t, store)
		c.PublicKey = pub
	})
	vera := tc.signedIn("vera")
	_, list := tc.get(vera, "/evidence")
	assert.Contains(t, list, `href="/evidence/`+bundleID+`"`)
	assert.Contains(t, list, "badge good\">verified")

	resp, page := tc.get(vera, "/evidence/"+bundleID)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `<span id="integrity"><span class="badge good">verified</span>`)
	assert.Contains(t, page, `<iframe class="report" src="/evidence/`+bundleID+`/report.html"`)

	resp, report := tc.get(vera, "/evidence/"+bundleID+"/report.html")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, report, bundleID)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox", "the report runs no script")

	require.NoError(t, os.WriteFile(filepath.Join(store.Dir, bundleID, evidence.FileReportMD), []byte("# altered\n"), 0o600))
	_, page = tc.get(vera, "/evidence/"+bundleID)
	assert.Contains(t, page, "FAILED verification")
	assert.Contains(t, page, "report.md: changed")
}

func TestEvidence_ASignedBundleWithoutAKeyIsIntactButUnchecked(t *testing.T) {
	tc := newTestConsole(t, func(c *Config) { writeBundle(t, c.Evidence) })
	_, page := tc.get(tc.signedIn("vera"), "/evidence/"+bundleID)
	assert.Contains(t, page, "signature not checked")
}

func TestEvidence_TheArchiveHoldsTheWholeBundle(t *testing.T) {
	var store *evidence.Store
	tc := newTestConsole(t, func(c *Config) { store = c.Evidence; writeBundle(t, store) })
	resp, err := tc.signedIn("vera").Get(tc.ts.URL + "/evidence/" + bundleID + "/bundle.tar.gz")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Disposition"), bundleID+".tar.gz")
	gz, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
	entries, err := os.ReadDir(filepath.Join(store.Dir, bundleID))
	require.NoError(t, err)
	var want []string
	for _, e := range entries {
		if !e.IsDir() {
			want = append(want, bundleID+"/"+e.Name())
		}
	}
	sort.Strings(names)
	assert.Equal(t, want, names)
}

func TestEvidence_NamesOutsideTheStoreAreNotServed(t *testing.T) {
	tc := newTestConsole(t)
	vera := tc.signedIn("vera")
	for _, name := range []string{"..", ".hidden", "a%2F..%2F..%2Fetc", "nope"} {
		resp, _ := tc.get(vera, "/evidence/"+name+"/report.html")
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, name)
	}
}

func TestSchedules_StartersPauseAndSkipOthersOnlyRead(t *testing.T) {
	tc := newTestConsole(t)
	dave := tc.signedIn("dave")
	_, page := tc.get(dave, "/schedules")
	assert.Contains(t, page, "chat-quarterly")
	assert.Contains(t, page, `datetime="2027-01-01T09:00:00Z"`, "the next drill, for the script to show in the viewer's zone")
	assert.NotContains(t, page, "/schedules/chat-quarterly/pause")
	resp, _ := tc.post(dave, "/schedules/chat-quarterly/pause", url.Values{"csrf": {tc.csrf(dave)}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	carol := tc.signedIn("carol")
	resp, _ = tc.post(carol, "/schedules/chat-quarterly/pause", url.Values{"csrf": {tc.csrf(carol)}, "note": {"freeze"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.True(t, tc.backend.paused["chat-quarterly"])
	resp, _ = tc.post(carol, "/schedules/chat-quarterly/skip", url.Values{"csrf": {tc.csrf(carol)}, "date": {"2027-01-01"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, []string{"2026-12-25", "2027-01-01"}, tc.backend.skips["chat-quarterly"])
	resp, _ = tc.post(carol, "/schedules/chat-quarterly/unskip", url.Values{"csrf": {tc.csrf(carol)}, "date": {"2026-12-25"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, []string{"2027-01-01"}, tc.backend.skips["chat-quarterly"])
	resp, _ = tc.post(carol, "/schedules/chat-quarterly/skip", url.Values{"csrf": {tc.csrf(carol)}, "date": {"soon"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestRegister_ShowsEachPlaybooksLastDrill(t *testing.T) {
	tc := newTestConsole(t, func(c *Config) { c.PublicKey = writeBundle(t, c.Evidence) })
	resp, page := tc.get(tc.signedIn("vera"), "/register?period=2026Q4")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `id="register"`)
	assert.Contains(t, page, `href="/drills/`+bundleID+`"`)
	assert.Contains(t, page, ">chat<")
}
