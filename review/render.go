package review

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Markdown renders a review version for people (review.md): the drill it
// reviews, its findings, actions, roster and sign-offs, with the command
// that checks each sign-off with stock OpenSSH. Instants are shown in loc.
func Markdown(r *Review, loc *time.Location) []byte {
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Review of %s — version %d\n\n", r.DrillID, r.Version)
	p("- Playbook: **%s** (`%s`)\n", cell(r.Drill.Playbook.Name), r.Drill.Playbook.Digest)
	p("- Drill bundle: manifest `%s` (%s when the review was opened)\n", r.Drill.ManifestDigest, r.Drill.Integrity)
	p("- Drill: started %s, %s, verdict %s\n", at(r.Drill.StartedAt), r.Drill.Status, r.Drill.Verdict)
	p("- This version: %s by %s, %s\n", cell(r.Change), cell(r.By), at(r.CreatedAt))
	if r.Previous != nil {
		p("- Amends version %d (manifest `%s`)\n", r.Previous.Version, r.Previous.ManifestDigest)
	}
	p("- Content digest (what sign-offs sign): `%s`\n", r.ContentDigest())
	p("- Identity: %s\n", r.Identity)
	if r.Summary != "" {
		p("\n## Summary\n\n%s\n", r.Summary)
	}
	p("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		p("None.\n")
	} else {
		p("| Id | Status | Severity | Class | Concerns | Finding |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, f := range r.Findings {
			status := f.Status
			if f.Status == FindingDismissed {
				status += ": " + f.Reason
			}
			p("| %s | %s | %s | %s | %s | %s |\n", f.ID, cell(status), f.Severity, f.Classification, cell(concerns(f)), cell(joinText(f.Title, f.Text)))
		}
	}
	p("\n## Corrective actions\n\n")
	if len(r.Actions) == 0 {
		p("None.\n")
	} else {
		p("| Id | Action | Finding | Owner | Due | Ticket | State |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, a := range r.Actions {
			p("| %s | %s | %s | %s | %s | %s | %s |\n", a.ID, cell(a.Title), a.Finding, cell(a.Owner), a.Due, cell(a.Ticket), cell(actionState(a)))
		}
	}
	p("\n## Participants\n\n")
	if len(r.Participants) == 0 {
		p("None recorded.\n")
	} else {
		p("| Name | Roles | Attendance | From |\n| --- | --- | --- | --- |\n")
		for _, pt := range r.Participants {
			name := pt.Name
			if pt.DisplayName != "" && pt.DisplayName != pt.Name {
				name += " (" + pt.DisplayName + ")"
			}
			p("| %s | %s | %s | %s |\n", cell(name), strings.Join(pt.Roles, ", "), pt.Attendance, pt.Source)
		}
	}
	p("\n## Sign-off\n\n")
	if len(r.RequiredRoles) > 0 {
		p("Required roles: %s.", strings.Join(r.RequiredRoles, ", "))
		if missing := r.MissingRoles(); len(missing) > 0 {
			p(" **Missing: %s.**", strings.Join(missing, ", "))
		}
		p("\n\n")
	}
	if len(r.Signoffs) == 0 {
		p("Not signed off.\n")
	}
	for i, s := range r.Signoffs {
		status, why := r.SignoffStatus(i)
		p("- **%s** as %s, %s: %s", cell(s.Signer), s.Role, at(s.At), strings.ToUpper(status))
		if why != "" {
			p(" (%s)", why)
		}
		allowed, sig, stmt := SignoffFiles(r, i)
		p("\n  `%s`\n", s.Signed.VerifyCommand(allowed, sig, stmt))
	}
	if len(r.History) > 1 {
		p("\n## History\n\n")
		for _, h := range r.History {
			p("- v%d %s by %s: %s\n", h.Version, at(h.At), cell(h.By), cell(h.Change))
		}
	}
	return b.Bytes()
}

// concerns names the step or measure a finding concerns.
func concerns(f Finding) string {
	var parts []string
	if f.Step != "" {
		parts = append(parts, "step "+f.Step)
	}
	if f.Measure != "" {
		parts = append(parts, f.Measure)
	}
	return strings.Join(parts, ", ")
}

// actionState says an action's state in words.
func actionState(a Action) string {
	switch a.State {
	case ActionDone:
		return "done, awaiting a passing drill"
	case ActionVerified:
		return "verified by " + a.VerifiedBy
	}
	return a.State
}

func joinText(title, text string) string {
	if text == "" {
		return title
	}
	return title + ": " + text
}

// cell makes text safe in a Markdown table cell: one line, no bar.
func cell(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "|", `\|`).Replace(s))
}
