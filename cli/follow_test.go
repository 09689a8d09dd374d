package cli

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/drillctl/drillctl/evidence"
)

// fakeHistory is a drill's history as a test writes it: each read blocks
// until the next event exists (a long poll), and a read may be made to
// fail once (a server restart).
type fakeHistory struct {
	mu      sync.Mutex
	events  []*historypb.HistoryEvent
	grew    chan struct{}
	failAt  map[int]error // reads started after this many events fail once
	reads   atomic.Int64
	closed  atomic.Bool // the workflow closed (describe says so)
	queries atomic.Int64
	status  func() *evidence.Record
	hide    bool // the long poll never returns the close (a missed close)
}

func newFakeHistory() *fakeHistory {
	return &fakeHistory{grew: make(chan struct{}), failAt: map[int]error{},
		status: func() *evidence.Record { return &evidence.Record{Status: evidence.StatusRunning} }}
}

// add writes events of these types, in one transaction.
func (h *fakeHistory) add(types ...enumspb.EventType) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, typ := range types {
		h.events = append(h.events, &historypb.HistoryEvent{EventId: int64(len(h.events) + 1), EventType: typ})
		if closeEvent(h.events[len(h.events)-1]) {
			h.closed.Store(true)
		}
	}
	close(h.grew)
	h.grew = make(chan struct{})
}

func (h *fakeHistory) read(ctx context.Context) eventIterator {
	h.reads.Add(1)
	return &fakeIter{h: h, ctx: ctx}
}

type fakeIter struct {
	h    *fakeHistory
	ctx  context.Context
	next int
	err  error
}

func (it *fakeIter) HasNext() bool {
	for {
		it.h.mu.Lock()
		if err, ok := it.h.failAt[it.next]; ok {
			delete(it.h.failAt, it.next)
			it.h.mu.Unlock()
			it.err = err
			return true
		}
		n, grew := len(it.h.events), it.h.grew
		if it.h.hide && n > 0 && closeEvent(it.h.events[n-1]) {
			n--
		}
		it.h.mu.Unlock()
		if it.next < n {
			return true
		}
		select {
		case <-grew:
		case <-it.ctx.Done():
			it.err = it.ctx.Err()
			return true
		}
	}
}

func (it *fakeIter) Next() (*historypb.HistoryEvent, error) {
	if it.err != nil {
		err := it.err
		it.err = nil
		return nil, err
	}
	it.h.mu.Lock()
	defer it.h.mu.Unlock()
	e := it.h.events[it.next]
	it.next++
	return e, nil
}

type fakeSource struct{ h *fakeHistory }

func (s fakeSource) events(ctx context.Context) eventIterator { return s.h.read(ctx) }
func (s fakeSource) running(context.Context) (bool, error)    { return !s.h.closed.Load(), nil }
func (s fakeSource) status(context.Context) (*evidence.Record, error) {
	s.h.queries.Add(1)
	return s.h.status(), nil
}

const (
	wtScheduled = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
	wtStarted   = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
	wtCompleted = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	actSched    = enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
	actStarted  = enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED
	actDone     = enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
	wfCompleted = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
)

// waitResult runs f.wait in the background.
func waitResult(ctx context.Context, f *follower) <-chan error {
	done := make(chan error, 1)
	go func() {
		e, err := f.wait(ctx)
		if err == nil && (e == nil || !closeEvent(e)) {
			err = errors.New("returned without the close event")
		}
		done <- err
	}()
	return done
}

func TestFollow_LongPollsAndQueriesOncePerWorkflowTask(t *testing.T) {
	h := newFakeHistory()
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, wtScheduled)
	var changes atomic.Int64
	f := &follower{src: fakeSource{h}, onChange: func(*evidence.Record) { changes.Add(1) }, quiet: time.Hour}
	done := waitResult(context.Background(), f)

	require.Eventually(t, func() bool { return h.queries.Load() == 1 }, time.Second, time.Millisecond, "the state at the start")
	h.add(wtStarted, wtCompleted, actSched) // a workflow task: the state changed
	require.Eventually(t, func() bool { return h.queries.Load() == 2 }, time.Second, time.Millisecond)
	h.add(actStarted, actDone, wtScheduled) // no workflow task yet: nothing to ask
	time.Sleep(20 * time.Millisecond)
	assert.EqualValues(t, 2, h.queries.Load())
	h.add(wtStarted, wtCompleted, wfCompleted)
	require.NoError(t, <-done)
	assert.EqualValues(t, 2, h.queries.Load(), "no query once the close is read: the close carries the record")
	assert.EqualValues(t, 2, changes.Load())
	assert.EqualValues(t, 1, h.reads.Load(), "one long-polled read of the history")
}

func TestFollow_KeepsFollowingThroughAServerRestart(t *testing.T) {
	h := newFakeHistory()
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, wtScheduled)
	h.failAt[2] = serviceerror.NewUnavailable("connection refused") // the server goes away
	f := &follower{src: fakeSource{h}, quiet: time.Hour, retry: 5 * time.Millisecond}
	done := waitResult(context.Background(), f)
	require.Eventually(t, func() bool { return h.reads.Load() >= 2 }, time.Second, time.Millisecond, "read again after the error")
	h.add(wtStarted, wtCompleted, wfCompleted)
	require.NoError(t, <-done)
}

func TestFollow_AnAnswerThatIsNoIsNotRetried(t *testing.T) {
	h := newFakeHistory()
	h.failAt[0] = serviceerror.NewNotFound("workflow not found")
	_, err := (&follower{src: fakeSource{h}, quiet: time.Hour}).wait(context.Background())
	var nf *serviceerror.NotFound
	assert.ErrorAs(t, err, &nf)
}

func TestFollow_AMissedCloseIsCaughtByTheQuietCheck(t *testing.T) {
	h := newFakeHistory()
	h.hide = true
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, wtScheduled)
	f := &follower{src: fakeSource{h}, quiet: 10 * time.Millisecond, maxQuiet: 20 * time.Millisecond}
	done := make(chan error, 1)
	go func() { _, err := f.wait(context.Background()); done <- err }()
	h.add(wtStarted, wtCompleted, wfCompleted)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a close the long poll missed was never noticed")
	}
}

func TestFollow_StopsWhenTheContextEnds(t *testing.T) {
	h := newFakeHistory()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := (&follower{src: fakeSource{h}, quiet: time.Hour}).wait(ctx); done <- err }()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
