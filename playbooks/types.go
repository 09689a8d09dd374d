package playbooks

import (
	"sort"
	"time"
)

// APIVersion is the only playbook apiVersion this release reads.
const APIVersion = "drillctl/v1"

// KindPlaybook is the only kind of document this release reads.
const KindPlaybook = "Playbook"

// Playbook is a parsed drill playbook: the single source of truth of a drill.
// It is parsed and validated once, then handed to the engine as this typed
// value (it travels in the Drill workflow's input, so it must never hold a
// resolved secret: `${env:NAME}` references stay unresolved until an activity
// needs them).
type Playbook struct {
	APIVersion    string                      `yaml:"apiVersion" json:"apiVersion"`
	Kind          string                      `yaml:"kind" json:"kind"`
	Metadata      Metadata                    `yaml:"metadata" json:"metadata"`
	Targets       Targets                     `yaml:"targets,omitempty" json:"targets,omitempty"`
	Params        map[string]string           `yaml:"params,omitempty" json:"params,omitempty"`
	Contacts      map[string]Contact          `yaml:"contacts,omitempty" json:"contacts,omitempty"`
	Escalation    map[string]EscalationPolicy `yaml:"escalation,omitempty" json:"escalation,omitempty"`
	Notifications *Notifications              `yaml:"notifications,omitempty" json:"notifications,omitempty"`
	Steps         []Step                      `yaml:"steps" json:"steps"`
	Rollback      []Step                      `yaml:"rollback,omitempty" json:"rollback,omitempty"`
	// Finally runs after a drill that completed: reconstitution back to the
	// known state (NIST CP-4(4)), e.g. failing back to the primary site.
	// Compensation after a failure or an abort is rollback's, not finally's.
	Finally []Step `yaml:"finally,omitempty" json:"finally,omitempty"`
	// Identity is "signed" (every human decision carries an SSH signature
	// checked against the person's keys; the default when any contact
	// declares keys or allowedSigners is set) or "unverified".
	Identity string `yaml:"identity,omitempty" json:"identity,omitempty"`
	// AllowedSigners names an allowed_signers file (as git and ssh-keygen
	// use), relative to the playbook, whose principals are contact names.
	AllowedSigners string `yaml:"allowedSigners,omitempty" json:"allowedSigners,omitempty"`
	// Starters are the contacts who may start a drill of a signed playbook
	// (empty: any contact with keys).
	Starters []string `yaml:"starters,omitempty" json:"starters,omitempty"`
	// Guards are checks that run continuously while the drill's actions are
	// under way; one that breaches aborts the drill like drill abort.
	Guards []Guard `yaml:"guards,omitempty" json:"guards,omitempty"`
	// Metrics are Prometheus queries sampled before, during and after the
	// drill, for context: the report charts them beside the timeline. They
	// never stop a drill (that is what guards are for).
	Metrics []MetricQuery `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// Locks name the shared systems a drill of this playbook fails over
	// (e.g. chat-platform-primary), beside the playbook's own name, which is
	// always locked: two drills needing one lock never run at once.
	Locks []string `yaml:"locks,omitempty" json:"locks,omitempty"`
	// Review is what the review after a drill needs (see register.go).
	Review *ReviewPolicy `yaml:"review,omitempty" json:"review,omitempty"`

	// Source says where the playbook came from; set by Load, not by YAML.
	Source Source `yaml:"-" json:"source"`
	// SignerKeys are the keys of the allowedSigners file, by principal; set
	// by Load (the file is part of what the drill trusts).
	SignerKeys map[string][]string `yaml:"-" json:"signerKeys,omitempty"`
	// positions maps a field path ("steps[3].timeout") to where it was written.
	positions map[string]Pos
}

// LockNames are the locks a drill of p holds: its name, then its locks,
// sorted and without repeats.
func (p *Playbook) LockNames() []string {
	seen := map[string]bool{p.Metadata.Name: true}
	out := []string{}
	for _, l := range p.Locks {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return append([]string{p.Metadata.Name}, out...)
}

// Identity modes.
const (
	IdentitySigned     = "signed"
	IdentityUnverified = "unverified"
)

// IdentityMode is the playbook's identity mode, with its default: signed
// when any contact declares keys or an allowed_signers file is named.
func (p *Playbook) IdentityMode() string {
	if p.Identity != "" {
		return p.Identity
	}
	if len(p.SignerKeys) > 0 || p.AllowedSigners != "" {
		return IdentitySigned
	}
	for _, c := range p.Contacts {
		if len(c.Keys) > 0 {
			return IdentitySigned
		}
	}
	return IdentityUnverified
}

// KeysOf returns every public key (authorized_keys line) a contact may sign
// with: its own keys, then those of the allowed_signers file.
func (p *Playbook) KeysOf(name string) []string {
	out := append([]string(nil), p.Contacts[name].Keys...)
	return append(out, p.SignerKeys[name]...)
}

// Source is the origin of a loaded playbook.
type Source struct {
	Path   string `json:"path,omitempty"`
	Digest string `json:"digest"` // "sha256:<hex>" of Raw
	Raw    []byte `json:"raw,omitempty"`
}

// Pos is a position in a playbook file; Line and Col start at 1.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Metadata names and describes a playbook.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Owner       string            `yaml:"owner,omitempty" json:"owner,omitempty"`
	Tags        []string          `yaml:"tags,omitempty" json:"tags,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Frequency is how often the playbook must pass a drill: monthly,
	// quarterly or yearly (see register.go); the register calls it overdue
	// past that.
	Frequency string `yaml:"frequency,omitempty" json:"frequency,omitempty"`
	// DowntimeCostPerMinute is what a minute of outage costs the business;
	// the register prices the outages drills caused with it.
	DowntimeCostPerMinute float64 `yaml:"downtimeCostPerMinute,omitempty" json:"downtimeCostPerMinute,omitempty"`
}

// Targets are what "pass" means for a drill. A nil target is not checked.
type Targets struct {
	RTO      *Duration `yaml:"rto,omitempty" json:"rto,omitempty"`
	RPO      *Duration `yaml:"rpo,omitempty" json:"rpo,omitempty"`
	Response *Duration `yaml:"response,omitempty" json:"response,omitempty"`
	// PermissionRPO bounds the permission RPO: how far the standby's
	// directory is behind the primary's (the age of the newest directory
	// change missing on the standby), measured by a replication-check
	// comparing permissions over ldap.
	PermissionRPO *Duration `yaml:"permissionRpo,omitempty" json:"permissionRpo,omitempty"`
	// Availability is the yearly availability the service is held to, as a
	// percentage ("99.9%"); the register sets the outages drills caused
	// against the downtime it allows.
	Availability string `yaml:"availability,omitempty" json:"availability,omitempty"`
}

// Contact is a person who can be paged or asked for approval.
type Contact struct {
	Name     string    `yaml:"name" json:"name"`
	Email    string    `yaml:"email,omitempty" json:"email,omitempty"`
	Channels []Channel `yaml:"channels,omitempty" json:"channels,omitempty"`
	// Keys are the SSH public keys (authorized_keys lines, like
	// "ssh-ed25519 AAAA… alice@corp") the person signs decisions with.
	Keys []string `yaml:"keys,omitempty" json:"keys,omitempty"`
}

// Channel is one way to reach a contact; exactly one field is set.
type Channel struct {
	Webhook   *WebhookChannel   `yaml:"webhook,omitempty" json:"webhook,omitempty"`
	Slack     *SlackChannel     `yaml:"slack,omitempty" json:"slack,omitempty"`
	DingTalk  *DingTalkChannel  `yaml:"dingtalk,omitempty" json:"dingtalk,omitempty"`
	PagerDuty *PagerDutyChannel `yaml:"pagerduty,omitempty" json:"pagerduty,omitempty"`
	Email     *EmailChannel     `yaml:"email,omitempty" json:"email,omitempty"`
	Console   *ConsoleChannel   `yaml:"console,omitempty" json:"console,omitempty"`
}

// WebhookChannel posts a JSON page to a URL, optionally signed with HMAC-SHA256.
type WebhookChannel struct {
	URL     string            `yaml:"url" json:"url"`
	Secret  string            `yaml:"secret,omitempty" json:"secret,omitempty"` // HMAC key; a ${env:NAME} reference
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// SlackChannel posts to a Slack incoming webhook.
type SlackChannel struct {
	URL string `yaml:"url" json:"url"`
}

// DingTalkChannel posts a markdown message to a DingTalk custom robot (an
// ActionCard with an acknowledge button when the page carries an ack link).
// A group message pings nobody unless it mentions someone: AtMobiles,
// AtUserIDs and IsAtAll name who is @-mentioned.
type DingTalkChannel struct {
	URL    string `yaml:"url" json:"url"`
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"`
	// AtMobiles are the mobile numbers of group members to @-mention (a
	// number may be written as a ${env:NAME} reference).
	AtMobiles []string `yaml:"atMobiles,omitempty" json:"atMobiles,omitempty"`
	// AtUserIDs are the DingTalk user ids of group members to @-mention.
	AtUserIDs []string `yaml:"atUserIds,omitempty" json:"atUserIds,omitempty"`
	// IsAtAll @-mentions everyone in the group.
	IsAtAll bool `yaml:"isAtAll,omitempty" json:"isAtAll,omitempty"`
}

// PagerDutyChannel triggers and resolves incidents through the Events API v2.
type PagerDutyChannel struct {
	RoutingKey string `yaml:"routingKey" json:"routingKey"`
	URL        string `yaml:"url,omitempty" json:"url,omitempty"` // default: PagerDuty's events endpoint
	Severity   string `yaml:"severity,omitempty" json:"severity,omitempty"`
}

// EmailChannel sends mail over SMTP: implicit TLS on port 465, otherwise
// STARTTLS when the server offers it (see TLS). From is "Name <addr>" or an
// address; its default is drillctl@ the worker's fully qualified host name.
type EmailChannel struct {
	To       string `yaml:"to" json:"to"`
	From     string `yaml:"from,omitempty" json:"from,omitempty"`
	SMTP     string `yaml:"smtp" json:"smtp"` // host:port
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	Password string `yaml:"password,omitempty" json:"password,omitempty"`
	// HELO is the name the worker greets the server with (EHLO); default:
	// the machine's fully qualified domain name.
	HELO string `yaml:"helo,omitempty" json:"helo,omitempty"`
	// TLS is "implicit" (SMTPS, TLS from the first byte: the default on port
	// 465) or "starttls" (required, never plain text); empty: implicit on
	// port 465, otherwise STARTTLS when the server offers it.
	TLS string `yaml:"tls,omitempty" json:"tls,omitempty"`
}

// ConsoleChannel prints the page on the worker's output (demos and tests).
type ConsoleChannel struct {
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
}

// EscalationPolicy pages level by level until someone acknowledges.
type EscalationPolicy struct {
	Levels []EscalationLevel `yaml:"levels" json:"levels"`
	Repeat int               `yaml:"repeat,omitempty" json:"repeat,omitempty"` // times the whole policy runs; default 1
}

// EscalationLevel is one level of an escalation policy.
type EscalationLevel struct {
	Contacts   []string `yaml:"contacts" json:"contacts"`
	AckTimeout Duration `yaml:"ackTimeout" json:"ackTimeout"`
}

// Notifications sends drill lifecycle events to contacts.
type Notifications struct {
	To     []string `yaml:"to" json:"to"`
	Events []string `yaml:"events,omitempty" json:"events,omitempty"` // started, step-failed, target-missed, finished; default all
}

// StepType names what a step does.
type StepType string

// Step types.
const (
	StepInventory        StepType = "inventory"
	StepHTTP             StepType = "http"
	StepExec             StepType = "exec"
	StepProbe            StepType = "probe"
	StepSQL              StepType = "sql"
	StepCanary           StepType = "canary"
	StepReplicationCheck StepType = "replication-check"
	StepPage             StepType = "page"
	StepApproval         StepType = "approval"
	StepWait             StepType = "wait"
	StepNotify           StepType = "notify"
)

// StepTypes lists every step type, in documentation order.
var StepTypes = []StepType{StepInventory, StepHTTP, StepExec, StepProbe, StepSQL, StepCanary,
	StepReplicationCheck, StepPage, StepApproval, StepWait, StepNotify}

// IsAction reports whether a step of this type changes the world, so that by
// default it is attempted once and never silently run twice.
func (t StepType) IsAction() bool {
	switch t {
	case StepHTTP, StepExec, StepSQL:
		return true
	}
	return false
}

// Mark names an instant a step contributes to the RTO measure.
type Mark string

// Marks.
const (
	MarkOutageStart     Mark = "outage_start"
	MarkServiceRestored Mark = "service_restored"
)

// Step is one node of the drill DAG. The common fields come first; exactly
// one of the type-specific fields is set, matching Type. In YAML the
// type-specific fields are written inline beside the common ones.
type Step struct {
	ID              string   `yaml:"id" json:"id"`
	Type            StepType `yaml:"type" json:"type"`
	Description     string   `yaml:"description,omitempty" json:"description,omitempty"`
	Needs           []string `yaml:"needs,omitempty" json:"needs,omitempty"`
	Timeout         Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Retry           *Retry   `yaml:"retry,omitempty" json:"retry,omitempty"`
	Marks           Mark     `yaml:"marks,omitempty" json:"marks,omitempty"`
	ContinueOnError bool     `yaml:"continueOnError,omitempty" json:"continueOnError,omitempty"`
	// Compensate names the rollback step that undoes this action. When any
	// action names one, compensation is a saga: after a failure or an abort,
	// the compensations of the actions that ran (succeeded, or had an unknown
	// outcome) run in the reverse order of those actions, and nothing else.
	Compensate string `yaml:"compensate,omitempty" json:"compensate,omitempty"`
	// MaxOutput bounds the step's output in the drill record, in bytes of
	// JSON (default MaxOutputBytes); a bigger output is kept whole as an
	// evidence attachment and truncated in the record.
	MaxOutput int `yaml:"maxOutput,omitempty" json:"maxOutput,omitempty"`

	Inventory        *InventoryStep        `yaml:",inline" json:"inventory,omitempty"`
	HTTP             *HTTPStep             `yaml:",inline" json:"http,omitempty"`
	Exec             *ExecStep             `yaml:",inline" json:"exec,omitempty"`
	Probe            *ProbeStep            `yaml:",inline" json:"probe,omitempty"`
	SQL              *SQLStep              `yaml:",inline" json:"sql,omitempty"`
	Canary           *CanaryStep           `yaml:",inline" json:"canary,omitempty"`
	ReplicationCheck *ReplicationCheckStep `yaml:",inline" json:"replicationCheck,omitempty"`
	Page             *PageStep             `yaml:",inline" json:"page,omitempty"`
	Approval         *ApprovalStep         `yaml:",inline" json:"approval,omitempty"`
	Wait             *WaitStep             `yaml:",inline" json:"wait,omitempty"`
	Notify           *NotifyStep           `yaml:",inline" json:"notify,omitempty"`

	// Pos is where the step starts in its file; set by Load.
	Pos Pos `yaml:"-" json:"pos"`
}

// Retry is a step's retry policy. Actions default to one attempt, probes and
// checks to a few attempts with backoff.
type Retry struct {
	MaxAttempts     int      `yaml:"maxAttempts" json:"maxAttempts"`
	InitialInterval Duration `yaml:"initialInterval,omitempty" json:"initialInterval,omitempty"`
	Backoff         float64  `yaml:"backoff,omitempty" json:"backoff,omitempty"`
	MaxInterval     Duration `yaml:"maxInterval,omitempty" json:"maxInterval,omitempty"`
}

// HTTPStep sends one HTTP request and checks the response.
type HTTPStep struct {
	Method  string            `yaml:"method,omitempty" json:"method,omitempty"` // default GET, or POST with a body
	URL     string            `yaml:"url" json:"url"`
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	Body    string            `yaml:"body,omitempty" json:"body,omitempty"`
	// ExpectStatus lists acceptable status codes; empty means any 2xx.
	ExpectStatus []int `yaml:"expectStatus,omitempty" json:"expectStatus,omitempty"`
	// ExpectJSON maps a dotted path in the JSON response ("site.role") to the
	// value it must equal, compared as text.
	ExpectJSON map[string]string `yaml:"expectJSON,omitempty" json:"expectJSON,omitempty"`
}

// ExecStep runs a program (argv, no shell).
type ExecStep struct {
	Command    []string          `yaml:"command" json:"command"`
	Env        map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Dir        string            `yaml:"dir,omitempty" json:"dir,omitempty"`
	ExpectExit *int              `yaml:"expectExit,omitempty" json:"expectExit,omitempty"` // default 0
}

// Check is one health check, used by probes and inventory assets; exactly one
// field is set.
type Check struct {
	HTTP *HTTPCheck `yaml:"http,omitempty" json:"http,omitempty"`
	TCP  *TCPCheck  `yaml:"tcp,omitempty" json:"tcp,omitempty"`
	Exec *ExecStep  `yaml:"exec,omitempty" json:"exec,omitempty"`
	SQL  *SQLCheck  `yaml:"sql,omitempty" json:"sql,omitempty"`
}

// HTTPCheck succeeds when a request gets an expected answer.
type HTTPCheck struct {
	Method       string            `yaml:"method,omitempty" json:"method,omitempty"`
	URL          string            `yaml:"url" json:"url"`
	Headers      map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	ExpectStatus []int             `yaml:"expectStatus,omitempty" json:"expectStatus,omitempty"`
	ExpectJSON   map[string]string `yaml:"expectJSON,omitempty" json:"expectJSON,omitempty"`
}

// TCPCheck succeeds when a TCP connection opens.
type TCPCheck struct {
	Address string `yaml:"address" json:"address"`
}

// SQLCheck succeeds when a query runs and, if Expect is set, its first
// column of its first row equals Expect as text.
type SQLCheck struct {
	DSN    string `yaml:"dsn" json:"dsn"`
	Query  string `yaml:"query" json:"query"`
	Expect string `yaml:"expect,omitempty" json:"expect,omitempty"`
}

// ProbeStep repeats a check at Interval until it succeeds or the step's
// timeout passes. The instant of its first success is what marks
// service_restored.
type ProbeStep struct {
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"` // default 1s
	Check    `yaml:",inline" json:"check"`
}

// SQLStep runs a statement or query; query rows become the output.
type SQLStep struct {
	DSN   string   `yaml:"dsn" json:"dsn"`
	Query string   `yaml:"query" json:"query"`
	Args  []string `yaml:"args,omitempty" json:"args,omitempty"`
}

// CanaryStep writes marker records to the primary at Interval until the
// outage begins; once VerifyAfter has succeeded it reads the newest marker
// present on the standby, which gives the RPO (resolution: Interval).
type CanaryStep struct {
	Interval    Duration `yaml:"interval,omitempty" json:"interval,omitempty"` // default 1s
	VerifyAfter string   `yaml:"verifyAfter" json:"verifyAfter"`               // step id, usually the service_restored probe
	// Warmup bounds how long the drill waits, before its outage_start step,
	// for a marker written by this drill to be seen on the standby (default
	// 2m): the outage clock never starts before the canaries replicate, so
	// the RPO measures the loss, not the warm-up.
	Warmup Duration   `yaml:"warmup,omitempty" json:"warmup,omitempty"`
	HTTP   *SitePair  `yaml:"http,omitempty" json:"http,omitempty"` // base URLs speaking the lab's replication contract
	SQL    *CanarySQL `yaml:"sql,omitempty" json:"sql,omitempty"`
}

// Guard is a stop condition: a check run every interval from a step until
// another (default: from the first action to the end of the drill's steps).
// A check that answers wrongly (an http status or JSON field, a failed
// exec, sql or tcp check, a Prometheus value matching breachIf) is a breach;
// one that cannot be evaluated (unreachable) is a breach after tolerate
// consecutive failures, so a blind drill stops too.
type Guard struct {
	ID       string   `yaml:"id" json:"id"`
	From     string   `yaml:"from,omitempty" json:"from,omitempty"`
	Until    string   `yaml:"until,omitempty" json:"until,omitempty"`
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"` // default 5s
	Tolerate *int     `yaml:"tolerate,omitempty" json:"tolerate,omitempty"` // default 3
	Check    `yaml:",inline" json:"check"`
	// Prometheus evaluates an instant query over Prometheus's HTTP API.
	Prometheus *PrometheusCheck `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
}

// PrometheusCheck is an instant query and the condition that breaches it,
// like "> 0.05" (>, >=, <, <=, ==, != and a number); any sample matching it
// breaches.
type PrometheusCheck struct {
	URL      string `yaml:"url" json:"url"`
	Query    string `yaml:"query" json:"query"`
	BreachIf string `yaml:"breachIf" json:"breachIf"`
}

// MetricQuery is a Prometheus instant query sampled every interval
// (default 5s) from the drill's start to its end.
type MetricQuery struct {
	ID         string          `yaml:"id" json:"id"`
	Interval   Duration        `yaml:"interval,omitempty" json:"interval,omitempty"`
	Prometheus PrometheusQuery `yaml:"prometheus" json:"prometheus"`
}

// PrometheusQuery is a Prometheus server and an instant query.
type PrometheusQuery struct {
	URL   string `yaml:"url" json:"url"`
	Query string `yaml:"query" json:"query"`
}

// SitePair names the primary and standby ends of a replication check.
type SitePair struct {
	Primary string `yaml:"primary" json:"primary"`
	Standby string `yaml:"standby" json:"standby"`
}

// CanarySQL writes canary rows into a heartbeat table.
type CanarySQL struct {
	Primary string `yaml:"primary" json:"primary"` // DSN
	Standby string `yaml:"standby" json:"standby"` // DSN
	Table   string `yaml:"table,omitempty" json:"table,omitempty"`
}

// Comparisons a replication-check step can make.
const (
	ComparePermissions = "permissions"
	CompareMessages    = "messages"
	CompareRecords     = "records"
)

// ReplicationCheckStep compares what the two sites hold.
type ReplicationCheckStep struct {
	Compare   string      `yaml:"compare" json:"compare"` // permissions | messages | records
	HTTP      *SitePair   `yaml:"http,omitempty" json:"http,omitempty"`
	SQL       *SQLCompare `yaml:"sql,omitempty" json:"sql,omitempty"`
	Tolerance *Tolerance  `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	// LDAP compares two directory servers (compare: permissions): group
	// membership and how far the standby's replication is behind.
	LDAP *LDAPPair `yaml:"ldap,omitempty" json:"ldap,omitempty"`
	// Files compares the files records name with a file store (compare:
	// files): database and files in sync.
	Files *FilesCompare `yaml:"files,omitempty" json:"files,omitempty"`
}

// SQLCompare compares two databases.
type SQLCompare struct {
	Primary string   `yaml:"primary" json:"primary"` // DSN
	Standby string   `yaml:"standby" json:"standby"` // DSN
	Tables  []string `yaml:"tables,omitempty" json:"tables,omitempty"`
	// TimeColumn is the column holding each row's creation instant (records).
	TimeColumn string `yaml:"timeColumn,omitempty" json:"timeColumn,omitempty"`
}

// CompareFiles checks that the files the standby's records name are in the
// standby's file store (see FilesCompare).
const CompareFiles = "files"

// LDAPPair names a directory provider and its replica (an OpenLDAP syncrepl
// consumer, an Active Directory domain controller of the other site). A
// permissions comparison over ldap diffs the members of every group, per
// group, names the members the standby still has that the primary removed
// (revoked but still granted: the most severe drift), and compares the
// servers' contextCSN: the permission RPO is the primary's newest change
// minus the standby's, per server id, when the standby is behind.
type LDAPPair struct {
	Primary string `yaml:"primary" json:"primary"` // ldap:// or ldaps:// URL
	Standby string `yaml:"standby" json:"standby"` // ldap:// or ldaps:// URL
	// BaseDN is the replicated suffix, whose entry holds the contextCSN.
	BaseDN string `yaml:"baseDN" json:"baseDN"`
	// GroupBase is where groups are searched (default BaseDN).
	GroupBase string `yaml:"groupBase,omitempty" json:"groupBase,omitempty"`
	// GroupFilter selects the permission groups (default: groupOfNames and
	// groupOfUniqueNames entries).
	GroupFilter string `yaml:"groupFilter,omitempty" json:"groupFilter,omitempty"`
	// BindDN is the account the worker reads both servers with (default:
	// an anonymous bind).
	BindDN string `yaml:"bindDN,omitempty" json:"bindDN,omitempty"`
	// BindPassword is its password: a ${env:NAME} or ${file:/path}
	// reference, resolved on the worker, never a literal.
	BindPassword string `yaml:"bindPassword,omitempty" json:"bindPassword,omitempty"`
}

// FilesCompare checks that every file the standby's records name (a query
// on the standby's database) is in the standby's file store, with the
// SHA-256 the record gives or, without one, the primary store's copy's.
// tolerance.maxMissing bounds the files missing or different.
type FilesCompare struct {
	// DSN is the database whose records name the files (the standby's).
	DSN string `yaml:"dsn" json:"dsn"`
	// Query returns one row per file: its path relative to the stores, and
	// optionally its SHA-256 in hex (NULL rows are skipped).
	Query string `yaml:"query" json:"query"`
	// Standby is the standby's file store: a folder the worker reads.
	Standby string `yaml:"standby" json:"standby"`
	// Primary is the primary's file store, read (when it can be) for the
	// checksum of files whose record gives none.
	Primary string `yaml:"primary,omitempty" json:"primary,omitempty"`
}

// Tolerance is how much difference a replication check accepts.
type Tolerance struct {
	MaxDrift   int      `yaml:"maxDrift,omitempty" json:"maxDrift,omitempty"`     // permissions: differing grants
	MaxMissing int      `yaml:"maxMissing,omitempty" json:"maxMissing,omitempty"` // messages/records missing on the standby
	MaxLoss    Duration `yaml:"maxLoss,omitempty" json:"maxLoss,omitempty"`       // data-loss window
}

// PageStep pages an escalation policy and waits for an acknowledgement.
type PageStep struct {
	Escalation string `yaml:"escalation" json:"escalation"`
	Message    string `yaml:"message,omitempty" json:"message,omitempty"`
}

// ApprovalStep waits for a go/no-go decision from one of Approvers.
type ApprovalStep struct {
	Approvers []string `yaml:"approvers" json:"approvers"`
	Message   string   `yaml:"message,omitempty" json:"message,omitempty"`
	// OnTimeout decides what an unanswered approval means: "fail" (default) or "approve".
	OnTimeout string `yaml:"onTimeout,omitempty" json:"onTimeout,omitempty"`
	// MinApprovals is how many distinct approvers must give the go (default 1).
	MinApprovals int `yaml:"minApprovals,omitempty" json:"minApprovals,omitempty"`
	// Forbid lists who may not approve: "initiator" (the person who started
	// the drill): four eyes.
	Forbid []string `yaml:"forbid,omitempty" json:"forbid,omitempty"`
	// Auto: "allowed" lets a gate that opened with no human decision
	// (onTimeout: approve) still give a met verdict.
	Auto string `yaml:"auto,omitempty" json:"auto,omitempty"`
}

// WaitStep pauses the drill.
type WaitStep struct {
	Duration Duration `yaml:"duration" json:"duration"`
}

// NotifyStep sends a message to contacts without waiting for an answer.
type NotifyStep struct {
	To      []string `yaml:"to" json:"to"`
	Message string   `yaml:"message" json:"message"`
}

// InventoryStep checks every declared (and discovered) asset and applies the
// readiness policy; a drill that is not ready stops before anything is touched.
type InventoryStep struct {
	Assets      []Asset          `yaml:"assets,omitempty" json:"assets,omitempty"`
	Discover    *InventorySource `yaml:"discover,omitempty" json:"discover,omitempty"`
	Readiness   *Readiness       `yaml:"readiness,omitempty" json:"readiness,omitempty"`
	Concurrency int              `yaml:"concurrency,omitempty" json:"concurrency,omitempty"` // default 16
}

// Asset is something that must come back after a failover.
type Asset struct {
	Name      string   `yaml:"name" json:"name"`
	Kind      string   `yaml:"kind,omitempty" json:"kind,omitempty"` // chat-group, app, integration, database, …
	Tier      int      `yaml:"tier" json:"tier"`                     // 1 (critical) to 3
	Owner     string   `yaml:"owner,omitempty" json:"owner,omitempty"`
	Site      string   `yaml:"site,omitempty" json:"site,omitempty"`
	DependsOn []string `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	Check     `yaml:",inline" json:"check"`
}

// InventorySource discovers assets from an HTTP endpoint returning a JSON
// list of assets, or from a SQL query.
type InventorySource struct {
	HTTP *HTTPCheck `yaml:"http,omitempty" json:"http,omitempty"`
	SQL  *SQLCheck  `yaml:"sql,omitempty" json:"sql,omitempty"`
}

// Readiness is the policy that decides whether a drill may proceed. With no
// rules the default is "every tier-1 asset ready".
type Readiness struct {
	Rules []ReadinessRule `yaml:"rules" json:"rules"`
}

// ReadinessRule bounds the assets of one tier that may be not ready.
type ReadinessRule struct {
	Tier int `yaml:"tier" json:"tier"`
	// MaxNotReady is a count ("0", "2") or a percentage ("10%") of the tier's
	// assets that may be degraded or unreachable.
	MaxNotReady string `yaml:"maxNotReady" json:"maxNotReady"`
}

// Duration is a time.Duration written as Go duration text, plus "d" for days
// ("4h", "15m", "1d12h").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
