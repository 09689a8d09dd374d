package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/steps"
)

// Observing a worker's activities: every line an activity logs
// (activity.GetLogger) carries the drill and the step it works for, each
// activity's end is logged with how long it ran, and the worker's metrics
// are told of every drill whose evidence was written.

// Observer is told what a worker's activities did, for its metrics
// (metrics.Metrics is one). Set Activities.Observer; nil tells no one.
type Observer interface {
	// Drill is told of a drill whose evidence bundle was written, with its
	// final record. A write retried after its worker was lost is told
	// again, by the worker that retried it.
	Drill(rec *evidence.Record)
}

// Observe returns the worker interceptor that puts the drill and step on
// the activities' log lines, logs each activity's end, and tells
// a.Observer of each evidence bundle written. Register it with the worker
// that runs a, before BoundOutputs. (A function, not a method: every
// exported method of Activities is registered as an activity.)
func Observe(a *Activities) interceptor.WorkerInterceptor {
	return &observeInterceptor{acts: a}
}

type observeInterceptor struct {
	interceptor.WorkerInterceptorBase
	acts *Activities
}

func (o *observeInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &observeActivity{acts: o.acts}
	i.Next = next
	return i
}

// observeActivity observes one activity execution (the SDK builds the
// interceptors anew for each).
type observeActivity struct {
	interceptor.ActivityInboundInterceptorBase
	acts        *Activities
	drill, step string
}

func (o *observeActivity) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	out := &observeOutbound{activity: o}
	out.Next = outbound
	return o.Next.Init(out)
}

func (o *observeActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	o.drill, o.step = drillAndStep(in.Args)
	if o.drill == "" {
		o.drill = info.WorkflowExecution.ID
	}
	logger := activity.GetLogger(ctx) // with the drill and step, through observeOutbound
	logger.Debug("activity started")
	began := time.Now()
	out, err := o.Next.ExecuteActivity(ctx, in)
	took := time.Since(began)
	if err != nil {
		// A probe, check or action that did not succeed: the workflow and
		// the record say what happens next.
		logger.Info("activity failed", "seconds", took.Seconds(), "error", err.Error())
	} else {
		logger.Info("activity completed", "seconds", took.Seconds())
	}
	if err == nil && info.ActivityType.Name == steps.ActivityWriteEvidence && o.acts.Observer != nil && len(in.Args) == 1 {
		if ev, ok := in.Args[0].(steps.EvidenceInput); ok {
			rec := ev.Record
			o.acts.Observer.Drill(&rec)
		}
	}
	return out, err
}

// drillAndStep reads the drill and step an activity works for from its
// input, when its type says.
func drillAndStep(args []any) (drill, step string) {
	if len(args) != 1 {
		return "", ""
	}
	switch in := args[0].(type) {
	case steps.Input:
		return in.DrillID, in.Step.ID
	case steps.PageInput:
		return in.DrillID, in.Step
	case steps.NotifyInput:
		return in.DrillID, in.Step
	case steps.WatchInput:
		return in.DrillID, ""
	case steps.EvidenceInput:
		return in.Record.DrillID, ""
	}
	return "", ""
}

// observeOutbound adds the drill and step to the activity's logger.
type observeOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	activity *observeActivity
}

func (o *observeOutbound) GetLogger(ctx context.Context) log.Logger {
	keyvals := []any{"drill", o.activity.drill}
	if o.activity.step != "" {
		keyvals = append(keyvals, "step", o.activity.step)
	}
	return log.With(o.Next.GetLogger(ctx), keyvals...)
}
