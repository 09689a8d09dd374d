package schedule

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/schedule/scheduletest"
)

var fast = TriggerOptions{Wait: time.Second, Settle: 200 * time.Millisecond, Poll: time.Millisecond}

func testPlaybook() *playbooks.Playbook {
	pb := &playbooks.Playbook{Params: map[string]string{"primary": "http://a", "standby": "http://b"}}
	pb.Metadata.Name = "chat"
	pb.Source.Digest = "sha256:0123"
	return pb
}

// withSchedule returns a fake Temporal holding schedule "chat-q".
func withSchedule(t *testing.T, spec Spec, paused bool) (*scheduletest.Temporal, context.Context) {
	t.Helper()
	fake := scheduletest.New()
	fake.OnStart = func(d *scheduletest.Drill) {
		d.Record = evidence.Record{DrillID: d.ID, Status: evidence.StatusRunning, Locks: []string{"chat"}}
	}
	ctx := context.Background()
	require.NoError(t, Create(ctx, fake, Plan{Name: "chat-q", Playbook: testPlaybook(),
		Params: map[string]string{"primary": "http://db2", "standby": "http://b"}, Spec: spec, Paused: paused, Note: "freeze"}))
	return fake, ctx
}

func TestTrigger_APausedScheduleRefusesUnlessEvenIfPaused(t *testing.T) {
	fake, ctx := withSchedule(t, Spec{Calendar: Quarterly}, true)
	_, err := Trigger(ctx, fake, "chat-q", fast)
	require.ErrorIs(t, err, ErrPaused)
	assert.EqualError(t, err, "schedule chat-q is paused (freeze): no drill started")
	assert.Zero(t, describe(t, fake).Drills)

	opt := fast
	opt.EvenIfPaused = true
	res, err := Trigger(ctx, fake, "chat-q", opt)
	require.NoError(t, err)
	assert.Equal(t, Started, res.Outcome)

	err = Backfill(ctx, fake, "chat-q", time.Now().Add(-time.Hour), time.Now(), false)
	require.ErrorIs(t, err, ErrPaused)
	assert.Empty(t, fake.Backfills("chat-q"))
	require.NoError(t, Backfill(ctx, fake, "chat-q", time.Now().Add(-time.Hour), time.Now(), true))
	assert.Len(t, fake.Backfills("chat-q"), 1)
}

func TestTrigger_SaysStartedThenSkippedWhileTheDrillRuns(t *testing.T) {
	fake, ctx := withSchedule(t, Spec{Calendar: Quarterly}, false)
	fake.Lag = 3
	first, err := Trigger(ctx, fake, "chat-q", fast)
	require.NoError(t, err)
	assert.Equal(t, Started, first.Outcome)
	assert.Regexp(t, `^drill-chat-chat-q-`, first.DrillID)
	assert.Empty(t, first.Note)

	second, err := Trigger(ctx, fake, "chat-q", fast)
	require.NoError(t, err)
	assert.Equal(t, &Triggered{Schedule: "chat-q", Outcome: Skipped, RunningDrill: first.DrillID}, second)

	fake.Finish(first.DrillID)
	third, err := Trigger(ctx, fake, "chat-q", fast)
	require.NoError(t, err)
	assert.Equal(t, Started, third.Outcome)
	assert.NotEqual(t, first.DrillID, third.DrillID)
}

func TestTrigger_SaysARefusedDrillAndAnUnansweredOne(t *testing.T) {
	fake, ctx := withSchedule(t, Spec{Calendar: Quarterly}, false)
	fake.OnStart = func(d *scheduletest.Drill) {
		d.Closed = true
		d.Record = evidence.Record{Status: evidence.StatusFailed, Reason: `refused: lock "chat" is held by drill drill-chat-1`}
	}
	res, err := Trigger(ctx, fake, "chat-q", fast)
	require.NoError(t, err)
	assert.Equal(t, Refused, res.Outcome)
	assert.Equal(t, `refused: lock "chat" is held by drill drill-chat-1`, res.Reason)
	fake.Finish(res.DrillID)

	fake.OnStart = nil // no worker answers
	res, err = Trigger(ctx, fake, "chat-q", fast)
	require.NoError(t, err)
	assert.Equal(t, Started, res.Outcome)
	assert.Contains(t, res.Note, "no worker has answered")

	fake.Lag = 1 << 30 // the schedule does not act within the wait
	fake.Finish(res.DrillID)
	res, err = Trigger(ctx, fake, "chat-q", TriggerOptions{Wait: 20 * time.Millisecond, Poll: time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, Pending, res.Outcome)
}

func describe(t *testing.T, c Client) *Summary {
	t.Helper()
	s, err := Describe(context.Background(), c, "chat-q")
	require.NoError(t, err)
	return s
}

func TestDescribe_NextRunsInTheSchedulesZoneWithParamsAndSkipDates(t *testing.T) {
	fake, _ := withSchedule(t, Spec{Calendar: Quarterly, TZ: "Asia/Hong_Kong", Skip: []string{"2026-12-20..2027-01-03"}}, false)
	fake.NextRuns = []time.Time{time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)}
	s := describe(t, fake)
	assert.Equal(t, "Asia/Hong_Kong", s.TimeZone)
	require.Len(t, s.NextRuns, 1)
	assert.Equal(t, "2027-01-04T09:00:00+08:00", s.NextRuns[0].Format(time.RFC3339))
	assert.Equal(t, map[string]string{"primary": "http://db2", "standby": "http://b"}, s.Params)
	assert.Equal(t, []string{"primary"}, s.SetParams)
	assert.Equal(t, []string{"2026-12-20..2027-01-03"}, s.Skip)
	assert.Equal(t, "chat", s.Playbook)
}

func TestOperationsOnAMissingSchedule_SayNoSchedule(t *testing.T) {
	fake, ctx := withSchedule(t, Spec{Calendar: Quarterly}, false)
	require.NoError(t, Delete(ctx, fake, "chat-q"))
	for name, err := range map[string]error{
		"delete again": Delete(ctx, fake, "chat-q"),
		"pause":        Pause(ctx, fake, "chat-q", ""),
		"unpause":      Unpause(ctx, fake, "chat-q", ""),
		"update":       Update(ctx, fake, "chat-q", Change{Spec: &SpecChange{Spec: Spec{At: "10:00"}, Parts: []string{PartAt}}}),
		"backfill":     Backfill(ctx, fake, "chat-q", time.Now().Add(-time.Hour), time.Now(), false),
		"trigger":      second(Trigger(ctx, fake, "chat-q", fast)),
		"describe":     second(Describe(ctx, fake, "chat-q")),
		"scheduled":    second(Scheduled(ctx, fake, "chat-q")),
	} {
		require.ErrorIs(t, err, ErrNotFound, name)
		assert.EqualError(t, err, "no schedule chat-q", name)
	}
	require.NoError(t, Create(ctx, fake, Plan{Name: "chat-q", Playbook: testPlaybook(), Spec: Spec{Calendar: Monthly}}))
	err := Create(ctx, fake, Plan{Name: "chat-q", Playbook: testPlaybook(), Spec: Spec{Calendar: Monthly}})
	require.ErrorIs(t, err, ErrExists)
}

func second[T any](_ T, err error) error { return err }

func TestList_LeavesOutASchedulesDeletedMeanwhile(t *testing.T) {
	fake, ctx := withSchedule(t, Spec{Calendar: Quarterly}, false)
	fake.ListDeleted = true
	require.NoError(t, Create(ctx, fake, Plan{Name: "old-q", Playbook: testPlaybook(), Spec: Spec{Calendar: Monthly}}))
	require.NoError(t, Delete(ctx, fake, "old-q"))
	all, err := List(ctx, fake)
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "chat-q", all[0].Name)
}

func TestUpdate_CalendarKeepsSkipDatesAndParams(t *testing.T) {
	fake, ctx := withSchedule(t, Spec{Calendar: Quarterly, At: "10:30", TZ: "Asia/Hong_Kong", Skip: []string{"2027-04-05"}}, false)
	require.NoError(t, Update(ctx, fake, "chat-q", Change{Spec: &SpecChange{Spec: Spec{Calendar: Monthly}, Parts: []string{PartCalendar}}}))
	s := describe(t, fake)
	assert.Equal(t, "monthly, day 1, 10:30 Asia/Hong_Kong, 1 skipped day", s.Spec)
	assert.Equal(t, []string{"2027-04-05"}, s.Skip)
	assert.Equal(t, []string{"primary"}, s.SetParams, "the params are kept")

	pb := testPlaybook()
	pb.Source.Digest = "sha256:4567"
	require.NoError(t, Update(ctx, fake, "chat-q", Change{Playbook: pb}))
	s = describe(t, fake)
	assert.Equal(t, "sha256:4567", s.Digest)
	assert.Equal(t, "http://db2", s.Params["primary"], "a new playbook alone keeps the params")
	assert.Equal(t, []string{"2027-04-05"}, s.Skip)
}
