package review

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
)

// eventful is a completed drill the record says much about: a gate opened
// by its timeout, a page escalated to level 2, a missed RPO, permission
// drift, a failed rollback step, and a degraded asset.
func eventful(id, text string) evidence.Record {
	rec := record(id, text, day("2026-10-05"))
	target, achieved := 60.0, 90.0
	rec.Verdict = evidence.VerdictMissed
	rec.Measures.RPO = evidence.Measure{TargetSeconds: &target, AchievedSeconds: &achieved, Verdict: evidence.VerdictMissed}
	rec.Measures.Response = evidence.Measure{Verdict: "no-target", AckedBy: "bob", Level: 2}
	rec.Approvals = []evidence.Approval{{Step: "go-no-go", At: day("2026-10-05"), Approved: true, Auto: true, Comment: "timed out"}}
	rec.Pages = []evidence.Page{{Step: "page", Level: 1, Contact: "alice", Channel: "webhook"}, {Step: "page", Level: 2, Contact: "bob", Channel: "webhook"}}
	rec.Acks = []evidence.Ack{{Step: "page", By: "bob", Level: 2}}
	rec.Steps = append(rec.Steps, evidence.StepRecord{ID: "permissions", Type: "replication-check", Status: evidence.StepSucceeded,
		Output: map[string]any{"drift": 3.0, "primaryGrants": 10.0, "standbyGrants": 7.0}})
	rec.Rollback = []evidence.StepRecord{{ID: "failback", Type: "http", Status: evidence.StepFailed, Error: "503"}}
	rec.Decisions = []evidence.Decision{{Step: "failover", Decision: "continue", By: "carol", Comment: "the standby answers"}}
	rec.Inventory = &evidence.Inventory{Step: "inventory", Ready: true, Assets: []evidence.AssetStatus{
		{Name: "chat", Tier: 1, Status: "ready"}, {Name: "search", Tier: 2, Status: "degraded"}}}
	return rec
}

func TestOpen_ProposesFindingsFromTheRecordAndFillsTheRoster(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	text := playbookYAML("chat", "", "review: {signoff: [dr-coordinator, senior-management]}\n")
	writeDrill(t, store, eventful("drill-chat-1", text), text, nil)
	s, err := Open(store, "drill-chat-1", OpenOptions{By: "carol", At: day("2026-10-06")})
	require.NoError(t, err)
	r := s.Review
	assert.Equal(t, filepath.Join(store.Dir, "drill-chat-1.review", "v1"), s.Dir)
	drillManifest, err := evidence.ManifestDigest(store.Path("drill-chat-1"))
	require.NoError(t, err)
	assert.Equal(t, drillManifest, r.Drill.ManifestDigest, "linked by the drill bundle's manifest digest")
	assert.Equal(t, []string{"dr-coordinator", "senior-management"}, r.RequiredRoles)
	rules := map[string]Finding{}
	for _, f := range r.Findings {
		assert.Equal(t, FindingProposed, f.Status)
		rules[f.Rule] = f
	}
	for _, rule := range []string{RuleMeasureMissed, RuleAutoGate, RuleEscalated, RulePermissionDrift, RuleStepFailed, RuleReadiness, RuleUnknownOutcome} {
		assert.Contains(t, rules, rule)
	}
	assert.Equal(t, "RPO missed its target: 1m30s against 1m0s", rules[RuleMeasureMissed].Title)
	assert.Equal(t, "rpo", rules[RuleMeasureMissed].Measure)
	assert.Equal(t, "go-no-go", rules[RuleAutoGate].Step)
	assert.Equal(t, "failback", rules[RuleStepFailed].Step)
	assert.Equal(t, "Step failover: its outcome was unknown; carol decided continue", rules[RuleUnknownOutcome].Title)
	assert.Equal(t, []Participant{
		{Name: "alice", DisplayName: "Alice Chan", Roles: []string{"paged"}, Attendance: Present, Source: "record"},
		{Name: "bob", DisplayName: "Bob Lee", Roles: []string{"paged", "acknowledged"}, Attendance: Present, Source: "record"},
		{Name: "carol", Roles: []string{"decided"}, Attendance: Present, Source: "record"},
	}, r.Participants)

	_, err = Open(store, "drill-chat-1", OpenOptions{By: "carol"})
	assert.ErrorContains(t, err, "already open")
	drillFiles, err := os.ReadDir(store.Path("drill-chat-1"))
	require.NoError(t, err)
	for _, f := range drillFiles {
		assert.NotContains(t, f.Name(), "review", "the drill bundle is never touched")
	}
}

// The whole review: accept and dismiss the proposals, an action, two
// reviewers' SSH sign-offs; every version verifies, ssh-keygen accepts each
// sign-off, one changed byte fails the version, a rewritten predecessor
// fails its successor.
func TestReview_SignedOffByTwoKeysVerifiesAndCatchesTampering(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	aliceSigner, alicePub := sshSigner(t)
	danaSigner, danaPub := sshSigner(t)
	text := strings.Replace(playbookYAML("chat", "", "review: {signoff: [dr-coordinator, senior-management]}\n"),
		"alice: {name: Alice Chan}", `alice: {name: Alice Chan, keys: ["`+alicePub+`"]}`, 1)
	pub, key := evidenceKey(t)
	writeDrill(t, store, eventful("drill-chat-1", text), text, key)
	_, err := Open(store, "drill-chat-1", OpenOptions{By: "carol", Key: key, Pub: pub})
	require.NoError(t, err)
	update := func(change func(r *Review) (string, error)) *Saved {
		t.Helper()
		s, err := Update(store, "drill-chat-1", "carol", key, time.Time{}, change)
		require.NoError(t, err)
		return s
	}
	now := time.Now().UTC()
	s := update(func(r *Review) (string, error) {
		return Decide(r, "F1", true, FindingInput{Severity: "critical"}, "", "carol", now)
	})
	assert.Equal(t, "critical", s.Review.Finding("F1").Severity)
	_, err = Update(store, "drill-chat-1", "carol", key, time.Time{}, func(r *Review) (string, error) {
		return Decide(r, "F2", false, FindingInput{}, "", "carol", now)
	})
	assert.ErrorContains(t, err, "needs a reason")
	_, err = Update(store, "drill-chat-1", "carol", key, time.Time{}, func(r *Review) (string, error) {
		return Sign(r, aliceSigner, SignInput{Signer: "alice", Role: "dr-coordinator", At: now})
	})
	assert.ErrorContains(t, err, "proposed finding(s) are undecided")
	for _, f := range s.Review.Findings[1:] {
		id := f.ID
		update(func(r *Review) (string, error) {
			return Decide(r, id, false, FindingInput{}, "known, tracked elsewhere", "carol", now)
		})
	}
	_, err = Update(store, "drill-chat-1", "carol", key, time.Time{}, func(r *Review) (string, error) {
		return AddAction(r, ActionInput{Title: "x", Owner: "mallory", Due: "2026-12-31"}, "carol", now)
	})
	assert.ErrorContains(t, err, `owner "mallory": not a contact of the playbook nor a participant`)
	update(func(r *Review) (string, error) {
		return AddAction(r, ActionInput{Title: "Alert on grant drift", Owner: "alice", Due: "2026-12-31", Finding: "F1"}, "carol", now)
	})
	update(func(r *Review) (string, error) { return AddParticipant(r, "dana", "senior-management", Observer) })

	_, err = Update(store, "drill-chat-1", "dana", key, time.Time{}, func(r *Review) (string, error) {
		return Sign(r, danaSigner, SignInput{Signer: "dana", Role: "senior-management", At: now})
	})
	assert.ErrorContains(t, err, "dana's key SHA256:", "a signed playbook: dana's key is not on record")
	update(func(r *Review) (string, error) {
		return Sign(r, aliceSigner, SignInput{Signer: "alice", Role: "dr-coordinator", Comment: "lessons taken", At: now})
	})
	allowed, err := identity.ParseAllowedSigners(strings.NewReader("dana " + danaPub + "\n"))
	require.NoError(t, err)
	final := update(func(r *Review) (string, error) {
		return Sign(r, danaSigner, SignInput{Signer: "dana", Role: "senior-management", AllowedSigners: allowed, At: now})
	})
	r := final.Review
	assert.True(t, r.SignedOff())
	assert.Empty(t, r.MissingRoles())
	for i := range r.Signoffs {
		st, why := r.SignoffStatus(i)
		assert.Equal(t, SignoffVerified, st, why)
	}
	assert.Equal(t, r.ContentDigest(), r.Signoffs[0].Signed.Statement.Extra[ExtraReview])
	assert.Equal(t, r.Drill.ManifestDigest, r.Signoffs[0].Signed.Statement.Extra[ExtraDrillManifest])
	assert.Equal(t, identity.DecisionSignoff, r.Signoffs[1].Signed.Statement.Decision)

	vs, err := Versions(store, "drill-chat-1")
	require.NoError(t, err)
	assert.Len(t, vs, r.Version)
	for _, v := range vs {
		res, err := evidence.Verify(VersionDir(store, "drill-chat-1", v), pub)
		require.NoError(t, err)
		assert.True(t, res.OK, "v%d: %v", v, res.Problems)
		assert.Equal(t, "drill-chat-1", res.DrillID)
	}
	res, err := evidence.Verify(final.Dir, pub)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Statements, "both sign-offs verified")

	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		for i, so := range r.Signoffs {
			allowedFile, sig, stmt := SignoffFiles(r, i)
			cmd := exec.Command("sh", "-c", so.Signed.VerifyCommand(allowedFile, sig, stmt))
			cmd.Dir = final.Dir
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "ssh-keygen -Y verify of %s: %s", so.Signer, out)
		}
	}

	// One byte of review.json changed: the version fails.
	reviewFile := filepath.Join(final.Dir, FileReview)
	orig, err := os.ReadFile(reviewFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(reviewFile, []byte(strings.Replace(string(orig), "Alert on grant drift", "Alert on grant drifT", 1)), 0o600))
	bad, err := evidence.Verify(final.Dir, pub)
	require.NoError(t, err)
	assert.False(t, bad.OK)
	assert.Contains(t, bad.Changed, FileReview)
	_, err = Update(store, "drill-chat-1", "mallory", key, time.Time{}, func(r *Review) (string, error) { return "nothing", nil })
	assert.ErrorContains(t, err, "fails verification, so nothing is written on top of it", "an amendment never seals an alteration")
	require.NoError(t, os.WriteFile(reviewFile, orig, 0o600))

	// A predecessor rewritten (and re-sealed) no longer is the one named.
	v1 := VersionDir(store, "drill-chat-1", 1)
	old, err := Read(v1)
	require.NoError(t, err)
	old.Review.Summary = "nothing to see"
	require.NoError(t, os.RemoveAll(v1))
	_, err = save(store, old.Review, key)
	require.NoError(t, err)
	v2, err := evidence.Verify(VersionDir(store, "drill-chat-1", 2), pub)
	require.NoError(t, err)
	assert.False(t, v2.OK)
	assert.Contains(t, strings.Join(v2.Problems, "\n"), "an earlier version was rewritten")

	// Amending the content after sign-off makes the sign-offs stale.
	amended := update(func(r *Review) (string, error) {
		return AddFinding(r, FindingInput{Title: "late", Severity: "low", Classification: "process"}, "carol", now)
	})
	st, _ := amended.Review.SignoffStatus(0)
	assert.Equal(t, SignoffStale, st)
	assert.False(t, amended.Review.SignedOff())
	closed := update(func(r *Review) (string, error) { return CloseAction(r, "A1", "", "alice", now) })
	assert.Equal(t, amended.Review.ContentDigest(), closed.Review.ContentDigest(), "closing an action does not change the signed content")
}

// In an identity: unverified playbook any key signs, and the sign-off says
// it is not verified.
func TestSign_UnverifiedPlaybookShowsTheSignoffNotVerified(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	text := playbookYAML("chat", "", "identity: unverified\n")
	rec := record("drill-chat-1", text, day("2026-10-05"))
	writeDrill(t, store, rec, text, nil)
	_, err := Open(store, "drill-chat-1", OpenOptions{By: "carol"})
	require.NoError(t, err)
	signer, _ := sshSigner(t)
	s, err := Update(store, "drill-chat-1", "bob", nil, time.Time{}, func(r *Review) (string, error) {
		return Sign(r, signer, SignInput{Signer: "bob", Role: "dr-coordinator", At: time.Now()})
	})
	require.NoError(t, err)
	st, why := s.Review.SignoffStatus(0)
	assert.Equal(t, SignoffNotVerified, st)
	assert.Contains(t, why, "identity: unverified")
	assert.True(t, s.Review.SignedOff(), "the best an unverified playbook can have")
	assert.Contains(t, string(Markdown(s.Review, nil)), "NOT-VERIFIED")
	res, err := evidence.Verify(s.Dir, nil)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problems)
	assert.Equal(t, evidence.SignatureUnsigned, res.Signature)
}

// Two writers racing for the same version: one wins, the other is told.
func TestUpdate_AVersionIsNeverOverwritten(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	text := playbookYAML("chat", "", "")
	writeDrill(t, store, record("drill-chat-1", text, day("2026-10-05")), text, nil)
	_, err := Open(store, "drill-chat-1", OpenOptions{By: "carol"})
	require.NoError(t, err)
	_, err = Update(store, "drill-chat-1", "carol", nil, time.Time{}, func(r *Review) (string, error) {
		// Someone else writes v2 while this change is being made.
		_, err := Update(store, "drill-chat-1", "dave", nil, time.Time{}, func(r *Review) (string, error) {
			return AddParticipant(r, "erin", "observer", Observer)
		})
		require.NoError(t, err)
		return AddParticipant(r, "frank", "observer", Observer)
	})
	require.ErrorIs(t, err, ErrConflict)
	latest, err := Latest(store, "drill-chat-1")
	require.NoError(t, err)
	assert.Equal(t, "dave", latest.Review.By)
	assert.NotNil(t, latest.Review.Participant("erin"))
}
