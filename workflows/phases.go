package workflows

import (
	"fmt"
	"sort"

	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
)

// After the drill's steps: a completed drill runs its finally steps
// (reconstitution back to the known state); a failed or aborted one
// compensates exactly what ran. A no-go before any action compensates
// nothing.

// ran returns the actions that ran - succeeded, or sent with an outcome
// nobody knows - in the order they started.
func (d *drill) ran() []playbooks.Step {
	type started struct {
		step  playbooks.Step
		order int
	}
	var out []started
	for i, s := range d.in.Playbook.Steps {
		r := d.step(s.ID)
		if s.Type.IsAction() && (r.Status == evidence.StepSucceeded || r.Status == evidence.StepUnknown) {
			out = append(out, started{s, i})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := d.step(out[i].step.ID).StartedAt, d.step(out[j].step.ID).StartedAt
		if a == nil || b == nil || a.Equal(*b) {
			return out[i].order < out[j].order
		}
		return a.Before(*b)
	})
	steps := make([]playbooks.Step, len(out))
	for i, s := range out {
		steps[i] = s.step
	}
	return steps
}

// compensate undoes what ran. In a saga (actions name their compensate
// step) each action that ran is compensated by its own step, in reverse
// order, one at a time; otherwise the playbook's rollback runs, but only if
// some action ran.
func (d *drill) compensate(ctx workflow.Context) {
	ran := d.ran()
	saga := false
	for _, s := range d.in.Playbook.Steps {
		saga = saga || s.Compensate != ""
	}
	if !saga {
		// The playbook's rollback, as before sagas: it runs when any action
		// was attempted (a failed failover may have half-happened).
		if !d.attempted() {
			d.skipPending(d.rec.Rollback, "not needed: no action had run, so there was nothing to compensate")
			return
		}
		d.runDAG(ctx, d.in.Playbook.Rollback, d.rec.Rollback, nil, func() {})
		return
	}
	for i := len(ran) - 1; i >= 0; i-- {
		id := ran[i].Compensate
		if id == "" {
			continue
		}
		for j, rb := range d.in.Playbook.Rollback {
			if rb.ID == id {
				d.runDAG(ctx, d.in.Playbook.Rollback[j:j+1], d.rec.Rollback[j:j+1], nil, func() {})
				d.rec.Rollback[j].Note = joinNote(d.rec.Rollback[j].Note, fmt.Sprintf("compensation of %s", ran[i].ID))
			}
		}
	}
	d.skipPending(d.rec.Rollback, "not needed: the action it compensates did not run")
}

// runFinally runs the reconstitution steps of a completed drill. One that
// fails leaves the system away from its known state: the verdict says so.
func (d *drill) runFinally(ctx workflow.Context) {
	if len(d.in.Playbook.Finally) == 0 {
		return
	}
	if failed := d.runDAG(ctx, d.in.Playbook.Finally, d.rec.Finally, nil, func() {}); failed != "" {
		d.finallyFailed = fmt.Sprintf("reconstitution failed: finally step %q: %s", failed, d.step(failed).Error)
	}
}

// skipPending marks the steps still pending as skipped, saying why.
func (d *drill) skipPending(recs []evidence.StepRecord, note string) {
	for i := range recs {
		if recs[i].Status == evidence.StepPending {
			recs[i].Status = evidence.StepSkipped
			if recs[i].Note == "" {
				recs[i].Note = note
			}
		}
	}
}

// attempted reports whether any action of the drill was started.
func (d *drill) attempted() bool {
	for _, s := range d.in.Playbook.Steps {
		if st := d.step(s.ID).Status; s.Type.IsAction() && st != evidence.StepPending && st != evidence.StepSkipped && st != StepRehearsed {
			return true
		}
	}
	return false
}
