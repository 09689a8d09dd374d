package cli

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
)

// Following a drill. drillctl does not poll: it long-polls the drill's
// history (the server answers when a new event is written) and asks the
// drill for its status once per workflow task that changed it. A drill
// followed this way costs the server one request per change instead of ten
// a second, and the command ends as soon as the drill's close is written.
//
// Two safety nets stay: when the history has been quiet for a while the
// CLI asks once whether the drill closed (a close the long poll missed is
// seen within a second or two, then within at most followMaxQuiet), and a
// server that goes away (a restart) is waited for, since the drill goes on
// without the CLI.

// FollowEnv names the environment variable that chooses how drills are
// followed: "poll" brings back the 100 ms polling drillctl used before (for
// comparison in benchmarks, or a server whose long polls misbehave).
const FollowEnv = "DRILLCTL_FOLLOW"

const (
	// followQuiet is how long the history may stay quiet before the CLI
	// asks whether the drill closed; it doubles while nothing happens, up
	// to followMaxQuiet.
	followQuiet    = time.Second
	followMaxQuiet = 10 * time.Second
	// followRetry is the wait after the server could not be reached.
	followRetry = time.Second
	// queryTimeout bounds one status query: a drill whose worker is away
	// answers no query, and following must not stall on it.
	queryTimeout = 10 * time.Second
	// coalesce is how long after a workflow task the status is asked:
	// the events written with it are read first (one query for them all,
	// none when they close the drill).
	coalesce = 5 * time.Millisecond
	// legacyPoll and legacyStatusPoll are the intervals of
	// DRILLCTL_FOLLOW=poll: a describe to learn the drill closed, a status
	// query to show its progress.
	legacyPoll       = 100 * time.Millisecond
	legacyStatusPoll = 300 * time.Millisecond
)

// eventIterator is a drill's history, read as it grows
// (client.HistoryEventIterator).
type eventIterator interface {
	HasNext() bool
	Next() (*historypb.HistoryEvent, error)
}

// followSource is what following a drill needs from Temporal; tests give a
// scripted one.
type followSource interface {
	// events long-polls the drill's history from its first event.
	events(ctx context.Context) eventIterator
	// running describes the drill's workflow: still running or not.
	running(ctx context.Context) (bool, error)
	// status queries the drill's live record.
	status(ctx context.Context) (*evidence.Record, error)
}

// temporalSource follows drill id through a Temporal client.
type temporalSource struct {
	cl worker.Client
	id string
}

func (s temporalSource) events(ctx context.Context) eventIterator {
	return s.cl.GetWorkflowHistory(ctx, s.id, "", true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
}

func (s temporalSource) running(ctx context.Context) (bool, error) {
	desc, err := s.cl.DescribeWorkflowExecution(ctx, s.id, "")
	if err != nil {
		return false, err
	}
	return desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

func (s temporalSource) status(ctx context.Context) (*evidence.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return queryStatus(ctx, s.cl, s.id)
}

// follower waits for a drill to close, telling onChange each new state.
type follower struct {
	src followSource
	// onChange, when set, gets the drill's record at the start and after
	// every workflow task (the only moments its state changes).
	onChange func(*evidence.Record)
	// redraw, when set, is called every redrawEvery between changes (a
	// terminal's elapsed times).
	redraw      func()
	redrawEvery time.Duration
	// quiet, maxQuiet and retry default to followQuiet, followMaxQuiet
	// and followRetry.
	quiet, maxQuiet, retry time.Duration
}

// eventOrErr is one read of the history.
type eventOrErr struct {
	event *historypb.HistoryEvent
	err   error
	done  bool // the history ended without a close event (not expected)
}

// readHistory reads the drill's history from its start into events until
// ctx ends, an error (sent) or the history's end (sent as done).
func (f *follower) readHistory(ctx context.Context, events chan<- eventOrErr) {
	it := f.src.events(ctx)
	go func() {
		send := func(r eventOrErr) bool {
			select {
			case events <- r:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for it.HasNext() {
			e, err := it.Next()
			if !send(eventOrErr{event: e, err: err}) || err != nil {
				return
			}
		}
		send(eventOrErr{done: true})
	}()
}

// asker queries the drill's status one query at a time, in the background,
// so that a slow query never holds up reading the close.
type asker struct {
	f        *follower
	ctx      context.Context
	answers  chan *evidence.Record // nil: the query failed (the worker is away)
	querying bool
	again    bool // a change came during the query: ask again after it
}

// ask queries the status, or asks again after the query under way.
func (a *asker) ask() {
	if a.querying {
		a.again = true
		return
	}
	a.querying = true
	go func() {
		rec, err := a.f.src.status(a.ctx)
		if err != nil {
			rec = nil
		}
		select {
		case a.answers <- rec:
		case <-a.ctx.Done():
		}
	}()
}

// answered hands an answer to onChange and asks again if a change came.
func (a *asker) answered(rec *evidence.Record) {
	a.querying = false
	if rec != nil {
		a.f.onChange(rec)
	}
	if a.again {
		a.again = false
		a.ask()
	}
}

// wait follows the drill until its workflow closes, and returns the close
// event (nil when the close was learnt some other way).
func (f *follower) wait(ctx context.Context) (*historypb.HistoryEvent, error) {
	quiet, maxQuiet, retry := orDefault(f.quiet, followQuiet), orDefault(f.maxQuiet, followMaxQuiet), orDefault(f.retry, followRetry)
	bg, stop := context.WithCancel(ctx) // the reader's and the asker's
	defer stop()
	events := make(chan eventOrErr, 256)
	var lastID int64 // events up to this id were handled (a new read starts over)
	f.readHistory(bg, events)
	a := &asker{f: f, ctx: bg, answers: make(chan *evidence.Record, 1)}
	if f.onChange != nil {
		a.ask() // the state at the start
	}
	idle := quiet
	safety := time.NewTimer(idle)
	defer safety.Stop()
	var tick <-chan time.Time
	if f.redraw != nil && f.redrawEvery > 0 {
		t := time.NewTicker(f.redrawEvery)
		defer t.Stop()
		tick = t.C
	}
	var retryAfter, askAfter <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick:
			f.redraw()
		case rec := <-a.answers:
			a.answered(rec)
		case <-askAfter:
			askAfter = nil
			a.ask()
		case <-retryAfter:
			retryAfter = nil
			f.readHistory(bg, events)
		case <-safety.C:
			// Quiet for a while: did the drill close without the long
			// poll telling?
			running, err := f.src.running(ctx)
			switch {
			case err == nil && !running:
				return nil, nil
			case err != nil && !transient(err) && ctx.Err() == nil:
				return nil, err
			}
			idle = min(2*idle, maxQuiet)
			safety.Reset(idle)
		case r := <-events:
			switch {
			case r.err != nil:
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if !transient(r.err) {
					return nil, r.err
				}
				// The server is away (restarting, or the network blinked):
				// the drill goes on without us; read again shortly.
				retryAfter = time.After(retry)
				continue
			case r.done:
				// A complete history ends with its close; read again to be sure.
				retryAfter = time.After(retry)
				continue
			}
			e := r.event
			if e.GetEventId() <= lastID {
				continue // read again after an error: seen already
			}
			lastID = e.GetEventId()
			if closeEvent(e) {
				return e, nil
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && f.onChange != nil && askAfter == nil {
				// The drill's state changed. Ask once the events written
				// with it are read: when they close the drill, no need.
				askAfter = time.After(coalesce)
			}
			idle = quiet
			safety.Reset(idle)
		}
	}
}

// orDefault is d, or def when d is not set.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// closeEvent reports whether e closes a workflow execution.
func closeEvent(e *historypb.HistoryEvent) bool {
	switch e.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return true
	}
	return false
}

// waitClosed waits until the drill's workflow has closed, following its
// history (or polling, with DRILLCTL_FOLLOW=poll), and returns its record
// when the close carried one.
func waitClosed(ctx context.Context, cl worker.Client, id string) (*evidence.Record, error) {
	if legacyFollow(ctx) {
		return nil, pollClosed(ctx, cl, id)
	}
	e, err := (&follower{src: temporalSource{cl: cl, id: id}}).wait(ctx)
	if err != nil || e == nil {
		return nil, err
	}
	return recordOf(e), nil
}

type legacyFollowKey struct{}

// followContext carries DRILLCTL_FOLLOW=poll (FollowEnv) from the
// command's environment into ctx.
func followContext(ctx context.Context, stdio IO) context.Context {
	if stdio.Env != nil && stdio.Env(FollowEnv) == "poll" {
		return context.WithValue(ctx, legacyFollowKey{}, true)
	}
	return ctx
}

// legacyFollow reports whether ctx asks for the polling drillctl used before.
func legacyFollow(ctx context.Context) bool {
	on, _ := ctx.Value(legacyFollowKey{}).(bool)
	return on
}

// pollClosed is how drillctl waited before: a describe every 100 ms, each
// of 200 followers adding to the server's load. Kept for comparison
// (DRILLCTL_FOLLOW=poll; e2e/follow_bench_test.go measures both).
func pollClosed(ctx context.Context, cl worker.Client, id string) error {
	for {
		desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
		if err != nil && transient(err) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(followRetry):
				continue
			}
		}
		if err != nil {
			return err
		}
		if desc.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(legacyPoll):
		}
	}
}

// pollStatus is how drillctl showed progress before (DRILLCTL_FOLLOW=poll):
// a status query every 300 ms until the drill is no longer running.
func pollStatus(ctx context.Context, cl worker.Client, id string, onChange func(*evidence.Record)) error {
	tick := time.NewTicker(legacyStatusPoll)
	defer tick.Stop()
	for {
		rec, err := queryStatus(ctx, cl, id)
		if err == nil {
			onChange(rec)
			if rec.Status != evidence.StatusRunning {
				return nil
			}
		} else if desc, derr := cl.DescribeWorkflowExecution(ctx, id, ""); derr == nil &&
			desc.WorkflowExecutionInfo.GetCloseTime() != nil {
			return nil // ended; the caller fetches the result
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

var _ followSource = temporalSource{}
