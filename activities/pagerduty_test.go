package activities

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// obj is a JSON object inside a decoded body, or a failed test.
func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "expected a JSON object, got %#v", v)
	return m
}

func pagerDutyChannel(url string) playbooks.Channel {
	return playbooks.Channel{PagerDuty: &playbooks.PagerDutyChannel{RoutingKey: "${env:PD_KEY}", URL: url}}
}

func pagerDutyActivities() *Activities {
	return pagingActivities(map[string]string{"PD_KEY": "R0UT1NGKEY"})
}

func acceptedCapture(t *testing.T) (*capture, string) {
	c := &capture{status: http.StatusAccepted, answer: `{"status":"success","message":"Event processed"}`}
	return c, c.serve(t).URL
}

// runNotify runs the Notify activity with its contacts' channels rendered
// as the workflow renders them.
func runNotify(t *testing.T, a *Activities, in steps.NotifyInput) *steps.NotifyResult {
	t.Helper()
	for name, c := range in.To {
		rendered, err := playbooks.Render(c, playbooks.TemplateData{})
		require.NoError(t, err)
		in.To[name] = rendered
	}
	v, err := newActivityEnv(a).ExecuteActivity("Notify", in)
	require.NoError(t, err)
	var res steps.NotifyResult
	require.NoError(t, v.Get(&res))
	return &res
}

func TestNotify_PagerDutyGetsChangeEventsNotIncidents(t *testing.T) {
	c, url := acceptedCapture(t)
	to := map[string]playbooks.Contact{"alice": {Name: "Alice Chan", Channels: []playbooks.Channel{pagerDutyChannel(url + "/v2/enqueue")}}}
	a := pagerDutyActivities()
	for _, in := range []steps.NotifyInput{
		{DrillID: "drill-q4", Playbook: "chat", Event: "started", Title: "DR drill chat: started", Text: "the drill started", To: to},
		{DrillID: "drill-q4", Playbook: "chat", Event: "finished", Title: "DR drill chat: finished", Text: "verdict met", To: to},
		{DrillID: "drill-q4", Playbook: "chat", Step: "tell", Event: "notify", Title: "DR drill chat: tell", Text: "failover in 5 minutes", To: to},
	} {
		res := runNotify(t, a, in)
		require.Empty(t, res.Failed)
		require.Len(t, res.Sent, 1)
	}
	require.Len(t, c.requests, 3)
	for i, event := range []string{"started", "finished", "notify"} {
		assert.Equal(t, "/v2/change/enqueue", c.requests[i].URL.Path, "a notification is a change event")
		m := c.json(t, i)
		assert.Equal(t, "R0UT1NGKEY", m["routing_key"])
		for _, incidentField := range []string{"event_action", "dedup_key"} {
			assert.NotContains(t, m, incidentField, "a change event never opens an incident")
		}
		p := obj(t, m["payload"])
		assert.NotContains(t, p, "severity")
		assert.Equal(t, "drillctl", p["source"])
		assert.Contains(t, p["summary"], "DR drill chat")
		ts, _ := p["timestamp"].(string)
		_, err := time.Parse(time.RFC3339, ts)
		assert.NoError(t, err, "timestamp %q", ts)
		details := obj(t, p["custom_details"])
		assert.Equal(t, event, details["event"])
		assert.Equal(t, "drill-q4", details["drillId"])
	}
	assert.Contains(t, obj(t, c.json(t, 1)["payload"])["summary"], "verdict met")
	assert.Equal(t, "tell", obj(t, obj(t, c.json(t, 2)["payload"])["custom_details"])["step"])
}

func TestSendPage_PagerDutyEachLevelIsItsOwnIncident(t *testing.T) {
	c, url := acceptedCapture(t)
	a := pagerDutyActivities()
	page := func(level int, event string) {
		in := pageInput(pagerDutyChannel(url + "/v2/enqueue"))
		in.Level, in.Event = level, event
		_, err := run2(t, a, "SendPage", in)
		require.NoError(t, err)
	}
	page(1, "")
	page(2, "")
	page(2, "resolve")
	page(1, "resolve")
	require.Len(t, c.requests, 4)
	l1, l2 := c.json(t, 0), c.json(t, 1)
	assert.Equal(t, "trigger", l1["event_action"])
	assert.Equal(t, "trigger", l2["event_action"])
	assert.NotEqual(t, l1["dedup_key"], l2["dedup_key"], "the successor's page must not fold into the first level's incident")
	assert.Equal(t, "drill-q4/page/level-1", l1["dedup_key"])
	assert.Equal(t, "drill-q4/page/level-2", l2["dedup_key"])
	assert.Equal(t, "critical", obj(t, l2["payload"])["severity"], "a page is an incident")
	r2, r1 := c.json(t, 2), c.json(t, 3)
	assert.Equal(t, "resolve", r2["event_action"])
	assert.Equal(t, l2["dedup_key"], r2["dedup_key"], "a resolve closes its own level's incident")
	assert.Equal(t, l1["dedup_key"], r1["dedup_key"])
}

func TestSendPage_PagerDutyResolveIsIdempotentAndNeedsALevel(t *testing.T) {
	c, url := acceptedCapture(t)
	a := pagerDutyActivities()
	in := pageInput(pagerDutyChannel(url + "/v2/enqueue"))
	in.Level, in.Event = 3, "resolve"
	for range 2 {
		res, err := run2(t, a, "SendPage", in)
		require.NoError(t, err)
		assert.False(t, res.AckURL, "a resolve carries no ack link")
	}
	require.Len(t, c.bodies, 2)
	assert.JSONEq(t, string(c.bodies[0]), string(c.bodies[1]), "resolving twice sends the same event")
	assert.Equal(t, map[string]any{"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "drill-q4/page/level-3"}, c.json(t, 0))

	in.Level = 0
	_, err := run2(t, a, "SendPage", in)
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.True(t, app.NonRetryable())
	assert.Len(t, c.bodies, 2, "nothing is sent for a resolve without a level")
}

func TestSendPage_PagerDutyInvalidEventIsNotRetried(t *testing.T) {
	c := &capture{status: http.StatusBadRequest,
		answer: `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`}
	url := c.serve(t).URL
	_, err := run2(t, pagerDutyActivities(), "SendPage", pageInput(pagerDutyChannel(url+"/v2/enqueue")))
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.True(t, app.NonRetryable(), "PagerDuty says not to retry a 400: %v", err)
	assert.Equal(t, ErrPagerDutyRefused, app.Type())
	assert.Contains(t, err.Error(), "Event object is invalid")
	assert.Contains(t, err.Error(), "Length of 'routing_key' is incorrect")
	assert.NotContains(t, err.Error(), "R0UT1NGKEY")
}

func TestSendPage_PagerDutyRateLimitAndServerErrorsAreRetried(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway} {
		c := &capture{status: status, answer: `{"status":"throttle event","message":"Requests for this service are arriving too quickly"}`}
		url := c.serve(t).URL
		_, err := run2(t, pagerDutyActivities(), "SendPage", pageInput(pagerDutyChannel(url+"/v2/enqueue")))
		require.Error(t, err, "status %d", status)
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			assert.False(t, app.NonRetryable(), "status %d must stay retryable: %v", status, err)
		}
	}
}

func TestPageDedupKey_OnePerLevelAndWithinPagerDutysLimit(t *testing.T) {
	assert.Equal(t, "drill-chat-1/page/level-1", PageDedupKey("drill-chat-1", "page", 1))
	long := "drill-" + strings.Repeat("a-very-long-playbook-name-", 12) + "6f1c0a9e-8d7b-4c2a-9f3e-1b2c3d4e5f60"
	k1, k2 := PageDedupKey(long, "page", 1), PageDedupKey(long, "page", 2)
	assert.LessOrEqual(t, len(k1), 255)
	assert.LessOrEqual(t, len(k2), 255)
	assert.NotEqual(t, k1, k2)
	assert.Equal(t, k1, PageDedupKey(long, "page", 1), "the same level always has the same key")
}

func TestPagerDutyChangeURL_SitsBesideTheEventsEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		PagerDutyEventsURL:                           PagerDutyChangeURL,
		"https://events.eu.pagerduty.com/v2/enqueue": "https://events.eu.pagerduty.com/v2/change/enqueue",
		"https://events.eu.pagerduty.com":            "https://events.eu.pagerduty.com/v2/change/enqueue",
		"https://proxy.example/pd/v2/change/enqueue": "https://proxy.example/pd/v2/change/enqueue",
		"http://127.0.0.1:9000/v2/enqueue?token=k":   "http://127.0.0.1:9000/v2/change/enqueue?token=k",
	} {
		assert.Equal(t, want, pagerDutyChangeURL(in), in)
	}
}
