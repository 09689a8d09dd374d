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
		// The writer learns it is cancelled from a heartbeat's answer, and the
		// SDK sends heartbeats at most every 0.8 heartbeat timeouts: keep it
		// short so the writer stops soon after the outage begins.
		HeartbeatTimeout: max(3*interval+2*time.Second, 5*time.Second),
		// The drill goes on as soon as the writer is told to stop (by then the
		// primary is fenced); it waits for the writer to have stopped only
		// at its end, so no activity is left pending when it closes.
		WaitForCancellation: true,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             s.ID + " (canary writer)",
	})
	writer := workflow.ExecuteActivity(writeCtx, steps.ActivityCanaryWrite, in)
	d.writers = append(d.writers, writer)
	if d.warming[s.ID] {
		err := d.warmUp(ctx, s, r, writer)
		delete(d.warming, s.ID)
		d.wake()
		if err != nil {
			stopWriting()
			return err
		}
	}
	outage := d.markedStep(playbooks.MarkOutageStart)
	writerDone := false
	err := workflow.Await(ctx, func() bool {
		writerDone = writer.IsReady()
		return writerDone || outage == nil || stepEnded(outage.Status) || outage.Status == evidence.StepUnknown
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

// writerGrace bounds how long a drill, at its end, waits for its canary
// writers to have stopped.
const writerGrace = 10 * time.Second

// awaitWriters waits, briefly, for the canary writers told to stop to have
// stopped, so the drill closes with no activity still pending.
func (d *drill) awaitWriters(ctx workflow.Context) {
	if len(d.writers) == 0 {
		return
	}
	_, _ = workflow.AwaitWithTimeout(ctx, writerGrace, func() bool {
		for _, w := range d.writers {
			if !w.IsReady() {
				return false
			}
		}
		return true
	})
}

// defaultWarmup bounds a canary's warm-up.
const defaultWarmup = 2 * time.Minute

// warmUp waits until a marker this drill wrote is seen on the standby, so
// the outage clock (which waits for every warming canary) never starts
// while replication has not yet carried any: the RPO then measures what the
// failover lost, not the warm-up.
func (d *drill) warmUp(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord, writer workflow.Future) error {
	spec := s.Canary
	interval := durationOr(spec.Interval, time.Second)
	began := workflow.Now(ctx)
	deadline := began.Add(durationOr(spec.Warmup, defaultWarmup))
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:             s.ID + " (warm-up)",
	})
	in := steps.Input{DrillID: d.rec.DrillID, Step: s, Attempt: 1}
	for {
		var res steps.Result
		err := workflow.ExecuteActivity(actx, steps.ActivityCanaryVerify, in).Get(ctx, &res)
		if err == nil && res.NewestSurvivingAt != nil && !res.NewestSurvivingAt.Before(began.Add(-time.Second)) {
			r.Note = joinNote(r.Note, fmt.Sprintf("warm: a marker written at %s was on the standby %s after the canaries began",
				res.NewestSurvivingAt.Format(time.RFC3339Nano), workflow.Now(ctx).Sub(began).Round(time.Millisecond)))
			return nil
		}
		if writer.IsReady() {
			var early steps.Result
			if werr := writer.Get(ctx, &early); werr != nil {
				return fmt.Errorf("canary writer stopped while warming up: %w", werr)
			}
		}
		if !workflow.Now(ctx).Before(deadline) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"no canary marker reached the standby within %s of writing: replication is down or slower than that, so the RPO cannot be measured (warmup: raises the bound)",
				durationOr(spec.Warmup, defaultWarmup)), "CanaryNotReplicated", nil)
		}
		if err := workflow.Sleep(ctx, interval); err != nil {
			return err
		}
	}
}
