package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/steps"
)

// actionHeartbeat is how often an action in flight heartbeats; the workflow
// gives actions a heartbeat timeout of a few times this, so a lost worker is
// noticed in seconds rather than at the action's timeout.
const actionHeartbeat = 2 * time.Second

// markSent takes the instant an action is sent and records it in Temporal
// through a heartbeat before the action goes out (the first heartbeat of an
// activity is sent synchronously), so the instant survives the loss of this
// worker: the workflow then knows the action was sent, starts the RTO clock
// right, and treats the outcome as unknown instead of "not executed". It
// keeps heartbeating until the returned function is called.
func (a *Activities) markSent(ctx context.Context, res *steps.Result) (done func()) {
	at := a.now()
	res.ActionAt = &at
	p := steps.Progress{SentAt: &at}
	activity.RecordHeartbeat(ctx, p)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(actionHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, p)
			}
		}
	}()
	return func() { close(stop) }
}

// Error types the workflow reads to tell a lost worker from a failed step.
const (
	// ErrOutcomeUnknown: the action was sent and no answer came back before
	// this worker was stopped or the activity cancelled. Details: steps.Progress.
	ErrOutcomeUnknown = "OutcomeUnknown"
	// ErrWorkerStopping: a read-only step gave up because its worker is
	// stopping; it carries on elsewhere. Details: steps.Progress.
	ErrWorkerStopping = "WorkerStopping"
)

// unknownOutcome turns the error of an action that was sent (res.ActionAt
// set) and then cut off by its own context (worker stopping, activity
// cancelled) into ErrOutcomeUnknown: the target may have acted on it.
func unknownOutcome(ctx context.Context, res *steps.Result, err error) error {
	if err == nil || res.ActionAt == nil || ctx.Err() == nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("sent at %s, then cut off before it answered: %v", res.ActionAt.Format(time.RFC3339Nano), err),
		ErrOutcomeUnknown, nil, steps.Progress{SentAt: res.ActionAt})
}
