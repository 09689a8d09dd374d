package console

import (
	"slices"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
)

// Who may do what, from the playbook of each drill. Everyone signed in may
// read; these say who may act. The Temporal workflow checks approvals and
// acknowledgements again (its Update validators); the console refuses
// first, with 403, so a person not allowed never reaches it.

// mayStart reports whether who may start drills of pb: one of its starters,
// or, when it names none, one of its contacts.
func mayStart(pb *playbooks.Playbook, who string) bool {
	if pb == nil || who == "" {
		return false
	}
	if len(pb.Starters) > 0 {
		return slices.Contains(pb.Starters, who)
	}
	_, ok := pb.Contacts[who]
	return ok
}

// signedIdentity reports whether a drill's decisions must be signed, which
// the console cannot do: it then shows the CLI command instead.
func signedIdentity(d *Drill) bool {
	if d.Record != nil && d.Record.Identity != nil && d.Record.Identity.Mode != "" {
		return d.Record.Identity.Mode == playbooks.IdentitySigned
	}
	return d.Input != nil && d.Input.Playbook.IdentityMode() == playbooks.IdentitySigned
}

// stepSpec returns a step of the drill's playbook, nil when unknown.
func stepSpec(d *Drill, id string) *playbooks.Step {
	if d.Input == nil {
		return nil
	}
	for i := range d.Input.Playbook.Steps {
		if d.Input.Playbook.Steps[i].ID == id {
			return &d.Input.Playbook.Steps[i]
		}
	}
	return nil
}

// stepRecord returns a step of the drill's record, nil when unknown.
func stepRecord(d *Drill, id string) *evidence.StepRecord {
	for i := range d.Record.Steps {
		if d.Record.Steps[i].ID == id {
			return &d.Record.Steps[i]
		}
	}
	return nil
}

// initiator is who started the drill.
func initiator(d *Drill) string {
	if d.Record.Identity != nil && d.Record.Identity.InitiatedBy != "" {
		return d.Record.Identity.InitiatedBy
	}
	if d.Input != nil {
		return d.Input.Initiator
	}
	return ""
}

// gateRefusal says why who may not decide the approval step, "" when they
// may: the step must be an approval gate waiting for a decision, who one of
// its approvers, not its initiator when the gate forbids it, and not
// someone who already decided it.
func gateRefusal(d *Drill, step, who string) string {
	spec := stepSpec(d, step)
	rec := stepRecord(d, step)
	switch {
	case !d.Running:
		return "the drill has ended"
	case spec == nil || rec == nil || spec.Type != playbooks.StepApproval || spec.Approval == nil:
		return "no approval step " + step + " in this drill"
	case rec.Status != evidence.StepWaiting:
		return "step " + step + " is not waiting for a decision (it is " + rec.Status + ")"
	case !slices.Contains(spec.Approval.Approvers, who):
		return who + " is not an approver of " + step
	case slices.Contains(spec.Approval.Forbid, "initiator") && who == initiator(d):
		return who + " started this drill and may not approve it (four eyes)"
	}
	for _, a := range d.Record.Approvals {
		if a.Step == step && a.By == who {
			return who + " has already decided " + step
		}
	}
	return ""
}

// paged returns the pages of a page step so far and its acknowledgements:
// from the live escalation while the step runs, else from the record.
func paged(d *Drill, step string) ([]evidence.Page, []evidence.Ack) {
	if esc := d.Escalations[step]; esc != nil {
		return esc.Pages, esc.Acks
	}
	var pages []evidence.Page
	var acks []evidence.Ack
	for _, p := range d.Record.Pages {
		if p.Step == step {
			pages = append(pages, p)
		}
	}
	for _, a := range d.Record.Acks {
		if a.Step == step {
			acks = append(acks, a)
		}
	}
	return pages, acks
}

// ackRefusal says why who may not acknowledge the page of step, "" when
// they may: a contact acknowledges only a page sent to them, once, while
// the step runs.
func ackRefusal(d *Drill, step, who string) string {
	rec := stepRecord(d, step)
	if !d.Running || rec == nil || rec.Type != string(playbooks.StepPage) || rec.Status != evidence.StepRunning {
		return "step " + step + " is not a page waiting for an acknowledgement"
	}
	pages, acks := paged(d, step)
	if len(acks) > 0 {
		return "the page of " + step + " was already acknowledged by " + acks[0].By
	}
	for _, p := range pages {
		if p.Contact == who {
			return ""
		}
	}
	return who + " was not paged by " + step
}

// mayAbort reports whether who may abort the running drill: its
// initiator, a starter of its playbook, or an approver of one of its gates.
func mayAbort(d *Drill, who string) bool {
	if !d.Running || who == "" || d.Input == nil {
		return false
	}
	if who == initiator(d) || mayStart(&d.Input.Playbook, who) {
		return true
	}
	for _, s := range d.Input.Playbook.Steps {
		if s.Approval != nil && slices.Contains(s.Approval.Approvers, who) {
			return true
		}
	}
	return false
}

// waitingGates are the approval steps of the drill waiting for a decision.
func waitingGates(d *Drill) []string {
	var out []string
	for _, s := range d.Record.Steps {
		if s.Type == string(playbooks.StepApproval) && s.Status == evidence.StepWaiting {
			out = append(out, s.ID)
		}
	}
	return out
}

// runningPages are the page steps of the drill still waiting for an
// acknowledgement.
func runningPages(d *Drill) []string {
	var out []string
	for _, s := range d.Record.Steps {
		if s.Type == string(playbooks.StepPage) && s.Status == evidence.StepRunning {
			if _, acks := paged(d, s.ID); len(acks) == 0 {
				out = append(out, s.ID)
			}
		}
	}
	return out
}

// approversOf lists a gate's approvers.
func approversOf(d *Drill, step string) []string {
	if s := stepSpec(d, step); s != nil && s.Approval != nil {
		return s.Approval.Approvers
	}
	return nil
}
