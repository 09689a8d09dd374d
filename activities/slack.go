package activities

import "strings"

// slackEscaper escapes the three characters Slack parses as control
// characters in message text (its formatting reference: "&", "<" and ">"
// become HTML entities, and nothing else is entity-encoded).
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape makes text show in Slack as written: a "<now>" or a
// "<!channel>" in a message is text, never a mention or a link.
func slackEscape(text string) string { return slackEscaper.Replace(text) }

// slackLink is a link in Slack's <url|text> form, both parts escaped; a "|"
// in the URL, which would end it early, is percent-encoded.
func slackLink(rawURL, text string) string {
	return "<" + slackEscape(strings.ReplaceAll(rawURL, "|", "%7C")) + "|" + slackEscape(text) + ">"
}

// slackBody is a Slack incoming-webhook message: a section with the title
// and text, a button to acknowledge when the page has a link, and the
// command to acknowledge from a terminal. Every text built here is escaped;
// only the links drillctl means are written as links.
func slackBody(m pageMessage) ([]byte, error) {
	title := slackEscape(m.Title)
	text := slackEscape(m.Text)
	blocks := []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*" + title + "*\n" + text}}}
	if m.AckURL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "style": "primary", "url": m.AckURL,
			"text": map[string]any{"type": "plain_text", "text": slackEscape("Acknowledge as " + m.Contact)}}}})
	}
	if m.AckCommand != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{
			"type": "mrkdwn", "text": "`" + slackEscape(m.AckCommand) + "`"}}})
	}
	// The top-level text is the notification and fallback: the same
	// content, with the ways to acknowledge.
	fallback := title + ": " + text
	if m.AckURL != "" {
		fallback += "\n\n" + slackLink(m.AckURL, "Acknowledge as "+m.Contact)
	}
	if m.AckCommand != "" {
		fallback += "\nor from a terminal: " + slackEscape(m.AckCommand)
	}
	return marshalJSON(map[string]any{"text": fallback, "blocks": blocks})
}
