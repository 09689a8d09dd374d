package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Escalation names.
const (
	// EscalationWorkflow is the registered name of the Escalation workflow.
	EscalationWorkflow = "Escalation"
	// UpdateAck acknowledges a page (AckInput), on the Escalation workflow.
	UpdateAck = "ack"
	// OutcomeAcked and OutcomeExhausted end an escalation.
	OutcomeAcked     = "acked"
	OutcomeExhausted = "exhausted"
	// OutcomeCancelled ends an escalation stopped by its drill (an abort):
	// the pages sent so far are still reported.
	OutcomeCancelled = "cancelled"
)

// EscalationID is the workflow ID of the escalation run by a drill's page step.
func EscalationID(drillID, step string) string { return drillID + "-page-" + step }

// EscalationInput is the input of the Escalation workflow.
type EscalationInput struct {
	DrillID  string                       `json:"drillId"`
	Playbook string                       `json:"playbook"`
	Step     string                       `json:"step"`
	Message  string                       `json:"message"`
	Policy   playbooks.EscalationPolicy   `json:"policy"`
	Contacts map[string]playbooks.Contact `json:"contacts"`
	// Signatures are the drill's rules for signed acknowledgements.
	Signatures *Signatures `json:"signatures,omitempty"`
}

// AckInput acknowledges a page.
type AckInput struct {
	By  string `json:"by"`
	Via string `json:"via,omitempty"` // cli, link
	// Channel is the channel that carried the page, for an ack through its link.
	Channel string `json:"channel,omitempty"`
	// Signed is the signed statement of the acknowledgement. An ack through
	// a page's link needs none: possession of the paged channel is its proof.
	Signed *identity.Signed `json:"signed,omitempty"`
	// Level and External come with an acknowledgement made in PagerDuty
	// (Via "pagerduty"): the level whose incident was acknowledged, and who
	// acknowledged it there. By is then the contact paged at that level.
	Level    int    `json:"level,omitempty"`
	External string `json:"external,omitempty"`
}

// EscalationResult is how an escalation ended.
type EscalationResult struct {
	Outcome     string          `json:"outcome"`
	AckedBy     string          `json:"ackedBy,omitempty"`
	Level       int             `json:"level,omitempty"`
	Round       int             `json:"round,omitempty"`
	FirstPageAt *time.Time      `json:"firstPageAt,omitempty"`
	AckedAt     *time.Time      `json:"ackedAt,omitempty"`
	Pages       []evidence.Page `json:"pages"`
	Acks        []evidence.Ack  `json:"acks,omitempty"`
	Failures    []string        `json:"failures,omitempty"`
	// EndedAt is when the escalation ended (the workflow's clock): with no
	// acknowledgement, the response took at least EndedAt - FirstPageAt.
	EndedAt *time.Time `json:"endedAt,omitempty"`
}

// Escalation pages an escalation policy level by level: every channel of
// every contact of a level at once, then it waits up to the level's
// ackTimeout for an acknowledgement before paging the next level (the
// successor). The whole policy runs `repeat` times. It ends acked (by whom,
// at which level, when) or exhausted.
func Escalation(ctx workflow.Context, in EscalationInput) (*EscalationResult, error) {
	e := &escalation{in: in, res: &EscalationResult{Outcome: OutcomeExhausted}, paged: map[string]int{}, levels: map[string][]int{}}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAck, e.ack,
		workflow.UpdateHandlerOptions{Validator: e.validateAck}); err != nil {
		return nil, fmt.Errorf("register %s update: %w", UpdateAck, err)
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (*EscalationResult, error) { return e.res, nil }); err != nil {
		return nil, fmt.Errorf("register %s query: %w", QueryStatus, err)
	}
	rounds := max(in.Policy.Repeat, 1)
	pagesCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	for round := 1; round <= rounds; round++ {
		for i, level := range in.Policy.Levels {
			levelNo := i + 1
			wait := durationOr(level.AckTimeout, 10*time.Minute)
			expires := workflow.Now(ctx).Add(wait).UTC()
			e.pageLevel(pagesCtx, round, levelNo, level, expires)
			acked, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return e.res.AckedBy != "" })
			if err != nil {
				// Stopped by the drill: resolve what was opened, and report
				// the pages sent, whatever the drill's outcome.
				e.res.Outcome = OutcomeCancelled
				return e.end(ctx, pagesCtx), nil
			}
			if acked {
				e.res.Outcome = OutcomeAcked
				return e.end(ctx, pagesCtx), nil
			}
		}
	}
	return e.end(ctx, pagesCtx), nil
}

// end resolves the incidents the escalation opened (acknowledged, nobody
// answered, or stopped: none is left open) and stamps its end.
func (e *escalation) end(ctx, pagesCtx workflow.Context) *EscalationResult {
	if workflow.GetVersion(ctx, "escalation-end", workflow.DefaultVersion, 1) == 1 {
		dctx, _ := workflow.NewDisconnectedContext(pagesCtx)
		// An acknowledgement can come before a page's send has reported
		// (the person saw it at once): the pages sent are in the record,
		// and the response time is measured from the first of them.
		_, _ = workflow.AwaitWithTimeout(dctx, time.Minute, func() bool { return len(e.res.Pages) >= len(e.sends) })
		e.resolve(dctx)
		now := workflow.Now(ctx).UTC()
		e.res.EndedAt = &now
	} else if e.res.Outcome == OutcomeAcked {
		e.resolve(pagesCtx)
	}
	return e.res
}

type escalation struct {
	in    EscalationInput
	res   *EscalationResult
	paged map[string]int // contact → latest level paged at
	// levels are every level each contact was paged at: each level is its
	// own PagerDuty incident, and all are resolved at the end.
	levels map[string][]int
	// sends are the pages' activities (each records one page when done).
	sends []workflow.Future
	level int
	round int
}

// pageLevel sends the level's pages in parallel; it does not wait for them,
// so a slow or failing channel never delays the ack timer or another page.
func (e *escalation) pageLevel(ctx workflow.Context, round, level int, l playbooks.EscalationLevel, expires time.Time) {
	e.round, e.level = round, level
	contacts := append([]string(nil), l.Contacts...)
	sort.Strings(contacts)
	for _, name := range contacts {
		e.paged[name] = level
		if !slices.Contains(e.levels[name], level) {
			e.levels[name] = append(e.levels[name], level)
		}
		contact := e.in.Contacts[name]
		for _, ch := range contact.Channels {
			in := steps.PageInput{DrillID: e.in.DrillID, Playbook: e.in.Playbook, Step: e.in.Step, Level: level, Round: round,
				Contact: name, ContactName: contact.Name, Channel: ch, Message: e.in.Message, AckExpires: expires}
			f := workflow.ExecuteActivity(ctx, steps.ActivitySendPage, in)
			e.sends = append(e.sends, f)
			workflow.Go(ctx, func(ctx workflow.Context) {
				var sent steps.PageResult
				page := evidence.Page{Step: in.Step, Level: level, Round: round, Contact: name}
				if err := f.Get(ctx, &sent); err != nil {
					page.Error = errorText(err)
					page.SentAt = workflow.Now(ctx).UTC()
					e.res.Failures = append(e.res.Failures, fmt.Sprintf("level %d %s: %s", level, name, page.Error))
				} else {
					page.Channel, page.SentAt = sent.Channel, sent.SentAt
					if e.res.FirstPageAt == nil || sent.SentAt.Before(*e.res.FirstPageAt) {
						at := sent.SentAt
						e.res.FirstPageAt = &at
					}
				}
				e.res.Pages = append(e.res.Pages, page)
			})
		}
	}
}

// resolve closes the incidents the escalation opened in PagerDuty when it
// ends; a failure to resolve changes nothing.
func (e *escalation) resolve(ctx workflow.Context) {
	var futures []workflow.Future
	names := make([]string, 0, len(e.paged))
	for name := range e.paged {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		contact := e.in.Contacts[name]
		for _, ch := range contact.Channels {
			if ch.PagerDuty == nil {
				continue
			}
			levels := e.levels[name]
			if len(levels) == 0 {
				levels = []int{e.paged[name]}
			}
			for _, level := range levels {
				futures = append(futures, workflow.ExecuteActivity(ctx, steps.ActivitySendPage, steps.PageInput{
					DrillID: e.in.DrillID, Playbook: e.in.Playbook, Step: e.in.Step, Level: level, Round: e.round,
					Contact: name, ContactName: contact.Name, Channel: ch, Message: e.in.Message, Event: "resolve"}))
			}
		}
	}
	for _, f := range futures {
		_ = f.Get(ctx, nil)
	}
}

// validateAck refuses an acknowledgement from someone who was not paged, or
// once the page was already acknowledged.
func (e *escalation) validateAck(in AckInput) error {
	if in.Via == "pagerduty" {
		if e.pagerDutyContact(in.Level) == "" {
			return fmt.Errorf("no contact of step %q was paged through PagerDuty at level %d", e.in.Step, in.Level)
		}
		if e.res.AckedBy != "" {
			return fmt.Errorf("already acknowledged by %s", e.res.AckedBy)
		}
		return nil // possession of the paged PagerDuty incident is the proof
	}
	if in.By == "" {
		return errors.New("an acknowledgement needs a name (--as NAME)")
	}
	if e.res.AckedBy != "" {
		return fmt.Errorf("already acknowledged by %s", e.res.AckedBy)
	}
	if _, ok := e.paged[in.By]; !ok {
		paged := make([]string, 0, len(e.paged))
		for name := range e.paged {
			paged = append(paged, name)
		}
		sort.Strings(paged)
		return fmt.Errorf("%q was not paged by step %q (paged so far: %v)", in.By, e.in.Step, paged)
	}
	if e.in.Signatures == nil {
		return nil
	}
	_, err := e.in.Signatures.check(in.Signed, identity.Statement{Drill: e.in.DrillID, Step: e.in.Step,
		Decision: identity.DecisionAck, Signer: in.By}, in.Via == "link")
	return err
}

func (e *escalation) ack(ctx workflow.Context, in AckInput) (*evidence.Ack, error) {
	now := workflow.Now(ctx).UTC()
	if in.Via == "pagerduty" {
		in.By = e.pagerDutyContact(in.Level)
	}
	via := in.Via
	if via == "" {
		via = "cli"
	}
	verified := false
	if sig := e.in.Signatures; sig != nil {
		sig.use(in.Signed)
		verified = in.Signed != nil && len(sig.Keys[in.By]) > 0
	}
	a := evidence.Ack{Step: e.in.Step, By: in.By, Level: e.paged[in.By], At: now, Via: via, Channel: in.Channel,
		Signed: in.Signed, Verified: verified, External: in.External}
	e.res.Acks = append(e.res.Acks, a)
	e.res.AckedBy, e.res.Level, e.res.Round, e.res.AckedAt = in.By, a.Level, e.round, &now
	return &a, nil
}

// runPage runs a page step as an Escalation child workflow and records its
// pages and acknowledgement.
func (d *drill) runPage(ctx workflow.Context, s playbooks.Step, r *evidence.StepRecord) error {
	if s.Page == nil {
		return temporal.NewNonRetryableApplicationError("page step has no escalation", "BadStep", nil)
	}
	policy, ok := d.in.Playbook.Escalation[s.Page.Escalation]
	if !ok {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("no escalation policy %q", s.Page.Escalation), "BadStep", nil)
	}
	var names []string
	for _, l := range policy.Levels {
		names = append(names, l.Contacts...)
	}
	contacts, err := d.contacts(names)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "BadStep", nil)
	}
	msg := s.Page.Message
	if msg == "" {
		msg = fmt.Sprintf("DR drill %s (%s) needs you: please acknowledge.", d.rec.DrillID, d.in.Playbook.Metadata.Name)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: EscalationID(d.rec.DrillID, s.ID),
		// On an abort the escalation ends (resolving what it opened) and
		// reports the pages it sent: the record keeps every page.
		WaitForCancellation: true,
	})
	var res EscalationResult
	err = workflow.ExecuteChildWorkflow(cctx, EscalationWorkflow, EscalationInput{
		DrillID: d.rec.DrillID, Playbook: d.in.Playbook.Metadata.Name, Step: s.ID, Message: msg,
		Policy: policy, Contacts: contacts, Signatures: d.sig,
	}).Get(ctx, &res)
	d.rec.Pages = append(d.rec.Pages, res.Pages...)
	d.rec.Acks = append(d.rec.Acks, res.Acks...)
	if res.FirstPageAt != nil {
		d.pages[s.ID] = &res
	}
	if err != nil {
		return err
	}
	if res.Outcome == OutcomeCancelled {
		return temporal.NewCanceledError("the drill stopped while its page waited for an acknowledgement")
	}
	r.Output = map[string]any{"outcome": res.Outcome, "ackedBy": res.AckedBy, "level": res.Level, "pages": len(res.Pages)}
	if len(res.Failures) > 0 {
		r.Output["failedPages"] = res.Failures
	}
	if res.Outcome != OutcomeAcked {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("nobody acknowledged: %d levels paged %d times, %d pages sent", len(policy.Levels), max(policy.Repeat, 1), len(res.Pages)),
			"Exhausted", nil)
	}
	return nil
}

// pagerDutyContact is the contact paged at level through a PagerDuty
// channel (the first in order), or "".
func (e *escalation) pagerDutyContact(level int) string {
	for _, name := range sortedKeys(e.levels) {
		if !slices.Contains(e.levels[name], level) {
			continue
		}
		for _, ch := range e.in.Contacts[name].Channels {
			if ch.PagerDuty != nil {
				return name
			}
		}
	}
	return ""
}
