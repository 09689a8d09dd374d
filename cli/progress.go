package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"golang.org/x/term"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
)

// redrawEvery is how often a terminal's elapsed times are redrawn between
// changes (from the last record: no request to the server).
const redrawEvery = time.Second

// progress shows a drill's steps as they run: redrawn in place on a
// terminal, one plain line per change otherwise. The instants it prints
// are the steps' own, taken on the worker (startedAt, endedAt, markAt), in
// the viewer's time zone: not when the CLI noticed the change.
type progress struct {
	w        io.Writer
	terminal bool
	drawn    int               // rows drawn last time (terminal)
	width    int               // terminal columns: longer lines wrap between words, never inside one
	seen     map[string]string // step id → last status printed (plain)
	now      func() time.Time
	loc      *time.Location // zone of the instants printed
	last     *evidence.Record
}

// newProgress shows progress on w, redrawn in place when terminal.
func newProgress(w io.Writer, terminal bool) *progress {
	p := &progress{w: w, terminal: terminal, seen: map[string]string{}, now: time.Now, width: 100, loc: time.Local}
	if f, ok := w.(*os.File); ok && terminal {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			p.width = cols
		}
	}
	return p
}

// follow shows the drill's progress until it is no longer running.
func (p *progress) follow(ctx context.Context, cl worker.Client, id string) error {
	_, err := p.followEvent(ctx, cl, id)
	return err
}

// followEvent shows the drill's progress until it is no longer running,
// and returns the event that closed it (nil when it learnt so otherwise).
func (p *progress) followEvent(ctx context.Context, cl worker.Client, id string) (*historypb.HistoryEvent, error) {
	p.header(id)
	var err error
	var closed *historypb.HistoryEvent
	if legacyFollow(ctx) {
		err = pollStatus(ctx, cl, id, p.show)
	} else {
		f := &follower{src: temporalSource{cl: cl, id: id}, onChange: p.show}
		if p.terminal {
			f.redraw, f.redrawEvery = p.redraw, redrawEvery
		}
		closed, err = f.wait(ctx)
	}
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(p.w, "\nstopped following; the drill goes on (drillctl drill watch %s)\n", id)
		return nil, exitf(ExitUsage, "interrupted")
	}
	if err != nil {
		return nil, exitf(ExitUsage, "follow drill %s: %v", id, notFound(id, err))
	}
	return closed, nil
}

// header names the drill and the zone of the instants that follow.
func (p *progress) header(id string) {
	zone, _ := p.now().In(p.loc).Zone()
	fmt.Fprintf(p.w, "drill %s (times in %s, UTC%s)\n", id, zone, p.now().In(p.loc).Format("-07:00"))
}

// show renders the record's steps.
func (p *progress) show(rec *evidence.Record) {
	p.last = rec
	if !p.terminal {
		p.showPlain(rec)
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		// Back to the top of the last drawing, and clear it to the end of
		// the screen: a row the terminal wrapped is cleared too.
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn)
	}
	rows := 0
	for _, group := range []struct {
		title string
		steps []evidence.StepRecord
	}{{"", rec.Steps}, {"rollback", rec.Rollback}} {
		if group.title != "" && !anyStarted(group.steps) {
			continue
		}
		if group.title != "" {
			fmt.Fprintf(&b, "  %s:\n", group.title)
			rows++
		}
		for _, s := range group.steps {
			cols := strings.TrimRight(fmt.Sprintf("  %s %-22s %-10s %8s", statusIcon(s.Status), s.ID, s.Status, p.elapsed(s)), " ")
			hint, whole := stepHint(rec, s)
			lines, n := wrapHint(cols, hint, p.width-1, whole)
			for _, l := range lines {
				b.WriteString(l)
				b.WriteByte('\n')
			}
			rows += n
		}
	}
	fmt.Fprint(p.w, b.String())
	p.drawn = rows
}

// redraw draws the last record again: a terminal's elapsed times move on
// between changes.
func (p *progress) redraw() {
	if p.last != nil && p.last.Status == evidence.StatusRunning {
		p.show(p.last)
	}
}

// showPlain prints one line per step whose status changed.
func (p *progress) showPlain(rec *evidence.Record) {
	for _, group := range [][]evidence.StepRecord{rec.Steps, rec.Rollback} {
		for _, s := range group {
			if p.seen[s.ID] == s.Status || (s.Status == evidence.StepPending && p.seen[s.ID] == "") {
				continue
			}
			p.seen[s.ID] = s.Status
			line := fmt.Sprintf("%s  %-22s %-10s %s", p.clock(stepInstant(s)), s.ID, s.Status, p.elapsed(s))
			if s.Marks != "" && s.MarkAt != nil {
				line += fmt.Sprintf("  %s at %s", s.Marks, p.clock(s.MarkAt))
			}
			if h, _ := stepHint(rec, s); h != "" {
				line += "  " + h
			}
			fmt.Fprintln(p.w, strings.TrimRight(line, " "))
		}
	}
}

// stepInstant is the instant the step's current state began, as the
// worker took it: its end once it ended, else its start; nil before.
func stepInstant(s evidence.StepRecord) *time.Time {
	if s.EndedAt != nil {
		return s.EndedAt
	}
	return s.StartedAt
}

// clock renders an instant in the viewer's zone, or blanks when there is
// none (a step skipped without running).
func (p *progress) clock(t *time.Time) string {
	if t == nil {
		return strings.Repeat(" ", len("15:04:05.000"))
	}
	return t.In(p.loc).Format("15:04:05.000")
}

// anyStarted reports whether any of steps started.
func anyStarted(steps []evidence.StepRecord) bool {
	for _, s := range steps {
		if s.StartedAt != nil {
			return true
		}
	}
	return false
}

// elapsed is how long a step has run (so far, or in all).
func (p *progress) elapsed(s evidence.StepRecord) string {
	if s.StartedAt == nil {
		return ""
	}
	end := p.now()
	if s.EndedAt != nil {
		end = *s.EndedAt
	}
	return humanDuration(end.Sub(*s.StartedAt))
}

// maxTextRows bounds the rows of an error or a note on a terminal; a
// command is always shown whole.
const maxTextRows = 3

// wrapHint lays out a step's columns and its hint in rows of at most width
// runes, breaking between words only: an id or a command is never cut.
// Continuation rows are indented. A word longer than a row takes a row of
// its own and the terminal wraps it; n counts the rows the terminal shows.
// Unless whole, the hint (an error, a note) is cut after maxTextRows rows,
// between words.
func wrapHint(cols, hint string, width int, whole bool) (lines []string, n int) {
	width = max(width, 20)
	indent := strings.Repeat(" ", 6)
	line := cols
	words := strings.Fields(hint)
	for i, word := range words {
		sep := " "
		if i == 0 {
			sep = "  "
		}
		if runeLen(line)+len(sep)+runeLen(word) <= width {
			line += sep + word
			continue
		}
		lines = append(lines, line)
		if !whole && len(lines) == maxTextRows {
			lines[len(lines)-1] = cutWords(lines[len(lines)-1], width-1) + "…"
			line = ""
			break
		}
		line = indent + word
	}
	if line != "" {
		lines = append(lines, line)
	}
	for _, l := range lines {
		n += max(1, (runeLen(l)+width-1)/width)
	}
	return lines, n
}

// cutWords drops whole words from the end of s until it fits in n runes.
func cutWords(s string, n int) string {
	for runeLen(s) > n {
		i := strings.LastIndexByte(strings.TrimRight(s, " "), ' ')
		if i <= 0 {
			break
		}
		s = s[:i]
	}
	return s
}

// runeLen is the length of s in runes (terminal columns, near enough).
func runeLen(s string) int { return len([]rune(s)) }

// stepHint says what a waiting, paging, unknown or failed step needs.
// whole is true for a command, which is never cut.
func stepHint(rec *evidence.Record, s evidence.StepRecord) (hint string, whole bool) {
	switch s.Status {
	case evidence.StepRunning:
		if s.Type == "page" {
			return fmt.Sprintf("paging: drillctl drill ack %s --as NAME", rec.DrillID), true
		}
	case evidence.StepWaiting:
		return fmt.Sprintf("waiting: drillctl drill approve %s %s --as NAME", rec.DrillID, s.ID), true
	case evidence.StepUnknown:
		return fmt.Sprintf("outcome unknown: drillctl drill decide %s %s rollback|continue|stop --as NAME", rec.DrillID, s.ID), true
	case evidence.StepFailed, evidence.StepCancelled:
		return s.Error, false
	case evidence.StepSkipped:
		return s.Note, false
	}
	return "", false
}

// statusIcon is the mark of a step status on a terminal.
func statusIcon(status string) string {
	switch status {
	case evidence.StepSucceeded:
		return "✓"
	case evidence.StepFailed:
		return "✗"
	case evidence.StepRunning:
		return "▶"
	case evidence.StepWaiting:
		return "…"
	case evidence.StepSkipped, evidence.StepCancelled:
		return "-"
	}
	return " "
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
