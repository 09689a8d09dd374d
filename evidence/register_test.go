package evidence

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOutcome_OnlyACompletedMetDrillExercisesItsPlaybook(t *testing.T) {
	base := sampleRecord("drill-x", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name      string
		edit      func(r *Record)
		rehearsal bool
		want      string
		why       string
	}{
		{"met", func(r *Record) {}, false, OutcomePassed, ""},
		{"missed", func(r *Record) { r.Verdict, r.Measures.RTO.Verdict = VerdictMissed, VerdictMissed }, false, OutcomeMissed, "missed RTO"},
		{"incomplete", func(r *Record) {
			r.Verdict, r.VerdictNote = VerdictIncomplete, `gate "go" opened with no human decision`
		}, false, OutcomeIncomplete, "incomplete: gate"},
		{"failed", func(r *Record) { r.Status, r.Verdict, r.Reason = StatusFailed, StatusFailed, "step x failed" }, false, OutcomeFailed, "failed: step x failed"},
		{"aborted", func(r *Record) { r.Status, r.Verdict, r.Reason = StatusAborted, StatusAborted, "standby wrong" }, false, OutcomeAborted, "aborted: standby wrong"},
		{"refused", func(r *Record) {
			r.Status, r.Reason = StatusFailed, "playbook is locked by drill-y"
			for i := range r.Steps {
				r.Steps[i].Status = StepSkipped
			}
		}, false, OutcomeRefused, "refused before anything was touched"},
		{"dry run", func(r *Record) { r.DryRun = true }, false, OutcomeDryRun, "dry run"},
		{"rehearsal", func(r *Record) {}, true, OutcomeRehearsal, "rehearsal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := base
			rec.Steps = append([]StepRecord(nil), base.Steps...)
			tc.edit(&rec)
			o := Outcome(rec, tc.rehearsal)
			assert.Equal(t, tc.want, o.Outcome)
			assert.Equal(t, tc.want == OutcomePassed, o.Exercised)
			assert.Contains(t, o.Why, tc.why)
		})
	}
}

func TestQuarterReport_AFailedDrillIsListedButDoesNotCount(t *testing.T) {
	q, err := ParseQuarter("2026Q4", time.UTC)
	require.NoError(t, err)
	bad := sampleRecord("drill-chat-failed", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	bad.Status, bad.Verdict, bad.Reason = StatusFailed, StatusFailed, "step perms failed"
	r := BuildQuarterReport(q, []Record{bad}, nil)
	assert.Equal(t, []string{"chat"}, r.NotDrilled, "a failed drill drills nothing")
	require.Len(t, r.Playbooks, 1)
	e := r.Playbooks[0].Drills[0]
	assert.False(t, e.Exercised)
	assert.Equal(t, digest(playbookYAML), e.PlaybookDigest)
	assert.Contains(t, e.Why, "failed: step perms failed")
}

func TestPeriods_QuarterYearAndSince(t *testing.T) {
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	q := QuarterOf(now, hk)
	assert.Equal(t, "2026Q4", q.String())
	assert.Equal(t, time.Date(2026, 10, 1, 0, 0, 0, 0, hk), q.Period().From)
	y, err := ParseYear("2026", hk)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2027, 1, 1, 0, 0, 0, 0, hk), y.To)
	_, err = ParseYear("26", hk)
	assert.EqualError(t, err, `--year "26": expected YYYY, e.g. 2026`)
	s, err := ParseSince("2026-07-01", now, hk)
	require.NoError(t, err)
	assert.Equal(t, "since 2026-07-01", s.Label)
	assert.Equal(t, now, s.To)
	_, err = ParseSince("2027-01-01", now, hk)
	assert.ErrorContains(t, err, "not in the past")
}

func TestSeal_WritesAVerifiableBundleOnceAndRecognisesItsKind(t *testing.T) {
	pub, key := newKey(t)
	dir := filepath.Join(t.TempDir(), "thing.review", "v1")
	RegisterBundleKind(BundleKind{Name: "test", Marker: "thing.json", Check: func(dir string) (string, int, []string) {
		b, _ := os.ReadFile(filepath.Join(dir, "thing.json"))
		if strings.Contains(string(b), "bad") {
			return "drill-x", 0, []string{"thing.json: bad"}
		}
		return "drill-x", 1, nil
	}})
	files := []File{{Name: "thing.json", Data: []byte(`{"ok": true}`)}, {Name: "signoffs/01-a.sig", Data: []byte("sig")}}
	d, err := Seal(dir, "", files, key)
	require.NoError(t, err)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, d)
	got, err := ManifestDigest(dir)
	require.NoError(t, err)
	assert.Equal(t, d, got)
	info, err := os.Stat(filepath.Join(dir, "signoffs"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	res, err := Verify(dir, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problems)
	assert.Equal(t, "drill-x", res.DrillID, "the kind names the drill")
	assert.Equal(t, 1, res.Statements)

	_, err = Seal(dir, "", files, key)
	assert.True(t, errors.Is(err, ErrBundleExists), "a sealed bundle is never replaced: %v", err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "thing.json"), []byte(`{"ok": bad}`), 0o600))
	res, err = Verify(dir, pub)
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, []string{"thing.json"}, res.Changed)
	assert.Contains(t, res.Problems, "thing.json: bad")

	require.NoError(t, os.Remove(filepath.Join(dir, FileManifest)))
	res, err = Verify(dir, pub)
	require.NoError(t, err, "a bundle of a known kind without its manifest fails verification, it is not 'not a bundle'")
	assert.Equal(t, []string{FileManifest}, res.Missing)
}

func TestRegisterSchema_CoversTheRegister(t *testing.T) {
	raw, err := RegisterSchema()
	require.NoError(t, err)
	var s map[string]any
	require.NoError(t, json.Unmarshal(raw, &s))
	assert.Equal(t, RegisterSchemaID, s["$id"])
	props := s["properties"].(map[string]any)
	for _, k := range []string{"period", "playbooks", "actions", "reviews", "untrusted", "summary"} {
		assert.Contains(t, props, k)
	}
}
