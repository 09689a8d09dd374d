package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
)

// pollInterval is how often live progress asks the drill for its status.
const pollInterval = 300 * time.Millisecond

// progress shows a drill's steps as they run: redrawn in place on a
// terminal, one plain line per change otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	drawn    int               // lines drawn last time (terminal)
	width    int               // terminal columns; lines are cut to fit, so each takes one row
	seen     map[string]string // step id → last status printed (plain)
	now      func() time.Time
}

func newProgress(w io.Writer, terminal bool) *progress {
	p := &progress{w: w, terminal: terminal, seen: map[string]string{}, now: time.Now, width: 100}
	if f, ok := w.(*os.File); ok && terminal {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			p.width = cols
		}
	}
	return p
}

// follow polls the drill until it is no longer running.
func (p *progress) follow(ctx context.Context, cl worker.Client, id string) error {
	fmt.Fprintf(p.w, "drill %s\n", id)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		rec, err := queryStatus(ctx, cl, id)
		if err == nil {
			p.show(rec)
			if rec.Status != evidence.StatusRunning {
				return nil
			}
		} else if desc, derr := cl.DescribeWorkflowExecution(ctx, id, ""); derr == nil &&
			desc.WorkflowExecutionInfo.GetCloseTime() != nil {
			return nil // ended; the caller fetches the result
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(p.w, "\nstopped following; the drill goes on (drillctl drill watch %s)\n", id)
			return exitf(ExitUsage, "interrupted")
		case <-tick.C:
		}
	}
}

// show renders the record's steps.
func (p *progress) show(rec *evidence.Record) {
	if !p.terminal {
		p.showPlain(rec)
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the top of the last drawing
	}
	lines := 0
	for _, group := range []struct {
		title string
		steps []evidence.StepRecord
	}{{"", rec.Steps}, {"rollback", rec.Rollback}} {
		if group.title != "" && !anyStarted(group.steps) {
			continue
		}
		if group.title != "" {
			fmt.Fprintf(&b, "\x1b[2K  %s:\n", group.title)
			lines++
		}
		for _, s := range group.steps {
			line := fmt.Sprintf("  %s %-22s %-10s %8s  %s", statusIcon(s.Status), s.ID, s.Status, p.elapsed(s), stepHint(rec, s))
			fmt.Fprintf(&b, "\x1b[2K%s\n", fitWidth(strings.TrimRight(line, " "), p.width-1))
			lines++
		}
	}
	fmt.Fprint(p.w, b.String())
	p.drawn = lines
}

func (p *progress) showPlain(rec *evidence.Record) {
	for _, group := range [][]evidence.StepRecord{rec.Steps, rec.Rollback} {
		for _, s := range group {
			if p.seen[s.ID] == s.Status || (s.Status == evidence.StepPending && p.seen[s.ID] == "") {
				continue
			}
			p.seen[s.ID] = s.Status
			line := fmt.Sprintf("%s  %-22s %-10s %s", p.now().UTC().Format("15:04:05.000"), s.ID, s.Status, p.elapsed(s))
			if h := stepHint(rec, s); h != "" {
				line += "  " + h
			}
			fmt.Fprintln(p.w, strings.TrimRight(line, " "))
		}
	}
}

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

// fitWidth cuts a line to at most n characters (runes), so a redrawn line
// never wraps onto a second row.
func fitWidth(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:max(n-1, 0)]) + "…"
}

// stepHint says what a waiting, paging or failed step needs.
func stepHint(rec *evidence.Record, s evidence.StepRecord) string {
	switch s.Status {
	case evidence.StepRunning:
		if s.Type == "page" {
			return fmt.Sprintf("paging: drillctl drill ack %s --as NAME", rec.DrillID)
		}
	case evidence.StepWaiting:
		return fmt.Sprintf("waiting: drillctl drill approve %s %s --as NAME", rec.DrillID, s.ID)
	case evidence.StepFailed, evidence.StepCancelled:
		return s.Error
	case evidence.StepSkipped:
		return s.Note
	}
	return ""
}

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
