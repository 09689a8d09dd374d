package review

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
)

// OpenOptions say who opens a review and what it starts with.
type OpenOptions struct {
	By      string
	Summary string
	// Key signs the review's manifest (ed25519, as drill bundles); nil
	// leaves it unsigned.
	Key ed25519.PrivateKey
	// Pub, when given, checks the drill bundle's signature before it is
	// reviewed.
	Pub ed25519.PublicKey
	// At is the version's instant (default now).
	At time.Time
}

// Open starts the review of a drill: version 1, linked to the drill's
// bundle by its manifest digest, with the findings the record suggests
// (proposed, for the reviewer to accept or dismiss), the roster of people
// the record shows, and the sign-off roles the playbook requires. A drill
// bundle that fails verification is refused: a review of evidence nobody
// can trust proves nothing.
func Open(store *evidence.Store, drillID string, o OpenOptions) (*Saved, error) {
	if vs, err := Versions(store, drillID); err != nil {
		return nil, err
	} else if len(vs) > 0 {
		return nil, fmt.Errorf("review of %s: already open (version %d): amend it (drillctl review show %s)", drillID, vs[len(vs)-1], drillID)
	}
	b, err := evidence.ReadBundle(store.Path(drillID), o.Pub)
	if err != nil {
		return nil, fmt.Errorf("review of %s: no drill bundle in %s: %w", drillID, store.Dir, err)
	}
	if b.Integrity == evidence.IntegrityFailed || b.Record == nil {
		return nil, fmt.Errorf("review of %s: the drill's bundle fails verification: %s", drillID, strings.Join(b.Problems, "; "))
	}
	rec := b.Record
	if rec.Status == evidence.StatusRunning {
		return nil, fmt.Errorf("review of %s: the drill is still running", drillID)
	}
	at := o.At
	if at.IsZero() {
		at = time.Now().UTC()
	}
	set := SettingsOf(b.Playbook)
	if rec.Identity != nil && rec.Identity.Mode != "" {
		set.Identity = rec.Identity.Mode
		for name, keys := range rec.Identity.Keys {
			set.Keys[name] = keys
		}
	}
	r := &Review{SchemaVersion: SchemaVersion, DrillID: drillID, Version: 1, CreatedAt: at, By: o.By, Change: "opened",
		Drill: DrillLink{ManifestDigest: b.ManifestDigest, Playbook: evidence.PlaybookRef{Name: rec.Playbook.Name, Digest: rec.Playbook.Digest},
			StartedAt: rec.StartedAt, EndedAt: rec.EndedAt, Status: rec.Status, Verdict: rec.Verdict, Integrity: b.Integrity},
		Identity: set.Identity, RequiredRoles: append([]string{}, set.Signoff...), Contacts: set.Contacts, Summary: o.Summary,
		Findings: Propose(rec, at), Actions: []Action{}, Participants: Roster(rec, set.Contacts), Keys: set.Keys, Signoffs: []Signoff{}}
	if r.Participants == nil {
		r.Participants = []Participant{}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if len(r.Contacts) == 0 {
		r.Contacts = nil
	}
	if len(r.Keys) == 0 {
		r.Keys = nil
	}
	r.History = []Change{{Version: 1, At: at, By: o.By, Change: r.Change}}
	return save(store, r, o.Key)
}

// Update amends a drill's review: it reads the newest version, lets change
// edit a copy (returning what it changed, in words), and seals the result
// as the next version naming its predecessor's manifest digest. Nothing is
// written when change fails. When another version was written meanwhile
// the error wraps ErrConflict.
func Update(store *evidence.Store, drillID, by string, key ed25519.PrivateKey, at time.Time, change func(r *Review) (string, error)) (*Saved, error) {
	prev, err := Latest(store, drillID)
	if err != nil {
		return nil, err
	}
	// Never build on a version that was altered: the amendment would seal
	// the alteration.
	res, err := evidence.Verify(prev.Dir, nil)
	if err != nil {
		return nil, fmt.Errorf("review of %s: %w", drillID, err)
	}
	if integrity, problems := evidence.IntegrityOf(res); integrity == evidence.IntegrityFailed {
		return nil, fmt.Errorf("review of %s: version %d fails verification, so nothing is written on top of it: %s",
			drillID, prev.Review.Version, strings.Join(problems, "; "))
	}
	if at.IsZero() {
		at = time.Now().UTC()
	}
	r := prev.Review
	what, err := change(r)
	if err != nil {
		return nil, err
	}
	r.Previous = &VersionLink{Version: r.Version, ManifestDigest: prev.ManifestDigest}
	r.Version++
	r.CreatedAt, r.By, r.Change = at, by, what
	r.History = append(r.History, Change{Version: r.Version, At: at, By: by, Change: what})
	return save(store, r, key)
}

// FindingInput is a reviewer's finding, or what a reviewer changes of a
// proposed one when accepting it (empty fields keep the proposal's).
type FindingInput struct {
	Title, Severity, Classification, Step, Measure, Text string
}

func (in FindingInput) check() error {
	if in.Severity != "" {
		if err := oneOf("severity", in.Severity, Severities); err != nil {
			return err
		}
	}
	if in.Classification != "" {
		if err := oneOf("classification", in.Classification, Classifications); err != nil {
			return err
		}
	}
	if in.Measure != "" {
		return oneOf("measure", in.Measure, []string{"rto", "rpo", "response"})
	}
	return nil
}

// AddFinding adds a reviewer's finding, accepted.
func AddFinding(r *Review, in FindingInput, by string, at time.Time) (string, error) {
	if strings.TrimSpace(in.Title) == "" || in.Severity == "" || in.Classification == "" {
		return "", errors.New("a finding needs a title, a severity and a classification")
	}
	if err := in.check(); err != nil {
		return "", err
	}
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	f := Finding{ID: nextID("F", ids), Title: in.Title, Severity: in.Severity, Classification: in.Classification, Step: in.Step,
		Measure: in.Measure, Text: in.Text, Status: FindingAccepted, Source: "reviewer", By: by, At: at}
	r.Findings = append(r.Findings, f)
	return "added finding " + f.ID, nil
}

// Decide accepts a proposed finding (applying in's changes) or, with a
// reason, dismisses it.
func Decide(r *Review, id string, accept bool, in FindingInput, reason, by string, at time.Time) (string, error) {
	f := r.Finding(id)
	if f == nil {
		return "", fmt.Errorf("no finding %s in the review of %s", id, r.DrillID)
	}
	if f.Status != FindingProposed {
		return "", fmt.Errorf("finding %s is already %s", id, f.Status)
	}
	if err := in.check(); err != nil {
		return "", err
	}
	f.DecidedBy, f.DecidedAt = by, &at
	if !accept {
		if strings.TrimSpace(reason) == "" {
			return "", fmt.Errorf("dismissing finding %s needs a reason (--reason)", id)
		}
		f.Status, f.Reason = FindingDismissed, reason
		return "dismissed finding " + id, nil
	}
	f.Status = FindingAccepted
	for _, kv := range []struct {
		dst *string
		v   string
	}{{&f.Title, in.Title}, {&f.Severity, in.Severity},
		{&f.Classification, in.Classification}, {&f.Step, in.Step}, {&f.Measure, in.Measure}, {&f.Text, in.Text}} {
		if kv.v != "" {
			*kv.dst = kv.v
		}
	}
	return "accepted finding " + id, nil
}

// ActionInput is a new corrective action.
type ActionInput struct {
	Title, Finding, Owner, Due, Ticket string
}

// AddAction adds a corrective action. Its owner must be a contact of the
// playbook or a participant; its due date a date; its finding, when
// named, an accepted finding.
func AddAction(r *Review, in ActionInput, by string, at time.Time) (string, error) {
	switch {
	case strings.TrimSpace(in.Title) == "":
		return "", errors.New("an action needs a title")
	case !dateRE.MatchString(in.Due):
		return "", fmt.Errorf("due date %q: expected YYYY-MM-DD", in.Due)
	}
	if _, err := time.Parse(time.DateOnly, in.Due); err != nil {
		return "", fmt.Errorf("due date %q: not a date", in.Due)
	}
	if _, ok := r.Contacts[in.Owner]; !ok && r.Participant(in.Owner) == nil {
		return "", fmt.Errorf("owner %q: not a contact of the playbook nor a participant (contacts: %s; add one with drillctl review add-participant)",
			in.Owner, strings.Join(sortedKeys(r.Contacts), ", "))
	}
	if in.Finding != "" {
		if f := r.Finding(in.Finding); f == nil || f.Status != FindingAccepted {
			return "", fmt.Errorf("finding %s: no accepted finding of that id", in.Finding)
		}
	}
	var ids []string
	for _, a := range r.Actions {
		ids = append(ids, a.ID)
	}
	a := Action{ID: nextID("A", ids), Title: in.Title, Finding: in.Finding, Owner: in.Owner, Due: in.Due, Ticket: in.Ticket,
		State: ActionOpen, By: by, At: at}
	r.Actions = append(r.Actions, a)
	return "added action " + a.ID, nil
}

// CloseAction marks an open action done.
func CloseAction(r *Review, id, note, by string, at time.Time) (string, error) {
	a := r.Action(id)
	if a == nil {
		return "", fmt.Errorf("no action %s in the review of %s", id, r.DrillID)
	}
	if a.State != ActionOpen {
		return "", fmt.Errorf("action %s is already %s", id, a.State)
	}
	a.State, a.DoneBy, a.DoneAt, a.DoneNote = ActionDone, by, &at, note
	return "closed action " + id, nil
}

// VerifyAction records that a later drill exercised a done action: the
// drill must be of the same playbook, started after the action was done,
// and have passed, with evidence that verifies.
func VerifyAction(r *Review, id string, later *evidence.StoredBundle, by string, at time.Time) (string, error) {
	a := r.Action(id)
	if a == nil {
		return "", fmt.Errorf("no action %s in the review of %s", id, r.DrillID)
	}
	if a.State != ActionDone || a.DoneAt == nil {
		return "", fmt.Errorf("action %s is %s: close it first (drillctl review close-action)", id, a.State)
	}
	if err := exercises(later, r.Drill.Playbook.Name, *a.DoneAt); err != nil {
		return "", fmt.Errorf("drill %s does not verify action %s: %w", later.Name, id, err)
	}
	a.State, a.VerifiedBy, a.VerifiedAt, a.VerifiedRecordedBy = ActionVerified, later.Record.DrillID, &at, by
	return "verified action " + id + " by drill " + later.Record.DrillID, nil
}

// exercises says why a bundle is not a passing drill of playbook started
// after since, or nil when it is.
func exercises(b *evidence.StoredBundle, playbook string, since time.Time) error {
	if b.Integrity == evidence.IntegrityFailed || b.Record == nil {
		return fmt.Errorf("its evidence fails verification: %s", strings.Join(b.Problems, "; "))
	}
	rec := b.Record
	if rec.Playbook.Name != playbook {
		return fmt.Errorf("it ran playbook %s, not %s", rec.Playbook.Name, playbook)
	}
	if !rec.StartedAt.After(since) {
		return fmt.Errorf("it started %s, before the action was done (%s)", rec.StartedAt.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	if o := evidence.Outcome(*rec, b.Rehearsal); !o.Exercised {
		return fmt.Errorf("it did not pass: %s", o.Why)
	}
	return nil
}

// AddParticipant adds a person to the roster, or changes the roles and
// attendance of one on it.
func AddParticipant(r *Review, name, role, attendance string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("a participant needs a name")
	}
	if !roleRE.MatchString(role) {
		return "", fmt.Errorf("role %q: expected lowercase words joined by dashes, like senior-management", role)
	}
	if err := oneOf("attendance", attendance, []string{Present, Observer}); err != nil {
		return "", err
	}
	if p := r.Participant(name); p != nil {
		for _, have := range p.Roles {
			if have == role && p.Attendance == attendance {
				return "", fmt.Errorf("%s is already on the roster as %s (%s)", name, role, attendance)
			}
		}
		if !contains(p.Roles, role) {
			p.Roles = append(p.Roles, role)
		}
		p.Attendance = attendance
		return "updated participant " + name, nil
	}
	r.Participants = append(r.Participants, Participant{Name: name, DisplayName: r.Contacts[name], Roles: []string{role}, Attendance: attendance, Source: "added"})
	return "added participant " + name, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
