package activities

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

func dingTalkCapture(t *testing.T) (*capture, string) {
	c := &capture{answer: `{"errcode":0,"errmsg":"ok"}`}
	return c, c.serve(t).URL + "/robot/send?access_token=tok-777"
}

func TestSendPage_DingTalkMentionsGoInAtAndInTheText(t *testing.T) {
	c, url := dingTalkCapture(t)
	a := newActivities(map[string]string{"ONCALL_MOBILE": "13911112222"}) // no ack links: a markdown page
	_, err := run2(t, a, "SendPage", pageInput(playbooks.Channel{DingTalk: &playbooks.DingTalkChannel{URL: url,
		AtMobiles: []string{"13800000000", "${env:ONCALL_MOBILE}"}, AtUserIDs: []string{"user123"}}}))
	require.NoError(t, err)
	require.Len(t, c.requests, 1)
	m := c.json(t, 0)
	assert.Equal(t, "markdown", m["msgtype"])
	assert.Equal(t, map[string]any{"atMobiles": []any{"13800000000", "13911112222"}, "atUserIds": []any{"user123"}}, m["at"])
	text := fmt.Sprint(obj(t, m["markdown"])["text"])
	for _, mention := range []string{"@13800000000", "@13911112222", "@user123"} {
		assert.Contains(t, text, mention, "DingTalk notifies only those @-mentioned in the text too")
	}
}

func TestSendPage_DingTalkAtAll(t *testing.T) {
	c, url := dingTalkCapture(t)
	_, err := run2(t, newActivities(nil), "SendPage", pageInput(playbooks.Channel{DingTalk: &playbooks.DingTalkChannel{URL: url, IsAtAll: true}}))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"isAtAll": true}, c.json(t, 0)["at"])
}

func TestSendPage_DingTalkAckLinkIsAnActionCardButton(t *testing.T) {
	c, url := dingTalkCapture(t)
	_, err := run2(t, pagingActivities(nil), "SendPage", pageInput(playbooks.Channel{DingTalk: &playbooks.DingTalkChannel{URL: url}}))
	require.NoError(t, err)
	require.Len(t, c.requests, 1, "nobody to mention: the card alone")
	m := c.json(t, 0)
	assert.Equal(t, "actionCard", m["msgtype"])
	assert.NotContains(t, m, "at")
	card := obj(t, m["actionCard"])
	assert.Equal(t, "DR drill chat: please acknowledge (level 2)", card["title"])
	assert.Contains(t, card["text"], "Drill starting")
	assert.Equal(t, "Acknowledge as bob", card["singleTitle"])
	assert.True(t, strings.HasPrefix(fmt.Sprint(card["singleURL"]), "http://ack.example:8234/ack/"))
}

func TestSendPage_DingTalkActionCardThatMentionsAlsoPings(t *testing.T) {
	c, url := dingTalkCapture(t)
	_, err := run2(t, pagingActivities(nil), "SendPage", pageInput(playbooks.Channel{DingTalk: &playbooks.DingTalkChannel{URL: url,
		AtMobiles: []string{"13800000000"}}}))
	require.NoError(t, err)
	require.Len(t, c.requests, 2)
	card, ping := c.json(t, 0), c.json(t, 1)
	assert.Equal(t, "actionCard", card["msgtype"])
	assert.Equal(t, map[string]any{"atMobiles": []any{"13800000000"}}, card["at"])
	assert.Contains(t, obj(t, card["actionCard"])["text"], "@13800000000")
	// DingTalk documents "at" for text and markdown messages: the mention
	// that notifies is a markdown message.
	assert.Equal(t, "markdown", ping["msgtype"])
	assert.Equal(t, map[string]any{"atMobiles": []any{"13800000000"}}, ping["at"])
	text := fmt.Sprint(obj(t, ping["markdown"])["text"])
	assert.Contains(t, text, "@13800000000")
	assert.Contains(t, text, "(http://ack.example:8234/ack/")
}

func TestNotify_DingTalkNotificationsMentionNobody(t *testing.T) {
	c, url := dingTalkCapture(t)
	to := map[string]playbooks.Contact{"bob": {Name: "Bob Lee", Channels: []playbooks.Channel{{DingTalk: &playbooks.DingTalkChannel{URL: url,
		AtMobiles: []string{"13800000000"}, IsAtAll: true}}}}}
	res := runNotify(t, newActivities(nil), steps.NotifyInput{DrillID: "drill-q4", Playbook: "chat", Event: "finished",
		Title: "DR drill chat: finished", Text: "verdict met", To: to})
	require.Empty(t, res.Failed)
	require.Len(t, c.requests, 1)
	m := c.json(t, 0)
	assert.Equal(t, "markdown", m["msgtype"])
	assert.NotContains(t, m, "at", "a notification informs; only a page calls people")
	assert.NotContains(t, fmt.Sprint(obj(t, m["markdown"])["text"]), "@13800000000")
}
