package console

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/schedule"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// The drill search attributes the console uses when the namespace has them
// registered (drillctl dev and drillctl setup register them); without them
// it filters what Temporal lists itself.
const (
	attrPlaybook  = "DrillPlaybook"
	attrStatus    = "DrillStatus"
	attrInitiator = "DrillInitiator"
)

// maxScanned bounds the executions one drill list reads from Temporal.
const maxScanned = 500

// cacheSize bounds each of the caches of closed drills and of inputs.
const cacheSize = 500

// Temporal is the Backend over a Temporal client.
type Temporal struct {
	Client    worker.Client
	Namespace string
	// Store, when set, is read first for the record of a closed drill.
	Store *evidence.Store

	mu       sync.Mutex
	closed   map[string]DrillSummary          // closed drills never change
	inputs   map[string]*workflows.DrillInput // nor do inputs
	attrsAt  time.Time
	hasAttrs bool
}

var _ Backend = (*Temporal)(nil)

// wordRE is what a value spliced into a visibility query may be.
var wordRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// searchAttrs reports whether the namespace has the drill search
// attributes, asking at most once a minute.
func (t *Temporal) searchAttrs(ctx context.Context) bool {
	t.mu.Lock()
	if time.Since(t.attrsAt) < time.Minute {
		has := t.hasAttrs
		t.mu.Unlock()
		return has
	}
	t.mu.Unlock()
	has := false
	resp, err := t.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: t.Namespace})
	if err == nil {
		custom := resp.GetCustomAttributes()
		_, p := custom[attrPlaybook]
		_, s := custom[attrStatus]
		_, i := custom[attrInitiator]
		has = p && s && i
	}
	t.mu.Lock()
	t.attrsAt, t.hasAttrs = time.Now(), has
	t.mu.Unlock()
	return has
}

// ListDrills lists drills, newest first.
func (t *Temporal) ListDrills(ctx context.Context, q ListQuery) ([]DrillSummary, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.DrillWorkflow)
	// DrillPlaybook is set when a drill starts and never changes; status
	// and verdict are read from the records (a drill started before its
	// attributes were registered has none), so only the playbook is asked
	// of Temporal's index.
	if q.Playbook != "" && wordRE.MatchString(q.Playbook) && t.searchAttrs(ctx) {
		query += fmt.Sprintf(" AND %s = '%s'", attrPlaybook, q.Playbook)
	}
	switch {
	case q.Status == evidence.StatusRunning:
		query += " AND ExecutionStatus = 'Running'"
	case q.Status != "":
		query += " AND ExecutionStatus != 'Running'"
	}
	if !q.From.IsZero() {
		query += fmt.Sprintf(" AND StartTime >= '%s'", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		query += fmt.Sprintf(" AND StartTime < '%s'", q.To.UTC().Format(time.RFC3339))
	}
	var out []DrillSummary
	var token []byte
	for scanned := 0; len(out) < limit && scanned < maxScanned; {
		resp, err := t.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: t.Namespace, Query: query, PageSize: 50, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list drills: %w", err)
		}
		for _, e := range resp.Executions {
			scanned++
			d := t.summary(ctx, e.GetExecution().GetWorkflowId(), e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
			if d.StartedAt.IsZero() {
				d.StartedAt = e.GetStartTime().AsTime().UTC()
			}
			if d.Playbook == "" {
				d.Playbook = memoString(e.GetMemo(), "playbook")
			}
			if q.matches(d) && len(out) < limit {
				out = append(out, d)
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

// summary is the list line of one drill: from its live record while it
// runs, else from its final record (cached).
func (t *Temporal) summary(ctx context.Context, id string, running bool) DrillSummary {
	if !running {
		t.mu.Lock()
		d, ok := t.closed[id]
		t.mu.Unlock()
		if ok {
			return d
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var rec *evidence.Record
	var err error
	if running {
		rec, err = t.query(ctx, id)
	} else {
		rec, err = t.finalRecord(ctx, id)
	}
	if err != nil {
		return DrillSummary{ID: id, Status: "unknown"}
	}
	d := summaryOf(rec)
	if !running && rec.Status != evidence.StatusRunning {
		t.mu.Lock()
		if t.closed == nil || len(t.closed) >= cacheSize {
			t.closed = map[string]DrillSummary{}
		}
		t.closed[id] = d
		t.mu.Unlock()
	}
	return d
}

func memoString(m *commonpb.Memo, key string) string {
	var s string
	if f, ok := m.GetFields()[key]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(f, &s)
	}
	return s
}

// query asks a running drill for its live record.
func (t *Temporal) query(ctx context.Context, id string) (*evidence.Record, error) {
	v, err := t.Client.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", id, err)
	}
	var rec evidence.Record
	if err := v.Get(&rec); err != nil {
		return nil, fmt.Errorf("decode the status of %s: %w", id, err)
	}
	return &rec, nil
}

// finalRecord is a closed drill's record: its evidence bundle's, else the
// workflow's result (or the record a failed drill carries), else the last
// state the workflow can tell.
func (t *Temporal) finalRecord(ctx context.Context, id string) (*evidence.Record, error) {
	if t.Store != nil {
		if rec, err := t.Store.Load(id); err == nil {
			return rec, nil
		}
	}
	var rec evidence.Record
	err := t.Client.GetWorkflow(ctx, id, "").Get(ctx, &rec)
	if err == nil {
		return &rec, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.ErrDrillFailed && appErr.HasDetails() {
		if appErr.Details(&rec) == nil {
			return &rec, nil
		}
	}
	live, qerr := t.query(ctx, id)
	if qerr != nil {
		return nil, fmt.Errorf("drill %s: %w", id, err)
	}
	if live.Status == evidence.StatusRunning {
		live.Status, live.Verdict = evidence.StatusFailed, evidence.StatusFailed
		live.Reason = fmt.Sprintf("the workflow ended without a result: %v", err)
	}
	return live, nil
}

// Drill returns one drill.
func (t *Temporal) Drill(ctx context.Context, id string) (*Drill, error) {
	desc, err := t.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			if t.Store != nil {
				if rec, lerr := t.Store.Load(id); lerr == nil {
					return &Drill{Record: rec}, nil // Temporal forgot it; its evidence did not
				}
			}
			return nil, fmt.Errorf("%w: %q", ErrNoDrill, id)
		}
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	if desc.GetWorkflowExecutionInfo().GetType().GetName() != workflows.DrillWorkflow {
		return nil, fmt.Errorf("%w: %q is not a drill", ErrNoDrill, id)
	}
	d := &Drill{Running: desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	d.Input, _ = t.input(ctx, id) // a drill shows without it, read-only
	if d.Running {
		if d.Record, err = t.query(ctx, id); err != nil {
			return nil, err
		}
		d.Escalations = map[string]*workflows.EscalationResult{}
		for _, s := range d.Record.Steps {
			if s.Type == string(playbooks.StepPage) && s.Status == evidence.StepRunning {
				if v, err := t.Client.QueryWorkflow(ctx, workflows.EscalationID(id, s.ID), "", workflows.QueryStatus); err == nil {
					var res workflows.EscalationResult
					if v.Get(&res) == nil {
						d.Escalations[s.ID] = &res
					}
				}
			}
		}
		return d, nil
	}
	if d.Record, err = t.finalRecord(ctx, id); err != nil {
		return nil, err
	}
	return d, nil
}

// input reads what a drill was started with from the first event of its
// history.
func (t *Temporal) input(ctx context.Context, id string) (*workflows.DrillInput, error) {
	t.mu.Lock()
	in, ok := t.inputs[id]
	t.mu.Unlock()
	if ok {
		return in, nil
	}
	iter := t.Client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return nil, fmt.Errorf("history of %s: empty", id)
	}
	ev, err := iter.Next()
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	payloads := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(payloads) == 0 {
		return nil, fmt.Errorf("history of %s: no input", id)
	}
	in = &workflows.DrillInput{}
	if err := converter.GetDefaultDataConverter().FromPayload(payloads[0], in); err != nil {
		return nil, fmt.Errorf("input of %s: %w", id, err)
	}
	t.mu.Lock()
	if t.inputs == nil || len(t.inputs) >= cacheSize {
		t.inputs = map[string]*workflows.DrillInput{}
	}
	t.inputs[id] = in
	t.mu.Unlock()
	return in, nil
}

// Start starts a drill, with the search attributes when the namespace has
// them.
func (t *Temporal) Start(ctx context.Context, in workflows.DrillInput) error {
	opts := client.StartWorkflowOptions{
		ID:                    in.DrillID,
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo:                  map[string]any{"playbook": in.Playbook.Metadata.Name, "digest": in.Playbook.Source.Digest},
	}
	if t.searchAttrs(ctx) {
		attrs := []temporal.SearchAttributeUpdate{
			temporal.NewSearchAttributeKeyKeyword(attrPlaybook).ValueSet(in.Playbook.Metadata.Name),
			temporal.NewSearchAttributeKeyKeyword(attrStatus).ValueSet(evidence.StatusRunning),
		}
		if in.Initiator != "" {
			attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(attrInitiator).ValueSet(in.Initiator))
		}
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(attrs...)
	}
	if _, err := t.Client.ExecuteWorkflow(ctx, opts, workflows.DrillWorkflow, in); err != nil {
		return fmt.Errorf("start drill %s: %w", in.DrillID, err)
	}
	return nil
}

// Approve sends the approve Update and waits for its outcome.
func (t *Temporal) Approve(ctx context.Context, id string, in workflows.ApproveInput) (*evidence.Approval, error) {
	h, err := t.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.UpdateApprove,
		Args: []any{in}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return nil, fmt.Errorf("approve %s on %s: %w", in.Step, id, err)
	}
	var a evidence.Approval
	if err := h.Get(ctx, &a); err != nil {
		return nil, fmt.Errorf("approve %s on %s: %w", in.Step, id, err)
	}
	return &a, nil
}

// Ack acknowledges a page step's page.
func (t *Temporal) Ack(ctx context.Context, id, step string, in workflows.AckInput) (*evidence.Ack, error) {
	a, err := worker.Ack(ctx, t.Client, id, step, in)
	if err != nil {
		return nil, fmt.Errorf("ack %s of %s: %w", step, id, err)
	}
	return a, nil
}

// Abort signals the drill to abort.
func (t *Temporal) Abort(ctx context.Context, id string, in workflows.AbortInput) error {
	if err := t.Client.SignalWorkflow(ctx, id, "", workflows.SignalAbort, in); err != nil {
		return fmt.Errorf("abort %s: %w", id, err)
	}
	return nil
}

// Schedules summarises every schedule.
func (t *Temporal) Schedules(ctx context.Context) ([]schedule.Summary, error) {
	return schedule.List(ctx, t.Client)
}

// SchedulePlaybook is the playbook a schedule starts drills of.
func (t *Temporal) SchedulePlaybook(ctx context.Context, name string) (*playbooks.Playbook, error) {
	in, err := schedule.Scheduled(ctx, t.Client, name)
	if err != nil {
		return nil, err
	}
	return &in.Playbook, nil
}

// PauseSchedule pauses or unpauses a schedule.
func (t *Temporal) PauseSchedule(ctx context.Context, name, note string, pause bool) error {
	if pause {
		return schedule.Pause(ctx, t.Client, name, note)
	}
	return schedule.Unpause(ctx, t.Client, name, note)
}

// SetSkip replaces a schedule's skip dates, keeping the rest of its spec.
func (t *Temporal) SetSkip(ctx context.Context, name string, skip []string) error {
	return schedule.Update(ctx, t.Client, name, schedule.Change{
		Spec: &schedule.SpecChange{Spec: schedule.Spec{Skip: skip}, Parts: []string{schedule.PartSkip}}})
}
