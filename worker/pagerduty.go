package worker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/drillctl/drillctl/activities"
	"github.com/drillctl/drillctl/workflows"
)

// PagerDutyWebhook serves PagerDuty's signed v3 webhooks: an
// incident.acknowledged for an incident a drill's page opened acknowledges
// that page, as acknowledging in drillctl would: the escalation stops, the
// response time counts, and the record says who acknowledged in PagerDuty.
// A request whose X-PagerDuty-Signature matches none of secrets is refused.
func PagerDutyWebhook(c Client, secrets []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := activities.VerifyPagerDutyWebhook(body, r.Header.Get("X-PagerDuty-Signature"), secrets); err != nil {
			http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
		key, by, _, ok, err := activities.ParsePagerDutyAck(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusNoContent) // another event: nothing to do
			return
		}
		drill, step, level, ok := ParseDedupKey(key)
		if !ok {
			w.WriteHeader(http.StatusNoContent) // not an incident drillctl opened
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		_, err = Ack(ctx, c, drill, step, workflows.AckInput{Via: "pagerduty", Channel: "pagerduty", Level: level, External: by})
		if err != nil {
			http.Error(w, fmt.Sprintf("acknowledge %s of %s: %v", step, drill, err), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// ParseDedupKey reads the drill, page step and escalation level of a
// PagerDuty dedup key drillctl made (activities.PageDedupKey).
func ParseDedupKey(key string) (drill, step string, level int, ok bool) {
	i := strings.LastIndex(key, "/level-")
	if i < 0 {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(key[i+len("/level-"):])
	if err != nil || n < 1 {
		return "", "", 0, false
	}
	j := strings.LastIndex(key[:i], "/")
	if j <= 0 {
		return "", "", 0, false
	}
	return key[:j], key[j+1 : i], n, true
}
