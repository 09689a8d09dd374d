package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
)

// Rules that propose findings from a drill record, by name (Finding.Rule).
const (
	RuleMeasureMissed   = "measure-missed"
	RuleNotMeasured     = "measure-not-measured"
	RuleStepFailed      = "step-failed"
	RuleUnknownOutcome  = "unknown-outcome"
	RuleAutoGate        = "gate-without-human"
	RulePermissionDrift = "permission-drift"
	RuleDataLost        = "data-lost"
	RuleEscalated       = "escalation-level"
	RuleReadiness       = "readiness-degraded"
	RulePageFailed      = "page-not-delivered"
	RuleDrillEnded      = "drill-not-completed"
)

// Propose reads a drill record and proposes the findings a reviewer should
// accept or dismiss: a missed or unmeasured target, a failed step, an
// action whose outcome was unknown, a gate opened with no human decision,
// permission drift, messages or records lost, an escalation that reached
// level 2 or more, assets not ready, pages not delivered, a drill that did
// not complete. Each is proposed (Status proposed, Source record) with a
// severity and a classification the reviewer may change when accepting.
func Propose(rec *evidence.Record, at time.Time) []Finding {
	var out []Finding
	add := func(rule, title, severity, class, step, measure, text string) {
		out = append(out, Finding{ID: fmt.Sprintf("F%d", len(out)+1), Title: title, Severity: severity, Classification: class,
			Step: step, Measure: measure, Text: text, Status: FindingProposed, Source: "record", Rule: rule, By: "drillctl", At: at})
	}
	if rec.Status == evidence.StatusAborted || rec.Status == evidence.StatusFailed {
		who := ""
		if rec.AbortedBy != "" {
			who = " by " + rec.AbortedBy
		}
		add(RuleDrillEnded, fmt.Sprintf("The drill %s%s", rec.Status, who), "high", "process", "", "", rec.Reason)
	}
	for _, m := range []struct {
		key, name, class string
		m                evidence.Measure
	}{{"rto", "RTO", "technology", rec.Measures.RTO}, {"rpo", "RPO", "technology", rec.Measures.RPO}, {"response", "Response time", "people", rec.Measures.Response}} {
		switch {
		case m.m.Verdict == evidence.VerdictMissed:
			add(RuleMeasureMissed, fmt.Sprintf("%s missed its target: %s against %s", m.name, secs(m.m.AchievedSeconds), secs(m.m.TargetSeconds)),
				"high", m.class, "", m.key, m.m.Note)
		case m.m.Verdict == evidence.VerdictNotMeasured && m.m.TargetSeconds != nil && rec.Status == evidence.StatusCompleted:
			add(RuleNotMeasured, fmt.Sprintf("%s was not measured (target %s)", m.name, secs(m.m.TargetSeconds)), "medium", "process", "", m.key, m.m.Note)
		}
	}
	for _, list := range [][]evidence.StepRecord{rec.Steps, rec.Rollback, rec.Finally} {
		for _, s := range list {
			switch s.Status {
			case evidence.StepFailed:
				add(RuleStepFailed, fmt.Sprintf("Step %s (%s) failed", s.ID, s.Type), "high", "technology", s.ID, "", s.Error)
			case evidence.StepUnknown:
				add(RuleUnknownOutcome, fmt.Sprintf("Step %s: its outcome was unknown (worker or server lost)", s.ID), "high", "technology", s.ID, "", s.Note)
			}
			if s.Type == "replication-check" && (s.Status == evidence.StepSucceeded || s.Status == evidence.StepFailed) {
				if n := count(s.Output["drift"]); n > 0 {
					add(RulePermissionDrift, fmt.Sprintf("Permission drift: %d grant(s) differ between the sites", n), "high", "technology", s.ID, "", "")
				}
				if n := count(s.Output["missingOnStandby"]); n > 0 {
					add(RuleDataLost, fmt.Sprintf("%d message(s) or record(s) missing on the standby", n), "high", "technology", s.ID, "rpo", "")
				}
			}
		}
	}
	for _, d := range rec.Decisions {
		if !proposedFor(out, RuleUnknownOutcome, d.Step) {
			add(RuleUnknownOutcome, fmt.Sprintf("Step %s: its outcome was unknown; %s decided %s", d.Step, d.By, d.Decision), "high", "technology", d.Step, "", d.Comment)
		}
	}
	for _, a := range rec.Approvals {
		if a.Auto {
			add(RuleAutoGate, fmt.Sprintf("Gate %s opened with no human decision", a.Step), "medium", "people", a.Step, "", a.Comment)
		}
	}
	if level := escalationLevel(rec); level >= 2 {
		add(RuleEscalated, fmt.Sprintf("The page escalated to level %d before anyone acknowledged", level), "medium", "people", "", "response", "")
	}
	if inv := rec.Inventory; inv != nil {
		var notReady []string
		for _, a := range inv.Assets {
			if a.Status != "ready" {
				notReady = append(notReady, fmt.Sprintf("%s (tier %d): %s", a.Name, a.Tier, a.Status))
			}
		}
		switch {
		case !inv.Ready:
			add(RuleReadiness, "The inventory was not ready: the drill stopped before anything was touched", "high", "technology", inv.Step, "",
				strings.Join(append([]string{inv.Reason}, notReady...), "; "))
		case len(notReady) > 0:
			add(RuleReadiness, fmt.Sprintf("%d asset(s) not ready before the drill", len(notReady)), "medium", "technology", inv.Step, "", strings.Join(notReady, "; "))
		}
	}
	for _, p := range rec.Pages {
		if p.Error != "" {
			add(RulePageFailed, fmt.Sprintf("The page to %s through %s was not delivered", p.Contact, p.Channel), "medium", "third-party", p.Step, "", p.Error)
		}
	}
	return out
}

// proposedFor reports whether rule already proposed a finding on step.
func proposedFor(fs []Finding, rule, step string) bool {
	for _, f := range fs {
		if f.Rule == rule && f.Step == step {
			return true
		}
	}
	return false
}

// escalationLevel is the highest escalation level a page reached before an
// acknowledgement (or at all, when nobody acknowledged).
func escalationLevel(rec *evidence.Record) int {
	if rec.Measures.Response.Level > 0 {
		return rec.Measures.Response.Level
	}
	level := 0
	for _, a := range rec.Acks {
		level = max(level, a.Level)
	}
	if level > 0 {
		return level
	}
	for _, p := range rec.Pages {
		level = max(level, p.Level)
	}
	return level
}

// count reads a count from a step output value (a float64 after JSON).
func count(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

func secs(s *float64) string {
	if s == nil {
		return "—"
	}
	return evidence.HumanDuration(time.Duration(*s * float64(time.Second)))
}

// Roster lists the people the record shows took part: who started the
// drill, who was paged, who acknowledged, who approved or decided, who
// aborted; each present, with every role they had.
func Roster(rec *evidence.Record, names map[string]string) []Participant {
	var out []Participant
	add := func(name, role string) {
		if name == "" {
			return
		}
		for i := range out {
			if out[i].Name == name {
				for _, r := range out[i].Roles {
					if r == role {
						return
					}
				}
				out[i].Roles = append(out[i].Roles, role)
				return
			}
		}
		out = append(out, Participant{Name: name, DisplayName: names[name], Roles: []string{role}, Attendance: Present, Source: "record"})
	}
	if rec.Identity != nil {
		add(rec.Identity.InitiatedBy, "initiator")
	}
	for _, p := range rec.Pages {
		add(p.Contact, "paged")
	}
	for _, a := range rec.Acks {
		add(a.By, "acknowledged")
	}
	for _, a := range rec.Approvals {
		if !a.Auto {
			add(a.By, "approver")
		}
	}
	for _, d := range rec.Decisions {
		add(d.By, "decided")
	}
	add(rec.AbortedBy, "aborted")
	return out
}
