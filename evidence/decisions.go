package evidence

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drillctl/drillctl/identity"
)

// decisionRow is one human (or missing human) decision of a drill, in
// plain words: who, what, how it came, and what proves it.
type decisionRow struct {
	at       time.Time
	At       string
	Who      string
	What     string
	Step     string
	How      string
	Detail   string
	Proof    string
	ProofCls string // ok | bad | warn
}

// signatory is one line of the sign-off page.
type signatory struct{ Name, Role string }

// Signatory is a person who signs the report off: their name and their role
// in the drill ("DR coordinator", "Compliance officer").
type Signatory struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// statementRow is a signed decision as an auditor re-checks it with
// ssh-keygen: the exact signed text, the signature, and the command.
type statementRow struct {
	Title, Statement, Signature, Command string
}

// proof says what establishes a decision: a verified signature, a
// signature that did not verify, or nothing but a name.
func (r *renderer) proof(signed *identity.Signed, verified bool) (string, string) {
	l := r.l
	switch {
	case signed != nil && verified:
		return l.T("proof.verified", l.LTR(signed.Fingerprint)), "ok"
	case signed != nil:
		return l.T("proof.notVerified", l.LTR(signed.Fingerprint)), "bad"
	case verified:
		return l.T("proof.verifiedUnsigned"), "ok"
	}
	return l.T("proof.unverified"), "bad"
}

func (r *renderer) how(via, channel string) string {
	l := r.l
	switch {
	case via != "" && channel != "":
		return l.T("how.viaChannel", via, l.Iso(channel))
	case via != "":
		return l.T("how.via", via)
	case channel != "":
		return l.T("how.channel", l.Iso(channel))
	}
	return ""
}

// decisions lists every decision of the drill, oldest first.
func (r *renderer) decisions() []decisionRow {
	l, rec, f := r.l, r.rec, r.facts
	var rows []decisionRow
	add := func(d decisionRow) {
		d.At = l.LTR(l.DateTime(d.at, r.loc))
		rows = append(rows, d)
	}
	if id := rec.Identity; id != nil && id.InitiatedBy != "" {
		d := decisionRow{at: rec.StartedAt, Who: l.Iso(f.person(id.InitiatedBy)), What: l.T("decision.started")}
		switch {
		case id.Start != nil:
			d.Proof, d.ProofCls = r.proof(id.Start, id.Mode == "signed")
		default:
			d.Proof, d.ProofCls = l.T("proof.unverified"), "bad"
		}
		add(d)
	}
	autoSteps := map[string]bool{}
	for _, a := range rec.Approvals {
		d := decisionRow{at: a.At, Step: a.Step, Who: l.Iso(f.person(a.By)), How: r.how(a.Via, ""), Detail: l.Iso(a.Comment)}
		switch {
		case a.Auto:
			autoSteps[a.Step] = true
			d.Who, d.What = l.T("decision.nobody"), l.T("decision.autoApproved")
			d.Proof, d.ProofCls = l.T("proof.noHuman"), "warn"
		case a.Approved:
			d.What = l.T("decision.approved")
			d.Proof, d.ProofCls = r.proof(a.Signed, a.Verified)
		default:
			d.What = l.T("decision.rejected")
			d.Proof, d.ProofCls = r.proof(a.Signed, a.Verified)
		}
		add(d)
	}
	// A gate the record shows opened by default without an Auto approval
	// (records written before Approval.Auto existed).
	for _, s := range rec.Steps {
		if s.Type == "approval" && !autoSteps[s.ID] && autoNote(s.Note) && s.EndedAt != nil {
			add(decisionRow{at: *s.EndedAt, Step: s.ID, Who: l.T("decision.nobody"), What: l.T("decision.autoApproved"),
				Detail: l.Iso(s.Note), Proof: l.T("proof.noHuman"), ProofCls: "warn"})
		}
	}
	for _, p := range rec.Pages {
		d := decisionRow{at: p.SentAt, Step: p.Step, Who: "drillctl", What: l.T("decision.paged", l.Iso(f.person(p.Contact)), l.LTR(l.Int(p.Level))),
			How: r.how("", p.Channel)}
		if p.Error != "" {
			d.Detail, d.Proof, d.ProofCls = l.Iso(p.Error), l.T("proof.pageFailed"), "bad"
		}
		add(d)
	}
	for _, a := range rec.Acks {
		d := decisionRow{at: a.At, Step: a.Step, Who: l.Iso(f.person(a.By)), What: l.T("decision.acked", l.LTR(l.Int(a.Level))), How: r.how(a.Via, a.Channel)}
		if a.Signed == nil && !a.Verified && a.Via == "link" {
			d.Proof, d.ProofCls = l.T("proof.link"), "warn"
		} else {
			d.Proof, d.ProofCls = r.proof(a.Signed, a.Verified)
		}
		add(d)
	}
	for _, dec := range rec.Decisions {
		d := decisionRow{at: dec.At, Step: dec.Step, Who: l.Iso(f.person(dec.By)), What: l.T("decision.unknown", outcomeWord(l.T, dec.Decision)),
			How: r.how(dec.Via, ""), Detail: l.Iso(dec.Comment)}
		d.Proof, d.ProofCls = r.proof(dec.Signed, dec.Verified)
		add(d)
	}
	end := rec.StartedAt
	if rec.EndedAt != nil {
		end = *rec.EndedAt
	}
	if rec.AbortedBy != "" {
		d := decisionRow{at: end, Who: l.Iso(f.person(rec.AbortedBy)), What: l.T("decision.aborted"), Detail: l.Iso(rec.Reason)}
		if rec.Identity != nil && rec.Identity.Abort != nil {
			d.Proof, d.ProofCls = r.proof(rec.Identity.Abort, rec.Identity.Mode == "signed")
		} else {
			d.Proof, d.ProofCls = l.T("proof.unverified"), "bad"
		}
		add(d)
	}
	if rec.TerminatedBy != "" {
		add(decisionRow{at: end, Who: l.Iso(rec.TerminatedBy), What: l.T("decision.terminated"), Proof: l.T("proof.temporal"), ProofCls: "warn"})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	return rows
}

// autoNote reports whether a step's note says its gate opened by default.
func autoNote(note string) bool {
	n := strings.ToLower(note)
	return strings.Contains(n, "approved by default") || strings.Contains(n, "no human decision")
}

func outcomeWord(t func(string, ...any) string, d string) string {
	switch d {
	case "rollback", "continue", "stop":
		return t("outcome." + d)
	}
	return d
}

// deviations lists, in words, where the drill departed from its plan:
// retries, skipped and cancelled steps, failures it carried on past,
// unknown outcomes, gates opened with no human decision, a cut record.
func (r *renderer) deviations() []string {
	l, rec := r.l, r.rec
	var out []string
	for _, group := range [][]StepRecord{rec.Steps, rec.Rollback} {
		for _, s := range group {
			id := l.LTR(s.ID)
			if s.Attempts > 1 {
				if s.Note != "" {
					out = append(out, l.T("deviation.retriedNote", id, l.LTR(l.Int(s.Attempts)), l.Iso(s.Note)))
				} else {
					out = append(out, l.T("deviation.retried", id, l.LTR(l.Int(s.Attempts))))
				}
			}
			spec := r.facts.step(s.ID)
			switch {
			case s.Status == StepFailed && spec != nil && spec.ContinueOnError:
				out = append(out, l.T("deviation.continued", id, l.Iso(s.Error)))
			case s.Status == StepSkipped && !isRollback(rec, s.ID):
				out = append(out, l.T("deviation.skipped", id, l.Iso(s.Note)))
			case s.Status == StepCancelled:
				out = append(out, l.T("deviation.cancelled", id, l.Iso(s.Note)))
			case s.Status == StepUnknown:
				out = append(out, l.T("deviation.unknown", id))
			}
		}
	}
	for _, row := range r.decisionRows {
		if row.ProofCls == "warn" && row.What == l.T("decision.autoApproved") {
			out = append(out, l.T("deviation.autoApproved", l.LTR(row.Step)))
		}
	}
	if rec.Truncated != "" {
		out = append(out, l.T("deviation.truncated", l.Iso(rec.Truncated)))
	}
	return out
}

// isRollback reports whether id is a rollback step (skipped when not needed).
func isRollback(rec Record, id string) bool {
	for _, s := range rec.Rollback {
		if s.ID == id {
			return true
		}
	}
	return false
}

// signOff lists who signs the report: the given signatories, or the people
// the drill involved (who started it, who approved it, who answered the
// page, the playbook's owner) and a compliance officer, with blank lines.
func (r *renderer) signOff() []signatory {
	l := r.l
	if len(r.opts.SignOff) > 0 {
		out := make([]signatory, 0, len(r.opts.SignOff))
		for _, s := range r.opts.SignOff {
			out = append(out, signatory{Name: s.Name, Role: s.Role})
		}
		return out
	}
	var out []signatory
	index := map[string]int{} // person → their line: one line a person, their roles joined
	add := func(id, role string) {
		if id == "" {
			return
		}
		if i, ok := index[id]; ok {
			out[i].Role += l.T("list.sep") + role
			return
		}
		index[id] = len(out)
		out = append(out, signatory{Name: r.facts.person(id), Role: role})
	}
	if r.rec.Identity != nil {
		add(r.rec.Identity.InitiatedBy, l.T("role.coordinator"))
	}
	for _, a := range r.rec.Approvals {
		if !a.Auto {
			add(a.By, l.T("role.approver"))
		}
	}
	add(r.rec.Measures.Response.AckedBy, l.T("role.responder"))
	add(r.facts.Metadata.Owner, l.T("role.owner"))
	out = append(out, signatory{Role: l.T("role.compliance")})
	return out
}

// statements lists the signed decisions with what ssh-keygen needs to
// re-check each without drillctl.
func (r *renderer) statements() []statementRow {
	var out []statementRow
	add := func(title string, s *identity.Signed) {
		if s == nil || s.Signature == "" {
			return
		}
		n := len(out) + 1
		base := s.Statement.Decision + "-" + strings.Trim(s.Statement.Step, "/")
		base = strings.Trim(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, strings.ToLower(base)), "-")
		name := strings.TrimSuffix(fmt.Sprintf("%03d-%s", n, base), "-")
		out = append(out, statementRow{Title: title, Statement: string(s.Statement.Canonical()), Signature: strings.TrimRight(s.Signature, "\n"),
			Command: s.VerifyCommand("allowed_signers", name+".sig", name+".statement")})
	}
	rec := r.rec
	if rec.Identity != nil {
		add(r.l.T("decision.started"), rec.Identity.Start)
	}
	for _, a := range rec.Approvals {
		add(a.Step, a.Signed)
	}
	for _, a := range rec.Acks {
		add(a.Step, a.Signed)
	}
	for _, d := range rec.Decisions {
		add(d.Step, d.Signed)
	}
	if rec.Identity != nil {
		add(r.l.T("decision.aborted"), rec.Identity.Abort)
	}
	return out
}
