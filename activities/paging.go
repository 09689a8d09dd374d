package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// pageMessage is what a page or notification says, on every channel.
type pageMessage struct {
	DrillID  string `json:"drillId"`
	Playbook string `json:"playbook"`
	Step     string `json:"step,omitempty"`
	Event    string `json:"event"`
	Level    int    `json:"level,omitempty"`
	Contact  string `json:"contact,omitempty"`
	Title    string `json:"title"`
	Text     string `json:"text"`
	// AckCommand is how to acknowledge from a terminal.
	AckCommand string `json:"ackCommand,omitempty"`
	// AckURL acknowledges with one click (a signed, single-use link).
	AckURL   string    `json:"ackUrl,omitempty"`
	Severity string    `json:"severity,omitempty"`
	DedupKey string    `json:"dedupKey,omitempty"`
	SentAt   time.Time `json:"sentAt"`
}

// SendPage sends one page to one channel of one contact. SentAt, the start
// of the response-time clock, is taken just before the page goes out.
func (a *Activities) SendPage(ctx context.Context, in steps.PageInput) (*steps.PageResult, error) {
	event := in.Event
	if event == "" {
		event = "page"
	}
	msg := pageMessage{
		DrillID: in.DrillID, Playbook: in.Playbook, Step: in.Step, Event: event, Level: in.Level, Contact: in.Contact,
		Title:      fmt.Sprintf("DR drill %s: please acknowledge (level %d)", in.Playbook, in.Level),
		Text:       in.Message,
		AckCommand: fmt.Sprintf("drillctl drill ack %s --step %s --as %s", in.DrillID, in.Step, in.Contact),
		DedupKey:   in.DrillID + "/" + in.Step,
	}
	if event == "resolve" {
		msg.Title, msg.AckCommand = fmt.Sprintf("DR drill %s: acknowledged", in.Playbook), ""
	} else if len(a.AckKey) > 0 && a.AckBaseURL != "" {
		msg.AckURL = acklink.URL(a.AckBaseURL, acklink.Sign(a.AckKey, acklink.Token{
			DrillID: in.DrillID, Step: in.Step, Contact: in.Contact, Level: in.Level, Expires: in.AckExpires}))
	}
	res, err := a.send(ctx, in.Channel, in.ContactName, msg)
	if res != nil {
		res.AckURL = msg.AckURL != ""
	}
	return res, err
}

// Notify sends a message to every channel of every contact; one failing
// channel never stops the others.
func (a *Activities) Notify(ctx context.Context, in steps.NotifyInput) (*steps.NotifyResult, error) {
	res := &steps.NotifyResult{}
	for _, name := range sortedKeys(in.To) {
		c := in.To[name]
		for _, ch := range c.Channels {
			msg := pageMessage{DrillID: in.DrillID, Playbook: in.Playbook, Step: in.Step, Event: in.Event,
				Contact: name, Title: in.Title, Text: in.Text}
			sent, err := a.send(ctx, ch, c.Name, msg)
			if err != nil {
				res.Failed = append(res.Failed, fmt.Sprintf("%s via %s: %v", name, channelKind(ch), err))
				continue
			}
			res.Sent = append(res.Sent, *sent)
		}
	}
	return res, nil
}

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
		body, _ := json.Marshal(msg)
		target, err := a.postJSON(ctx, sec, ch.Webhook.URL, ch.Webhook.Headers, ch.Webhook.Secret, body, nil)
		return sent(res, target, sec, err)
	case ch.Slack != nil:
		target, err := a.postJSON(ctx, sec, ch.Slack.URL, nil, "", slackBody(msg), nil)
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

func (a *Activities) console() io.Writer {
	if a.Console == nil {
		return io.Discard
	}
	return a.Console
}

// postJSON posts body to a URL (secrets resolved), signing it with
// HMAC-SHA256 when a secret is given. It returns the target's host, which is
// safe to record.
func (a *Activities) postJSON(ctx context.Context, sec *secrets, rawURL string, headers map[string]string, secret string, body []byte,
	check func(status int, body []byte) error) (string, error) {
	u, err := sec.resolve(rawURL)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	host := hostOf(u)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return host, temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %s: %v", host, sec.scrub(err.Error())), "BadStep", nil)
	}
	req.Header.Set("Content-Type", "application/json")
	hs, err := sec.resolveMap(headers)
	if err != nil {
		return host, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	for k, v := range hs {
		req.Header.Set(k, v)
	}
	if secret != "" {
		key, err := sec.resolve(secret)
		if err != nil {
			return host, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		ts := strconv.FormatInt(a.now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		req.Header.Set("X-Drillctl-Timestamp", ts)
		req.Header.Set("X-Drillctl-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return host, fmt.Errorf("webhook %s: %s", host, sec.scrub(err.Error()))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return host, fmt.Errorf("%s: status %d: %s", host, resp.StatusCode, sec.scrub(truncate(strings.TrimSpace(string(answer)), 200)))
	}
	if check != nil {
		if err := check(resp.StatusCode, answer); err != nil {
			return host, fmt.Errorf("%s: %w", host, err)
		}
	}
	return host, nil
}

// hostOf is the scheme and host of a URL: never its path or query, which
// may carry tokens.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparseable url)"
	}
	return u.Scheme + "://" + u.Host
}
