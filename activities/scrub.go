package activities

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Scrubbing: a resolved secret value must not leave an activity in any form
// it can take on its way out. A target echoes the request URL (query- or
// path-escaped), an error quotes it (%q), a JSON body escapes it, an HTTP
// basic auth header or a token carries it inside base64, a dump shows it in
// hex. Each secret value is turned once into the list of its forms (see
// secretForms); scrubbing finds every occurrence of every form of every
// resolved value and replaces each run of overlapping occurrences with one
// "[redacted]".

// redactedText is what a secret is replaced with.
const redactedText = "[redacted]"

const (
	// minDerivedLen is the length, in bytes, under which a secret is
	// scrubbed only as it is. The hex, base64 or escaped forms of one to
	// three bytes are strings that ordinary output contains by chance, and
	// such a secret protects little anyway.
	minDerivedLen = 4
	// minBase64Core is the length, in characters, under which the core of a
	// secret embedded in a larger base64 blob is not scrubbed: a core that
	// short (only a 4-byte secret has them, of 4 or 5 characters) would match
	// unrelated base64 text too often. Such a secret is still scrubbed in its
	// standalone base64 forms.
	minBase64Core = 6
	// maxCachedSecrets bounds the cache of secret forms; when it is full
	// it is emptied (a worker resolves a handful of distinct secrets, so this
	// happens only if secrets keep changing).
	maxCachedSecrets = 1024
)

// formCache maps a secret value to its forms, so they are computed once per
// value and not on every scrub (scrubbing runs on every output). It is
// shared by all activity executions, as a secrets value lives only for one;
// it keeps secret values in memory, as the worker's environment does.
var formCache struct {
	sync.Mutex
	forms map[string][]string
}

// formsOf returns the forms of value from the cache, computing them on
// first use.
func formsOf(value string) []string {
	formCache.Lock()
	forms, ok := formCache.forms[value]
	formCache.Unlock()
	if ok {
		return forms
	}
	forms = secretForms(value)
	formCache.Lock()
	if formCache.forms == nil || len(formCache.forms) >= maxCachedSecrets {
		formCache.forms = make(map[string][]string)
	}
	formCache.forms[value] = forms
	formCache.Unlock()
	return forms
}

// secretForms returns every form a secret value can take in an activity's
// output, deduplicated, longest first:
//
//   - as it is;
//   - URL-escaped: url.QueryEscape ('+' for a space, and with %20
//     instead, as encodeURIComponent and most clients write it) and
//     url.PathEscape, each with upper- and lower-case hex digits;
//   - as the inside of a JSON string: encoding/json with and without HTML
//     escaping (\u003c \u003e \u0026), ASCII-only (every non-ASCII character
//     as \uXXXX, a surrogate pair beyond U+FFFF, in lower- and upper-case
//     hex), with '/' as `\/` (PHP); Go's %q and %+q; a URL form inside JSON;
//   - HTML-escaped (an error page quoting the request);
//   - base64, standard and URL alphabets, padded and raw, on its own; and
//     embedded in a larger blob at any byte offset (HTTP basic auth is
//     base64("user:" + password)): for each of the three alignments, the
//     characters that the secret's bytes alone determine (base64Core);
//   - hex, lower and upper case (a hex dump of a longer buffer contains it
//     as it is, hex being byte-aligned).
//
// A value shorter than minDerivedLen bytes has only itself as a form.
func secretForms(value string) []string {
	set := map[string]struct{}{value: {}}
	add := func(forms ...string) {
		for _, f := range forms {
			if f != "" {
				set[f] = struct{}{}
			}
		}
	}
	if len(value) >= minDerivedLen {
		urls := urlForms(value)
		add(urls...)
		for _, u := range urls {
			add(jsonString(u, true))
		}
		add(jsonForms(value)...)
		add(html.EscapeString(value))
		add(base64Forms([]byte(value))...)
		h := hex.EncodeToString([]byte(value))
		add(h, strings.ToUpper(h))
	}
	forms := make([]string, 0, len(set))
	for f := range set {
		forms = append(forms, f)
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return forms
}

// urlForms is value query- and path-escaped, with upper- and lower-case
// hex digits.
func urlForms(value string) []string {
	q := url.QueryEscape(value)
	q20 := strings.ReplaceAll(q, "+", "%20") // value's own '+' is %2B
	p := url.PathEscape(value)
	return []string{q, lowerEscapes(q), q20, lowerEscapes(q20), p, lowerEscapes(p)}
}

// lowerEscapes lowercases the hex digits of every %XX escape in s, an
// escaped string.
func lowerEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}

// jsonForms is value as the inside of a JSON or Go string literal, as
// the encoders in use write it.
func jsonForms(value string) []string {
	var forms []string
	for _, escapeHTML := range []bool{true, false} {
		j := jsonString(value, escapeHTML)
		forms = append(forms, j, asciiEscapes(j, false), asciiEscapes(j, true))
	}
	for _, f := range forms {
		if strings.Contains(f, "/") {
			forms = append(forms, strings.ReplaceAll(f, "/", `\/`))
		}
	}
	q, qa := strconv.Quote(value), strconv.QuoteToASCII(value)
	return append(forms, q[1:len(q)-1], qa[1:len(qa)-1])
}

// jsonString is s as encoding/json writes it in a string, without the
// quotes, with or without HTML escaping.
func jsonString(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	j := strings.TrimSuffix(b.String(), "\n")
	return j[1 : len(j)-1]
}

// asciiEscapes replaces every non-ASCII character of the JSON text j with
// its \uXXXX escape (two for a character beyond U+FFFF), as an ASCII-only
// JSON encoder does.
func asciiEscapes(j string, upper bool) string {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	var b strings.Builder
	for _, r := range j {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			b.WriteString(`\u`)
			b.WriteByte(digits[u>>12&0xf])
			b.WriteByte(digits[u>>8&0xf])
			b.WriteByte(digits[u>>4&0xf])
			b.WriteByte(digits[u&0xf])
		}
	}
	return b.String()
}

// base64Forms is value base64-encoded on its own (standard and URL
// alphabets, padded and raw) and the cores of its encoding inside a
// larger blob, at each alignment.
func base64Forms(value []byte) []string {
	var forms []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString(value))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for offset := range 3 {
			if core := base64Core(enc, value, offset); len(core) >= minBase64Core {
				forms = append(forms, core)
			}
		}
	}
	return forms
}

// base64Core is the part of the base64 encoding of a blob that value alone
// determines, when value starts offset bytes (0, 1 or 2) into a group of
// three: the characters whose six bits all come from value. Character i
// covers bits [6i, 6i+6) of the blob from the start of that group, value
// bits [8·offset, 8·(offset+len)), so the core is the characters from
// ⌈8·offset/6⌉ to ⌊8·(offset+len)/6⌋. The characters on either side mix in
// bits of the surrounding bytes and stay.
func base64Core(enc *base64.Encoding, value []byte, offset int) string {
	blob := make([]byte, offset+len(value)+2)
	copy(blob[offset:], value)
	encoded := enc.EncodeToString(blob)
	start, end := (8*offset+5)/6, 8*(offset+len(value))/6
	if end <= start {
		return ""
	}
	return encoded[start:end]
}

// scrubber finds the forms of a set of secret values in text, in one pass
// whatever their number: a form of four bytes or more is looked up by its
// first four bytes (its anchor) at each position of the text, through a
// bit filter that rules out almost every position at the cost of a hash;
// the few shorter forms (secrets under minDerivedLen bytes) are searched
// for one by one.
type scrubber struct {
	short    []string                 // forms under four bytes
	byAnchor map[uint32][]string      // the other forms by anchor
	filter   *[filterBits / 64]uint64 // bit anchorHash(a) is set for every anchor a
	maxLen   int                      // the longest form
}

// filterBits is the size of a scrubber's anchor filter: with the few dozen
// anchors of a few secrets, a position without one passes it by chance
// about once in a thousand.
const filterBits = 1 << 16

// anchorHash maps an anchor to a bit of the filter.
func anchorHash(a uint32) uint32 { return (a * 0x9E3779B1) >> 16 }

// scrubberCache maps a set of distinct secret values (see setKey) to its
// scrubber, so that one is built only when the set of resolved values
// changes, not on every scrub.
var scrubberCache struct {
	sync.Mutex
	byKey map[string]*scrubber
}

// maxCachedScrubbers bounds scrubberCache; when it is full it is emptied.
const maxCachedScrubbers = 64

// scrubber returns the scrubber of every value s resolved so far.
func (s *secrets) scrubber() *scrubber {
	vals := distinct(s.resolved)
	key := setKey(vals)
	scrubberCache.Lock()
	sc, ok := scrubberCache.byKey[key]
	scrubberCache.Unlock()
	if ok {
		return sc
	}
	sc = newScrubber(vals)
	scrubberCache.Lock()
	if scrubberCache.byKey == nil || len(scrubberCache.byKey) >= maxCachedScrubbers {
		scrubberCache.byKey = make(map[string]*scrubber)
	}
	scrubberCache.byKey[key] = sc
	scrubberCache.Unlock()
	return sc
}

// distinct returns the distinct values of vals, sorted. A probe resolves
// its secrets again on every attempt, so vals can repeat a value many
// times.
func distinct(vals []string) []string {
	out := slices.Clone(vals)
	slices.Sort(out)
	return slices.Compact(out)
}

// setKey is a key that only the same sorted distinct values give (each is
// prefixed with its length, since a value can contain any byte).
func setKey(vals []string) string {
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// newScrubber builds the scrubber of the forms of vals.
func newScrubber(vals []string) *scrubber {
	sc := &scrubber{byAnchor: make(map[uint32][]string), filter: new([filterBits / 64]uint64)}
	for _, v := range vals {
		for _, f := range formsOf(v) {
			sc.maxLen = max(sc.maxLen, len(f))
			if len(f) < 4 {
				sc.short = append(sc.short, f)
				continue
			}
			a := anchorOf(f)
			sc.byAnchor[a] = append(sc.byAnchor[a], f)
			h := anchorHash(a)
			sc.filter[h/64] |= 1 << (h % 64)
		}
	}
	return sc
}

// anchorOf is the first four bytes of s, little-endian.
func anchorOf(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// find appends to found every occurrence of a form that lies in w of text.
func (sc *scrubber) find(text string, w span, found []span) []span {
	for _, f := range sc.short {
		for i := w.start; ; {
			j := strings.Index(text[i:w.end], f)
			if j < 0 {
				break
			}
			found = append(found, span{i + j, i + j + len(f)})
			i += j + 1
		}
	}
	s := text[w.start:w.end]
	if len(s) < 4 {
		return found
	}
	a := uint32(s[0])<<8 | uint32(s[1])<<16 | uint32(s[2])<<24
	for end := 3; end < len(s); end++ {
		a = a>>8 | uint32(s[end])<<24 // the anchor s[end-3 : end+1]
		h := anchorHash(a)
		if sc.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		i := end - 3
		for _, f := range sc.byAnchor[a] {
			if len(f) <= len(s)-i && s[i:i+len(f)] == f {
				found = append(found, span{w.start + i, w.start + i + len(f)})
			}
		}
	}
	return found
}

// span is the bytes [start, end) of a text.
type span struct{ start, end int }

// scrub replaces every occurrence of a form of a secret in text with
// "[redacted]", overlapping occurrences (of one secret's forms, or of two
// secrets) together, so that none leaves a fragment.
//
// A "[redacted]" already in text stays as it is, and an occurrence that
// lies inside one is not one: scrubbing again changes nothing, even for a
// secret like "a" or "red". An occurrence that overlaps one is redacted
// with it. As a replacement can bring together text that now spells a form
// (a secret "d]z" after "Qz" is scrubbed of secret "Q"), scrub repeats,
// looking only around the marks it just wrote, until nothing is found; each
// such round shortens the text, so this ends.
func (sc *scrubber) scrub(text string) string {
	if text == "" {
		return text
	}
	out, marks := sc.pass(text, []span{{0, len(text)}})
	for len(marks) > 0 {
		out, marks = sc.pass(out, sc.around(marks, len(out)))
	}
	return out
}

// around returns the windows of a text of length n in which an occurrence
// overlapping one of marks can lie.
func (sc *scrubber) around(marks []span, n int) []span {
	var windows []span
	for _, m := range marks {
		w := span{max(0, m.start-sc.maxLen+1), min(n, m.end+sc.maxLen-1)}
		if k := len(windows) - 1; k >= 0 && w.start <= windows[k].end {
			windows[k].end = w.end
			continue
		}
		windows = append(windows, w)
	}
	return windows
}

// pass redacts the occurrences of forms that lie in windows of text, and
// returns the result and the marks it wrote.
func (sc *scrubber) pass(text string, windows []span) (string, []span) {
	var found []span
	for _, w := range windows {
		found = sc.find(text, w, found)
	}
	if len(found) == 0 {
		return text, nil
	}

	// The marks already in text, in order; they cannot overlap each other.
	var marks []span
	for i := 0; ; {
		j := strings.Index(text[i:], redactedText)
		if j < 0 {
			break
		}
		marks = append(marks, span{i + j, i + j + len(redactedText)})
		i += j + len(redactedText)
	}
	// Occurrences inside a mark are not ones; marks that an occurrence
	// overlaps are redacted with it.
	redact := found[:0]
	var joined []span
	for _, f := range found {
		k := sort.Search(len(marks), func(k int) bool { return marks[k].end > f.start })
		if k < len(marks) && marks[k].start <= f.start && f.end <= marks[k].end {
			continue
		}
		redact = append(redact, f)
		for ; k < len(marks) && marks[k].start < f.end; k++ {
			joined = append(joined, marks[k])
		}
	}
	if len(redact) == 0 {
		return text, nil
	}
	redact = append(redact, joined...)
	slices.SortFunc(redact, func(a, b span) int { return a.start - b.start })

	var b strings.Builder
	b.Grow(len(text))
	var written []span
	cur, prev := redact[0], 0
	flush := func() {
		b.WriteString(text[prev:cur.start])
		written = append(written, span{b.Len(), b.Len() + len(redactedText)})
		b.WriteString(redactedText)
		prev = cur.end
	}
	for _, r := range redact[1:] {
		if r.start < cur.end {
			cur.end = max(cur.end, r.end)
			continue
		}
		flush()
		cur = r
	}
	flush()
	b.WriteString(text[prev:])
	return b.String(), written
}

// value scrubs every string inside a JSON-like value, in place for maps
// and slices.
func (sc *scrubber) value(v any) any {
	switch x := v.(type) {
	case string:
		return sc.scrub(x)
	case map[string]any:
		for k, e := range x {
			x[k] = sc.value(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = sc.value(e)
		}
		return x
	}
	return v
}
