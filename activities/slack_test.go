package activities

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// slackTexts collects every text a Slack message shows: the top-level text
// and the text of every block and element.
func slackTexts(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "text" {
				out = append(out, s)
				continue
			}
			out = append(out, slackTexts(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, slackTexts(e)...)
		}
	}
	return out
}

func TestSendPage_SlackEscapesTextButKeepsItsLinks(t *testing.T) {
	var c capture
	c.answer = "ok"
	srv := c.serve(t)
	in := pageInput(playbooks.Channel{Slack: &playbooks.SlackChannel{URL: srv.URL + "/services/T0/B0/XXXX"}})
	in.Message = "Failover of <now> & then <!channel> check: load > 80% <https://evil.example|click>"
	in.Playbook = "R&D <chat>"
	_, err := run2(t, pagingActivities(nil), "SendPage", in)
	require.NoError(t, err)
	m := c.json(t, 0)
	texts := slackTexts(m)
	require.NotEmpty(t, texts)
	for _, text := range texts {
		for _, raw := range []string{"<now>", "<!channel>", "<https://evil.example", "<chat>", "R&D"} {
			assert.NotContains(t, text, raw, "text must be escaped: %q", text)
		}
	}
	section := m["blocks"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"].(string)
	assert.Equal(t, "*DR drill R&amp;D &lt;chat&gt;: please acknowledge (level 2)*\n"+
		"Failover of &lt;now&gt; &amp; then &lt;!channel&gt; check: load &gt; 80% &lt;https://evil.example|click&gt;", section)
	top := m["text"].(string)
	assert.Contains(t, top, "&lt;now&gt;")
	assert.Regexp(t, `<http://ack\.example:8234/ack/[^|<>]+\|Acknowledge as bob>`, top, "the ack link stays a link")
	button := m["blocks"].([]any)[1].(map[string]any)["elements"].([]any)[0].(map[string]any)
	assert.True(t, strings.HasPrefix(button["url"].(string), "http://ack.example:8234/ack/"), "a button's url is a URL, not text")
}

func TestNotify_SlackEscapesTitleAndText(t *testing.T) {
	var c capture
	c.answer = "ok"
	srv := c.serve(t)
	to := map[string]playbooks.Contact{"ops": {Name: "Ops", Channels: []playbooks.Channel{{Slack: &playbooks.SlackChannel{URL: srv.URL + "/hook"}}}}}
	res := runNotify(t, pagingActivities(nil), steps.NotifyInput{DrillID: "drill-q4", Playbook: "chat", Event: "finished",
		Title: "DR drill chat: finished", Text: "verdict met: RTO 812s < 4h & RPO 2s < 15m", To: to})
	require.Empty(t, res.Failed)
	m := c.json(t, 0)
	assert.Equal(t, "DR drill chat: finished: verdict met: RTO 812s &lt; 4h &amp; RPO 2s &lt; 15m", m["text"])
}
