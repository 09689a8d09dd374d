package review

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
)

// SchemaVersion is the version of review.json. Bump it only for changes
// that break readers; adding fields does not.
const SchemaVersion = 1

// Files of a review bundle, beside manifest.json and manifest.sig.
const (
	FileReview   = "review.json"
	FileReportMD = "review.md"
	// SignoffsDir holds, per sign-off, the exact signed statement (.statement)
	// and its armored SSH signature (.sig), and an allowed_signers file of
	// the keys on record: what `ssh-keygen -Y verify` needs.
	SignoffsDir        = "signoffs"
	FileAllowedSigners = SignoffsDir + "/allowed_signers"
)

// Severities of a finding.
var Severities = []string{"critical", "high", "medium", "low"}

// Classifications of a finding: whose failure it is.
var Classifications = []string{"people", "process", "technology", "third-party"}

// Finding statuses.
const (
	FindingProposed  = "proposed"  // found in the record; the reviewer has not decided
	FindingAccepted  = "accepted"  // part of the review
	FindingDismissed = "dismissed" // rejected, with a reason
)

// Action states.
const (
	ActionOpen     = "open"
	ActionDone     = "done"     // its owner says it is done
	ActionVerified = "verified" // a later passing drill of the playbook exercised it
)

// Attendance of a participant.
const (
	Present  = "present"
	Observer = "observer"
)

// Review is review.json: the whole review as of one version.
type Review struct {
	SchemaVersion int    `json:"schemaVersion"`
	DrillID       string `json:"drillId"`
	// Drill is the reviewed drill bundle, named by its manifest digest.
	Drill DrillLink `json:"drill"`
	// Version counts from 1; Previous names the version this one amends.
	Version  int          `json:"version"`
	Previous *VersionLink `json:"previous,omitempty"`
	// CreatedAt, By and Change say when, by whom and what this version
	// changed; History lists every version's, oldest first.
	CreatedAt time.Time `json:"createdAt"`
	By        string    `json:"by"`
	Change    string    `json:"change"`
	History   []Change  `json:"history"`
	// Identity is the drill's identity mode: signed (sign-offs are checked
	// against the keys on record) or unverified (shown as not verified).
	Identity string `json:"identity"`
	// RequiredRoles are the roles the playbook's review.signoff requires.
	RequiredRoles []string `json:"requiredRoles"`
	// Contacts are the playbook's contacts (id → name): who may own an
	// action, beside the participants.
	Contacts     map[string]string `json:"contacts,omitempty"`
	Summary      string            `json:"summary,omitempty"`
	Findings     []Finding         `json:"findings"`
	Actions      []Action          `json:"actions"`
	Participants []Participant     `json:"participants"`
	// Keys are the SSH public keys (authorized_keys lines) sign-offs are
	// verified against, by person.
	Keys     map[string][]string `json:"keys,omitempty"`
	Signoffs []Signoff           `json:"signoffs"`
}

// DrillLink names the reviewed drill bundle.
type DrillLink struct {
	ManifestDigest string               `json:"manifestDigest"`
	Playbook       evidence.PlaybookRef `json:"playbook"`
	StartedAt      time.Time            `json:"startedAt"`
	EndedAt        *time.Time           `json:"endedAt,omitempty"`
	Status         string               `json:"status"`
	Verdict        string               `json:"verdict"`
	// Integrity is the drill bundle's integrity when the review was opened.
	Integrity string `json:"integrity"`
}

// VersionLink names an earlier version of the review.
type VersionLink struct {
	Version        int    `json:"version"`
	ManifestDigest string `json:"manifestDigest"`
}

// Change is one version's line of the history.
type Change struct {
	Version int       `json:"version"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Change  string    `json:"change"`
}

// Finding is something the drill showed that must be learnt from.
type Finding struct {
	ID             string `json:"id"` // F1, F2…
	Title          string `json:"title"`
	Severity       string `json:"severity"`
	Classification string `json:"classification"`
	// Step and Measure say what it concerns (a step id; rto, rpo or response).
	Step    string `json:"step,omitempty"`
	Measure string `json:"measure,omitempty"`
	Text    string `json:"text,omitempty"`
	Status  string `json:"status"`
	// Source is "record" (proposed by review open from drill.json, Rule
	// saying which check) or "reviewer".
	Source string    `json:"source"`
	Rule   string    `json:"rule,omitempty"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	// DecidedBy, DecidedAt and Reason: who accepted or dismissed a
	// proposal, when, and why it was dismissed.
	DecidedBy string     `json:"decidedBy,omitempty"`
	DecidedAt *time.Time `json:"decidedAt,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// Action is a corrective action with an owner and a due date.
type Action struct {
	ID      string    `json:"id"` // A1, A2…
	Title   string    `json:"title"`
	Finding string    `json:"finding,omitempty"`
	Owner   string    `json:"owner"`
	Due     string    `json:"due"` // YYYY-MM-DD
	Ticket  string    `json:"ticket,omitempty"`
	State   string    `json:"state"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	// DoneBy, DoneAt and DoneNote record the owner's closing.
	DoneBy   string     `json:"doneBy,omitempty"`
	DoneAt   *time.Time `json:"doneAt,omitempty"`
	DoneNote string     `json:"doneNote,omitempty"`
	// VerifiedBy is the later passing drill of the same playbook that
	// exercised the action; VerifiedAt and VerifiedRecordedBy say when and
	// by whom that was recorded.
	VerifiedBy         string     `json:"verifiedBy,omitempty"`
	VerifiedAt         *time.Time `json:"verifiedAt,omitempty"`
	VerifiedRecordedBy string     `json:"verifiedRecordedBy,omitempty"`
}

// Participant is one person on the review's roster.
type Participant struct {
	Name string `json:"name"` // contact id, or the person's name
	// DisplayName is the contact's name, when Name is a contact id.
	DisplayName string   `json:"displayName,omitempty"`
	Roles       []string `json:"roles"`
	Attendance  string   `json:"attendance"` // present | observer
	// Source is "record" (paged, acknowledged, approved… in drill.json) or
	// "added".
	Source string `json:"source"`
}

// Signoff is a reviewer's signed approval of the review's content in a role.
type Signoff struct {
	Signer string    `json:"signer"`
	Role   string    `json:"role"`
	At     time.Time `json:"at"`
	// ContentDigest is the review content signed (see ContentDigest).
	ContentDigest string `json:"contentDigest"`
	// Signed is the identity statement (decision signoff; extra.review is
	// ContentDigest, extra.role the role, extra.drill-manifest the drill
	// bundle's manifest digest) with its SSH signature.
	Signed identity.Signed `json:"signed"`
	// KeySource says where the signing key is on record: "playbook" (the
	// contact's keys), "allowed-signers" (a file the signer named), or
	// "self-asserted" (only the signature's own key: not verified).
	KeySource string `json:"keySource"`
	// Version is the review version that added the sign-off.
	Version int `json:"version"`
}

// content is what sign-offs sign: everything the reviewers conclude, but
// not the progress of actions (closing or verifying one does not undo the
// sign-off), the sign-offs themselves, or the version's bookkeeping.
type content struct {
	DrillID        string             `json:"drillId"`
	DrillManifest  string             `json:"drillManifest"`
	PlaybookDigest string             `json:"playbookDigest"`
	RequiredRoles  []string           `json:"requiredRoles"`
	Summary        string             `json:"summary"`
	Findings       []Finding          `json:"findings"`
	Actions        []actionDefinition `json:"actions"`
	Participants   []Participant      `json:"participants"`
	Contacts       map[string]string  `json:"contacts"`
}

type actionDefinition struct {
	ID, Title, Finding, Owner, Due, Ticket string
}

// ContentDigest is "sha256:<hex>" of the review's content: what a sign-off
// approves. It changes when a finding, an action's definition, the roster
// or the summary changes; not when an action is closed or verified, nor
// when someone signs.
func (r *Review) ContentDigest() string {
	c := content{DrillID: r.DrillID, DrillManifest: r.Drill.ManifestDigest, PlaybookDigest: r.Drill.Playbook.Digest,
		RequiredRoles: r.RequiredRoles, Summary: r.Summary, Findings: r.Findings, Participants: r.Participants, Contacts: r.Contacts}
	for _, a := range r.Actions {
		c.Actions = append(c.Actions, actionDefinition{a.ID, a.Title, a.Finding, a.Owner, a.Due, a.Ticket})
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("review: encode content: %v", err)) // plain data always encodes
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Finding returns the finding with id, or nil.
func (r *Review) Finding(id string) *Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

// Action returns the action with id, or nil.
func (r *Review) Action(id string) *Action {
	for i := range r.Actions {
		if r.Actions[i].ID == id {
			return &r.Actions[i]
		}
	}
	return nil
}

// Participant returns the participant named name, or nil.
func (r *Review) Participant(name string) *Participant {
	for i := range r.Participants {
		if r.Participants[i].Name == name {
			return &r.Participants[i]
		}
	}
	return nil
}

// Proposed counts the findings still waiting to be accepted or dismissed.
func (r *Review) Proposed() int {
	n := 0
	for _, f := range r.Findings {
		if f.Status == FindingProposed {
			n++
		}
	}
	return n
}

// roleRE is a role: lowercase words joined by dashes (dr-coordinator).
var roleRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// dateRE is a due date.
var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// oneOf checks v is one of allowed, for a flag.
func oneOf(what, v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s %q: expected one of %v", what, v, allowed)
}

// nextID is prefix followed by one more than the highest number in use.
func nextID(prefix string, ids []string) string {
	n := 0
	for _, id := range ids {
		var k int
		if _, err := fmt.Sscanf(id, prefix+"%d", &k); err == nil && k > n {
			n = k
		}
	}
	return fmt.Sprintf("%s%d", prefix, n+1)
}
