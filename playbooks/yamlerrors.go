package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErrorLine extracts the line from a YAML library error.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch {
		case strings.HasPrefix(m[2], "did not find expected ','"):
			// The library reports where the unclosed [ or { was opened,
			// counting lines from zero.
			return n + 1, m[2] + " (a [list] or {mapping} opened on this line is not closed)"
		case strings.HasPrefix(m[2], "did not find expected"):
			// It reports where the block it was reading began, counting
			// from zero: the mistake is further down.
			return n + 1, m[2] + " (in the block that starts on this line)"
		}
		return n, m[2]
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}

// placeIndentation moves a YAML syntax error to the line where the
// indentation broke, when it did. The YAML library reports the line where
// it noticed, often the line where the enclosing block began, many lines
// above the mistake; re-reading the indentation finds the line itself.
func (d *decoder) placeIndentation(data []byte) {
	if len(d.errs) != 1 {
		return
	}
	e := d.errs[0]
	// Where the library says a broken indentation is: at the line itself,
	// or (when it was reading a block) somewhere below where it began.
	var exact bool
	switch msg := strings.TrimPrefix(e.Msg, "YAML syntax: "); {
	case msg == e.Msg:
		return
	case strings.HasPrefix(msg, "mapping values are not allowed"), strings.HasPrefix(msg, "block sequence entries are not allowed"):
		exact = true
	case strings.HasPrefix(msg, "did not find expected key"), strings.HasPrefix(msg, "did not find expected '-' indicator"):
	default:
		return
	}
	line, col, msg, ok := indentProblem(data)
	if ok && (line == e.Line || !exact && line > e.Line) {
		e.Line, e.Col, e.Msg = line, col, "YAML indentation: "+msg
	}
}

// indentBlock is a block mapping or list open at some indentation.
type indentBlock struct {
	indent int
	list   bool
	line   int    // the line of its latest entry
	key    string // the key of its latest entry (mappings)
}

// label names the block's latest entry: "tcp" on line 16, or the list
// item on line 11.
func (b indentBlock) label() string {
	if b.list {
		return fmt.Sprintf("the list item on line %d", b.line)
	}
	return fmt.Sprintf("%q on line %d", b.key, b.line)
}

// indentScanner follows the block structure of a YAML document line by
// line, from the indentation alone: enough to tell where it breaks, not to
// parse YAML. What it does not follow (complex keys, directives, several
// documents) makes it give up.
type indentScanner struct {
	stack []indentBlock
	// open: the latest entry ("key:" or "-" alone) takes its value from
	// the lines below, indented more than openIndent (or, after a key, a
	// list at the key's indentation).
	open       bool
	openIndent int
	openKey    bool
	// prev is the latest entry, for "more than \"type\" on line 12".
	prev       indentBlock
	prevIndent int
	prevValue  bool // it has its value on its line
	// Multi-line values, skipped: a block scalar (lines indented more than
	// scalarIndent), a flow collection, a quoted scalar.
	scalarIndent int
	flowDepth    int
	quote        byte
	line         int
}

// errGiveUp stops the scan without a finding.
type errGiveUp struct{}

// indentProblem returns the first line of data whose indentation fits no
// block of the document, with its column and what is wrong; ok is false
// when it finds none, or meets YAML it does not follow.
func indentProblem(data []byte) (line, col int, msg string, ok bool) {
	s := &indentScanner{open: true, openIndent: -1, scalarIndent: -1}
	defer func() {
		if r := recover(); r != nil {
			if _, giveUp := r.(errGiveUp); !giveUp {
				panic(r)
			}
			line, col, msg, ok = 0, 0, "", false
		}
	}()
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if strings.ContainsAny(text, "\r\u0085\u2028\u2029") {
		return 0, 0, "", false // other line breaks
	}
	for i, raw := range strings.Split(text, "\n") {
		s.line = i + 1
		if m := s.next(raw); m != "" {
			return s.line, indentOf(raw) + 1, m, true
		}
	}
	return 0, 0, "", false
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

func (s *indentScanner) giveUp() { panic(errGiveUp{}) }

// next reads one line; it returns what is wrong with its indentation.
func (s *indentScanner) next(line string) string {
	n := indentOf(line)
	content := line[n:]
	switch {
	case s.quote != 0:
		if end := closingQuote(line, 0, s.quote); end >= 0 {
			s.quote = 0
			if s.flowDepth > 0 {
				s.flow(line[end+1:])
			}
		}
		return ""
	case s.flowDepth > 0:
		s.flow(line)
		return ""
	case s.scalarIndent >= 0 && (strings.TrimSpace(content) == "" || n > s.scalarIndent):
		return "" // block scalar text
	}
	s.scalarIndent = -1
	if strings.TrimSpace(content) == "" || content[0] == '#' {
		return ""
	}
	if n == 0 && len(s.stack) == 0 && strings.TrimRight(content, " ") == "---" {
		return "" // the document's start
	}
	if content[0] == '\t' || content[0] == '%' || content[0] == '?' || content[0] == ':' ||
		(n == 0 && (strings.HasPrefix(content, "---") || strings.HasPrefix(content, "..."))) {
		s.giveUp()
	}
	dash := isDash(content)
	if s.open {
		s.open = false
		if n > s.openIndent || (s.openKey && dash && n == s.openIndent) {
			s.entry(n, content, true)
			return ""
		}
	}
	var closed []indentBlock
	for len(s.stack) > 0 && s.top().indent > n {
		closed = append(closed, *s.top())
		s.stack = s.stack[:len(s.stack)-1]
	}
	if len(s.stack) == 0 {
		s.giveUp() // left of the document's first line
	}
	top := s.top()
	switch {
	case top.indent < n && len(closed) > 0:
		return s.between(n, content, closed[len(closed)-1], top)
	case top.indent < n:
		if _, _, isKey := splitKey(content); isKey && s.prevValue {
			return fmt.Sprintf("%s is indented %s, more than %s (indented %d), which already has its value: indent it like %s",
				what(content), spaces(n), s.prev.label(), s.prevIndent, prevName(s.prev))
		}
		return "" // the text of a value that goes on over several lines
	case top.list && !dash:
		if _, _, isKey := splitKey(content); !isKey {
			s.giveUp()
		}
		if len(s.stack) >= 2 && s.stack[len(s.stack)-2].indent == n && !s.stack[len(s.stack)-2].list {
			s.stack = s.stack[:len(s.stack)-1] // the list was the value of a key at its indentation
			break
		}
		msg := fmt.Sprintf("%s is indented %s, like %s, but is not a list item", what(content), spaces(n), top.label())
		if len(closed) > 0 && !closed[len(closed)-1].list {
			c := closed[len(closed)-1]
			msg += fmt.Sprintf(": indent it like %s (%s) to make it a field of that item", c.label(), spaces(c.indent))
		} else {
			msg += ": start it with \"- \", or indent it under the entry it belongs to"
		}
		return msg
	case !top.list && dash:
		msg := fmt.Sprintf("this list item is indented %s, like %s, a field of a mapping, so it is in no list", spaces(n), top.label())
		if l := listNear(closed, s.stack); l != nil {
			msg += fmt.Sprintf(": indent it like %s (%s)", l.label(), spaces(l.indent))
		} else {
			msg += ": indent it more than the field it is an item of"
		}
		return msg
	}
	s.entry(n, content, false)
	return ""
}

// between is the message for a line indented less than the block above it
// and more than the block around that one: it lines up with neither.
func (s *indentScanner) between(n int, content string, inner indentBlock, outer *indentBlock) string {
	around := fmt.Sprintf("indented %d (%s) or %d (%s)", inner.indent, inner.label(), outer.indent, outer.label())
	return fmt.Sprintf("%s is indented %s, but the entries around it are %s: indent it like those it belongs with",
		what(content), spaces(n), around)
}

// listNear is the list a stray list item most likely belongs to: the one
// just closed, or the nearest one still open.
func listNear(closed, open []indentBlock) *indentBlock {
	for i := len(closed) - 1; i >= 0; i-- {
		if closed[i].list {
			return &closed[i]
		}
	}
	for i := len(open) - 1; i >= 0; i-- {
		if open[i].list {
			return &open[i]
		}
	}
	return nil
}

func (s *indentScanner) top() *indentBlock { return &s.stack[len(s.stack)-1] }

// entry reads the entries of a line that starts at column col: list items
// ("- ", perhaps nested), then a key or a value. fresh says the first one
// opens a new block.
func (s *indentScanner) entry(col int, content string, fresh bool) {
	for isDash(content) {
		if fresh {
			s.stack = append(s.stack, indentBlock{indent: col, list: true})
		}
		top := s.top()
		top.line, top.key = s.line, ""
		s.prev, s.prevIndent, s.prevValue = *top, col, true
		rest := strings.TrimLeft(content[1:], " ")
		if rest == "" || rest[0] == '#' {
			s.open, s.openIndent, s.openKey = true, col, false
			return
		}
		col += len(content) - len(rest)
		content, fresh = rest, true
	}
	key, value, isKey := splitKey(content)
	if !isKey && stripProperties(content) == "" {
		s.giveUp() // an anchor or a tag alone on its line
	}
	if !isKey {
		if !fresh && len(s.stack) > 0 && !s.top().list {
			s.giveUp() // a bare value among the fields of a mapping
		}
		s.scalarIndent = col - 1
		if len(s.stack) > 0 {
			s.scalarIndent = s.top().indent
		}
		s.value(content)
		return
	}
	if fresh {
		s.stack = append(s.stack, indentBlock{indent: col})
	}
	top := s.top()
	top.line, top.key = s.line, key
	s.prev, s.prevIndent = *top, col
	v := stripProperties(value)
	s.prevValue = v != "" && v[0] != '#'
	if !s.prevValue {
		s.open, s.openIndent, s.openKey = true, col, true
		return
	}
	s.scalarIndent = col
	s.value(v)
}

// value notes where a value written on a line goes on over the lines
// below: a block scalar (| or >), an unclosed flow collection or quote.
// s.scalarIndent holds the indentation its block scalar text must exceed.
func (s *indentScanner) value(v string) {
	v = stripProperties(strings.TrimSpace(v))
	if v == "" {
		s.scalarIndent = -1
		return
	}
	switch v[0] {
	case '|', '>':
		return // block scalar: keep scalarIndent
	case '[', '{':
		if end := s.flow(v); end >= 0 && strings.HasPrefix(strings.TrimLeft(v[end+1:], " "), ":") {
			s.giveUp() // a flow collection as a key
		}
	case '"', '\'':
		if closingQuote(v, 1, v[0]) < 0 {
			s.quote = v[0]
		}
	}
	s.scalarIndent = -1
}

// flow follows the brackets of a flow collection, outside quotes and
// comments; it returns the index where the collection closes, or -1.
func (s *indentScanner) flow(text string) int {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '[', '{':
			s.flowDepth++
		case ']', '}':
			s.flowDepth--
		case '"', '\'':
			// A quote opens a scalar only where a value starts.
			if before := strings.TrimRight(text[:i], " "); before != "" && !strings.ContainsAny(before[len(before)-1:], "[{,:") {
				continue
			}
			end := closingQuote(text, i+1, c)
			if end < 0 {
				s.quote = c
				return -1
			}
			i = end
		case '#':
			if i == 0 || text[i-1] == ' ' {
				return -1
			}
		}
		if s.flowDepth <= 0 {
			s.flowDepth = 0
			return i
		}
	}
	return -1
}

// closingQuote returns the index of the quote closing a scalar opened by
// q, looking from index from, or -1.
func closingQuote(text string, from int, q byte) int {
	for i := from; i < len(text); i++ {
		switch {
		case q == '"' && text[i] == '\\':
			i++
		case text[i] == q && q == '\'' && i+1 < len(text) && text[i+1] == '\'':
			i++
		case text[i] == q:
			return i
		}
	}
	return -1
}

func isDash(content string) bool { return content == "-" || strings.HasPrefix(content, "- ") }

// splitKey splits "key: value" (the key perhaps quoted); ok is false when
// the text is not a mapping entry.
func splitKey(content string) (key, value string, ok bool) {
	if content == "" {
		return "", "", false
	}
	switch content[0] {
	case '"', '\'':
		end := closingQuote(content, 1, content[0])
		if end < 0 {
			return "", "", false
		}
		rest := strings.TrimLeft(content[end+1:], " ")
		if rest == ":" || strings.HasPrefix(rest, ": ") {
			return content[1:end], rest[1:], true
		}
		return "", "", false
	case '[', '{', '#', '|', '>', '*', '&', '!', '@', '`':
		return "", "", false
	}
	for i := 0; i < len(content); i++ {
		switch {
		case content[i] == '#' && i > 0 && content[i-1] == ' ':
			return "", "", false
		case content[i] == ':' && (i+1 == len(content) || content[i+1] == ' '):
			return strings.TrimSpace(content[:i]), content[i+1:], true
		}
	}
	return "", "", false
}

// stripProperties drops the anchor (&a) and tag (!t) in front of a value.
func stripProperties(v string) string {
	v = strings.TrimSpace(v)
	for len(v) > 0 && (v[0] == '&' || v[0] == '!') {
		i := strings.IndexByte(v, ' ')
		if i < 0 {
			return ""
		}
		v = strings.TrimSpace(v[i:])
	}
	return v
}

// what names the entry a line starts: "interval", or this list item.
func what(content string) string {
	if isDash(content) {
		return "this list item"
	}
	if key, _, ok := splitKey(content); ok {
		return fmt.Sprintf("%q", key)
	}
	return "this line"
}

// spaces reads an indentation: 1 space, 4 spaces.
func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}

// prevName names an entry in "indent it like …".
func prevName(b indentBlock) string {
	if b.list {
		return "that list item"
	}
	return fmt.Sprintf("%q", b.key)
}
