package identity

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Decisions drillctl records. Decision is an open set: any lowercase word
// passes Validate, these are the ones the product uses.
const (
	DecisionStart   = "start"
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionAck     = "ack"
	DecisionAbort   = "abort"
	DecisionResolve = "resolve"
	DecisionSignoff = "signoff"
)

// CanonicalHeader is the first line of every canonical statement; a new
// encoding gets a new header so old signatures keep their meaning.
const CanonicalHeader = "drillctl-statement-v1"

// ErrInvalidStatement is wrapped by the errors of Statement.Validate.
var ErrInvalidStatement = errors.New("invalid statement")

// Statement is what a person decides and signs. Its Canonical bytes, not its
// JSON, are the signed message.
type Statement struct {
	// Drill is the drill id the decision is about.
	Drill string `json:"drill"`
	// Step is the step id, empty for decisions about the whole drill.
	Step string `json:"step,omitempty"`
	// Decision is a lowercase word such as DecisionApprove.
	Decision string `json:"decision"`
	// Comment is free text; any byte is allowed, Canonical escapes it.
	Comment string `json:"comment,omitempty"`
	// At is when the person decided; Canonical writes it in UTC.
	At time.Time `json:"at"`
	// Nonce is the workflow's challenge, so a signature cannot be replayed.
	Nonce string `json:"nonce"`
	// Signer is the contact's name, the identity in allowed_signers.
	Signer string `json:"signer"`
	// Extra holds further fields; keys match [a-z0-9][a-z0-9._-]*.
	Extra map[string]string `json:"extra,omitempty"`
}

// Canonical returns the signed bytes of s: the line CanonicalHeader, then one
// "key=value" line per field in this fixed order, each line ending in "\n":
//
//	drill, step, decision, signer, at, nonce, comment, extra.<key>...
//
// Every field line is present even when empty. At is RFC 3339 in UTC with
// nanoseconds and no trailing zeros (2026-11-23T09:00:00.25Z). Extra lines
// follow sorted by key, bytewise. In keys and values these are escaped, so a
// value can never start a line of its own or hide from a reader: backslash as
// \\, LF as \n, CR as \r, TAB as \t, other ASCII controls and DEL as \xHH,
// bytes that are not UTF-8 as \xHH, and as \uXXXX the C1 controls
// U+0080–U+009F, the line and paragraph separators U+2028 and U+2029, the
// bidirectional controls U+061C, U+200E, U+200F, U+202A–U+202E and
// U+2066–U+2069, and the invisible U+200B–U+200D and U+FEFF. An "=" in an
// Extra key is written \x3d. The list is fixed here, not taken from Unicode
// tables, so the encoding never changes with the Go version.
func (s Statement) Canonical() []byte {
	var b strings.Builder
	b.WriteString(CanonicalHeader + "\n")
	field := func(key, value string) {
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(escape(value, false))
		b.WriteByte('\n')
	}
	field("drill", s.Drill)
	field("step", s.Step)
	field("decision", s.Decision)
	field("signer", s.Signer)
	field("at", s.At.UTC().Format(time.RFC3339Nano))
	field("nonce", s.Nonce)
	field("comment", s.Comment)
	for _, k := range sortedKeys(s.Extra) {
		field("extra."+escape(k, true), s.Extra[k])
	}
	return []byte(b.String())
}

// sortedKeys returns the keys of m in bytewise order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// escape writes v so it holds no line break or invisible control; isKey also
// escapes "=" so a key cannot swallow the separator.
func escape(v string, isKey bool) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, v[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (isKey && r == '='):
			fmt.Fprintf(&b, `\x%02x`, r)
		case escapedRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapedRune reports the non-ASCII runes Canonical escapes: those that break
// lines, reorder text, or show nothing.
func escapedRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f,
		r == 0x2028, r == 0x2029,
		r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r >= 0x200b && r <= 0x200d, r == 0xfeff:
		return true
	}
	return false
}

// Validate reports the first reason s cannot be a signed decision: a missing
// drill, decision, signer, nonce or time, a decision that is not a lowercase
// word, or a malformed Extra key. The error wraps ErrInvalidStatement.
func (s Statement) Validate() error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidStatement, fmt.Sprintf(format, args...))
	}
	switch {
	case s.Drill == "":
		return invalid("drill is empty")
	case s.Decision == "":
		return invalid("decision is empty")
	case !isWord(s.Decision, false):
		return invalid("decision %q is not a lowercase word (e.g. %s)", s.Decision, DecisionApprove)
	case s.Signer == "":
		return invalid("signer is empty")
	case s.Nonce == "":
		return invalid("nonce is empty")
	case s.At.IsZero():
		return invalid("at is not set")
	case s.At.UTC().Year() < 1 || s.At.UTC().Year() > 9999:
		return invalid("at %s is outside years 1-9999", s.At.UTC().Format(time.RFC3339))
	}
	// Sorted, so the error names the same key every time.
	for _, k := range sortedKeys(s.Extra) {
		if !isWord(k, true) {
			return invalid("extra key %q does not match [a-z0-9][a-z0-9._-]*", k)
		}
	}
	return nil
}

// isWord reports whether w is a lowercase word: [a-z][a-z0-9_-]*, or
// [a-z0-9][a-z0-9._-]* when dots and a leading digit are allowed.
func isWord(w string, extraKey bool) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && (i > 0 || extraKey):
		case (c == '_' || c == '-') && i > 0:
		case c == '.' && i > 0 && extraKey:
		default:
			return false
		}
	}
	return true
}
