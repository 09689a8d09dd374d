package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	ucli "github.com/urfave/cli/v2"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// listScanLimit bounds how many drills `drill list` reads to filter them
// itself, when the namespace lacks the search attributes to ask the server.
const listScanLimit = 1000

// listConcurrency bounds the results read at once for closed drills whose
// verdict no search attribute or memo holds.
const listConcurrency = 8

// Statuses and verdicts `drill list` filters on.
var (
	listStatuses = []string{evidence.StatusRunning, evidence.StatusCompleted, evidence.StatusFailed, evidence.StatusAborted}
	listVerdicts = []string{evidence.VerdictMet, evidence.VerdictMissed, evidence.VerdictIncomplete, evidence.StatusFailed, evidence.StatusAborted}
)

// listCommand is `drill list`: drills newest first, with status, verdict and filters.
func listCommand(stdio IO, conn []ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:  "list",
		Usage: "list drills, newest first, with their status and verdict",
		Description: `Filters are asked of Temporal's visibility store through drillctl's search
attributes (DrillPlaybook, DrillStatus, DrillVerdict); on a namespace without
them, drillctl filters the newest ` + strconv.Itoa(listScanLimit) + ` drills itself and says so on stderr.
--since takes a duration (7d, 12h), a date (2026-10-01, local time) or an
RFC 3339 instant.

Examples:
   drillctl drill list
   drillctl drill list --playbook chat-platform-quarterly --verdict missed --since 90d
   drillctl drill list --status running --output json`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "playbook", Usage: "only the drills of playbook `NAME`"},
			&ucli.StringFlag{Name: "status", Usage: "only the drills in `STATUS`: " + strings.Join(listStatuses, ", ")},
			&ucli.StringFlag{Name: "verdict", Usage: "only the drills whose verdict is `VERDICT`: " + strings.Join(listVerdicts, ", ")},
			&ucli.StringFlag{Name: "since", Usage: "only the drills started since `WHEN`: 7d, 12h, 2026-10-01 or an RFC 3339 instant"},
			&ucli.BoolFlag{Name: "running", Usage: "only drills still running (--status running)"},
			&ucli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many"},
			outputFlag(),
		}, conn...),
		Action: func(c *ucli.Context) error { return drillList(c, stdio) },
	}
}

// listFilter is what `drill list` was asked for.
type listFilter struct {
	playbook, status, verdict string
	since                     time.Time
}

// listRow is one drill of `drill list`.
type listRow struct {
	DrillID   string     `json:"drillId"`
	Playbook  string     `json:"playbook"`
	Status    string     `json:"status"`
	Verdict   string     `json:"verdict,omitempty"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`

	closed bool // the workflow closed (its outcome may need its result)
}

// drillList lists the drills the filter flags ask for.
func drillList(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	f, err := readListFilter(c, time.Now())
	if err != nil {
		return err
	}
	limit := c.Int("limit")
	if limit < 1 {
		return exitf(ExitUsage, "--limit %d: expected 1 or more", limit)
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	rows, note, err := listDrills(c.Context, cl, f, limit)
	if err != nil {
		return exitf(ExitUsage, "list drills: %v", err)
	}
	if note != "" {
		fmt.Fprintf(stdio.Err, "note: %s\n", note)
	}
	if format == "json" {
		if rows == nil {
			rows = []listRow{}
		}
		return writeJSON(stdio.Out, rows)
	}
	if len(rows) == 0 {
		if f == (listFilter{}) {
			fmt.Fprintln(stdio.Out, "no drills yet (start one: drillctl drill run FILE)")
		} else {
			fmt.Fprintln(stdio.Out, "no drills match")
		}
		return nil
	}
	zone, _ := time.Now().Zone()
	tw := newTable(stdio.Out)
	fmt.Fprintf(tw, "DRILL\tPLAYBOOK\tSTATUS\tVERDICT\tSTARTED (%s)\n", zone)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.DrillID, orDash(r.Playbook), r.Status, orDash(r.Verdict),
			r.StartedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// readListFilter reads and checks the filter flags.
func readListFilter(c *ucli.Context, now time.Time) (listFilter, error) {
	f := listFilter{playbook: c.String("playbook"), status: c.String("status"), verdict: c.String("verdict")}
	if c.Bool("running") {
		if f.status != "" && f.status != evidence.StatusRunning {
			return f, exitf(ExitUsage, "--running and --status %s: choose one", f.status)
		}
		f.status = evidence.StatusRunning
	}
	if strings.ContainsAny(f.playbook, `'"\`) {
		return f, exitf(ExitUsage, "--playbook %q: a playbook name has no quotes or backslashes", f.playbook)
	}
	if f.status != "" && !contains(listStatuses, f.status) {
		return f, exitf(ExitUsage, "--status %q: expected one of %s", f.status, strings.Join(listStatuses, ", "))
	}
	if f.verdict != "" && !contains(listVerdicts, f.verdict) {
		return f, exitf(ExitUsage, "--verdict %q: expected one of %s", f.verdict, strings.Join(listVerdicts, ", "))
	}
	if s := c.String("since"); s != "" {
		t, err := parseSince(s, now)
		if err != nil {
			return f, exitf(ExitUsage, "--since %q: %v", s, err)
		}
		f.since = t
	}
	return f, nil
}

// parseSince reads a duration back from now (7d, 12h, 90m), a date (local
// midnight) or an RFC 3339 instant.
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("expected a duration (7d, 12h), a date (2026-10-01) or an RFC 3339 instant")
}

// contains reports whether s is in list.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// needsAttributes reports whether the filter asks what only drillctl's
// search attributes hold: the playbook, a failed or aborted status, a
// verdict. (Running and completed are the workflow's own status.)
func (f listFilter) needsAttributes() bool {
	return f.playbook != "" || f.verdict != "" || f.status == evidence.StatusFailed || f.status == evidence.StatusAborted
}

// query is the visibility query of the filter: with drillctl's search
// attributes when attrs is true, else only what every namespace has. Either
// way the caller checks each row (match): without the attributes for all
// but the workflow's own status and start; with them for the closed drills
// whose DrillStatus still says running (or nothing), which the query keeps
// since their outcome is only in their result.
func (f listFilter) query(attrs bool) string {
	q := []string{fmt.Sprintf("WorkflowType = '%s'", workflows.DrillWorkflow)}
	switch f.status {
	case evidence.StatusRunning:
		q = append(q, "ExecutionStatus = 'Running'")
	case evidence.StatusCompleted:
		q = append(q, "ExecutionStatus = 'Completed'")
	case evidence.StatusFailed, evidence.StatusAborted:
		q = append(q, "ExecutionStatus != 'Running'", "ExecutionStatus != 'Completed'")
	}
	if attrs && f.playbook != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", worker.SearchPlaybook.GetName(), f.playbook))
	}
	var outcome []string
	if attrs && (f.status == evidence.StatusFailed || f.status == evidence.StatusAborted) {
		outcome = append(outcome, fmt.Sprintf("%s = '%s'", worker.SearchStatus.GetName(), f.status))
	}
	if attrs && f.verdict != "" {
		outcome = append(outcome, fmt.Sprintf("%s = '%s'", worker.SearchVerdict.GetName(), f.verdict))
	}
	if len(outcome) > 0 {
		status := worker.SearchStatus.GetName()
		q = append(q, fmt.Sprintf("((%s) OR (ExecutionStatus != 'Running' AND (%s = '%s' OR %s IS NULL)))",
			strings.Join(outcome, " AND "), status, evidence.StatusRunning, status))
	}
	if !f.since.IsZero() {
		q = append(q, fmt.Sprintf("StartTime >= '%s'", f.since.UTC().Format(time.RFC3339Nano)))
	}
	return strings.Join(q, " AND ")
}

// match reports whether a row passes the filter (checked here as well as
// asked of the server: see query).
func (f listFilter) match(r listRow) bool {
	return f.matchKnown(r) && (f.status == "" || r.Status == f.status) && (f.verdict == "" || r.Verdict == f.verdict)
}

// matchKnown reports whether a row passes what the filter asks of the
// playbook and the start: what is known before a result is read.
func (f listFilter) matchKnown(r listRow) bool {
	return (f.playbook == "" || r.Playbook == f.playbook) && (f.since.IsZero() || !r.StartedAt.Before(f.since))
}

// listDrills returns the newest drills passing f (at most limit), and a
// note for the user when the namespace lacks the search attributes and the
// filter was applied here.
func listDrills(ctx context.Context, cl worker.Client, f listFilter, limit int) ([]listRow, string, error) {
	if !f.needsAttributes() {
		rows, _, err := scanDrills(ctx, cl, f.query(false), limit, limit, nil)
		return rows, "", err
	}
	rows, _, err := scanDrills(ctx, cl, f.query(true), limit, listScanLimit, &f)
	if err == nil || !missingAttributes(err) {
		return rows, "", err
	}
	rows, scanned, err := scanDrills(ctx, cl, f.query(false), limit, listScanLimit, &f)
	note := "this namespace lacks drillctl's search attributes (DrillPlaybook, DrillStatus, DrillVerdict), " +
		"so drillctl filtered the drills itself"
	if scanned >= listScanLimit {
		note += fmt.Sprintf(", among the newest %d only", listScanLimit)
	}
	return rows, note + "; register them with: drillctl setup", err
}

// missingAttributes reports whether the server refused a query naming one
// of drillctl's search attributes: the namespace does not have it.
func missingAttributes(err error) bool {
	var invalid *serviceerror.InvalidArgument
	if !errors.As(err, &invalid) {
		return false
	}
	for _, k := range []string{worker.SearchPlaybook.GetName(), worker.SearchStatus.GetName(), worker.SearchVerdict.GetName()} {
		if strings.Contains(invalid.Error(), k) {
			return true
		}
	}
	return false
}

// scanDrills reads the drills query finds, newest first, until it has
// limit rows that pass the filter (nil: all pass) or has read scanMax
// drills. It
// reads the outcome of the closed drills whose attributes do not hold it
// (their result), a window at a time, so that a page of 20 costs about 20
// reads. It returns how many drills it read.
func scanDrills(ctx context.Context, cl worker.Client, query string, limit, scanMax int,
	f *listFilter) ([]listRow, int, error) {
	var rows []listRow
	var token []byte
	scanned := 0
	pageSize := limit
	if f != nil {
		pageSize = 100
	}
	for len(rows) < limit && scanned < scanMax {
		resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: int32(pageSize), NextPageToken: token,
		})
		if err != nil {
			return nil, scanned, err
		}
		scanned += len(resp.Executions)
		page := make([]listRow, 0, len(resp.Executions))
		for _, e := range resp.Executions {
			if r := rowOf(e); f == nil || f.matchKnown(r) {
				page = append(page, r)
			}
		}
		for len(page) > 0 && len(rows) < limit {
			window := page[:min(len(page), max(limit-len(rows), listConcurrency))]
			page = page[len(window):]
			fillOutcomes(ctx, cl, window)
			for _, r := range window {
				if len(rows) < limit && (f == nil || f.match(r)) {
					rows = append(rows, r)
				}
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	return rows, scanned, nil
}

// rowOf reads a drill's row from its execution: the playbook, status and
// verdict from its search attributes or memo when they hold them.
func rowOf(e *workflowpb.WorkflowExecutionInfo) listRow {
	r := listRow{DrillID: e.GetExecution().GetWorkflowId(), StartedAt: e.GetStartTime().AsTime().UTC()}
	if ct := e.GetCloseTime(); ct != nil && !ct.AsTime().IsZero() {
		t := ct.AsTime().UTC()
		r.EndedAt = &t
	}
	attrs := e.GetSearchAttributes().GetIndexedFields()
	memo := e.GetMemo().GetFields()
	value := func(attr string, key string) string {
		if v := payloadString(attrs[attr]); v != "" {
			return v
		}
		return payloadString(memo[key])
	}
	r.Playbook = value(worker.SearchPlaybook.GetName(), "playbook")
	status, verdict := value(worker.SearchStatus.GetName(), "status"), value(worker.SearchVerdict.GetName(), "verdict")
	r.closed = e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	switch {
	case status != "" && status != evidence.StatusRunning:
		r.Status, r.Verdict = status, verdict
	case r.closed:
		// The attributes still say running (or nothing): the result tells.
	default:
		r.Status = evidence.StatusRunning
	}
	return r
}

// payloadString decodes a string payload, or "".
func payloadString(p *commonpb.Payload) string {
	var s string
	if p == nil || converter.GetDefaultDataConverter().FromPayload(p, &s) != nil {
		return ""
	}
	return s
}

// fillOutcomes reads the result of each closed drill whose row lacks its
// status or verdict, a few at a time.
func fillOutcomes(ctx context.Context, cl worker.Client, rows []listRow) {
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i := range rows {
		if !rows[i].closed || (rows[i].Status != "" && rows[i].Verdict != "") {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(r *listRow) {
			defer func() { <-sem; wg.Done() }()
			r.Status, r.Verdict = outcomeOf(ctx, cl, r.DrillID)
		}(&rows[i])
	}
	wg.Wait()
}

// outcomeOf reads a closed drill's status and verdict from its result; a
// drill with none (terminated, timed out) shows the workflow's status.
func outcomeOf(ctx context.Context, cl worker.Client, id string) (status, verdict string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rec evidence.Record
	err := cl.GetWorkflow(ctx, id, "").Get(ctx, &rec)
	var appErr *temporal.ApplicationError
	var terminated *temporal.TerminatedError
	var timedOut *temporal.TimeoutError
	switch {
	case err == nil:
		return rec.Status, rec.Verdict
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrDrillFailed && appErr.HasDetails() && appErr.Details(&rec) == nil:
		return rec.Status, rec.Verdict
	case errors.As(err, &terminated):
		return "terminated", ""
	case errors.As(err, &timedOut):
		return "timed-out", ""
	}
	return "unknown", ""
}
