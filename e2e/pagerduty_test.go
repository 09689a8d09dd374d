package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
)

// An acknowledgement made in PagerDuty's own app reaches the drill through
// PagerDuty's signed v3 webhook: the escalation stops, the response time
// counts, the record says who acknowledged in PagerDuty, the incident is
// resolved; an unsigned webhook changes nothing.
func TestPagerDuty_AnAckInPagerDutysAppAcknowledgesThePage(t *testing.T) {
	t.Setenv("E2E_PD_KEY", "routing-key-123")
	var mu sync.Mutex
	var events []map[string]any
	pd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		_ = json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"status":"success"}`)
	}))
	t.Cleanup(pd.Close)
	startWorker(t)
	const secret = "pd-webhook-secret"
	hook := httptest.NewServer(worker.PagerDutyWebhook(dialServer(t), []string{secret}))
	t.Cleanup(hook.Close)

	pb := fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-pagerduty}
targets: {response: 15m}
contacts:
  alice: {name: Alice Chan, channels: [{pagerduty: {routingKey: "${env:E2E_PD_KEY}", url: "%s/v2/enqueue"}}]}
escalation:
  admins: {levels: [{contacts: [alice], ackTimeout: 10m}]}
steps:
  - {id: page, type: page, escalation: admins}
  - {id: after, type: wait, needs: [page], duration: 10ms}
`, pd.URL)
	start := drillctl(t, "drill", "run", writePlaybook(t, pb), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)

	var key string
	for deadline := time.Now().Add(30 * time.Second); key == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		for _, e := range events {
			if e["event_action"] == "trigger" {
				key, _ = e["dedup_key"].(string)
			}
		}
		mu.Unlock()
	}
	require.NotEmpty(t, key, "the page opened a PagerDuty incident")

	body, err := json.Marshal(map[string]any{"event": map[string]any{
		"id": "01ABC", "event_type": "incident.acknowledged", "occurred_at": time.Now().UTC().Format(time.RFC3339),
		"agent": map[string]any{"id": "PUSER1", "type": "user_reference", "summary": "Alice Chan"},
		"data":  map[string]any{"type": "incident", "incident_key": key},
	}})
	require.NoError(t, err)
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, hook.URL, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("X-PagerDuty-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, post(""), "an unsigned webhook is refused")
	assert.Equal(t, http.StatusUnauthorized, post("v1=00"), "a badly signed one too")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	assert.Equal(t, http.StatusNoContent, post("v1="+hex.EncodeToString(mac.Sum(nil))))

	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr+res.stdout)
	rec := decodeRecord(t, res)
	require.Len(t, rec.Acks, 1)
	a := rec.Acks[0]
	assert.Equal(t, "alice", a.By)
	assert.Equal(t, "pagerduty", a.Via)
	assert.Equal(t, "Alice Chan", a.External)
	assert.Equal(t, evidence.VerdictMet, rec.Measures.Response.Verdict, "the response time counts")
	mu.Lock()
	defer mu.Unlock()
	resolved := false
	for _, e := range events {
		resolved = resolved || (e["event_action"] == "resolve" && e["dedup_key"] == key)
	}
	assert.True(t, resolved, "the incident was resolved in PagerDuty")
}
