package console

import (
	"context"
	"errors"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/schedule"
	"github.com/drillctl/drillctl/workflows"
)

// Backend is everything the console asks of Temporal. Temporal implements
// it; the handler tests use a fake.
type Backend interface {
	// ListDrills lists drills, newest first, as far as q filters them.
	ListDrills(ctx context.Context, q ListQuery) ([]DrillSummary, error)
	// Drill returns one drill: its record (live or final), its input
	// (the playbook, as started) and, while it runs, the escalations of
	// its running page steps. ErrNoDrill when there is none.
	Drill(ctx context.Context, id string) (*Drill, error)
	// Start starts a drill.
	Start(ctx context.Context, in workflows.DrillInput) error
	// Approve sends a decision on an approval gate (the approve Update).
	Approve(ctx context.Context, id string, in workflows.ApproveInput) (*evidence.Approval, error)
	// Ack acknowledges the page of a page step (its escalation's Update).
	Ack(ctx context.Context, id, step string, in workflows.AckInput) (*evidence.Ack, error)
	// Abort signals a drill to abort.
	Abort(ctx context.Context, id string, in workflows.AbortInput) error
	// Schedules summarises every schedule.
	Schedules(ctx context.Context) ([]schedule.Summary, error)
	// SchedulePlaybook is the playbook a schedule starts drills of.
	SchedulePlaybook(ctx context.Context, name string) (*playbooks.Playbook, error)
	// PauseSchedule pauses (or, with pause false, unpauses) a schedule.
	PauseSchedule(ctx context.Context, name, note string, pause bool) error
	// SetSkip replaces a schedule's skip dates (2026-12-25, or ranges
	// 2026-12-20..2027-01-03).
	SetSkip(ctx context.Context, name string, skip []string) error
}

// ErrNoDrill is matched by the error of Drill for an unknown drill id.
var ErrNoDrill = errors.New("no such drill")

// ListQuery filters the drill list; a zero field does not filter.
type ListQuery struct {
	Playbook string
	Status   string // running, completed, failed, aborted
	Verdict  string // met, missed, incomplete, failed, aborted
	From, To time.Time
	Limit    int
}

// DrillSummary is one line of the drill list.
type DrillSummary struct {
	ID        string
	Playbook  string
	Status    string
	Verdict   string
	Initiator string
	Schedule  string
	StartedAt time.Time
	EndedAt   *time.Time
	RTO, RPO  evidence.Measure
	DryRun    bool
}

// Drill is a drill as the console shows it.
type Drill struct {
	Record *evidence.Record
	// Input is what the drill was started with; nil when Temporal no
	// longer has its history (the record then comes from its evidence).
	Input   *workflows.DrillInput
	Running bool
	// Escalations are the live escalations of the running page steps, by
	// step: while a page step runs, the pages it sent are in its
	// escalation, not yet in the record.
	Escalations map[string]*workflows.EscalationResult
}

// summaryOf is the list line of a record.
func summaryOf(rec *evidence.Record) DrillSummary {
	d := DrillSummary{ID: rec.DrillID, Playbook: rec.Playbook.Name, Status: rec.Status, Verdict: rec.Verdict,
		Schedule: rec.Schedule, StartedAt: rec.StartedAt, EndedAt: rec.EndedAt, RTO: rec.Measures.RTO,
		RPO: rec.Measures.RPO, DryRun: rec.DryRun}
	if rec.Identity != nil {
		d.Initiator = rec.Identity.InitiatedBy
	}
	return d
}

// matches reports whether a drill passes the filters Temporal could not
// apply.
func (q ListQuery) matches(d DrillSummary) bool {
	switch {
	case q.Playbook != "" && d.Playbook != q.Playbook:
		return false
	case q.Status != "" && d.Status != q.Status:
		return false
	case q.Verdict != "" && d.Verdict != q.Verdict:
		return false
	case !q.From.IsZero() && d.StartedAt.Before(q.From):
		return false
	case !q.To.IsZero() && !d.StartedAt.Before(q.To):
		return false
	}
	return true
}
