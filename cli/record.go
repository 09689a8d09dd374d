package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// Reading a drill's record: live (the status query), final (its result,
// or the close event that carries it), and the words for what Temporal
// answers when it cannot.

// fetchRecord returns a drill's final record (waiting for it when wait is
// true), or its live record when it is still running and wait is false.
func fetchRecord(ctx context.Context, cl worker.Client, id string, wait bool) (*evidence.Record, error) {
	if !wait {
		desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return nil, notFound(id, err)
		}
		if desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return queryStatus(ctx, cl, id)
		}
	} else {
		rec, err := waitClosed(ctx, cl, id)
		if err != nil {
			return nil, notFound(id, err)
		}
		if rec != nil {
			return rec, nil
		}
	}
	return closedRecord(ctx, cl, id)
}

// closedRecord reads the record of a closed drill from its result.
func closedRecord(ctx context.Context, cl worker.Client, id string) (*evidence.Record, error) {
	var rec evidence.Record
	err := cl.GetWorkflow(ctx, id, "").Get(ctx, &rec)
	for tries := 0; err != nil && transient(err) && tries < 60 && ctx.Err() == nil; tries++ {
		time.Sleep(followRetry)
		err = cl.GetWorkflow(ctx, id, "").Get(ctx, &rec)
	}
	if err == nil {
		return &rec, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.ErrDrillFailed && appErr.HasDetails() {
		if derr := appErr.Details(&rec); derr == nil {
			return &rec, nil
		}
	}
	// Terminated or timed out: the last state the workflow can tell.
	if live, qerr := queryStatus(ctx, cl, id); qerr == nil {
		if live.Status == evidence.StatusRunning {
			live.Status = evidence.StatusFailed
			live.Verdict = evidence.StatusFailed
			live.Reason = fmt.Sprintf("the workflow ended without a result: %v", err)
		}
		return live, nil
	}
	return nil, notFound(id, err)
}

// recordOf decodes the drill record a close event carries: the result of a
// completed drill, the details of a failed or aborted one. Nil when the
// event holds none (a terminated drill).
func recordOf(e *historypb.HistoryEvent) *evidence.Record {
	if e == nil {
		return nil
	}
	var rec evidence.Record
	if a := e.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
		if converter.GetDefaultDataConverter().FromPayloads(a.GetResult(), &rec) == nil && rec.DrillID != "" {
			return &rec
		}
		return nil
	}
	if a := e.GetWorkflowExecutionFailedEventAttributes(); a != nil {
		err := temporal.GetDefaultFailureConverter().FailureToError(a.GetFailure())
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == workflows.ErrDrillFailed && appErr.HasDetails() &&
			appErr.Details(&rec) == nil && rec.DrillID != "" {
			return &rec
		}
	}
	return nil
}

// queryStatus asks a drill for its live record (the status query).
func queryStatus(ctx context.Context, cl worker.Client, id string) (*evidence.Record, error) {
	v, err := cl.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return nil, notFound(id, err)
	}
	var rec evidence.Record
	if err := v.Get(&rec); err != nil {
		return nil, fmt.Errorf("decode the status of drill %s: %w", id, err)
	}
	return &rec, nil
}

// notFound words Temporal's NotFound for a drill id nobody knows.
func notFound(id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("no drill %q in this namespace (see: drillctl drill list)", id)
	}
	return err
}

// transient reports whether err says the server could not be reached (it is
// restarting, or the network blinked) rather than answered no.
func transient(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailable) || errors.As(err, &deadline) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	}
	return false
}
