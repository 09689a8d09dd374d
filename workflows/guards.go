package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Guards: stop conditions watched while the drill's actions are under way.
// A guard runs as batches of evaluations (one activity each), so its points
// reach the record as it goes and a lost worker loses one batch at most. A
// breach aborts the drill like drill abort: actions in flight finish, what
// ran is compensated, the record names the guard, its value and instant,
// and the owner is told.
const (
	// EventGuardBreached is the lifecycle event of a guard that breached.
	EventGuardBreached = "guard-breached"
	// guardBatch is how many evaluations one guard activity makes.
	guardBatch = 12
	// maxGuardPoints bounds the points a guard keeps in the record.
	maxGuardPoints = 500
)

// guardRun is the state of one guard.
type guardRun struct {
	spec playbooks.Guard
	rec  *evidence.GuardRecord
	stop workflow.CancelFunc
	// watchOnly: a context metric, sampled, never breaching.
	watchOnly bool
}

// newGuardRecords makes the record of every guard of the playbook.
func newGuardRecords(gs []playbooks.Guard) []evidence.GuardRecord {
	out := make([]evidence.GuardRecord, len(gs))
	for i, g := range gs {
		kind := "prometheus"
		switch {
		case g.HTTP != nil:
			kind = "http"
		case g.TCP != nil:
			kind = "tcp"
		case g.Exec != nil:
			kind = "exec"
		case g.SQL != nil:
			kind = "sql"
		}
		out[i] = evidence.GuardRecord{ID: g.ID, Kind: kind}
	}
	return out
}

// startMetrics starts sampling the playbook's context metrics (once, at the
// drill's first step); they are stopped by stopMetrics at its very end.
func (d *drill) startMetrics(ctx workflow.Context) {
	if d.metricsOn || len(d.in.Playbook.Metrics) == 0 {
		return
	}
	d.metricsOn = true
	for i, m := range d.in.Playbook.Metrics {
		gctx, stop := workflow.WithCancel(d.root)
		run := &guardRun{spec: m.AsGuard(), rec: &d.rec.Metrics[i], stop: stop, watchOnly: true}
		d.metrics = append(d.metrics, run)
		now := workflow.Now(ctx).UTC()
		run.rec.StartedAt = &now
		workflow.Go(gctx, func(ctx workflow.Context) { d.watch(ctx, run) })
	}
}

// stopMetrics stops sampling the context metrics.
func (d *drill) stopMetrics(ctx workflow.Context) {
	for _, run := range d.metrics {
		if run.rec.EndedAt == nil {
			now := workflow.Now(ctx).UTC()
			run.rec.EndedAt = &now
			run.stop()
		}
	}
}

// startGuardsFor starts the guards that begin with step s: those whose from
// names it, and, at the first action, those that name no from.
func (d *drill) startGuardsFor(ctx workflow.Context, s playbooks.Step) {
	for i, g := range d.in.Playbook.Guards {
		if d.guards[g.ID] != nil || !(g.From == s.ID || (g.From == "" && s.Type.IsAction())) {
			continue
		}
		gctx, stop := workflow.WithCancel(d.root)
		run := &guardRun{spec: g, rec: &d.rec.Guards[i], stop: stop}
		d.guards[g.ID] = run
		now := workflow.Now(ctx).UTC()
		run.rec.StartedAt = &now
		workflow.Go(gctx, func(ctx workflow.Context) { d.watch(ctx, run) })
	}
}

// stopGuardsAfter stops the guards that end with step id ("" stops all).
func (d *drill) stopGuardsAfter(ctx workflow.Context, id string) {
	for _, g := range d.in.Playbook.Guards {
		run := d.guards[g.ID]
		if run == nil || run.rec.EndedAt != nil || (id != "" && g.Until != id) {
			continue
		}
		now := workflow.Now(ctx).UTC()
		run.rec.EndedAt = &now
		run.stop()
	}
}

// watch evaluates a guard, batch after batch, until it is stopped or
// breaches.
func (d *drill) watch(ctx workflow.Context, run *guardRun) {
	g, err := playbooks.Render(run.spec, d.templateData())
	if err != nil {
		d.guardBreached(ctx, run, &steps.GuardResult{Reason: "its templates could not be rendered: " + err.Error()})
		return
	}
	interval := durationOr(g.Interval, 5*time.Second)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Duration(guardBatch+1)*interval + 30*time.Second,
		HeartbeatTimeout:    max(3*interval, 10*time.Second),
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:             "guard " + g.ID,
	})
	failures, lost := 0, 0
	for ctx.Err() == nil {
		var res steps.GuardResult
		err := workflow.ExecuteActivity(actx, steps.ActivityGuard,
			steps.GuardInput{DrillID: d.rec.DrillID, Guard: g, Evaluations: guardBatch, Failures: failures}).Get(ctx, &res)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// A guard is read-only: a lost worker or server is waited out
			// (a bounded number of times); anything else is a failure to
			// evaluate it.
			var te *temporal.TimeoutError
			if errors.As(err, &te) && lost < maxLostWorkers {
				lost++
				continue
			}
			res = steps.GuardResult{Failures: failures + 1, Points: []evidence.GuardPoint{{At: workflow.Now(ctx).UTC(), Error: errorText(err)}}}
			if tolerate := guardTolerate(g); res.Failures > tolerate {
				res.Breached, res.Reason = true, fmt.Sprintf("could not be evaluated %d times in a row (tolerate: %d): %s", res.Failures, tolerate, errorText(err))
			}
		}
		run.rec.Points = append(run.rec.Points, res.Points...)
		if n := len(run.rec.Points); n > maxGuardPoints {
			run.rec.Points = run.rec.Points[n-maxGuardPoints:]
		}
		failures = res.Failures
		if res.Breached && !run.watchOnly {
			d.guardBreached(ctx, run, &res)
			return
		}
		if err != nil {
			if err := workflow.Sleep(ctx, interval); err != nil {
				return
			}
		}
	}
}

func guardTolerate(g playbooks.Guard) int {
	if g.Tolerate != nil {
		return *g.Tolerate
	}
	return 3
}

// guardBreached records a breach and aborts the drill.
func (d *drill) guardBreached(ctx workflow.Context, run *guardRun, res *steps.GuardResult) {
	now := workflow.Now(ctx).UTC()
	at := res.At
	if at == nil {
		at = &now
	}
	run.rec.Breached, run.rec.At, run.rec.Value, run.rec.Reason = true, at, res.Value, res.Reason
	run.rec.EndedAt = &now
	reason := fmt.Sprintf("guard %q breached at %s: %s", run.spec.ID, at.Format(time.RFC3339Nano), res.Reason)
	if d.abort == nil {
		d.abort = &AbortInput{By: "guard " + run.spec.ID, Reason: reason}
	}
	text := fmt.Sprintf("Drill %s stopped: %s. Running actions finish, then what ran is compensated.", d.rec.DrillID, reason)
	d.notifyAsync(ctx, EventGuardBreached, text)
	d.tellOwner(ctx, EventGuardBreached, text)
	d.wake()
}

// tellOwner notifies the playbook's owner, when metadata.owner names one of
// its contacts, without holding up the drill (which waits for it at its end).
func (d *drill) tellOwner(ctx workflow.Context, event, text string) {
	owner := d.in.Playbook.Metadata.Owner
	if _, ok := d.in.Playbook.Contacts[owner]; !ok {
		return
	}
	to, _ := d.contacts([]string{owner})
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	d.notifying.Add(1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer d.notifying.Done()
		in := steps.NotifyInput{DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Event: event,
			Title: fmt.Sprintf("DR drill %s: %s", d.in.Playbook.Metadata.Name, event), Text: text, To: to}
		_ = workflow.ExecuteActivity(notifyOptions(ctx), steps.ActivityNotify, in).Get(ctx, nil)
	})
}
