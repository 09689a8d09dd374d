package review

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
)

// RegisterOptions say what a register covers and how it judges.
type RegisterOptions struct {
	Store  *evidence.Store
	Period evidence.Period
	// Now is the instant of the report; states are judged at Now, or at
	// the period's end when it is past.
	Now time.Time
	// Playbooks are the playbook files as they are now (LoadPlaybooks), by
	// name; without them, changes since the last passing drill cannot be
	// seen, and the register says so.
	Playbooks map[string]Settings
	// Pub checks every bundle's signature; without it, each manifest is
	// checked against the key it names.
	Pub ed25519.PublicKey
	// ReviewWithin is how long after a drill its review may be missing.
	ReviewWithin time.Duration
}

// drillInfo is one bundle as the register sees it.
type drillInfo struct {
	b   evidence.StoredBundle
	row evidence.RegisterDrill
	// real: not a dry run or a rehearsal, and ended.
	real bool
}

// BuildRegister reads every drill bundle and review of the store, verifies
// each, and judges every playbook (those of Playbooks and those the store
// has seen): verified, needs-verification, overdue or never-drilled, with
// the reasons; the corrective actions; the reviews of the period's drills;
// the availability budgets; and the bundles that fail verification.
func BuildRegister(o RegisterOptions) (*evidence.Register, error) {
	bundles, err := o.Store.Scan(o.Pub)
	if err != nil {
		return nil, err
	}
	asOf := o.Now
	if o.Period.To.Before(asOf) {
		asOf = o.Period.To
	}
	loc := o.Period.From.Location()
	reg := &evidence.Register{SchemaVersion: evidence.RegisterSchemaVersion, Period: o.Period.Label, From: o.Period.From, To: o.Period.To,
		AsOf: asOf, Zone: loc.String(), Store: o.Store.Dir, ReviewWithin: Days(o.ReviewWithin),
		Playbooks: []evidence.RegisterPlaybook{}, Actions: []evidence.RegisterAction{}, Reviews: []evidence.RegisterReview{},
		Untrusted: []evidence.RegisterDrill{}, Notes: []string{}}
	if o.Pub != nil {
		reg.PublicKey = evidence.Fingerprint(o.Pub)
	} else {
		reg.Notes = append(reg.Notes, "no --pubkey: each bundle was checked against the key its manifest names, not against a key you trust")
	}
	if len(o.Playbooks) == 0 {
		reg.Notes = append(reg.Notes, "no --playbooks: the playbook files were not read, so changes since a playbook's last passing drill are not seen")
	}
	byPlaybook := map[string][]*drillInfo{}
	var all []*drillInfo
	for _, b := range bundles {
		d := &drillInfo{b: b, row: drillRow(b)}
		d.real = b.Record != nil && d.row.Outcome != evidence.OutcomeDryRun && d.row.Outcome != evidence.OutcomeRehearsal &&
			d.row.Outcome != evidence.OutcomeRunning && b.Record.StartedAt.Before(asOf)
		all = append(all, d)
		byPlaybook[b.PlaybookName] = append(byPlaybook[b.PlaybookName], d)
		if b.Integrity == evidence.IntegrityFailed {
			reg.Untrusted = append(reg.Untrusted, d.row)
		}
	}
	names := map[string]bool{}
	for n := range o.Playbooks {
		names[n] = true
	}
	for n := range byPlaybook {
		if n != "" {
			names[n] = true
		}
	}
	reviews := map[string]*reviewInfo{}
	for _, d := range all {
		if d.b.Record != nil {
			ri, err := readReview(o.Store, d.b.Record.DrillID, o.Pub)
			if err != nil {
				return nil, err
			}
			reviews[d.b.Record.DrillID] = ri
		}
	}
	for _, d := range all {
		if d.b.Record == nil || !inPeriod(d.b.Record.StartedAt, o.Period) || !needsReview(d) {
			continue
		}
		rr := reviewRow(d, reviews[d.b.Record.DrillID], o.ReviewWithin, asOf)
		d.row.Review = rr.State
		reg.Reviews = append(reg.Reviews, rr)
	}
	for _, n := range sortedKeys(names) {
		reg.Playbooks = append(reg.Playbooks, judge(n, o.Playbooks[n], byPlaybook[n], o.Period, asOf, loc))
	}
	reg.Actions = actions(all, reviews, o.Period, asOf, loc)
	reg.Summary = summarise(reg, all, o.Period)
	return reg, nil
}

// drillRow is a bundle as a register line: an untrusted bundle is
// unverifiable whatever its record claims.
func drillRow(b evidence.StoredBundle) evidence.RegisterDrill {
	row := evidence.RegisterDrill{DrillID: b.Name, Playbook: b.PlaybookName, Bundle: b.Dir, ManifestDigest: b.ManifestDigest,
		Integrity: b.Integrity, Problems: append([]string{}, b.Problems...)}
	if rec := b.Record; rec != nil {
		o := evidence.Outcome(*rec, b.Rehearsal)
		row.DrillID, row.StartedAt, row.EndedAt, row.Status, row.Verdict = rec.DrillID, rec.StartedAt, rec.EndedAt, rec.Status, rec.Verdict
		row.Outcome, row.Exercised, row.Why, row.PlaybookDigest, row.Schedule = o.Outcome, o.Exercised, o.Why, rec.Playbook.Digest, rec.Schedule
		row.RTO, row.RPO, row.Response = rec.Measures.RTO, rec.Measures.RPO, rec.Measures.Response
		if o.Outcome != evidence.OutcomeDryRun && o.Outcome != evidence.OutcomeRehearsal {
			row.OutageSeconds, row.OutageEstimated = outage(rec)
		}
	}
	if b.Integrity == evidence.IntegrityFailed {
		row.Outcome, row.Exercised = evidence.OutcomeUnverifiable, false
		row.Why = "its evidence fails verification: " + strings.Join(b.Problems, "; ")
	}
	return row
}

// outage is the outage a drill caused: its measured RTO window, or from
// the outage's start to the drill's end when the restoration was not seen.
func outage(rec *evidence.Record) (*float64, bool) {
	if s := rec.Measures.RTO.AchievedSeconds; s != nil {
		v := *s
		return &v, false
	}
	for _, s := range rec.Steps {
		if playbooks.Mark(s.Marks) == playbooks.MarkOutageStart && s.MarkAt != nil && rec.EndedAt != nil {
			v := max(rec.EndedAt.Sub(*s.MarkAt).Seconds(), 0)
			return &v, true
		}
	}
	return nil, false
}

func inPeriod(t time.Time, p evidence.Period) bool { return !t.Before(p.From) && t.Before(p.To) }

// needsReview: every drill that ran needs a review; dry runs, rehearsals,
// refused drills, drills still running and untrusted bundles do not.
func needsReview(d *drillInfo) bool {
	switch d.row.Outcome {
	case evidence.OutcomeDryRun, evidence.OutcomeRehearsal, evidence.OutcomeRefused, evidence.OutcomeRunning, evidence.OutcomeUnverifiable:
		return false
	}
	return true
}

// judge decides one playbook's state at asOf.
func judge(name string, cur Settings, drills []*drillInfo, p evidence.Period, asOf time.Time, loc *time.Location) evidence.RegisterPlaybook {
	row := evidence.RegisterPlaybook{Name: name, File: cur.File, Digest: cur.Digest, Frequency: cur.Frequency, Drills: []evidence.RegisterDrill{}, Reasons: []string{}}
	settings := cur
	var real []*drillInfo
	var lastUntrusted *drillInfo
	for _, d := range drills {
		if d.b.Record != nil && inPeriod(d.b.Record.StartedAt, p) {
			row.Drills = append(row.Drills, d.row)
		}
		if d.real {
			real = append(real, d)
		}
		if d.b.Integrity == evidence.IntegrityFailed {
			lastUntrusted = d
		}
		if cur.File == "" && d.b.Playbook != nil {
			settings = SettingsOf(d.b.Playbook) // the newest bundle's copy, for a playbook with no file
			row.Frequency = settings.Frequency
		}
	}
	var last, passing *drillInfo
	for _, d := range real {
		last = d
		if d.row.Exercised {
			passing = d
		}
	}
	if last != nil {
		row.LastDrill = &last.row
	}
	if passing != nil {
		row.LastPassing = &passing.row
	}
	day := func(t time.Time) string { return t.In(loc).Format(time.DateOnly) }
	var overdue, needs []string
	if months, ok := playbooks.FrequencyMonths(row.Frequency); ok {
		if passing == nil {
			overdue = append(overdue, fmt.Sprintf("no passing drill at all, and %s requires one every %d month(s)", row.Frequency, months))
		} else if due := passing.b.Record.StartedAt.AddDate(0, months, 0); due.Before(asOf) {
			overdue = append(overdue, fmt.Sprintf("no passing drill since %s (%s): one was due by %s", day(passing.b.Record.StartedAt), passing.row.DrillID, day(due)))
			row.NextDue = &due
		} else {
			row.NextDue = &due
		}
	}
	if last != nil && !last.row.Exercised {
		needs = append(needs, fmt.Sprintf("its last drill %s (%s) did not pass: %s", last.row.DrillID, day(last.b.Record.StartedAt), last.row.Why))
	}
	if passing != nil && cur.Digest != "" && cur.Digest != passing.row.PlaybookDigest {
		needs = append(needs, fmt.Sprintf("the playbook changed since its last passing drill %s (%s): that drill ran %s, %s is now %s",
			passing.row.DrillID, day(passing.b.Record.StartedAt), short(passing.row.PlaybookDigest), cur.File, short(cur.Digest)))
	}
	if lastUntrusted != nil && (passing == nil || lastUntrusted.b.Record == nil || lastUntrusted.b.Record.StartedAt.After(passing.b.Record.StartedAt)) {
		needs = append(needs, fmt.Sprintf("bundle %s fails verification: what its drill did cannot be known", lastUntrusted.b.Name))
	}
	switch {
	case len(real) == 0:
		row.State = evidence.StateNeverDrilled
		row.Reasons = append(row.Reasons, neverReason(drills))
		row.Reasons = append(row.Reasons, needs...)
	case len(overdue) > 0:
		row.State = evidence.StateOverdue
		row.Reasons = append(append(row.Reasons, overdue...), needs...)
	case len(needs) > 0:
		row.State = evidence.StateNeedsVerification
		row.Reasons = append(row.Reasons, needs...)
	default:
		row.State = evidence.StateVerified
		why := fmt.Sprintf("its last drill %s passed on %s", passing.row.DrillID, day(passing.b.Record.StartedAt))
		if cur.Digest != "" {
			why += ", on the playbook as it is now"
		} else {
			why += " (the playbook file was not read: changes are not checked)"
		}
		row.Reasons = append(row.Reasons, why)
	}
	row.Reason = row.Reasons[0]
	row.Availability = budget(settings, real, p, asOf, loc)
	return row
}

// neverReason says why a playbook with no real drill counts as never drilled.
func neverReason(drills []*drillInfo) string {
	var kinds []string
	for _, d := range drills {
		kinds = append(kinds, d.row.Outcome)
	}
	if len(kinds) == 0 {
		return "no drill of it in the evidence store"
	}
	return fmt.Sprintf("no drill that exercised it: only %s (these never count)", strings.Join(uniq(kinds), ", "))
}

// reviewInfo is a drill's newest review version, verified.
type reviewInfo struct {
	saved     *Saved
	integrity string
	problems  []string
}

func readReview(store *evidence.Store, drillID string, pub ed25519.PublicKey) (*reviewInfo, error) {
	vs, err := Versions(store, drillID)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	dir := VersionDir(store, drillID, vs[len(vs)-1])
	res, err := evidence.Verify(dir, pub)
	if err != nil {
		return nil, fmt.Errorf("review of %s: %w", drillID, err)
	}
	ri := &reviewInfo{saved: &Saved{Dir: dir}}
	ri.integrity, ri.problems = evidence.IntegrityOf(res)
	s, err := Read(dir)
	if err != nil {
		ri.integrity, ri.problems = evidence.IntegrityFailed, append(ri.problems, err.Error())
		return ri, nil
	}
	ri.saved = s
	return ri, nil
}

// reviewRow is the review state of one drill.
func reviewRow(d *drillInfo, ri *reviewInfo, within time.Duration, asOf time.Time) evidence.RegisterReview {
	rec := d.b.Record
	end := rec.StartedAt
	if rec.EndedAt != nil {
		end = *rec.EndedAt
	}
	rr := evidence.RegisterReview{DrillID: rec.DrillID, Playbook: rec.Playbook.Name, PlaybookDigest: d.row.PlaybookDigest,
		DrillManifestDigest: d.row.ManifestDigest, DrillEnd: end, Due: end.Add(within),
		Signoffs: []evidence.RegisterSignoff{}, MissingRoles: []string{}}
	switch {
	case ri == nil && asOf.After(rr.Due):
		rr.State, rr.Reason = evidence.ReviewOverdue, fmt.Sprintf("no review %d days after the drill ended (due within %s)",
			int(asOf.Sub(end).Hours()/24), Days(within))
		return rr
	case ri == nil:
		rr.State, rr.Reason = evidence.ReviewMissing, "no review yet"
		return rr
	}
	rr.Dir, rr.ManifestDigest = ri.saved.Dir, ri.saved.ManifestDigest
	if ri.integrity == evidence.IntegrityFailed || ri.saved.Review == nil {
		rr.State, rr.Reason = evidence.ReviewInvalid, "the review fails verification: "+strings.Join(ri.problems, "; ")
		return rr
	}
	r := ri.saved.Review
	rr.Version, rr.Proposed = r.Version, r.Proposed()
	for _, f := range r.Findings {
		if f.Status == FindingAccepted {
			rr.Findings++
		}
	}
	for i, s := range r.Signoffs {
		st, _ := r.SignoffStatus(i)
		rr.Signoffs = append(rr.Signoffs, evidence.RegisterSignoff{Signer: s.Signer, Role: s.Role, At: s.At, Status: st})
	}
	rr.MissingRoles = r.MissingRoles()
	switch {
	case r.SignedOff():
		rr.State = evidence.ReviewSigned
	case len(rr.MissingRoles) > 0:
		rr.State, rr.Reason = evidence.ReviewUnsigned, "not signed off by: "+strings.Join(rr.MissingRoles, ", ")
	default:
		rr.State, rr.Reason = evidence.ReviewUnsigned, "no valid sign-off"
	}
	if rr.Proposed > 0 {
		rr.Reason = strings.TrimPrefix(rr.Reason+fmt.Sprintf("; %d proposed finding(s) undecided", rr.Proposed), "; ")
	}
	return rr
}

// Days writes a whole number of days as "14d", any other duration as Go
// writes it.
func Days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// short abbreviates a digest for a sentence: sha256:0123456789ab.
func short(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func uniq(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
