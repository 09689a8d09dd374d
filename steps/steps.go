// Package steps holds the contract between the Drill workflow and its step
// activities: the activity names and their typed inputs and results. Both
// workflows and activities import it; it does no I/O and imports no
// Temporal package.
package steps

import (
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
)

// Activity names, as registered by the worker.
const (
	ActivityHTTP             = "RunHTTP"
	ActivityExec             = "RunExec"
	ActivityProbe            = "RunProbe"
	ActivitySQL              = "RunSQL"
	ActivityInventory        = "RunInventory"
	ActivityCanaryWrite      = "WriteCanaries"
	ActivityCanaryVerify     = "VerifyCanaries"
	ActivityReplicationCheck = "CheckReplication"
	ActivityWriteEvidence    = "WriteEvidence"
)

// Input is the input of every step activity: the step, already rendered
// (templates expanded, secrets still unresolved).
type Input struct {
	DrillID string         `json:"drillId"`
	Step    playbooks.Step `json:"step"`
	// Attempt counts the workflow's attempts at this step, from 1.
	Attempt int `json:"attempt"`
	// Deadline, when set, is the instant by which the step must have
	// succeeded across all its attempts (probes repeat until it).
	Deadline *time.Time `json:"deadline,omitempty"`
	// Playbook names the playbook the drill runs.
	Playbook string `json:"playbook,omitempty"`
	// OutageStartAt is the instant the outage_start step executed its action,
	// once it has: RPO measurements count data written before it.
	OutageStartAt *time.Time `json:"outageStartAt,omitempty"`
	// Resume is the progress a previous execution of this same attempt
	// heartbeated before its worker or server was lost: a probe carries on
	// with it (its first-attempt instant and its failures).
	Resume *Progress `json:"resume,omitempty"`
}

// Progress is what step activities heartbeat, so that it survives the loss
// of their worker: a probe's first attempt and failures, and the instant an
// action was sent (heartbeated before it is sent).
type Progress struct {
	FirstAttemptAt time.Time  `json:"firstAttemptAt,omitzero"`
	Failures       int        `json:"failures,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	SentAt         *time.Time `json:"sentAt,omitempty"`
}

// Result is what a step activity reports. Instants are taken on the
// worker with the wall clock.
type Result struct {
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt"`
	// ActionAt is the instant the step's action was executed (the request
	// sent, the program started). It is what an outage_start mark records.
	ActionAt *time.Time `json:"actionAt,omitempty"`
	// FirstSuccessAt is the instant a probe's first successful check began.
	// It is what a service_restored mark records.
	FirstSuccessAt *time.Time `json:"firstSuccessAt,omitempty"`
	// Output is the step's output, readable by later steps as
	// {{ .steps.ID.output.KEY }}.
	Output map[string]any `json:"output,omitempty"`
	// NewestSurvivingAt is the creation instant of the newest write made
	// before the outage that is present on the standby after failover
	// (canaries, message comparisons). It is what the RPO is measured from.
	NewestSurvivingAt *time.Time `json:"newestSurvivingAt,omitempty"`
	// PermissionNewestAt is the instant of the newest directory change the
	// primary holds (its contextCSN, for the server id the standby is
	// furthest behind on), as a permission comparison over ldap read it.
	PermissionNewestAt *time.Time `json:"permissionNewestAt,omitempty"`
	// PermissionNewestSurvivingAt is the instant of the newest change of
	// that server the standby holds: the permission RPO is
	// PermissionNewestAt minus it.
	PermissionNewestSurvivingAt *time.Time `json:"permissionNewestSurvivingAt,omitempty"`
	// ResolutionSeconds is the resolution of the instants this step took (a
	// probe's or canary's interval).
	ResolutionSeconds float64 `json:"resolutionSeconds,omitempty"`
	// Inventory is the asset snapshot an inventory step took.
	Inventory *evidence.Inventory `json:"inventory,omitempty"`
}

// EvidenceInput asks for a drill's evidence bundle to be written.
type EvidenceInput struct {
	Record evidence.Record `json:"record"`
	// Playbook is the exact playbook file the drill ran.
	Playbook []byte `json:"playbook"`
}

// Paging activities.
const (
	ActivitySendPage = "SendPage"
	ActivityNotify   = "Notify"
)

// PageInput asks for one page to one channel of one contact.
type PageInput struct {
	DrillID     string            `json:"drillId"`
	Playbook    string            `json:"playbook"`
	Step        string            `json:"step"`
	Level       int               `json:"level"`
	Round       int               `json:"round"`
	Contact     string            `json:"contact"`
	ContactName string            `json:"contactName"`
	Channel     playbooks.Channel `json:"channel"`
	Message     string            `json:"message"`
	// AckExpires is when the acknowledgement link stops working: the end of
	// the level's wait.
	AckExpires time.Time `json:"ackExpires"`
	// Event is "page" (default) or "resolve" (the page was acknowledged).
	Event string `json:"event,omitempty"`
}

// PageResult says when and where a page was sent.
type PageResult struct {
	Channel string    `json:"channel"`
	Target  string    `json:"target"` // host or address, never a secret
	SentAt  time.Time `json:"sentAt"`
	AckURL  bool      `json:"ackUrl"` // whether the page carried a one-click ack link
}

// NotifyInput asks for a message to every channel of some contacts.
type NotifyInput struct {
	DrillID  string                       `json:"drillId"`
	Playbook string                       `json:"playbook"`
	Step     string                       `json:"step,omitempty"`
	Event    string                       `json:"event"` // notify, started, step-failed, target-missed, finished
	Title    string                       `json:"title"`
	Text     string                       `json:"text"`
	To       map[string]playbooks.Contact `json:"to"`
}

// NotifyResult lists what was sent and what failed.
type NotifyResult struct {
	Sent   []PageResult `json:"sent"`
	Failed []string     `json:"failed,omitempty"`
}

// Guard activities: they read Temporal itself, on behalf of a drill's guard.
const (
	ActivityWatchDrill   = "WatchDrill"
	ActivityDescribeLock = "DescribeLock"
)

// WatchInput names the drill execution a guard watches.
type WatchInput struct {
	DrillID string `json:"drillId"`
	RunID   string `json:"runId"`
}

// WatchResult says how a watched drill execution closed.
type WatchResult struct {
	// Status is Temporal's close status in lower case: completed, failed,
	// canceled, terminated, timed_out or continued_as_new.
	Status string `json:"status"`
	// By and Reason say who terminated it and why, when it was terminated.
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Record is the drill's last record (its status query, answered from
	// its history), when it could be read.
	Record *evidence.Record `json:"record,omitempty"`
}

// LockHolder says which drill holds a lock.
type LockHolder struct {
	Lock  string `json:"lock"`
	Drill string `json:"drill"`
}

// ActivityCheckPlaybook is a drill's first activity: the worker checks the
// playbook is one it trusts (signed by a trusted key, unchanged).
const ActivityCheckPlaybook = "CheckPlaybook"

// CheckPlaybookInput is the playbook a drill runs: its exact bytes, their
// detached SSH signature (if any), and the playbook as the drill parsed it.
type CheckPlaybookInput struct {
	Raw       []byte             `json:"raw"`
	Signature string             `json:"signature,omitempty"`
	Playbook  playbooks.Playbook `json:"playbook"`
}

// ActivityGuard evaluates a guard for a while (GuardInput, GuardResult).
const ActivityGuard = "RunGuard"

// GuardInput asks for a guard to be evaluated up to Evaluations times,
// every Guard.Interval, returning at once on a breach.
type GuardInput struct {
	DrillID     string          `json:"drillId"`
	Guard       playbooks.Guard `json:"guard"`
	Evaluations int             `json:"evaluations"`
	// Failures carries the consecutive evaluations that could not be made.
	Failures int `json:"failures"`
}

// GuardResult is what a guard saw; Breached ends the drill.
type GuardResult struct {
	Breached bool                  `json:"breached"`
	At       *time.Time            `json:"at,omitempty"`
	Value    string                `json:"value,omitempty"`
	Reason   string                `json:"reason,omitempty"`
	Failures int                   `json:"failures"`
	Points   []evidence.GuardPoint `json:"points,omitempty"`
}
