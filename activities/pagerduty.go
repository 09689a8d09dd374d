package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
)

// PagerDuty's Events API v2 endpoints: alert events (trigger, resolve) and
// change events.
const (
	PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"
	PagerDutyChangeURL = "https://events.pagerduty.com/v2/change/enqueue"
)

// ErrPagerDutyRefused is the error type of an event PagerDuty refused as
// invalid (400). PagerDuty says not to retry it: the same event would be
// refused again.
const ErrPagerDutyRefused = "PagerDutyRefused"

// PagerDuty's documented limits.
const (
	pagerDutySummaryMax  = 1024 // characters of payload.summary
	pagerDutyDedupKeyMax = 255  // characters of dedup_key
)

// PageDedupKey is the PagerDuty dedup key (the incident) of one escalation
// level of a page step.
//
// Each level is its own incident: the key carries the level. With one key
// per step, PagerDuty folded the successor's page into the first level's
// open incident (a trigger on an open dedup key only adds a log entry), so
// the successor was never notified. A level paged again in a later round
// re-triggers its own incident: while it is open PagerDuty's own escalation
// policy keeps notifying, and once resolved a new incident is opened. A
// resolve for a level uses that level's key, so it closes exactly the
// incident that level opened.
func PageDedupKey(drillID, step string, level int) string {
	key := fmt.Sprintf("%s/%s/level-%d", drillID, step, level)
	if len(key) <= pagerDutyDedupKeyMax {
		return key
	}
	// Too long for PagerDuty: keep a readable prefix and make it unique
	// with a digest of the whole key (the same input, the same key).
	sum := sha256.Sum256([]byte(key))
	digest := hex.EncodeToString(sum[:])
	return key[:pagerDutyDedupKeyMax-len(digest)-1] + "~" + digest
}

// sendPagerDuty sends a message to PagerDuty's Events API v2. A page
// triggers an incident (one per escalation level, see PageDedupKey), a
// resolve resolves the level's incident, and a notification (drill started,
// finished, a notify step) is a change event: context for responders, which
// never raises an incident nor notifies anyone.
func (a *Activities) sendPagerDuty(ctx context.Context, sec *secrets, ch playbooks.PagerDutyChannel, m pageMessage) (string, error) {
	key, err := sec.resolve(ch.RoutingKey)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	target, err := sec.resolve(ch.URL)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	if target == "" {
		target = PagerDutyEventsURL
	}
	var event map[string]any
	switch {
	case m.notification:
		target = pagerDutyChangeURL(target)
		event = pagerDutyChangeEvent(key, m)
	case m.Event == "resolve":
		event = map[string]any{"routing_key": key, "event_action": "resolve", "dedup_key": m.DedupKey}
	default:
		event = pagerDutyTrigger(key, ch.Severity, m)
	}
	body, err := json.Marshal(event)
	if err != nil {
		return "", fmt.Errorf("pagerduty: encode event: %w", err)
	}
	host, err := a.postJSON(ctx, sec, target, nil, "", body, nil)
	var se *statusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest {
		return host, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("pagerduty %s refused the event as invalid (400, not retried): %s", host, pagerDutyErrorText(se.Body)),
			ErrPagerDutyRefused, nil)
	}
	return host, err
}

// pagerDutyTrigger is the alert event of a page: it opens (or re-triggers)
// the incident of the page's level.
func pagerDutyTrigger(key, severity string, m pageMessage) map[string]any {
	if severity == "" {
		severity = "critical"
	}
	event := map[string]any{
		"routing_key": key, "event_action": "trigger", "dedup_key": m.DedupKey, "client": "drillctl",
		"payload": map[string]any{
			"summary":   truncateRunes(m.Title+": "+m.Text, pagerDutySummaryMax),
			"source":    "drillctl",
			"severity":  severity,
			"timestamp": pagerDutyTime(m.SentAt),
			"component": m.Playbook,
			"class":     "dr-drill-page",
			"custom_details": map[string]any{"drillId": m.DrillID, "playbook": m.Playbook, "step": m.Step,
				"level": m.Level, "contact": m.Contact, "acknowledge": m.AckCommand},
		},
	}
	if links := pagerDutyLinks(m); links != nil {
		event["links"] = links
	}
	return event
}

// pagerDutyChangeEvent is the change event of a notification.
func pagerDutyChangeEvent(key string, m pageMessage) map[string]any {
	summary := m.Title
	if m.Text != "" {
		summary += ": " + m.Text
	}
	details := map[string]any{"drillId": m.DrillID, "playbook": m.Playbook, "event": m.Event}
	if m.Step != "" {
		details["step"] = m.Step
	}
	event := map[string]any{
		"routing_key": key,
		"payload": map[string]any{
			"summary":        truncateRunes(summary, pagerDutySummaryMax),
			"source":         "drillctl",
			"timestamp":      pagerDutyTime(m.SentAt),
			"custom_details": details,
		},
	}
	if links := pagerDutyLinks(m); links != nil {
		event["links"] = links
	}
	return event
}

// pagerDutyLinks are the links an event carries: the one-click
// acknowledgement, when the message has one.
func pagerDutyLinks(m pageMessage) []any {
	if m.AckURL == "" {
		return nil
	}
	return []any{map[string]string{"href": m.AckURL, "text": "Acknowledge in drillctl"}}
}

// pagerDutyChangeURL is the change-events endpoint beside an alert-events
// endpoint: …/v2/enqueue becomes …/v2/change/enqueue (a regional or proxied
// endpoint keeps its host); a URL already naming the change endpoint, or a
// bare host, gets the documented path.
func pagerDutyChangeURL(eventsURL string) string {
	u, err := url.Parse(eventsURL)
	if err != nil || u.Host == "" {
		return eventsURL // postJSON reports the unusable URL
	}
	switch p := strings.TrimRight(u.Path, "/"); {
	case strings.HasSuffix(p, "/change/enqueue"):
	case strings.HasSuffix(p, "/enqueue"):
		u.Path = strings.TrimSuffix(p, "/enqueue") + "/change/enqueue"
	default:
		u.Path = p + "/v2/change/enqueue"
	}
	return u.String()
}

// pagerDutyErrorText is PagerDuty's explanation of a refused event: its
// message and the errors it lists, or the answer as it came.
func pagerDutyErrorText(body string) string {
	var r struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &r) != nil || (r.Message == "" && len(r.Errors) == 0) {
		return truncate(strings.TrimSpace(body), 500)
	}
	text := r.Message
	if text == "" {
		text = r.Status
	}
	if len(r.Errors) > 0 {
		text += ": " + strings.Join(r.Errors, "; ")
	}
	return truncate(text, 500)
}

// pagerDutyTime is an instant as PagerDuty's timestamps are written
// (ISO 8601, milliseconds, UTC).
func pagerDutyTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// truncateRunes cuts s to at most n characters (not bytes), marking the cut.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
