package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// runCanary writes canary markers to the primary until the outage begins,
// then, once the step named by verifyAfter has succeeded, reads the newest
// marker the standby holds: its instant is the newest surviving write, from
// which the RPO is measured.
func (d *drill) runCanary(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord) error {
	spec := s.Canary
	if spec == nil {
		return temporal.NewNonRetryableApplicationError("canary step has no spec", "BadStep", nil)
	}
	interval := durationOr(spec.Interval, time.Second)
	in := steps.Input{DrillID: d.rec.DrillID, Step: s, Attempt: 1}

	// Phase 1: write until the outage_start step has ended.
	writeCtx, stopWriting := workflow.WithCancel(ctx)
	writeCtx = workflow.WithActivityOptions(writeCtx, workflow.ActivityOptions{
		StartToCloseTimeout: canaryWriterLifetime,
		HeartbeatTimeout:    max(3*interval+2*time.Second, 10*time.Second),
		// The drill goes on as soon as the writer is told to stop; it notices
		// at its next heartbeat, and by then the primary is fenced.
		WaitForCancellation: false,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	writer := workflow.ExecuteActivity(writeCtx, steps.ActivityCanaryWrite, in)
	outage := d.markedStep(playbooks.MarkOutageStart)
	writerDone := false
	err := workflow.Await(ctx, func() bool {
		writerDone = writer.IsReady()
		return writerDone || outage == nil || stepEnded(outage.Status)
	})
	stopWriting()
	if err != nil {
		return err
	}
	if writerDone {
		var early steps.Result
		if werr := writer.Get(ctx, &early); werr != nil && !temporal.IsCanceledError(werr) {
			return fmt.Errorf("canary writer stopped before the outage began: %w", werr)
		}
	}
	if outage == nil || outage.MarkAt == nil {
		return temporal.NewNonRetryableApplicationError("no outage began: the outage_start step did not execute", "NoOutage", nil)
	}

	// Phase 2: once the service is back, read what survived on the standby.
	after := d.step(spec.VerifyAfter)
	if after == nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("verifyAfter names no step %q", spec.VerifyAfter), "BadStep", nil)
	}
	if err := workflow.Await(ctx, func() bool { return stepEnded(after.Status) }); err != nil {
		return err
	}
	if after.Status != evidence.StepSucceeded {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("cannot verify canaries: step %q %s", spec.VerifyAfter, after.Status), "NotVerified", nil)
	}
	return d.runActivity(ctx, steps.ActivityCanaryVerify, s, r)
}

// stepEnded reports whether a step status is final.
func stepEnded(status string) bool {
	switch status {
	case evidence.StepSucceeded, evidence.StepFailed, evidence.StepSkipped, evidence.StepCancelled:
		return true
	}
	return false
}
