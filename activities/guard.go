package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/steps"
)

// watchInterval is how often a guard looks at the drill it watches.
const watchInterval = time.Second

// WatchDrill waits until a drill's workflow execution closes and says how:
// a guard that outlives the drill uses it to notice a drill terminated from
// outside, which then still gets its compensation and its evidence. It
// heartbeats while it waits, so a lost worker hands the watch to another.
func (a *Activities) WatchDrill(ctx context.Context, in steps.WatchInput) (*steps.WatchResult, error) {
	if a.Temporal == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to watch drills with", "NoClient", nil)
	}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		desc, err := a.Temporal.DescribeWorkflowExecution(ctx, in.DrillID, in.RunID)
		if err == nil && desc.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			status := desc.WorkflowExecutionInfo.GetStatus()
			res := &steps.WatchResult{Status: strings.ToLower(strings.TrimPrefix(status.String(), "WORKFLOW_EXECUTION_STATUS_"))}
			if status == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
				res.By, res.Reason = a.terminatedBy(ctx, in)
			}
			if v, err := a.Temporal.QueryWorkflow(ctx, in.DrillID, in.RunID, "status"); err == nil {
				var rec evidence.Record
				if v.Get(&rec) == nil {
					res.Record = &rec
				}
			}
			return res, nil
		}
		activity.RecordHeartbeat(ctx, time.Now().UTC())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-workerStopping(ctx):
			// Watching is read-only: hand it to another worker at once
			// (Temporal retries it) rather than hold up this one's stop.
			return nil, temporal.NewApplicationError("the worker is stopping", ErrWorkerStopping)
		case <-t.C:
		}
	}
}

// terminatedBy reads who terminated an execution, and why, from its history.
func (a *Activities) terminatedBy(ctx context.Context, in steps.WatchInput) (by, reason string) {
	it := a.Temporal.GetWorkflowHistory(ctx, in.DrillID, in.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", ""
		}
		if attrs := ev.GetWorkflowExecutionTerminatedEventAttributes(); attrs != nil {
			return attrs.GetIdentity(), attrs.GetReason()
		}
	}
	return "", ""
}

// DescribeLock says which drill holds a lock (the memo of its holder).
func (a *Activities) DescribeLock(ctx context.Context, workflowID string) (*steps.LockHolder, error) {
	if a.Temporal == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client", "NoClient", nil)
	}
	desc, err := a.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, fmt.Errorf("describe lock %s: %w", workflowID, err)
	}
	h := &steps.LockHolder{Lock: workflowID}
	if f := desc.WorkflowExecutionInfo.GetMemo().GetFields()["drill"]; f != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(f, &h.Drill)
	}
	return h, nil
}
