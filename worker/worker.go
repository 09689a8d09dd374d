package worker

import (
	"time"

	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/activities"
	"github.com/drillctl/drillctl/workflows"
)

// Options tune a worker. The zero value is a sensible default.
type Options struct {
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
	// Settings describe the activities the worker assembles (when
	// Activities is nil).
	Settings *Settings
	// Activities, when set, are used as they are (tests); else the worker
	// assembles them from Settings.
	Activities *activities.Activities
	// Identity names the worker in Temporal (default: the SDK's pid@host).
	Identity string
	// Drain is how long a stopping worker lets running activities finish
	// before it cancels them (default DefaultDrain): a graceful stop must
	// not kill a failover script halfway.
	Drain time.Duration
}

// DefaultDrain is how long a stopping worker waits for running activities.
const DefaultDrain = 2 * time.Minute

// New returns a worker, not yet started, that runs drills on c.
func New(c Client, opts Options) sdkworker.Worker {
	queue := opts.TaskQueue
	if queue == "" {
		queue = workflows.TaskQueue
	}
	acts := opts.Activities
	if acts == nil {
		settings := opts.Settings
		if settings == nil {
			settings = &Settings{}
		}
		acts = settings.activities()
	}
	if acts.Temporal == nil {
		acts.Temporal = c // guards watch drills and describe locks with it
	}
	drain := opts.Drain
	if drain <= 0 {
		drain = DefaultDrain
	}
	w := sdkworker.New(c, queue, sdkworker.Options{
		Identity:          opts.Identity,
		WorkerStopTimeout: drain,
		// Every activity's log lines name its drill and step, and the
		// metrics hear of each drill's evidence (outermost, so it sees what
		// the workflow gets); no step output reaches the workflow bigger
		// than its bound.
		Interceptors: []interceptor.WorkerInterceptor{activities.Observe(acts), activities.BoundOutputs(acts)},
		// Drills are few and latency matters more than throughput: keep a
		// poller waiting on each queue so a new task is picked up at once.
		MaxConcurrentWorkflowTaskPollers: 2,
		MaxConcurrentActivityTaskPollers: 4,
	})
	Register(w, acts)
	return w
}

// Register registers the Drill workflow and every step activity on r.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Drill, workflow.RegisterOptions{Name: workflows.DrillWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Escalation, workflow.RegisterOptions{Name: workflows.EscalationWorkflow})
	r.RegisterWorkflowWithOptions(workflows.DrillGuard, workflow.RegisterOptions{Name: workflows.GuardWorkflow})
	r.RegisterWorkflowWithOptions(workflows.LockHolder, workflow.RegisterOptions{Name: workflows.LockWorkflow})
	r.RegisterActivity(acts)
}
