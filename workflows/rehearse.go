package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// A rehearsal answers "would this drill work today?" days before the
// window: every read-only step runs for real (inventory, a probe's first
// check, replication checks, guards); every action is only described, with
// exactly what it would send (secrets shown as references); pages and
// notifications go to the worker's console; gates say who would decide.
// Nothing in the target systems changes, and a rehearsal never counts as a
// drill.

// StepRehearsed is the status of a step a rehearsal described, not ran.
const StepRehearsed = "rehearsed"

// VerdictRehearsal is the verdict of a rehearsal: it measures nothing and
// never counts as a drill.
const VerdictRehearsal = "rehearsal"

// rehearses reports whether a rehearsal only describes step s.
func rehearses(s playbooks.Step) bool {
	switch s.Type {
	case playbooks.StepHTTP:
		m := strings.ToUpper(s.HTTP.Method)
		return !(m == "GET" || m == "HEAD" || (m == "" && s.HTTP.Body == ""))
	case playbooks.StepSQL:
		q := strings.ToUpper(strings.TrimSpace(s.SQL.Query))
		return !(strings.HasPrefix(q, "SELECT") || strings.HasPrefix(q, "SHOW")) || strings.Contains(strings.TrimRight(q, "; \n"), ";")
	case playbooks.StepExec, playbooks.StepCanary, playbooks.StepWait, playbooks.StepApproval, playbooks.StepPage, playbooks.StepNotify:
		return true
	}
	return false
}

// rehearse describes what step s would do, and sends pages and
// notifications to the console only.
func (d *drill) rehearse(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord) {
	r.Status = StepRehearsed
	r.Attempts = 0
	would := map[string]any{}
	switch s.Type {
	case playbooks.StepHTTP:
		method := s.HTTP.Method
		if method == "" {
			method = "POST"
		}
		would["method"], would["url"] = method, playbooks.ShowRefs(s.HTTP.URL)
		if len(s.HTTP.Headers) > 0 {
			h := map[string]any{}
			for k, v := range s.HTTP.Headers {
				h[k] = playbooks.ShowRefs(v)
			}
			would["headers"] = h
		}
		if s.HTTP.Body != "" {
			would["body"] = playbooks.ShowRefs(s.HTTP.Body)
		}
	case playbooks.StepExec:
		argv := make([]any, len(s.Exec.Command))
		for i, a := range s.Exec.Command {
			argv[i] = playbooks.ShowRefs(a)
		}
		would["argv"] = argv
	case playbooks.StepSQL:
		would["dsn"], would["sql"] = redactedDSN(s.SQL.DSN), playbooks.ShowRefs(s.SQL.Query)
	case playbooks.StepCanary:
		would["canaries"] = "written to the primary until the outage, then read on the standby"
	case playbooks.StepWait:
		would["wait"] = s.Wait.Duration.D().String()
	case playbooks.StepApproval:
		would["approvers"], would["minApprovals"] = s.Approval.Approvers, max(s.Approval.MinApprovals, 1)
	case playbooks.StepPage:
		would["escalation"] = s.Page.Escalation
		if pol, ok := d.in.Playbook.Escalation[s.Page.Escalation]; ok {
			var levels []any
			for _, l := range pol.Levels {
				levels = append(levels, map[string]any{"contacts": l.Contacts, "ackTimeout": l.AckTimeout.D().String()})
			}
			would["levels"] = levels
			d.console(ctx, s.ID, fmt.Sprintf("REHEARSAL: step %s would page %v (escalation %s)", s.ID, pol.Levels[0].Contacts, s.Page.Escalation))
		}
	case playbooks.StepNotify:
		would["to"] = s.Notify.To
		d.console(ctx, s.ID, fmt.Sprintf("REHEARSAL: step %s would notify %v: %s", s.ID, s.Notify.To, s.Notify.Message))
	}
	r.Output = map[string]any{"wouldSend": would}
	r.Note = "rehearsal: described, not run; nothing was sent"
}

// console shows a rehearsal's page or notification on the worker's console.
func (d *drill) console(ctx workflow.Context, step, text string) {
	to := map[string]playbooks.Contact{"console": {Name: "rehearsal", Channels: []playbooks.Channel{{Console: &playbooks.ConsoleChannel{}}}}}
	in := steps.NotifyInput{DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Step: step, Event: "notify",
		Title: "DR drill rehearsal " + d.in.Playbook.Metadata.Name, Text: text, To: to}
	_ = workflow.ExecuteActivity(notifyOptions(ctx), steps.ActivityNotify, in).Get(ctx, nil)
}

// redactedDSN shows a DSN with its password replaced.
func redactedDSN(dsn string) string {
	dsn = playbooks.ShowRefs(dsn)
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.Index(dsn[i+3:], "@"); at >= 0 {
			userinfo := dsn[i+3 : i+3+at]
			if c := strings.Index(userinfo, ":"); c >= 0 && !strings.HasPrefix(userinfo[c+1:], "${") {
				return dsn[:i+3] + userinfo[:c] + ":[redacted]" + dsn[i+3+at:]
			}
		}
	}
	return dsn
}
