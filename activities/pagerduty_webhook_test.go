package activities

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagerDutyAckPayload is an incident.acknowledged delivery shaped as
// PagerDuty's v3 webhook documentation shows its payloads (event, agent,
// client, data of type incident), for an incident drillctl opened.
const pagerDutyAckPayload = `{
  "event": {
    "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
    "event_type": "incident.acknowledged",
    "resource_type": "incident",
    "occurred_at": "2026-11-23T09:03:22.169Z",
    "agent": {
      "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
      "id": "PLH1HKV",
      "self": "https://api.pagerduty.com/users/PLH1HKV",
      "summary": "Bob Lee",
      "type": "user_reference"
    },
    "client": {"name": "PagerDuty"},
    "data": {
      "id": "PGR0VU2",
      "type": "incident",
      "self": "https://api.pagerduty.com/incidents/PGR0VU2",
      "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
      "number": 2,
      "status": "acknowledged",
      "incident_key": "drill-q4/page/level-2",
      "created_at": "2026-11-23T09:01:27Z",
      "title": "DR drill chat: please acknowledge (level 2): Drill starting",
      "service": {"id": "PF9KMXH", "summary": "DR drills", "type": "service_reference"},
      "assignees": [{"id": "PTUXL6G", "summary": "Bob Lee", "type": "user_reference"}],
      "escalation_policy": {"id": "PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"},
      "teams": [],
      "priority": null,
      "urgency": "high",
      "conference_bridge": null,
      "resolve_reason": null
    }
  }
}`

func pdSign(body, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyPagerDutyWebhook_AnySignatureOfAnySecretVerifies(t *testing.T) {
	body := pagerDutyAckPayload
	// During a rotation PagerDuty signs with both secrets, comma-separated.
	header := pdSign(body, "old-secret") + "," + pdSign(body, "new-secret")
	assert.NoError(t, VerifyPagerDutyWebhook([]byte(body), header, []string{"new-secret"}))
	assert.NoError(t, VerifyPagerDutyWebhook([]byte(body), header, []string{"unrelated", "old-secret"}))
	assert.NoError(t, VerifyPagerDutyWebhook([]byte(body), " "+pdSign(body, "s")+" ", []string{"s"}))
	assert.NoError(t, VerifyPagerDutyWebhook([]byte(body), "v2=abcd,"+pdSign(body, "s"), []string{"s"}), "unknown versions are skipped")
}

func TestVerifyPagerDutyWebhook_RefusesWhatPagerDutyDidNotSign(t *testing.T) {
	body := pagerDutyAckPayload
	good := pdSign(body, "secret")
	tampered := strings.Replace(body, "Bob Lee", "Mallory", 1)
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(tampered), good, []string{"secret"}), ErrPagerDutyBadSignature)
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(body), good, []string{"another"}), ErrPagerDutyBadSignature)
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(body), good, nil), ErrPagerDutyBadSignature)
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(body), good, []string{""}), ErrPagerDutyBadSignature, "an unset secret verifies nothing")
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(body), "", []string{"secret"}), ErrPagerDutyNoSignature)
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(body), "v1=nothex", []string{"secret"}), ErrPagerDutyNoSignature)
	assert.ErrorIs(t, VerifyPagerDutyWebhook([]byte(body), strings.TrimPrefix(good, "v1="), []string{"secret"}), ErrPagerDutyNoSignature)
}

func TestParsePagerDutyAck_SaysWhichIncidentWhoAndWhen(t *testing.T) {
	key, by, at, ok, err := ParsePagerDutyAck([]byte(pagerDutyAckPayload))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, PageDedupKey("drill-q4", "page", 2), key, "the incident key is the dedup key drillctl sent")
	assert.Equal(t, "Bob Lee", by)
	assert.Equal(t, time.Date(2026, 11, 23, 9, 3, 22, 169000000, time.UTC), at)

	noName := strings.Replace(pagerDutyAckPayload, `"summary": "Bob Lee",
      "type": "user_reference"`, `"type": "user_reference"`, 1)
	_, by, _, ok, err = ParsePagerDutyAck([]byte(noName))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "PLH1HKV", by, "without a name, the agent's id")
}

func TestParsePagerDutyAck_OtherEventsAreIgnoredAndGarbageIsAnError(t *testing.T) {
	triggered := strings.Replace(pagerDutyAckPayload, "incident.acknowledged", "incident.triggered", 1)
	_, _, _, ok, err := ParsePagerDutyAck([]byte(triggered))
	require.NoError(t, err)
	assert.False(t, ok)

	for name, body := range map[string]string{
		"not json":   "<html>",
		"no event":   `{"messages":[]}`,
		"no key":     strings.Replace(pagerDutyAckPayload, `"incident_key": "drill-q4/page/level-2",`, "", 1),
		"no agent":   strings.Replace(pagerDutyAckPayload, `"agent": {`, `"agent": null, "x": {`, 1),
		"no instant": strings.Replace(pagerDutyAckPayload, `"occurred_at": "2026-11-23T09:03:22.169Z",`, "", 1),
	} {
		_, _, _, ok, err := ParsePagerDutyAck([]byte(body))
		assert.Error(t, err, name)
		assert.False(t, ok, name)
	}
}
