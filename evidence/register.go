package evidence

import (
	"fmt"
	"strings"
	"time"
)

// The register (`drillctl report`) is the state of every playbook's
// assurance over a period: which are verified, which need a drill and why,
// the corrective actions still open, the reviews not signed off, and the
// downtime drills cost. Package review builds it from the store; this file
// is its model, register_render.go its renderings.

// RegisterSchemaVersion is the version of the register's JSON.
const RegisterSchemaVersion = 1

// States of a playbook in the register.
const (
	// StateVerified: its last drill passed, on the playbook as it is now,
	// within its frequency.
	StateVerified = "verified"
	// StateNeedsVerification: it changed since its last passing drill, or
	// its last drill failed, missed a target, or cannot be trusted.
	StateNeedsVerification = "needs-verification"
	// StateOverdue: no passing drill within its metadata.frequency.
	StateOverdue = "overdue"
	// StateNeverDrilled: no drill of it exercised anything.
	StateNeverDrilled = "never-drilled"
)

// Outcomes of a drill in the register.
const (
	OutcomePassed     = "passed"
	OutcomeMissed     = "missed"
	OutcomeIncomplete = "incomplete"
	OutcomeFailed     = "failed"
	OutcomeAborted    = "aborted"
	OutcomeRefused    = "refused"
	OutcomeDryRun     = "dry-run"
	OutcomeRehearsal  = "rehearsal"
	OutcomeRunning    = "running"
	// OutcomeUnverifiable: the bundle fails verification or cannot be read.
	OutcomeUnverifiable = "unverifiable"
)

// DrillOutcome says what a drill proves about its playbook.
type DrillOutcome struct {
	Outcome string
	// Exercised says the drill counts as exercising its playbook: it
	// completed, met every target, and was not a dry run or a rehearsal.
	Exercised bool
	// Why says, in words, why it does not count (empty when it does).
	Why string
}

// Outcome judges a drill record (rehearsal from drill.json's "rehearsal").
// Failed, aborted, refused, dry-run and rehearsal drills never count as
// exercising a playbook; neither does one that missed or could not measure
// a target.
func Outcome(rec Record, rehearsal bool) DrillOutcome {
	switch {
	case rec.DryRun:
		return DrillOutcome{OutcomeDryRun, false, "a dry run touches nothing"}
	case rehearsal:
		return DrillOutcome{OutcomeRehearsal, false, "a rehearsal only describes its actions"}
	case rec.Status == StatusRunning:
		return DrillOutcome{OutcomeRunning, false, "the drill has not ended"}
	case rec.Status == StatusAborted:
		return DrillOutcome{OutcomeAborted, false, "aborted: " + orNone(rec.Reason)}
	case rec.Status == StatusFailed && refused(rec):
		return DrillOutcome{OutcomeRefused, false, "refused before anything was touched: " + orNone(rec.Reason)}
	case rec.Status == StatusFailed:
		return DrillOutcome{OutcomeFailed, false, "failed: " + orNone(rec.Reason)}
	case rec.Status != StatusCompleted:
		return DrillOutcome{rec.Status, false, fmt.Sprintf("status %q", rec.Status)}
	case rec.Verdict == VerdictMet:
		return DrillOutcome{OutcomePassed, true, ""}
	case rec.Verdict == VerdictMissed:
		return DrillOutcome{OutcomeMissed, false, "missed " + strings.Join(measuresWith(rec, VerdictMissed), ", ")}
	}
	why := rec.VerdictNote
	if why == "" {
		if nm := measuresWith(rec, VerdictNotMeasured); len(nm) > 0 && rec.Verdict == VerdictIncomplete {
			why = "not measured: " + strings.Join(nm, ", ")
		} else {
			why = "verdict " + orNone(rec.Verdict)
		}
	}
	return DrillOutcome{OutcomeIncomplete, false, "incomplete: " + why}
}

// refused reports a failed drill none of whose steps ran.
func refused(rec Record) bool {
	if len(rec.Steps) == 0 {
		return true
	}
	for _, s := range rec.Steps {
		if s.Status != StepSkipped && s.Status != StepPending {
			return false
		}
	}
	return true
}

// measuresWith names the targeted measures of rec with a verdict.
func measuresWith(rec Record, verdict string) []string {
	var out []string
	for _, m := range []struct {
		name string
		m    Measure
	}{{"RTO", rec.Measures.RTO}, {"RPO", rec.Measures.RPO}, {"response", rec.Measures.Response}} {
		if m.m.Verdict == verdict && m.m.TargetSeconds != nil {
			out = append(out, m.name)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "no reason recorded"
	}
	return s
}

// Register is the assurance register over a period.
type Register struct {
	SchemaVersion int `json:"schemaVersion"`
	// Period names the span ("2026Q4", "2026", "since 2026-07-01"); From
	// and To bound it (To exclusive); AsOf is when states are judged: now,
	// or the period's end when it is past.
	Period string    `json:"period"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	AsOf   time.Time `json:"asOf"`
	Zone   string    `json:"zone"`
	// Store is the evidence store read; PublicKey the fingerprint of the
	// key signatures were checked with (empty: none was given).
	Store     string `json:"store"`
	PublicKey string `json:"publicKey,omitempty"`
	// ReviewWithin is how long after a drill its review may be missing.
	ReviewWithin string             `json:"reviewWithin"`
	Summary      RegisterSummary    `json:"summary"`
	Playbooks    []RegisterPlaybook `json:"playbooks"`
	// Actions are the corrective actions of every review up to the
	// period's end, but those verified before it began.
	Actions []RegisterAction `json:"actions"`
	// Reviews are the review states of the period's drills that need one
	// (not dry runs, rehearsals or refused drills).
	Reviews []RegisterReview `json:"reviews"`
	// Untrusted are the bundles that fail verification or cannot be read,
	// whatever their period: nothing in them counts.
	Untrusted []RegisterDrill `json:"untrusted"`
	// Notes say what the register could not check.
	Notes []string `json:"notes"`
}

// RegisterSummary counts what the register holds.
type RegisterSummary struct {
	Playbooks         int `json:"playbooks"`
	Verified          int `json:"verified"`
	NeedsVerification int `json:"needsVerification"`
	Overdue           int `json:"overdue"`
	NeverDrilled      int `json:"neverDrilled"`
	Drills            int `json:"drills"`
	Exercising        int `json:"exercising"`
	OpenActions       int `json:"openActions"`
	OverdueActions    int `json:"overdueActions"`
	DoneActions       int `json:"doneActions"`
	VerifiedActions   int `json:"verifiedActions"`
	UnsignedReviews   int `json:"unsignedReviews"`
	MissingReviews    int `json:"missingReviews"`
	OverdueReviews    int `json:"overdueReviews"`
	UntrustedBundles  int `json:"untrustedBundles"`
}

// RegisterPlaybook is one playbook's line of the register.
type RegisterPlaybook struct {
	Name string `json:"name"`
	// File and Digest are the playbook file as it is now (--playbooks);
	// both are empty for a playbook known only from the store.
	File   string `json:"file,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Frequency is its metadata.frequency (monthly, quarterly, yearly).
	Frequency string `json:"frequency,omitempty"`
	// State is one of the State… values; Reason says why in words, Reasons
	// gives every reason that applies, the deciding one first.
	State   string   `json:"state"`
	Reason  string   `json:"reason"`
	Reasons []string `json:"reasons"`
	// LastDrill is its newest drill up to AsOf (dry runs and rehearsals
	// aside); LastPassing its newest drill that exercised it.
	LastDrill   *RegisterDrill `json:"lastDrill,omitempty"`
	LastPassing *RegisterDrill `json:"lastPassing,omitempty"`
	// NextDue is when a passing drill is next due (with a frequency).
	NextDue *time.Time `json:"nextDue,omitempty"`
	// Drills are its drills started in the period, oldest first.
	Drills []RegisterDrill `json:"drills"`
	// Availability is its downtime budget, when targets.availability is set.
	Availability *AvailabilityBudget `json:"availability,omitempty"`
}

// RegisterDrill is one drill as the register reads it.
type RegisterDrill struct {
	DrillID   string     `json:"drillId"`
	Playbook  string     `json:"playbook"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	Status    string     `json:"status"`
	Verdict   string     `json:"verdict"`
	// Outcome is one of the Outcome… values; Exercised says the drill
	// counts as exercising its playbook, Why why not.
	Outcome   string `json:"outcome"`
	Exercised bool   `json:"exercised"`
	Why       string `json:"why,omitempty"`
	// PlaybookDigest is the playbook the drill ran; ManifestDigest the
	// bundle's manifest.json, which names every file's SHA-256.
	PlaybookDigest string `json:"playbookDigest"`
	ManifestDigest string `json:"manifestDigest"`
	Bundle         string `json:"bundle"`
	// Integrity is one of the Integrity… values; Problems says what failed.
	Integrity string   `json:"integrity"`
	Problems  []string `json:"problems"`
	Schedule  string   `json:"schedule,omitempty"`
	RTO       Measure  `json:"rto"`
	RPO       Measure  `json:"rpo"`
	Response  Measure  `json:"response"`
	// OutageSeconds is the outage the drill caused (its measured RTO
	// window, or from the outage's start to the drill's end when the
	// restoration was not seen: OutageEstimated).
	OutageSeconds   *float64 `json:"outageSeconds,omitempty"`
	OutageEstimated bool     `json:"outageEstimated,omitempty"`
	// Review is the state of its review (see RegisterReview.State).
	Review string `json:"review,omitempty"`
}

// Review states in the register.
const (
	ReviewSigned   = "signed"   // every required role signed the current content
	ReviewUnsigned = "unsigned" // open: sign-offs missing
	ReviewMissing  = "missing"  // no review yet, within --review-within
	ReviewOverdue  = "overdue"  // no review, past --review-within
	ReviewInvalid  = "invalid"  // the review fails verification
)

// RegisterReview is the review state of one drill.
type RegisterReview struct {
	DrillID  string `json:"drillId"`
	Playbook string `json:"playbook"`
	// PlaybookDigest and DrillManifestDigest name the drill reviewed.
	PlaybookDigest      string    `json:"playbookDigest"`
	DrillManifestDigest string    `json:"drillManifestDigest"`
	DrillEnd            time.Time `json:"drillEnded"`
	// Due is when the review was due (the drill's end plus ReviewWithin).
	Due    time.Time `json:"due"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	// Version, Dir and ManifestDigest name the review's newest version.
	Version        int    `json:"version,omitempty"`
	Dir            string `json:"dir,omitempty"`
	ManifestDigest string `json:"manifestDigest,omitempty"`
	// Signoffs are the sign-offs of the newest version; MissingRoles the
	// required roles no valid sign-off covers.
	Signoffs     []RegisterSignoff `json:"signoffs"`
	MissingRoles []string          `json:"missingRoles"`
	// Findings counts its accepted findings; Proposed those still waiting
	// to be accepted or dismissed.
	Findings int `json:"findings"`
	Proposed int `json:"proposed"`
}

// RegisterSignoff is one sign-off of a review.
type RegisterSignoff struct {
	Signer string    `json:"signer"`
	Role   string    `json:"role"`
	At     time.Time `json:"at"`
	// Status: verified, not-verified (identity: unverified, or a key not on
	// record), stale (it signed content amended since), or invalid.
	Status string `json:"status"`
}

// RegisterAction is one corrective action.
type RegisterAction struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	DrillID  string `json:"drillId"`
	Playbook string `json:"playbook"`
	// PlaybookDigest and DrillManifestDigest name the drill reviewed.
	PlaybookDigest      string `json:"playbookDigest"`
	DrillManifestDigest string `json:"drillManifestDigest"`
	Finding             string `json:"finding,omitempty"`
	Owner               string `json:"owner"`
	Due                 string `json:"due"` // YYYY-MM-DD
	Ticket              string `json:"ticket,omitempty"`
	// State is open, done or verified; Overdue says an open action is past
	// its due date at AsOf.
	State   string `json:"state"`
	Overdue bool   `json:"overdue"`
	// VerifiedBy is the later passing drill of the same playbook that
	// exercised it; Recorded says the review records it (else the register
	// found it: record it with drillctl review verify-action).
	VerifiedBy string `json:"verifiedBy,omitempty"`
	Recorded   bool   `json:"recorded,omitempty"`
}

// AvailabilityBudget sets the outages drills caused against the downtime a
// yearly availability target allows (99.9% allows 8h45m36s a year).
type AvailabilityBudget struct {
	Target string `json:"target"` // as written: "99.9%"
	Year   int    `json:"year"`
	// BudgetSeconds is the downtime the target allows in the year.
	BudgetSeconds float64 `json:"budgetSeconds"`
	// YearSeconds is the outage drills caused in the year up to AsOf;
	// PeriodSeconds in the period.
	YearSeconds   float64 `json:"yearOutageSeconds"`
	PeriodSeconds float64 `json:"periodOutageSeconds"`
	// RemainingSeconds is what is left of the year's budget (negative when
	// it is spent); UsedPercent how much is used.
	RemainingSeconds float64 `json:"remainingSeconds"`
	UsedPercent      float64 `json:"usedPercent"`
	// Estimated says some outage was not measured to its end.
	Estimated bool `json:"estimated,omitempty"`
	// CostPerMinute is metadata.downtimeCostPerMinute; YearCost and
	// PeriodCost price the outages with it.
	CostPerMinute *float64 `json:"costPerMinute,omitempty"`
	YearCost      *float64 `json:"yearCost,omitempty"`
	PeriodCost    *float64 `json:"periodCost,omitempty"`
	// Drills are the drills whose outages are counted in the year.
	Drills []string `json:"drills"`
}

// BudgetSeconds is the downtime a yearly availability fraction (0.999)
// allows in a year of 365 days.
func BudgetSeconds(fraction float64) float64 {
	return (1 - fraction) * 365 * 24 * 3600
}
