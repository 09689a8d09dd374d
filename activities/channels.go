package activities

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
)

// slackBody is a Slack incoming-webhook message: text, and a button to
// acknowledge when the page has a link.
func slackBody(m pageMessage) []byte {
	blocks := []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*" + m.Title + "*\n" + m.Text}}}
	if m.AckURL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "style": "primary", "url": m.AckURL,
			"text": map[string]any{"type": "plain_text", "text": "Acknowledge as " + m.Contact}}}})
	}
	if m.AckCommand != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "`" + m.AckCommand + "`"}}})
	}
	b, _ := json.Marshal(map[string]any{"text": m.Title + ": " + m.text(), "blocks": blocks})
	return b
}

// DingTalkSign signs a DingTalk custom robot request as its documentation
// specifies: HMAC-SHA256 of "timestamp\nsecret" keyed by the secret,
// base64, then URL-encoded.
func DingTalkSign(timestampMs int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMs, 10) + "\n" + secret))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// sendDingTalk posts a markdown message to a DingTalk robot, signed when the
// channel has a secret; DingTalk answers 200 with errcode != 0 on failure.
func (a *Activities) sendDingTalk(ctx context.Context, sec *secrets, ch playbooks.DingTalkChannel, m pageMessage) (string, error) {
	u, err := sec.resolve(ch.URL)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	if ch.Secret != "" {
		secret, err := sec.resolve(ch.Secret)
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		ts := a.now().UnixMilli()
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += fmt.Sprintf("%stimestamp=%d&sign=%s", sep, ts, DingTalkSign(ts, secret))
	}
	text := "### " + m.Title + "\n\n" + m.Text
	if m.AckURL != "" {
		text += "\n\n[Acknowledge as " + m.Contact + "](" + m.AckURL + ")"
	}
	if m.AckCommand != "" {
		text += "\n\n`" + m.AckCommand + "`"
	}
	body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": m.Title, "text": text}})
	return a.postJSON(ctx, sec, u, nil, "", body, func(_ int, answer []byte) error {
		var r struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if json.Unmarshal(answer, &r) == nil && r.ErrCode != 0 {
			return fmt.Errorf("dingtalk errcode %d: %s", r.ErrCode, r.ErrMsg)
		}
		return nil
	})
}

// PagerDutyEventsURL is PagerDuty's Events API v2 endpoint.
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

// sendPagerDuty triggers (or resolves) an incident with the drill's dedup key.
func (a *Activities) sendPagerDuty(ctx context.Context, sec *secrets, ch playbooks.PagerDutyChannel, m pageMessage) (string, error) {
	key, err := sec.resolve(ch.RoutingKey)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	action := "trigger"
	if m.Event == "resolve" {
		action = "resolve"
	}
	severity := ch.Severity
	if severity == "" {
		severity = "critical"
	}
	event := map[string]any{"routing_key": key, "event_action": action, "dedup_key": m.DedupKey}
	if action == "trigger" {
		event["payload"] = map[string]any{"summary": m.Title + ": " + m.Text, "source": "drillctl", "severity": severity,
			"custom_details": map[string]any{"drillId": m.DrillID, "step": m.Step, "level": m.Level, "contact": m.Contact}}
		if m.AckURL != "" {
			event["links"] = []any{map[string]string{"href": m.AckURL, "text": "Acknowledge in drillctl"}}
		}
	}
	body, _ := json.Marshal(event)
	target := ch.URL
	if target == "" {
		target = PagerDutyEventsURL
	}
	return a.postJSON(ctx, sec, target, nil, "", body, nil)
}

// sendEmail sends the page over SMTP, with STARTTLS when the server offers
// it. Credentials are sent only over TLS or to a loopback server (as
// net/smtp's PLAIN auth insists).
func (a *Activities) sendEmail(ctx context.Context, sec *secrets, ch playbooks.EmailChannel, contactName string, m pageMessage) (string, error) {
	addr, err := sec.resolve(ch.SMTP)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, temporal.NewNonRetryableApplicationError(fmt.Sprintf("smtp %q: expected host:port", addr), "BadStep", nil)
	}
	to, err := sec.resolve(ch.To)
	if err != nil {
		return addr, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	from := ch.From
	if from == "" {
		h, _ := os.Hostname()
		from = "drillctl@" + h
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return addr, fmt.Errorf("smtp %s: %w", addr, err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return addr, fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return addr, fmt.Errorf("smtp %s: starttls: %w", addr, err)
		}
	}
	if ch.Username != "" {
		user, err := sec.resolve(ch.Username)
		if err != nil {
			return addr, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		pass, err := sec.resolve(ch.Password)
		if err != nil {
			return addr, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		if err := c.Auth(smtp.PlainAuth("", user, pass, host)); err != nil {
			return addr, fmt.Errorf("smtp %s: auth: %s", addr, sec.scrub(err.Error()))
		}
	}
	if err := c.Mail(from); err != nil {
		return addr, fmt.Errorf("smtp %s: MAIL FROM: %w", addr, err)
	}
	if err := c.Rcpt(to); err != nil {
		return addr, fmt.Errorf("smtp %s: RCPT TO: %w", addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return addr, fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	msg := fmt.Sprintf("From: %s\r\nTo: %s <%s>\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, contactName, to, m.Title, a.now().Format(time.RFC1123Z), strings.ReplaceAll(m.text(), "\n", "\r\n"))
	if _, err := w.Write([]byte(msg)); err != nil {
		return addr, fmt.Errorf("smtp %s: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return addr, fmt.Errorf("smtp %s: %w", addr, err)
	}
	return addr, c.Quit()
}
