package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// This file delivers one message on one channel; each kind of channel has
// its own file: slack.go, dingtalk.go, pagerduty.go, mail.go.

// channelKind names the kind of a channel.
func channelKind(ch playbooks.Channel) string {
	switch {
	case ch.Console != nil:
		return "console"
	case ch.Webhook != nil:
		return "webhook"
	case ch.Slack != nil:
		return "slack"
	case ch.DingTalk != nil:
		return "dingtalk"
	case ch.PagerDuty != nil:
		return "pagerduty"
	case ch.Email != nil:
		return "email"
	}
	return "none"
}

// send delivers a message on one channel.
func (a *Activities) send(ctx context.Context, ch playbooks.Channel, contactName string, msg pageMessage) (*steps.PageResult, error) {
	sec := a.secrets()
	kind := channelKind(ch)
	msg.SentAt = a.now()
	res := &steps.PageResult{Channel: kind, SentAt: msg.SentAt}
	switch {
	case ch.Console != nil:
		line := fmt.Sprintf("[%s] %s → %s (%s): %s", strings.ToUpper(msg.Event), msg.Title, msg.Contact, contactName, msg.Text)
		if msg.AckURL != "" {
			line += " — ack: " + msg.AckURL
		} else if msg.AckCommand != "" {
			line += " — ack: " + msg.AckCommand
		}
		if ch.Console.Prefix != "" {
			line = ch.Console.Prefix + " " + line
		}
		fmt.Fprintln(a.console(), line)
		res.Target = "console"
		return res, nil
	case ch.Webhook != nil:
		body, err := json.Marshal(msg)
		if err != nil {
			return nil, fmt.Errorf("webhook: encode message: %w", err)
		}
		target, err := a.postJSON(ctx, sec, ch.Webhook.URL, ch.Webhook.Headers, ch.Webhook.Secret, body, nil)
		return sent(res, target, sec, err)
	case ch.Slack != nil:
		body, err := slackBody(msg)
		if err != nil {
			return nil, fmt.Errorf("slack: encode message: %w", err)
		}
		target, err := a.postJSON(ctx, sec, ch.Slack.URL, nil, "", body, nil)
		return sent(res, target, sec, err)
	case ch.DingTalk != nil:
		target, err := a.sendDingTalk(ctx, sec, *ch.DingTalk, msg)
		return sent(res, target, sec, err)
	case ch.PagerDuty != nil:
		target, err := a.sendPagerDuty(ctx, sec, *ch.PagerDuty, msg)
		return sent(res, target, sec, err)
	case ch.Email != nil:
		target, err := a.sendEmail(ctx, sec, *ch.Email, contactName, msg)
		return sent(res, target, sec, err)
	}
	return nil, temporal.NewNonRetryableApplicationError("a channel needs one of webhook, slack, dingtalk, pagerduty, email or console", "BadStep", nil)
}

// sent finishes a send: the target is recorded, an error is scrubbed.
func sent(res *steps.PageResult, target string, sec *secrets, err error) (*steps.PageResult, error) {
	res.Target = target
	if err != nil {
		return nil, sec.scrubErr(err)
	}
	return res, nil
}

// text is the message's text with the ways to acknowledge.
func (m pageMessage) text() string {
	t := m.Text
	if m.AckURL != "" {
		t += "\n\nAcknowledge: " + m.AckURL
	}
	if m.AckCommand != "" {
		t += "\nor from a terminal: " + m.AckCommand
	}
	return t
}
