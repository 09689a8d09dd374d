package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

// inZone runs the test with the local time zone set to loc.
func inZone(t *testing.T, loc *time.Location) {
	t.Helper()
	old := time.Local
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestProgress_PlainLinesShowTheStepsOwnInstantsInTheLocalZone(t *testing.T) {
	inZone(t, time.FixedZone("HKT", 8*3600))
	var out bytes.Buffer
	p := newProgress(&out, false)
	noticed := *at("2026-11-23T09:00:05Z") // when the CLI learnt of it: never printed
	p.now = func() time.Time { return noticed }
	p.show(&evidence.Record{DrillID: "drill-x", Status: evidence.StatusRunning, Steps: []evidence.StepRecord{
		{ID: "failover", Type: "http", Status: evidence.StepSucceeded, StartedAt: at("2026-11-23T09:00:01.250Z"),
			EndedAt: at("2026-11-23T09:00:01.300Z"), Marks: "outage_start", MarkAt: at("2026-11-23T09:00:01.262Z")},
		{ID: "restored", Type: "probe", Status: evidence.StepRunning, StartedAt: at("2026-11-23T09:00:01.310Z")},
		{ID: "chat", Type: "replication-check", Status: evidence.StepPending},
	}})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "17:00:01.300  failover "), lines[0])
	assert.Contains(t, lines[0], "outage_start at 17:00:01.262")
	assert.True(t, strings.HasPrefix(lines[1], "17:00:01.310  restored "), lines[1])
	assert.NotContains(t, out.String(), "09:00:05")
	assert.NotContains(t, out.String(), "17:00:05")
}

func TestProgress_HeaderNamesTheZone(t *testing.T) {
	inZone(t, time.FixedZone("HKT", 8*3600))
	var out bytes.Buffer
	newProgress(&out, false).header("drill-x")
	assert.Equal(t, "drill drill-x (times in HKT, UTC+08:00)\n", out.String())
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// screenRows is what a terminal shows of out: escape sequences removed.
func screenRows(out string) []string {
	return strings.Split(strings.TrimRight(ansi.ReplaceAllString(out, ""), "\n"), "\n")
}

func TestProgress_TerminalWrapsTheAckHintAndNeverCutsTheID(t *testing.T) {
	id := "drill-chat-platform-quarterly-6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
	var out bytes.Buffer
	p := newProgress(&out, true)
	p.width = 120
	p.now = func() time.Time { return *at("2026-11-23T09:00:09Z") }
	p.show(&evidence.Record{DrillID: id, Status: evidence.StatusRunning, Steps: []evidence.StepRecord{
		{ID: "inventory", Type: "inventory", Status: evidence.StepSucceeded, StartedAt: at("2026-11-23T09:00:00Z"), EndedAt: at("2026-11-23T09:00:01Z")},
		{ID: "page-admins", Type: "page", Status: evidence.StepRunning, StartedAt: at("2026-11-23T09:00:01Z")},
	}})
	rows := screenRows(out.String())
	for _, r := range rows {
		assert.LessOrEqual(t, len([]rune(r)), 119, "row %q is wider than the terminal", r)
		assert.NotContains(t, r, "…")
	}
	joined := strings.Join(strings.Fields(strings.Join(rows, " ")), " ")
	assert.Contains(t, joined, "paging: drillctl drill ack "+id+" --as NAME")
	assert.Greater(t, len(rows), 2, "the hint wrapped onto a row of its own")
	assert.Equal(t, len(rows), p.drawn, "the next drawing goes back up every row")
}

func TestProgress_TerminalCutsALongErrorBetweenWords(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, true)
	p.width = 60
	long := strings.Repeat("the standby answered 503 Service Unavailable ", 20)
	p.show(&evidence.Record{DrillID: "drill-x", Status: evidence.StatusRunning, Steps: []evidence.StepRecord{
		{ID: "failover", Type: "http", Status: evidence.StepFailed, Error: long},
	}})
	rows := screenRows(out.String())
	require.Len(t, rows, maxTextRows)
	for _, r := range rows {
		assert.LessOrEqual(t, len([]rune(r)), 59, r)
	}
	last := rows[len(rows)-1]
	assert.True(t, strings.HasSuffix(last, "…"), last)
	words := strings.Fields(strings.TrimSuffix(last, "…"))
	for _, w := range words {
		assert.Contains(t, long+" failover failed", w, "a word was cut")
	}
}
