package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
)

// finish computes the measures and the verdict and stamps the end. A gate
// that opened with no human decision keeps the verdict from being met
// unless the playbook marks it auto: allowed.
func (d *drill) finish(ctx workflow.Context) {
	end := workflow.Now(ctx).UTC()
	d.rec.EndedAt = &end
	d.rec.Measures = d.measures()
	d.rec.Verdict = verdict(d.rec)
	defer func() {
		workflow.SetCurrentDetails(ctx, d.details())
		d.publish(ctx)
	}()
	if d.rec.Verdict != evidence.VerdictMet {
		return
	}
	if d.finallyFailed != "" {
		d.rec.Verdict = evidence.VerdictIncomplete
		d.rec.VerdictNote = d.finallyFailed + ": the system was not brought back to its known state"
		return
	}
	for _, a := range d.rec.Approvals {
		if spec := d.specs[a.Step]; a.Auto && (spec.Approval == nil || spec.Approval.Auto != "allowed") {
			d.rec.Verdict = evidence.VerdictIncomplete
			d.rec.VerdictNote = fmt.Sprintf("gate %q opened with no human decision (onTimeout: approve) and the playbook does not mark it auto: allowed", a.Step)
			return
		}
	}
}

// verdict is met, missed or incomplete for a completed drill, else its status.
func verdict(rec *evidence.Record) string {
	if rec.Status != evidence.StatusCompleted {
		return rec.Status
	}
	if rec.DryRun {
		return evidence.VerdictIncomplete
	}
	if rec.Rehearsal {
		return VerdictRehearsal
	}
	result := evidence.VerdictMet
	for _, m := range []evidence.Measure{rec.Measures.RTO, rec.Measures.RPO, rec.Measures.Response, rec.Measures.PermissionRPO} {
		switch m.Verdict {
		case evidence.VerdictMissed:
			return evidence.VerdictMissed
		case evidence.VerdictNotMeasured:
			if m.TargetSeconds != nil {
				result = evidence.VerdictIncomplete
			}
		}
	}
	return result
}

// details is the drill's outcome in a few lines of Markdown, for the
// Temporal Web UI (a drill that missed a target still shows "Completed"
// there as a workflow).
func (d *drill) details() string {
	rec := d.rec
	out := fmt.Sprintf("**%s** — status %s, verdict **%s**", rec.Playbook.Name, rec.Status, rec.Verdict)
	if rec.Reason != "" {
		out += "\n\n" + rec.Reason
	}
	if rec.VerdictNote != "" {
		out += "\n\n" + rec.VerdictNote
	}
	for _, m := range []struct {
		name string
		m    evidence.Measure
	}{{"RTO", rec.Measures.RTO}, {"RPO", rec.Measures.RPO}, {"response", rec.Measures.Response}} {
		if m.m.AchievedSeconds != nil {
			out += fmt.Sprintf("\n- %s %.3fs: %s", m.name, *m.m.AchievedSeconds, m.m.Verdict)
		} else if m.m.TargetSeconds != nil {
			out += fmt.Sprintf("\n- %s: %s", m.name, m.m.Verdict)
		}
	}
	return out
}
