package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var playbookYAML = []byte("apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: chat}\nsteps: []\n")

func sampleRecord(id string, started time.Time) Record {
	f := func(v float64) *float64 { return &v }
	t := func(d time.Duration) *time.Time { x := started.Add(d); return &x }
	return Record{
		SchemaVersion: SchemaVersion, DrillID: id, RunID: "run-1", Namespace: "default",
		Playbook:  PlaybookRef{Name: "chat", Digest: digest(playbookYAML)},
		StartedAt: started, EndedAt: t(20 * time.Minute), Status: StatusCompleted, Verdict: VerdictMet,
		Measures: Measures{
			RTO: Measure{TargetSeconds: f(14400), AchievedSeconds: f(812.4), ResolutionSeconds: f(1), MarginSeconds: f(13587.6), Verdict: VerdictMet,
				From: &Instant{Step: "failover", At: *t(5 * time.Minute)}, To: &Instant{Step: "restored", At: *t(5*time.Minute + 812400*time.Millisecond)}},
			RPO:      Measure{TargetSeconds: f(900), Verdict: VerdictNotMeasured, Note: "no canary"},
			Response: Measure{TargetSeconds: f(900), AchievedSeconds: f(95), Verdict: VerdictMet, AckedBy: "bob", Level: 2},
		},
		Steps: []StepRecord{
			{ID: "failover", Type: "http", Status: StepSucceeded, Attempts: 1, StartedAt: t(5 * time.Minute), EndedAt: t(5*time.Minute + time.Second),
				Marks: "outage_start", Output: map[string]any{"status": 202}},
			{ID: "restored", Type: "probe", Status: StepSucceeded, Attempts: 1, StartedAt: t(5*time.Minute + time.Second), EndedAt: t(19 * time.Minute)},
			{ID: "perms", Type: "replication-check", Status: StepFailed, Attempts: 3, StartedAt: t(19 * time.Minute), EndedAt: t(20 * time.Minute),
				Error: "group finance: erin has admin on the primary but not on the standby <script>"},
		},
		Approvals:   []Approval{{Step: "go-no-go", By: "alice", At: *t(time.Minute), Approved: true, Comment: "window open"}},
		Acks:        []Ack{{Step: "page", By: "bob", Level: 2, At: *t(2 * time.Minute), Via: "link"}},
		Pages:       []Page{{Step: "page", Level: 1, Contact: "alice", Channel: "slack", SentAt: started}},
		Inventory:   &Inventory{Step: "inventory", Ready: true, Assets: []AssetStatus{{Name: "chat-api", Tier: 1, Status: "ready", LatencyMs: 3.2}}},
		Environment: Environment{DrillctlVersion: "v1.0.0", WorkerHost: "dr-worker-1", TaskQueue: "drillctl"},
	}
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

func TestBundle_RoundTripAndEveryTamperedByteIsNamed(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	pub, priv := newKey(t)
	ref, err := store.Write(sampleRecord("drill-chat-1", time.Now().UTC()), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)
	assert.True(t, ref.Signed)
	assert.True(t, strings.HasPrefix(ref.ManifestDigest, "sha256:"))

	res, err := Verify(ref.Path, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assert.Equal(t, "valid", res.Signature)

	for _, name := range []string{FileRecord, FilePlaybook, FileReportMD, FileReportHTM, FileManifest, FileSignature} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(ref.Path, name)
			orig, err := os.ReadFile(path)
			require.NoError(t, err)
			tampered := append([]byte(nil), orig...)
			tampered[len(tampered)/2] ^= 0x01
			require.NoError(t, os.WriteFile(path, tampered, 0o644))
			defer os.WriteFile(path, orig, 0o644)

			res, err := Verify(ref.Path, pub)
			require.NoError(t, err)
			assert.False(t, res.OK)
			switch name {
			case FileManifest, FileSignature:
				assert.NotEqual(t, "valid", res.Signature)
				assert.Contains(t, strings.Join(res.Changed, " "), name)
			default:
				assert.Equal(t, []string{name}, res.Changed)
			}
		})
	}
	res, err = Verify(ref.Path, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "restored files verify again")
}

func TestBundle_WrongKeyMissingAndExtraFiles(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	_, priv := newKey(t)
	other, _ := newKey(t)
	ref, err := store.Write(sampleRecord("drill-chat-2", time.Now().UTC()), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)

	res, err := Verify(ref.Path, other)
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, "wrong-key", res.Signature)

	res, err = Verify(ref.Path, nil)
	require.NoError(t, err)
	assert.False(t, res.OK, "a signed bundle is not trusted without a key")
	assert.Equal(t, "unchecked", res.Signature)

	require.NoError(t, os.Remove(filepath.Join(ref.Path, FileReportMD)))
	require.NoError(t, os.WriteFile(filepath.Join(ref.Path, "notes.txt"), []byte("added later"), 0o644))
	res, err = Verify(ref.Path, priv.Public().(ed25519.PublicKey))
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, []string{FileReportMD}, res.Missing)
	assert.Equal(t, []string{"notes.txt"}, res.Extra)
}

func TestBundle_UnsignedSaysSoPlainly(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	ref, err := store.Write(sampleRecord("drill-chat-3", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	res, err := Verify(ref.Path, nil)
	require.NoError(t, err)
	assert.True(t, res.OK)
	assert.Equal(t, "unsigned", res.Signature)
	_, err = os.Stat(filepath.Join(ref.Path, FileSignature))
	assert.True(t, os.IsNotExist(err))
	html, err := os.ReadFile(filepath.Join(ref.Path, FileReportHTM))
	require.NoError(t, err)
	assert.Contains(t, string(html), "UNSIGNED")
	md, err := os.ReadFile(filepath.Join(ref.Path, FileReportMD))
	require.NoError(t, err)
	assert.Contains(t, string(md), "**UNSIGNED**")
}

func TestBundle_ACrashLeavesNoBundleThatLooksWhole(t *testing.T) {
	store := &Store{Dir: t.TempDir(), crashAfter: 2}
	_, err := store.Write(sampleRecord("drill-chat-4", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.Error(t, err)
	_, err = os.Stat(store.Path("drill-chat-4"))
	assert.True(t, os.IsNotExist(err), "no bundle under the drill's name")
	list, err := store.List()
	require.NoError(t, err)
	assert.Empty(t, list)

	// A leftover temporary folder (a crash mid-write) is ignored too.
	require.NoError(t, os.MkdirAll(filepath.Join(store.Dir, tmpPrefix+"drill-chat-5-123"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(store.Dir, tmpPrefix+"drill-chat-5-123", FileRecord), []byte("{}"), 0o644))
	list, err = store.List()
	require.NoError(t, err)
	assert.Empty(t, list)

	// The retry succeeds, and writing the same drill again replaces it.
	store.crashAfter = 0
	_, err = store.Write(sampleRecord("drill-chat-4", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	_, err = store.Write(sampleRecord("drill-chat-4", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	list, err = store.List()
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestBundle_RefusesAPlaybookThatIsNotTheOneRun(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	_, err := store.Write(sampleRecord("drill-chat-6", time.Now().UTC()), []byte("something else"), nil, RenderOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not the playbook the drill ran")
}

func TestStore_PreviousFindsTheLastDrillOfAPlaybook(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	base := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"drill-chat-a", "drill-chat-b", "drill-chat-c"} {
		_, err := store.Write(sampleRecord(id, base.Add(time.Duration(i)*24*time.Hour)), playbookYAML, nil, RenderOptions{})
		require.NoError(t, err)
	}
	prev, err := store.Previous("chat", base.Add(36*time.Hour))
	require.NoError(t, err)
	require.NotNil(t, prev)
	assert.Equal(t, "drill-chat-b", prev.DrillID)
	none, err := store.Previous("chat", base)
	require.NoError(t, err)
	assert.Nil(t, none)
}

func TestRenderHTML_EverySectionSelfContainedAndEscaped(t *testing.T) {
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	html, err := RenderHTML(sampleRecord("drill-chat-7", time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), RenderOptions{TZ: hk, Signed: true})
	require.NoError(t, err)
	page := string(html)
	for _, want := range []string{
		"Scorecard", "13m32.4s", "4h0m0s", "not-measured", "no canary", // measures beside targets
		"<svg", "outage start", "service restored", // the timeline
		"go-no-go", "window open", "acknowledgement", "page sent", // people
		"acknowledged by bob at level 2", "Inventory", "chat-api", "Step outputs and errors", "dr-worker-1", "run-1", "Asia/Hong_Kong",
		"17:05:00.000 HKT", // instants in the chosen zone
		"&lt;script&gt;",   // escaped
		"@page { size: A4",
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "UNSIGNED")
	assert.NotContains(t, page, "<script")
	for _, fetch := range []string{"src=", "href=", "@import", "url("} {
		assert.NotContains(t, page, fetch, "the page loads nothing from anywhere")
	}
}

func TestHumanDuration(t *testing.T) {
	assert.Equal(t, "13m32.4s", HumanDuration(812400*time.Millisecond))
	assert.Equal(t, "1.23s", HumanDuration(1234*time.Millisecond))
	assert.Equal(t, "-1h0m0s", HumanDuration(-time.Hour))
}

func TestRecordSchema_CoversEveryFieldOfTheRecord(t *testing.T) {
	raw, err := RecordSchema()
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	props := schema["properties"].(map[string]any)
	for _, name := range []string{"schemaVersion", "drillId", "playbook", "startedAt", "endedAt", "status", "verdict", "measures", "steps", "approvals", "evidence"} {
		assert.Contains(t, props, name)
	}
	rto := props["measures"].(map[string]any)["properties"].(map[string]any)["rto"].(map[string]any)["properties"].(map[string]any)
	for _, name := range []string{"targetSeconds", "achievedSeconds", "resolutionSeconds", "verdict", "from", "to"} {
		assert.Contains(t, rto, name)
	}
	// A real record validates structurally: every key it has is in the schema.
	rec, err := json.Marshal(sampleRecord("drill-x", time.Now()))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec, &doc))
	for k := range doc {
		assert.Contains(t, props, k)
	}
}

func TestQuarterReport_DrillsVerdictsAndPlaybooksNotDrilled(t *testing.T) {
	q, err := ParseQuarter("2026Q4", time.UTC)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), q.Start)
	assert.Equal(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), q.End)
	_, err = ParseQuarter("2026-4", time.UTC)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--quarter "2026-4": expected YYYYQn, e.g. 2026Q4`)

	in := sampleRecord("drill-chat-in", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	before := sampleRecord("drill-chat-q3", time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC))
	other := sampleRecord("drill-pg-q3", time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
	other.Playbook.Name = "postgres-failover"
	r := BuildQuarterReport(q, []Record{before, in, other}, []string{"sso-failover"})
	require.Len(t, r.Playbooks, 1)
	assert.Equal(t, "chat", r.Playbooks[0].Name)
	require.Len(t, r.Playbooks[0].Drills, 1)
	assert.Equal(t, "drill-chat-in", r.Playbooks[0].Drills[0].DrillID)
	assert.Equal(t, []string{"postgres-failover", "sso-failover"}, r.NotDrilled)
	md, err := r.Markdown()
	require.NoError(t, err)
	assert.Contains(t, string(md), "| drill-chat-in | 2026-11-02 09:00 UTC | completed | met | 13m32.4s (4h0m0s) |")
	assert.Contains(t, string(md), "- **sso-failover**")
	html, err := r.HTML()
	require.NoError(t, err)
	assert.Contains(t, string(html), "<li><b>postgres-failover</b></li>")
}
