package activities

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PagerDuty v3 webhooks tell drillctl when someone acknowledged one of its
// incidents in PagerDuty. These functions are what an ack endpoint needs:
// check that a delivery came from PagerDuty, then read the acknowledgement.

// PagerDutySignatureHeader is the header a PagerDuty v3 webhook delivery
// carries its signatures in.
const PagerDutySignatureHeader = "X-PagerDuty-Signature"

// Errors of VerifyPagerDutyWebhook. PagerDuty advises answering a delivery
// with a missing or malformed signature 400, and one whose signature does
// not match 403, so that it is not redelivered.
var (
	ErrPagerDutyNoSignature  = errors.New("pagerduty webhook: X-PagerDuty-Signature is missing or has no v1 signature")
	ErrPagerDutyBadSignature = errors.New("pagerduty webhook: no signature matches")
)

// VerifyPagerDutyWebhook checks a PagerDuty v3 webhook delivery as
// PagerDuty documents it: the X-PagerDuty-Signature header holds one or more
// comma-separated signatures (several while a secret is being rotated); a
// v1 signature is "v1=" and the hex HMAC-SHA256 of the raw body keyed by a
// subscription's secret. The delivery is authentic when any v1 signature
// matches any of the given secrets. body must be the request body exactly
// as received. Comparisons are constant-time.
func VerifyPagerDutyWebhook(body []byte, signatureHeader string, secrets []string) error {
	var given [][]byte
	for _, part := range strings.Split(signatureHeader, ",") {
		sig, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue // another version: not ours to check
		}
		b, err := hex.DecodeString(sig)
		if err != nil || len(b) != sha256.Size {
			continue
		}
		given = append(given, b)
	}
	if len(given) == 0 {
		return ErrPagerDutyNoSignature
	}
	usable := false
	for _, secret := range secrets {
		if secret == "" {
			continue // an unset secret must never verify anything
		}
		usable = true
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, g := range given {
			if hmac.Equal(want, g) {
				return nil
			}
		}
	}
	if !usable {
		return fmt.Errorf("pagerduty webhook: no signing secret configured: %w", ErrPagerDutyBadSignature)
	}
	return ErrPagerDutyBadSignature
}

// pagerDutyWebhook is the part of a v3 webhook payload an acknowledgement
// needs.
type pagerDutyWebhook struct {
	Event *struct {
		ID         string    `json:"id"`
		EventType  string    `json:"event_type"`
		OccurredAt time.Time `json:"occurred_at"`
		Agent      *struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Summary string `json:"summary"`
		} `json:"agent"`
		Data *struct {
			Type        string `json:"type"`
			IncidentKey string `json:"incident_key"`
		} `json:"data"`
	} `json:"event"`
}

// ParsePagerDutyAck reads a PagerDuty v3 webhook payload. For an
// incident.acknowledged event it returns the incident's key (for incidents
// drillctl opened through the Events API, the dedup key it sent: see
// PageDedupKey), who acknowledged (the event's agent: the user's name, or
// its id when PagerDuty gives no name) and when; ok is false for any other
// event, which the caller should accept and ignore. err reports a payload
// that is not a v3 webhook, or an acknowledgement lacking what it needs.
// Verify the delivery with VerifyPagerDutyWebhook first.
func ParsePagerDutyAck(body []byte) (incidentKey, by string, at time.Time, ok bool, err error) {
	var w pagerDutyWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return "", "", time.Time{}, false, fmt.Errorf("pagerduty webhook: %w", err)
	}
	if w.Event == nil {
		return "", "", time.Time{}, false, errors.New("pagerduty webhook: no event object: not a v3 webhook payload")
	}
	e := w.Event
	if e.EventType != "incident.acknowledged" {
		return "", "", time.Time{}, false, nil
	}
	if e.Data == nil || e.Data.IncidentKey == "" {
		return "", "", time.Time{}, false, fmt.Errorf("pagerduty webhook: event %s: incident.acknowledged without data.incident_key", e.ID)
	}
	if e.OccurredAt.IsZero() {
		return "", "", time.Time{}, false, fmt.Errorf("pagerduty webhook: event %s: incident.acknowledged without occurred_at", e.ID)
	}
	if e.Agent != nil {
		by = strings.TrimSpace(e.Agent.Summary)
		if by == "" {
			by = e.Agent.ID
		}
	}
	if by == "" {
		return "", "", time.Time{}, false, fmt.Errorf("pagerduty webhook: event %s: incident.acknowledged without an agent", e.ID)
	}
	return e.Data.IncidentKey, by, e.OccurredAt.UTC(), true, nil
}
