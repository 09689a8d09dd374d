package activities

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
)

// DingTalkSign signs a DingTalk custom robot request as its documentation
// specifies: HMAC-SHA256 of "timestamp\nsecret" keyed by the secret,
// base64, then URL-encoded.
func DingTalkSign(timestampMs int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMs, 10) + "\n" + secret))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// dingTalkAt is the "at" object of a DingTalk robot message: who is
// @-mentioned, so that their DingTalk notifies them.
type dingTalkAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

func (at dingTalkAt) any() bool { return at.IsAtAll || len(at.AtMobiles) > 0 || len(at.AtUserIDs) > 0 }

// mentions is the "@…" text DingTalk requires in the message for each
// mobile number and user id of the at object: without it the mention does
// not notify.
func (at dingTalkAt) mentions() string {
	var parts []string
	for _, m := range at.AtMobiles {
		parts = append(parts, "@"+m)
	}
	for _, u := range at.AtUserIDs {
		parts = append(parts, "@"+u)
	}
	return strings.Join(parts, " ")
}

// dingTalkMentioned resolves who a channel mentions (a mobile number may be
// a secret reference), leaving out empty entries.
func dingTalkMentioned(sec *secrets, ch playbooks.DingTalkChannel) (dingTalkAt, error) {
	at := dingTalkAt{IsAtAll: ch.IsAtAll}
	for _, list := range []struct {
		in  []string
		out *[]string
	}{{ch.AtMobiles, &at.AtMobiles}, {ch.AtUserIDs, &at.AtUserIDs}} {
		for _, v := range list.in {
			r, err := sec.resolve(v)
			if err != nil {
				return at, err
			}
			if r = strings.TrimSpace(r); r != "" {
				*list.out = append(*list.out, r)
			}
		}
	}
	return at, nil
}

// sendDingTalk posts a page to a DingTalk robot, signed when the channel has
// a secret; DingTalk answers 200 with errcode != 0 on failure.
//
// Without an ack link the page is a markdown message mentioning the
// channel's people (a notification or a resolve mentions nobody: it calls
// no one). With an ack link, it is an ActionCard whose button
// acknowledges. DingTalk documents the "at" object for text and markdown
// messages only, so when the channel mentions someone an ActionCard is
// followed by a short markdown message that does the mentioning: a page
// must notify the people it is for.
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
	var at dingTalkAt
	if m.Event == "page" && !m.notification {
		// Only a page calls people; a notification informs the group.
		if at, err = dingTalkMentioned(sec, ch); err != nil {
			return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
	}
	bodies, err := dingTalkBodies(m, at)
	if err != nil {
		return "", fmt.Errorf("dingtalk: encode message: %w", err)
	}
	var host string
	for _, body := range bodies {
		if host, err = a.postJSON(ctx, sec, u, nil, "", body, dingTalkCheck); err != nil {
			return host, err
		}
	}
	return host, nil
}

// dingTalkCheck reads DingTalk's answer: errcode 0 is success.
func dingTalkCheck(_ int, answer []byte) error {
	var r struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(answer, &r) == nil && r.ErrCode != 0 {
		return fmt.Errorf("dingtalk errcode %d: %s", r.ErrCode, r.ErrMsg)
	}
	return nil
}

// dingTalkBodies are the robot messages of a page, in the order they are
// sent (see sendDingTalk).
func dingTalkBodies(m pageMessage, at dingTalkAt) ([][]byte, error) {
	text := "### " + m.Title + "\n\n" + m.Text
	if m.AckCommand != "" {
		text += "\n\n`" + m.AckCommand + "`"
	}
	mentions := at.mentions()
	if mentions != "" {
		text += "\n\n" + mentions
	}
	var msgs []map[string]any
	if m.AckURL == "" {
		msgs = append(msgs, map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": m.Title, "text": text}})
	} else {
		msgs = append(msgs, map[string]any{"msgtype": "actionCard", "actionCard": map[string]string{
			"title": m.Title, "text": text, "btnOrientation": "0",
			"singleTitle": "Acknowledge as " + m.Contact, "singleURL": m.AckURL}})
		if at.any() {
			ping := "### " + m.Title + "\n\nPlease acknowledge: [Acknowledge as " + m.Contact + "](" + m.AckURL + ")"
			if mentions != "" {
				ping += "\n\n" + mentions
			}
			msgs = append(msgs, map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": m.Title, "text": ping}})
		}
	}
	out := make([][]byte, 0, len(msgs))
	for _, msg := range msgs {
		if at.any() {
			msg["at"] = at
		}
		b, err := marshalJSON(msg)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
