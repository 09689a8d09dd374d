package evidence

import (
	"time"

	"github.com/drillctl/drillctl/identity"
)

// SchemaVersion is the version of the drill record format. Bump it only for
// changes that break readers; adding fields does not.
const SchemaVersion = 1

// Drill statuses.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusAborted   = "aborted"
)

// Verdicts of a measure, and of a completed drill as a whole.
const (
	VerdictMet         = "met"
	VerdictMissed      = "missed"
	VerdictNotMeasured = "not-measured"
	VerdictIncomplete  = "incomplete"
)

// Step statuses.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepWaiting   = "waiting" // waiting for a person (approval, acknowledgement)
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped" // not run: a dependency failed, or the drill ended
	StepCancelled = "cancelled"
	// StepUnknown: an action was sent and its worker or server was lost
	// before it answered; whether it took effect is not known, so the drill
	// waits for a person to decide (see Decision).
	StepUnknown = "unknown"
)

// Record is the drill record: what scripts, dashboards and auditors read
// (`drill run --output json`, `drill result`, drill.json). Names are stable;
// extend it, never rename.
type Record struct {
	SchemaVersion int               `json:"schemaVersion"`
	DrillID       string            `json:"drillId"`
	RunID         string            `json:"runId,omitempty"`
	Namespace     string            `json:"namespace,omitempty"`
	Playbook      PlaybookRef       `json:"playbook"`
	Schedule      string            `json:"schedule,omitempty"`
	Params        map[string]string `json:"params,omitempty"`
	DryRun        bool              `json:"dryRun,omitempty"`
	StartedAt     time.Time         `json:"startedAt"`
	EndedAt       *time.Time        `json:"endedAt,omitempty"`
	Status        string            `json:"status"`
	Verdict       string            `json:"verdict,omitempty"`
	Reason        string            `json:"reason,omitempty"` // why the drill failed or was aborted
	// VerdictNote says why a completed drill whose measures met their
	// targets is not met (a gate opened with no human decision).
	VerdictNote string       `json:"verdictNote,omitempty"`
	AbortedBy   string       `json:"abortedBy,omitempty"`
	Measures    Measures     `json:"measures"`
	Steps       []StepRecord `json:"steps"`
	Rollback    []StepRecord `json:"rollback,omitempty"`
	// Finally are the reconstitution steps run after a completed drill.
	Finally     []StepRecord `json:"finally,omitempty"`
	Approvals   []Approval   `json:"approvals,omitempty"`
	Acks        []Ack        `json:"acknowledgements,omitempty"`
	Pages       []Page       `json:"pages,omitempty"`
	Inventory   *Inventory   `json:"inventory,omitempty"`
	Environment Environment  `json:"environment,omitempty"`
	Evidence    *EvidenceRef `json:"evidence,omitempty"`
	// EvidenceError says why no evidence bundle could be written.
	EvidenceError string `json:"evidenceError,omitempty"`
	// Locks are the locks the drill held (its playbook's name and its
	// `locks:`), so no other drill failed the same systems over meanwhile.
	Locks []string `json:"locks,omitempty"`
	// Decisions are the people's decisions on actions whose outcome was unknown.
	Decisions []Decision `json:"decisions,omitempty"`
	// TerminatedBy says who terminated the drill's workflow from outside
	// (Temporal's identity of the caller), when it was; its compensation and
	// evidence were then run by its guard.
	TerminatedBy string `json:"terminatedBy,omitempty"`
	// Identity says who started the drill and whether its decisions are
	// signed.
	Identity *Identity `json:"identity,omitempty"`
	// Guards are the stop conditions watched during the drill, with what
	// they saw.
	Guards []GuardRecord `json:"guards,omitempty"`
	// Metrics are the context queries sampled from the drill's start to its
	// end (playbook metrics:), in the same shape as guards (never breached).
	Metrics []GuardRecord `json:"metrics,omitempty"`
	// Rehearsal says the drill was a rehearsal: read-only steps ran for
	// real, actions were only described (see StepRecord.Output "wouldSend").
	// A rehearsal never counts as a drill.
	Rehearsal bool `json:"rehearsal,omitempty"`
	// Truncated says the record was cut to fit Temporal's payload limits
	// (what was cut is in the evidence attachments).
	Truncated string `json:"truncated,omitempty"`
}

// Decision is a person's decision on a step whose outcome was unknown:
// rollback (compensate it with the rest), continue (it took effect), or stop
// (end the drill, compensate nothing).
type Decision struct {
	Step     string    `json:"step"`
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Comment  string    `json:"comment,omitempty"`
	Via      string    `json:"via,omitempty"`
	// Signed and Verified as for an Approval.
	Signed   *identity.Signed `json:"signed,omitempty"`
	Verified bool             `json:"verified"`
}

// Identity says who started a drill and how the drill's human decisions
// were established.
type Identity struct {
	// Mode is "signed" (every decision carries an SSH signature checked
	// against the person's keys) or "unverified" (names are self-asserted).
	Mode string `json:"mode"`
	// InitiatedBy is who started the drill (signed when Mode is signed).
	InitiatedBy string `json:"initiatedBy,omitempty"`
	// Start is the signed statement of the start, when signed.
	Start *identity.Signed `json:"start,omitempty"`
	// Abort is the signed statement of an abort, when signed.
	Abort *identity.Signed `json:"abort,omitempty"`
	// Keys are the public keys (authorized_keys lines) each person could
	// sign with, as the playbook declared them: evidence verify re-checks
	// every statement of the record against them.
	Keys map[string][]string `json:"keys,omitempty"`
}

// PlaybookRef names the playbook a drill ran and its content digest.
type PlaybookRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // "sha256:<hex>" of the playbook file's bytes
	Path   string `json:"path,omitempty"`
}

// Measures holds every measure of a drill beside its target.
type Measures struct {
	RTO      Measure `json:"rto"`
	RPO      Measure `json:"rpo"`
	Response Measure `json:"response"`
	// PermissionRPO is how far the standby's directory was behind the
	// primary's: the primary's newest directory change minus the standby's
	// (contextCSN), beside the data RPO. Not measured without a
	// permissions comparison over ldap.
	PermissionRPO Measure `json:"permissionRpo"`
}

// Measure is one achieved figure against its target. AchievedSeconds is nil
// when the measure was not taken.
type Measure struct {
	TargetSeconds     *float64 `json:"targetSeconds,omitempty"`
	AchievedSeconds   *float64 `json:"achievedSeconds,omitempty"`
	ResolutionSeconds *float64 `json:"resolutionSeconds,omitempty"`
	MarginSeconds     *float64 `json:"marginSeconds,omitempty"` // target - achieved; negative when missed
	Verdict           string   `json:"verdict"`
	From              *Instant `json:"from,omitempty"`
	To                *Instant `json:"to,omitempty"`
	AckedBy           string   `json:"ackedBy,omitempty"`
	Level             int      `json:"level,omitempty"`
	Method            string   `json:"method,omitempty"` // how it was measured, in words
	Note              string   `json:"note,omitempty"`   // why not measured, or caveats
}

// Instant is a moment attributed to a step.
type Instant struct {
	Step string    `json:"step"`
	At   time.Time `json:"at"`
}

// StepRecord is the record of one step: its attempts, instants and outcome.
type StepRecord struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Attempts  int            `json:"attempts"`
	StartedAt *time.Time     `json:"startedAt,omitempty"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	Marks     string         `json:"marks,omitempty"`
	MarkAt    *time.Time     `json:"markAt,omitempty"` // the instant the mark was taken on the worker
	Output    map[string]any `json:"output,omitempty"`
	Error     string         `json:"error,omitempty"`
	Note      string         `json:"note,omitempty"`
}

// Approval is a decision given on an approval step.
type Approval struct {
	Step     string    `json:"step"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Approved bool      `json:"approved"`
	Comment  string    `json:"comment,omitempty"`
	// Via is how the decision came: cli, link, api.
	Via string `json:"via,omitempty"`
	// Signed is the person's signed statement of the decision, when signed.
	Signed *identity.Signed `json:"signed,omitempty"`
	// Verified says the signature was checked against the person's keys.
	Verified bool `json:"verified"`
	// Auto says the gate opened with no human decision (onTimeout: approve):
	// By is then empty.
	Auto bool `json:"auto,omitempty"`
}

// Page is one page sent to one contact's channel.
type Page struct {
	Step    string    `json:"step"`
	Level   int       `json:"level"`
	Round   int       `json:"round,omitempty"`
	Contact string    `json:"contact"`
	Channel string    `json:"channel"`
	SentAt  time.Time `json:"sentAt"`
	Error   string    `json:"error,omitempty"`
}

// Ack is an acknowledgement of a page.
type Ack struct {
	Step  string    `json:"step"`
	By    string    `json:"by"`
	Level int       `json:"level"`
	At    time.Time `json:"at"`
	Via   string    `json:"via,omitempty"` // cli, link, pagerduty
	// External is who acknowledged in the paging service's own app
	// (PagerDuty's user), when the ack came from there.
	External string `json:"external,omitempty"`
	// Channel is the channel that carried the page acknowledged through a link.
	Channel string `json:"channel,omitempty"`
	// Signed and Verified as for an Approval.
	Signed   *identity.Signed `json:"signed,omitempty"`
	Verified bool             `json:"verified"`
}

// Inventory is the asset snapshot taken by the inventory step.
type Inventory struct {
	Step    string         `json:"step"`
	TakenAt time.Time      `json:"takenAt"`
	Ready   bool           `json:"ready"`
	Reason  string         `json:"reason,omitempty"`
	Assets  []AssetStatus  `json:"assets"`
	Tiers   map[string]int `json:"tiers,omitempty"`
	Drift   *Drift         `json:"drift,omitempty"`
	Order   []string       `json:"restoreOrder,omitempty"`
}

// AssetStatus is one asset's state in an inventory snapshot.
type AssetStatus struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind,omitempty"`
	Tier      int     `json:"tier"`
	Site      string  `json:"site,omitempty"`
	Owner     string  `json:"owner,omitempty"`
	Status    string  `json:"status"` // ready | degraded | unreachable
	LatencyMs float64 `json:"latencyMs,omitempty"`
	Reason    string  `json:"reason,omitempty"`
}

// Drift compares an inventory snapshot with the previous drill's.
type Drift struct {
	PreviousDrill string   `json:"previousDrill"`
	Added         []string `json:"added,omitempty"`
	Removed       []string `json:"removed,omitempty"`
	Retiered      []string `json:"retiered,omitempty"`
}

// Environment says where a drill ran.
type Environment struct {
	DrillctlVersion string `json:"drillctlVersion,omitempty"`
	WorkerHost      string `json:"workerHost,omitempty"`
	TaskQueue       string `json:"taskQueue,omitempty"`
}

// EvidenceRef points at the evidence bundle written for a drill.
type EvidenceRef struct {
	Path           string `json:"path"`
	ManifestDigest string `json:"manifestDigest"`
	Signed         bool   `json:"signed"`
}

// GuardRecord is what one guard saw during a drill.
type GuardRecord struct {
	ID        string       `json:"id"`
	Kind      string       `json:"kind"` // http, tcp, exec, sql, prometheus
	StartedAt *time.Time   `json:"startedAt,omitempty"`
	EndedAt   *time.Time   `json:"endedAt,omitempty"`
	Breached  bool         `json:"breached"`
	At        *time.Time   `json:"at,omitempty"`    // when it breached
	Value     string       `json:"value,omitempty"` // the value that breached it
	Reason    string       `json:"reason,omitempty"`
	Points    []GuardPoint `json:"points,omitempty"`
}

// GuardPoint is one evaluation of a guard.
type GuardPoint struct {
	At time.Time `json:"at"`
	// Value is the number a Prometheus guard read (nil otherwise).
	Value *float64 `json:"value,omitempty"`
	// OK is false when the evaluation breached or could not be made.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}
