package review

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

func q4() evidence.Period {
	q, err := evidence.ParseQuarter("2026Q4", time.UTC)
	if err != nil {
		panic(err)
	}
	return q.Period()
}

func playbookRow(t *testing.T, reg *evidence.Register, name string) evidence.RegisterPlaybook {
	t.Helper()
	for _, p := range reg.Playbooks {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no playbook %s in the register", name)
	return evidence.RegisterPlaybook{}
}

// A passing drill of A, a failed drill of B, a passing drill of C whose
// playbook file changed since, and nothing of D.
func TestRegister_VerifiedNeedsVerificationAndNeverDrilledWithTheirReasons(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	files := t.TempDir()
	a, b, c, d := playbookYAML("a", "", ""), playbookYAML("b", "", ""), playbookYAML("c", "", ""), playbookYAML("d", "", "")
	writeDrill(t, store, record("drill-a-1", a, day("2026-10-05")), a, nil)
	recB := record("drill-b-1", b, day("2026-10-06"))
	failed(&recB)
	writeDrill(t, store, recB, b, nil)
	writeDrill(t, store, record("drill-c-1", c, day("2026-10-07")), c, nil)
	dry := record("drill-e-1", playbookYAML("e", "", ""), day("2026-10-08"))
	dry.DryRun, dry.Verdict = true, evidence.VerdictIncomplete
	writeDrill(t, store, dry, playbookYAML("e", "", ""), nil)
	writeFile(t, files, "a.yaml", a)
	writeFile(t, files, "b.yaml", b)
	cFile := writeFile(t, files, "c.yaml", strings.Replace(c, "rto: 1h", "rto: 2h", 1))
	writeFile(t, files, "d.yaml", d)
	pbs, err := LoadPlaybooks(files)
	require.NoError(t, err)

	reg, err := BuildRegister(RegisterOptions{Store: store, Period: q4(), Now: day("2026-11-01"), Playbooks: pbs, ReviewWithin: 14 * 24 * time.Hour})
	require.NoError(t, err)

	pa := playbookRow(t, reg, "a")
	assert.Equal(t, evidence.StateVerified, pa.State, pa.Reason)
	assert.Contains(t, pa.Reason, "its last drill drill-a-1 passed on 2026-10-05, on the playbook as it is now")
	pb := playbookRow(t, reg, "b")
	assert.Equal(t, evidence.StateNeedsVerification, pb.State)
	assert.Contains(t, pb.Reason, `its last drill drill-b-1 (2026-10-06) did not pass: failed: step "restored" failed`)
	assert.Nil(t, pb.LastPassing)
	require.Len(t, pb.Drills, 1)
	assert.False(t, pb.Drills[0].Exercised, "a failed drill never counts")
	assert.Equal(t, evidence.OutcomeFailed, pb.Drills[0].Outcome)
	pc := playbookRow(t, reg, "c")
	assert.Equal(t, evidence.StateNeedsVerification, pc.State)
	assert.Contains(t, pc.Reason, "the playbook changed since its last passing drill drill-c-1 (2026-10-07)")
	assert.Contains(t, pc.Reason, cFile+" is now "+short(digestOf([]byte(strings.Replace(c, "rto: 1h", "rto: 2h", 1)))))
	pd := playbookRow(t, reg, "d")
	assert.Equal(t, evidence.StateNeverDrilled, pd.State)
	assert.Equal(t, "no drill of it in the evidence store", pd.Reason)
	pe := playbookRow(t, reg, "e")
	assert.Equal(t, evidence.StateNeverDrilled, pe.State, "a dry run exercises nothing")
	assert.Contains(t, pe.Reason, "only dry-run")

	for _, p := range reg.Playbooks {
		for _, d := range p.Drills {
			assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, d.PlaybookDigest, d.DrillID)
			assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, d.ManifestDigest, d.DrillID)
			assert.Equal(t, evidence.IntegrityUnsigned, d.Integrity, d.DrillID)
		}
	}
	assert.Equal(t, evidence.RegisterSummary{Playbooks: 5, Verified: 1, NeedsVerification: 2, NeverDrilled: 2, Drills: 4, Exercising: 2,
		MissingReviews: 3, OverdueReviews: 3}, reg.Summary)

	md, err := reg.Render(evidence.RegisterMarkdown, evidence.RenderOptions{})
	require.NoError(t, err)
	assert.Contains(t, string(md), "\n## a\n")
	assert.Contains(t, string(md), "- **d** — never-drilled: no drill of it in the evidence store")
	assert.Contains(t, string(md), "| drill-b-1 |")
	for _, f := range []string{evidence.RegisterText, evidence.RegisterHTML} {
		out, err := reg.Render(f, evidence.RenderOptions{Lang: "zh-HK"})
		require.NoError(t, err)
		assert.Contains(t, string(out), "needs-verification", f)
	}
	js, err := json.Marshal(reg)
	require.NoError(t, err)
	assert.True(t, json.Valid(js))
}

// An edited verdict and a broken drill.json are shown, never counted, and
// keep the playbook from being verified.
func TestRegister_BundlesThatFailVerificationAreShownNotCounted(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	a := playbookYAML("a", "", "")
	writeDrill(t, store, record("drill-a-1", a, day("2026-10-05")), a, nil)
	missed := record("drill-a-2", a, day("2026-10-20"))
	missed.Verdict, missed.Measures.RTO.Verdict = evidence.VerdictMissed, evidence.VerdictMissed
	writeDrill(t, store, missed, a, nil)
	path := filepath.Join(store.Path("drill-a-2"), evidence.FileRecord)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.Replace(raw, []byte(`"verdict": "missed"`), []byte(`"verdict": "met"`), 1), 0o600))
	writeDrill(t, store, record("drill-a-3", a, day("2026-10-25")), a, nil)
	require.NoError(t, os.WriteFile(filepath.Join(store.Path("drill-a-3"), evidence.FileRecord), []byte(`{"drillId": "drill-a-3", "status": `), 0o600))

	listed, err := store.List()
	require.NoError(t, err)
	assert.Len(t, listed, 2, "evidence list loses the broken bundle; the register must not")

	reg, err := BuildRegister(RegisterOptions{Store: store, Period: q4(), Now: day("2026-11-01"), ReviewWithin: time.Hour})
	require.NoError(t, err)
	require.Len(t, reg.Untrusted, 2)
	pa := playbookRow(t, reg, "a")
	assert.Equal(t, evidence.StateNeedsVerification, pa.State)
	require.NotNil(t, pa.LastPassing)
	assert.Equal(t, "drill-a-1", pa.LastPassing.DrillID, "the edited met verdict does not count")
	require.Len(t, pa.Drills, 2, "the broken one has no start to place it in a period")
	edited := pa.Drills[1]
	assert.Equal(t, evidence.OutcomeUnverifiable, edited.Outcome)
	assert.False(t, edited.Exercised)
	assert.Contains(t, edited.Why, "drill.json: changed")
	assert.Contains(t, strings.Join(pa.Reasons, "\n"), "fails verification")
	broken := reg.Untrusted[1]
	assert.Equal(t, "drill-a-3", broken.DrillID)
	assert.Equal(t, "a", broken.Playbook, "named from the bundle's playbook.yaml")
	assert.Contains(t, strings.Join(broken.Problems, "\n"), "not a drill record")
	md, err := reg.Render(evidence.RegisterMarkdown, evidence.RenderOptions{})
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Bundles that fail verification\n\n| Drill |")
	assert.Contains(t, string(md), "| drill-a-3 | a |")
}

// A done action is verified by the next passing drill of its playbook: the
// register marks it, and review verify-action records it.
func TestRegister_ALaterPassingDrillMarksADoneActionVerified(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	a := playbookYAML("a", "", "")
	writeDrill(t, store, record("drill-a-1", a, day("2026-10-05")), a, nil)
	_, err := Open(store, "drill-a-1", OpenOptions{By: "carol", At: day("2026-10-06")})
	require.NoError(t, err)
	add := func(title, due string) {
		_, err := Update(store, "drill-a-1", "carol", nil, day("2026-10-06"), func(r *Review) (string, error) {
			return AddAction(r, ActionInput{Title: title, Owner: "alice", Due: due, Ticket: "https://jira.example.com/DR-1"}, "carol", day("2026-10-06"))
		})
		require.NoError(t, err)
	}
	add("Alert on grant drift", "2026-10-31")
	add("Fix the runbook", "2026-10-15")
	_, err = Update(store, "drill-a-1", "alice", nil, day("2026-10-10"), func(r *Review) (string, error) {
		return CloseAction(r, "A1", "alert live", "alice", day("2026-10-10"))
	})
	require.NoError(t, err)

	before, err := BuildRegister(RegisterOptions{Store: store, Period: q4(), Now: day("2026-10-20")})
	require.NoError(t, err)
	require.Len(t, before.Actions, 2)
	assert.Equal(t, "A2", before.Actions[0].ID, "sorted by due date")
	assert.True(t, before.Actions[0].Overdue, "open past its due date")
	assert.Equal(t, ActionDone, before.Actions[1].State, "no later drill yet")

	writeDrill(t, store, record("drill-a-2", a, day("2026-10-22")), a, nil)
	after, err := BuildRegister(RegisterOptions{Store: store, Period: q4(), Now: day("2026-10-25")})
	require.NoError(t, err)
	assert.Equal(t, ActionVerified, after.Actions[1].State)
	assert.Equal(t, "drill-a-2", after.Actions[1].VerifiedBy)
	assert.False(t, after.Actions[1].Recorded)
	assert.Equal(t, 1, after.Summary.VerifiedActions)
	assert.Equal(t, 1, after.Summary.OverdueActions)

	early, err := evidence.ReadBundle(store.Path("drill-a-1"), nil)
	require.NoError(t, err)
	_, err = Update(store, "drill-a-1", "carol", nil, time.Time{}, func(r *Review) (string, error) {
		return VerifyAction(r, "A1", early, "carol", day("2026-10-25"))
	})
	require.ErrorContains(t, err, "before the action was done")
	later, err := evidence.ReadBundle(store.Path("drill-a-2"), nil)
	require.NoError(t, err)
	s, err := Update(store, "drill-a-1", "carol", nil, time.Time{}, func(r *Review) (string, error) {
		return VerifyAction(r, "A1", later, "carol", day("2026-10-25"))
	})
	require.NoError(t, err)
	assert.Equal(t, "drill-a-2", s.Review.Action("A1").VerifiedBy)
	recorded, err := BuildRegister(RegisterOptions{Store: store, Period: q4(), Now: day("2026-10-25")})
	require.NoError(t, err)
	assert.True(t, recorded.Actions[1].Recorded)
}

// A monthly playbook with no passing drill for over a month is overdue;
// its drill's outage is set against its availability budget and priced.
func TestRegister_OverdueByFrequencyAndTheAvailabilityBudget(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	m := strings.Replace(playbookYAML("m", "  frequency: monthly\n  downtimeCostPerMinute: 100\n", ""), "targets: {rto: 1h}", `targets: {rto: 1h, availability: "99.9%"}`, 1)
	writeDrill(t, store, record("drill-m-1", m, day("2026-10-05")), m, nil)
	files := t.TempDir()
	writeFile(t, files, "m.yaml", m)
	pbs, err := LoadPlaybooks(files)
	require.NoError(t, err)
	reg, err := BuildRegister(RegisterOptions{Store: store, Period: q4(), Now: day("2026-11-20"), Playbooks: pbs})
	require.NoError(t, err)
	pm := playbookRow(t, reg, "m")
	assert.Equal(t, evidence.StateOverdue, pm.State)
	assert.Equal(t, "no passing drill since 2026-10-05 (drill-m-1): one was due by 2026-11-05", pm.Reason)
	b := pm.Availability
	require.NotNil(t, b)
	assert.InDelta(t, 8.76*3600, b.BudgetSeconds, 0.01, "99.9% of a year allows 8.76 h")
	assert.Equal(t, 600.0, b.YearSeconds)
	assert.Equal(t, 600.0, b.PeriodSeconds)
	require.NotNil(t, b.YearCost)
	assert.InDelta(t, 1000.0, *b.YearCost, 0.001, "10 minutes at 100 a minute")
	assert.Equal(t, []string{"drill-m-1"}, b.Drills)
}

// Playbooks that do not validate are refused by name and place.
func TestLoadPlaybooks_RefusesABadFrequencyAvailabilityOrSignoff(t *testing.T) {
	files := t.TempDir()
	bad := strings.Replace(playbookYAML("x", "  frequency: weekly\n", "review: {signoff: [DR Coordinator]}\n"),
		"targets: {rto: 1h}", `targets: {rto: 1h, availability: "99.9"}`, 1)
	path := writeFile(t, files, "x.yaml", bad)
	_, err := LoadPlaybooks(files)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+":5:14: metadata.frequency: expected monthly, quarterly or yearly, got \"weekly\"")
	assert.Contains(t, err.Error(), `targets.availability: "99.9": expected a percentage like "99.9%"`)
	assert.Contains(t, err.Error(), `review.signoff[0]: "DR Coordinator": expected a role`)
}
