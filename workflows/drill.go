package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Names shared by the workflow, the worker and the CLI.
const (
	// TaskQueue is the task queue drill workflows and activities run on.
	TaskQueue = "drillctl"
	// DrillWorkflow is the registered name of the Drill workflow.
	DrillWorkflow = "Drill"
	// QueryStatus returns the live drill record (*evidence.Record).
	QueryStatus = "status"
	// UpdateApprove gives a decision on a waiting approval step (ApproveInput).
	UpdateApprove = "approve"
	// SignalAbort aborts a drill (AbortInput): running steps are cancelled
	// and the rollback runs.
	SignalAbort = "abort"
	// ErrDrillFailed is the error type of a drill that failed or was aborted;
	// its details hold the drill record.
	ErrDrillFailed = "DrillFailed"
)

// DrillInput is the input of the Drill workflow. It holds no resolved
// secret: Temporal stores it in clear text.
type DrillInput struct {
	DrillID  string             `json:"drillId"`
	Playbook playbooks.Playbook `json:"playbook"`
	// Params are the effective parameters: the playbook's, overridden by --set.
	Params map[string]string `json:"params,omitempty"`
	// DryRun runs only the inventory steps (read-only readiness check).
	DryRun bool `json:"dryRun,omitempty"`
	// Rehearse runs the read-only steps for real and describes the actions
	// without running them (see rehearse.go).
	Rehearse bool `json:"rehearse,omitempty"`
	// Schedule names the schedule that started the drill, if any.
	Schedule string `json:"schedule,omitempty"`
	// Environment describes where the drill was started from.
	Environment evidence.Environment `json:"environment,omitempty"`
	// WaitLock is how long the drill waits for a lock another drill holds
	// (zero: it is refused at once, naming that drill).
	WaitLock time.Duration `json:"waitLock,omitempty"`
	// Compensate, when set, makes this execution compensate a drill that
	// was terminated from outside instead of running it (its guard sets it).
	Compensate *Compensation `json:"compensate,omitempty"`
	// Start is the starter's signed statement of the start (required when
	// the playbook's identity is signed).
	Start *identity.Signed `json:"start,omitempty"`
	// Initiator is who started the drill, as they said (unverified).
	Initiator string `json:"initiator,omitempty"`
	// PlaybookSignature is the playbook file's detached SSH signature
	// (drillctl playbook sign), checked by workers that trust only signed
	// playbooks.
	PlaybookSignature string `json:"playbookSignature,omitempty"`
}

// ApproveInput is a decision on an approval step.
type ApproveInput struct {
	Step    string `json:"step"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
	// Reject says no-go; the step fails and the rollback runs.
	Reject bool `json:"reject,omitempty"`
	// Signed is the approver's signed statement of this decision.
	Signed *identity.Signed `json:"signed,omitempty"`
	// Via is how the decision came: cli, api, console.
	Via string `json:"via,omitempty"`
}

// AbortInput says who aborts a drill and why.
type AbortInput struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Signed is the signed statement of the abort. An abort is always
	// honoured (it is a safety lever); the record says whether it was
	// verified.
	Signed *identity.Signed `json:"signed,omitempty"`
	Via    string           `json:"via,omitempty"`
}

// Drill runs a playbook as a drill: it walks the step DAG, running every
// step whose needs are done (independent steps in parallel), waits for
// approvals, measures RTO and RPO from the instants its activities took, runs
// the rollback when a step fails or the drill is aborted, and returns the
// drill record. A drill that failed or was aborted returns an error of type
// ErrDrillFailed whose details hold the record.
func Drill(ctx workflow.Context, in DrillInput) (*evidence.Record, error) {
	d := newDrill(ctx, in)
	if err := d.registerHandlers(ctx); err != nil {
		return nil, err
	}
	d.checkSearchable(ctx)

	if in.Compensate != nil {
		return d.runCompensation(ctx, in.Compensate)
	}
	if why := d.checkStart(); why != "" {
		return d.refuse(ctx, why)
	}
	if workflow.GetVersion(ctx, "trust-check", workflow.DefaultVersion, 1) == 1 {
		if why := d.checkTrust(ctx); why != "" {
			return d.refuse(ctx, why)
		}
	}
	if !in.Rehearse && workflow.GetVersion(ctx, "guard-locks", workflow.DefaultVersion, 1) == 1 {
		if why := d.startGuard(ctx); why != "" {
			return d.refuse(ctx, why)
		}
	}
	d.notifyAsync(ctx, EventStarted, fmt.Sprintf("Drill %s of %s started.", d.rec.DrillID, in.Playbook.Metadata.Name))
	d.root = ctx
	stepsCtx, cancelSteps := workflow.WithCancel(ctx)
	abortCh := workflow.GetSignalChannel(ctx, SignalAbort)
	failed := d.runDAG(stepsCtx, in.Playbook.Steps, d.rec.Steps, abortCh, cancelSteps)
	d.stopGuardsAfter(ctx, "")
	if ctx.Err() != nil && d.abort == nil {
		// Cancelled through Temporal rather than drill abort: an abort all the same.
		d.abort = &AbortInput{By: "temporal", Reason: "the drill's workflow was cancelled"}
	}
	// What follows runs even if the workflow is being cancelled.
	ctx, _ = workflow.NewDisconnectedContext(ctx)

	switch {
	case d.abort != nil:
		d.rec.Status = evidence.StatusAborted
		d.rec.AbortedBy = d.abort.By
		d.rec.Reason = d.abort.Reason
	case d.stopped != "":
		d.rec.Status = evidence.StatusFailed
		d.rec.Reason = d.stopped
	case failed != "":
		d.rec.Status = evidence.StatusFailed
		d.rec.Reason = fmt.Sprintf("step %q failed: %s", failed, d.step(failed).Error)
	default:
		d.rec.Status = evidence.StatusCompleted
	}

	switch {
	case d.rec.Status == evidence.StatusCompleted:
		d.runFinally(ctx)
	case d.stopped != "":
		// A person chose to stop: nothing is compensated.
	case workflow.GetVersion(ctx, "scoped-compensation", workflow.DefaultVersion, 1) == 1:
		d.compensate(ctx)
	case len(in.Playbook.Rollback) > 0:
		d.runDAG(ctx, in.Playbook.Rollback, d.rec.Rollback, nil, func() {})
	}
	rollbackNote := "not needed: the drill completed"
	if d.stopped != "" {
		rollbackNote = "not run: " + d.stopped
	}
	d.skipPending(d.rec.Rollback, rollbackNote)
	d.skipPending(d.rec.Finally, "not run: the drill did not complete (compensation, not reconstitution, follows a failure or an abort)")

	d.finish(ctx)
	if d.rec.Verdict == evidence.VerdictMissed {
		d.lifecycle(ctx, EventTargetMissed, fmt.Sprintf("Drill %s missed a target: %s", d.rec.DrillID, missedText(d.rec.Measures)))
	}
	d.lifecycle(ctx, EventFinished, fmt.Sprintf("Drill %s ended: status %s, verdict %s.", d.rec.DrillID, d.rec.Status, d.rec.Verdict))
	d.notifying.Wait(ctx) // notifications sent along the way are not dropped
	if workflow.GetVersion(ctx, "await-writers", workflow.DefaultVersion, 1) == 1 {
		d.awaitWriters(ctx)
	}
	d.stopMetrics(ctx)
	if workflow.GetVersion(ctx, "evidence-bundle", workflow.DefaultVersion, 1) == 1 {
		d.writeEvidence(ctx)
	}
	d.releaseGuard(ctx)
	if d.rec.Status != evidence.StatusCompleted {
		return d.rec, temporal.NewNonRetryableApplicationError(d.rec.Reason, ErrDrillFailed, nil, d.rec)
	}
	return d.rec, nil
}

// refuse ends a drill refused before anything was touched: nothing to
// compensate, no evidence (it did not run).
func (d *drill) refuse(ctx workflow.Context, why string) (*evidence.Record, error) {
	d.rec.Status = evidence.StatusFailed
	d.rec.Reason = why
	for _, recs := range [][]evidence.StepRecord{d.rec.Steps, d.rec.Rollback} {
		for i := range recs {
			recs[i].Status = evidence.StepSkipped
			recs[i].Note = "not run: the drill was refused"
		}
	}
	d.finish(ctx)
	return d.rec, temporal.NewNonRetryableApplicationError(why, ErrDrillFailed, nil, d.rec)
}

// drill is the state of one Drill execution.
type drill struct {
	in      DrillInput
	rec     *evidence.Record
	index   map[string]*evidence.StepRecord // step or rollback id → its record
	results map[string]*steps.Result        // step id → latest activity result
	specs   map[string]playbooks.Step       // step id → playbook step
	// waiting holds the approval steps waiting for a decision.
	waiting map[string]bool
	// decisions holds, per approval step, the decisions given so far.
	decisions map[string][]ApproveInput
	// sig checks people's signed statements.
	sig   *Signatures
	abort *AbortInput
	// pages holds the outcome of each page step's escalation.
	pages map[string]*EscalationResult
	// notifying counts lifecycle notifications still being sent.
	notifying workflow.WaitGroup
	// decided holds the decisions on steps whose outcome was unknown.
	decided map[string]*evidence.Decision
	// stopped, when set, says why the drill ends without compensation (a
	// person chose stop on an action whose outcome was unknown).
	stopped string
	// guard says the drill's guard runs (and must be released at the end).
	guard bool
	// outputBytes counts the step output bytes kept in the record.
	outputBytes int
	// finallyFailed says a reconstitution step failed.
	finallyFailed string
	// writers are the canary writers started (see awaitWriters).
	writers []workflow.Future
	// warming holds the canary steps still warming up: the outage_start
	// step waits for them.
	warming map[string]bool
	// woken wakes the DAG loop when something it waits on changed (a canary
	// became warm, a guard breached).
	woken workflow.Channel
	// guards are the guards started, by id; root is the context they run in
	// (not the steps', which an abort cancels).
	guards map[string]*guardRun
	root   workflow.Context
	// metrics are the context metrics being sampled.
	metrics   []*guardRun
	metricsOn bool
	// searchable says the drill keeps its search attributes current.
	searchable bool
}

// wake tells the DAG loop to look again at what is ready.
func (d *drill) wake() {
	d.woken.SendAsync(true)
}

func newDrill(ctx workflow.Context, in DrillInput) *drill {
	info := workflow.GetInfo(ctx)
	rec := &evidence.Record{
		SchemaVersion: evidence.SchemaVersion,
		DrillID:       in.DrillID,
		RunID:         info.WorkflowExecution.RunID,
		Namespace:     info.Namespace,
		Playbook: evidence.PlaybookRef{Name: in.Playbook.Metadata.Name, Digest: in.Playbook.Source.Digest,
			Path: in.Playbook.Source.Path},
		Schedule:    in.Schedule,
		Params:      in.Params,
		DryRun:      in.DryRun,
		Rehearsal:   in.Rehearse,
		StartedAt:   workflow.Now(ctx).UTC(),
		Status:      evidence.StatusRunning,
		Environment: in.Environment,
	}
	if rec.DrillID == "" {
		rec.DrillID = info.WorkflowExecution.ID
	}
	rec.Environment.TaskQueue = info.TaskQueueName
	d := &drill{
		in: in, rec: rec,
		index:     map[string]*evidence.StepRecord{},
		results:   map[string]*steps.Result{},
		specs:     map[string]playbooks.Step{},
		waiting:   map[string]bool{},
		decisions: map[string][]ApproveInput{},
		sig:       signaturesOf(&in.Playbook),
		pages:     map[string]*EscalationResult{},
		decided:   map[string]*evidence.Decision{},
		warming:   map[string]bool{},
		guards:    map[string]*guardRun{},
		woken:     workflow.NewBufferedChannel(ctx, 1),
		notifying: workflow.NewWaitGroup(ctx),
	}
	rec.Steps = newStepRecords(in.Playbook.Steps)
	rec.Rollback = newStepRecords(in.Playbook.Rollback)
	rec.Finally = newStepRecords(in.Playbook.Finally)
	rec.Guards = newGuardRecords(in.Playbook.Guards)
	rec.Metrics = make([]evidence.GuardRecord, len(in.Playbook.Metrics))
	for i, m := range in.Playbook.Metrics {
		rec.Metrics[i] = evidence.GuardRecord{ID: m.ID, Kind: "metric"}
	}
	for i, s := range in.Playbook.Steps {
		d.index[s.ID] = &rec.Steps[i]
		d.specs[s.ID] = s
	}
	for i, s := range in.Playbook.Rollback {
		d.index[s.ID] = &rec.Rollback[i]
		d.specs[s.ID] = s
	}
	for i, s := range in.Playbook.Finally {
		d.index[s.ID] = &rec.Finally[i]
		d.specs[s.ID] = s
	}
	rec.Measures = d.measures()
	rec.Identity = d.sig.record()
	return d
}

func newStepRecords(steps []playbooks.Step) []evidence.StepRecord {
	recs := make([]evidence.StepRecord, len(steps))
	for i, s := range steps {
		recs[i] = evidence.StepRecord{ID: s.ID, Type: string(s.Type), Status: evidence.StepPending, Marks: string(s.Marks)}
	}
	return recs
}

func (d *drill) step(id string) *evidence.StepRecord { return d.index[id] }

// durationOr returns d, or def when d is zero.
func durationOr(d playbooks.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return d.D()
	}
	return def
}

// writeEvidence writes the drill's evidence bundle as its last activity, so
// the record outlives Temporal's history retention. A bundle that cannot be
// written is said in the record; it does not change the drill's verdict.
func (d *drill) writeEvidence(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
	})
	var ref evidence.EvidenceRef
	err := workflow.ExecuteActivity(ctx, steps.ActivityWriteEvidence,
		steps.EvidenceInput{Record: *d.rec, Playbook: d.in.Playbook.Source.Raw}).Get(ctx, &ref)
	if err != nil {
		d.rec.EvidenceError = errorText(err)
		return
	}
	d.rec.Evidence = &ref
}

// runCompensation compensates a drill terminated from outside (see
// DrillGuard): decisions on actions whose outcome is unknown, the rollback,
// the evidence.
func (d *drill) runCompensation(ctx workflow.Context, c *Compensation) (*evidence.Record, error) {
	d.takeOverTerminated(ctx, c)
	if d.stopped == "" {
		d.compensate(ctx)
	}
	d.skipPending(d.rec.Rollback, "not run: "+d.stopped)
	d.skipPending(d.rec.Finally, "not run: the drill was terminated")
	d.finish(ctx)
	d.lifecycle(ctx, EventFinished, fmt.Sprintf("Drill %s was terminated from outside; its guard compensated it: %s.", d.rec.DrillID, d.rec.Reason))
	d.notifying.Wait(ctx)
	d.writeEvidence(ctx)
	return d.rec, temporal.NewNonRetryableApplicationError(d.rec.Reason, ErrDrillFailed, nil, d.rec)
}
