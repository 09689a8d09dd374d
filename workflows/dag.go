package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
)

// runDAG runs steps in dependency order, each as soon as its needs are done,
// until every step has ended or been skipped. A step that fails (without
// continueOnError) stops the launch of new steps and cancels the running
// ones; so does an abort signal. It returns the id of the step that failed
// the run, or "".
func (d *drill) runDAG(ctx workflow.Context, steps []playbooks.Step, recs []evidence.StepRecord,
	abortCh workflow.ReceiveChannel, cancel workflow.CancelFunc) string {
	done := workflow.NewBufferedChannel(ctx, len(steps))
	running, failed, stopping := 0, "", false
	for {
		if !stopping {
			running += d.launchReady(ctx, steps, recs, done)
		}
		if running == 0 {
			break
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(d.woken, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			var id string
			c.Receive(ctx, &id)
			running--
			r := d.step(id)
			bad := r.Status == evidence.StepFailed && !d.specs[id].ContinueOnError && !d.in.Rehearse || r.Status == evidence.StepUnknown
			if bad && failed == "" && !stopping {
				failed = id
				stopping = true
				cancel()
			}
		})
		if abortCh != nil && d.abort == nil {
			sel.AddReceive(abortCh, func(c workflow.ReceiveChannel, _ bool) {
				var a AbortInput
				c.Receive(ctx, &a)
				if a.Reason == "" {
					a.Reason = "aborted"
				}
				d.checkAbort(&a)
				d.abort = &a
				stopping = true
				cancel()
			})
		}
		sel.Select(ctx)
		if abortCh != nil && d.abort != nil && !stopping {
			// Aborted from within (a guard breached): stop like an abort.
			stopping = true
			cancel()
		}
	}
	for i := range recs {
		if recs[i].Status == evidence.StepPending {
			recs[i].Status = evidence.StepSkipped
			if recs[i].Note == "" {
				recs[i].Note = "not run: the drill stopped before its turn"
			}
		}
	}
	return failed
}

// launchReady starts, in playbook order, every pending step whose needs have
// all succeeded, and skips those with a need that failed. It returns how many
// steps it started.
func (d *drill) launchReady(ctx workflow.Context, steps []playbooks.Step, recs []evidence.StepRecord, done workflow.Channel) int {
	started := 0
	for changed := true; changed; {
		changed = false
		for i, s := range steps {
			r := &recs[i]
			if r.Status != evidence.StepPending {
				continue
			}
			ready, blocker := d.needsState(s)
			if blocker != "" {
				r.Status = evidence.StepSkipped
				r.Note = fmt.Sprintf("not run: it needs %q, which %s", blocker, d.step(blocker).Status)
				changed = true
				continue
			}
			if !ready || (s.Marks == playbooks.MarkOutageStart && len(d.warming) > 0) {
				continue // the outage clock starts once the canaries are warm
			}
			if d.in.DryRun && s.Type != playbooks.StepInventory {
				r.Status = evidence.StepSkipped
				r.Note = "not run: dry run (inventory only)"
				changed = true
				continue
			}
			r.Status = evidence.StepRunning
			now := workflow.Now(ctx).UTC()
			r.StartedAt = &now
			if s.Type == playbooks.StepCanary && !d.in.Rehearse && workflow.GetVersion(ctx, "canary-warmup", workflow.DefaultVersion, 1) == 1 {
				// Warming from its launch: an outage_start step made ready in
				// the same pass waits for it.
				d.warming[s.ID] = true
			}
			step := s
			started++
			changed = true
			if len(recs) > 0 && len(d.rec.Steps) > 0 && &recs[0] == &d.rec.Steps[0] {
				d.startMetrics(ctx)
				d.startGuardsFor(ctx, s)
			}
			workflow.Go(ctx, func(ctx workflow.Context) {
				d.runStep(ctx, step)
				done.Send(ctx, step.ID)
			})
		}
	}
	return started
}

// needsState reports whether every need of s is done, or names a need that
// ended without success (which means s will never run).
func (d *drill) needsState(s playbooks.Step) (ready bool, blocker string) {
	ready = true
	for _, n := range s.Needs {
		r := d.step(n)
		if r == nil {
			return false, n
		}
		switch r.Status {
		case evidence.StepSucceeded, StepRehearsed:
		case evidence.StepFailed:
			if !d.specs[n].ContinueOnError && !d.in.Rehearse {
				return false, n
			}
		case evidence.StepSkipped, evidence.StepCancelled:
			return false, n
		default:
			ready = false
		}
	}
	return ready, ""
}
