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
	AckURL   string `json:"ackUrl,omitempty"`
	Severity string `json:"severity,omitempty"`
	// DedupKey names the incident a page belongs to: one per escalation
	// level of a page step (see PageDedupKey).
	DedupKey string    `json:"dedupKey,omitempty"`
	SentAt   time.Time `json:"sentAt"`
	// notification marks a message of Notify (a lifecycle event or a
	// notify step), which informs and never asks for an acknowledgement:
	// PagerDuty records it as a change event, not an incident.
	notification bool
}

// SendPage sends one page to one channel of one contact. SentAt, the start
// of the response-time clock, is taken just before the page goes out.
func (a *Activities) SendPage(ctx context.Context, in steps.PageInput) (*steps.PageResult, error) {
	event := in.Event
	if event == "" {
		event = "page"
	}
	if event == "resolve" && in.Level < 1 {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("resolve of page step %q: the escalation level whose incident to resolve is missing (level %d)", in.Step, in.Level),
			"BadStep", nil)
	}
	msg := pageMessage{
		DrillID: in.DrillID, Playbook: in.Playbook, Step: in.Step, Event: event, Level: in.Level, Contact: in.Contact,
		Title:      fmt.Sprintf("DR drill %s: please acknowledge (level %d)", in.Playbook, in.Level),
		Text:       in.Message,
		AckCommand: fmt.Sprintf("drillctl drill ack %s --step %s --as %s", in.DrillID, in.Step, in.Contact),
		DedupKey:   PageDedupKey(in.DrillID, in.Step, in.Level),
	}
	if event == "resolve" {
		// Resolving is idempotent: the same level gives the same key, and
		// PagerDuty drops a resolve for an incident already resolved.
		msg.Title, msg.AckCommand = fmt.Sprintf("DR drill %s: acknowledged", in.Playbook), ""
	} else if len(a.AckKey) > 0 && a.AckBaseURL != "" {
		msg.AckURL = acklink.URL(a.AckBaseURL, acklink.Sign(a.AckKey, acklink.Token{
			DrillID: in.DrillID, Step: in.Step, Contact: in.Contact, Level: in.Level, Expires: in.AckExpires,
			Channel: channelKind(in.Channel)}))
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
				Contact: name, Title: in.Title, Text: in.Text, notification: true}
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
		return host, &statusError{Host: host, Status: resp.StatusCode, Body: sec.scrub(strings.TrimSpace(string(answer)))}
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

// statusError is an endpoint's answer with a status other than 2xx. Its
// text names only the host (paths and queries may carry tokens) and the
// start of the answer; Body holds the whole answer (scrubbed, at most
// 64 KiB), for a channel that reads the endpoint's explanation.
type statusError struct {
	Host   string
	Status int
	Body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.Host, e.Status, truncate(e.Body, 200))
}

// marshalJSON encodes v as JSON leaving "&", "<" and ">" as they are
// (json.Marshal writes them as \u0026…, which endpoints decode alike but
// people reading a captured request do not).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
