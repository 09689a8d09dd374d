package playbooks

import (
	"regexp"
	"strings"
)

// Secret references are written `${env:NAME}` or `${file:/path}` in the
// playbook's own text. Rendering turns each one found in the playbook's
// literal text into a sealed reference: the reference wrapped in two
// private-use runes that no data can carry, because every value a template
// splices in (params, --set values, step outputs) is stripped of them. The
// worker resolves sealed references only, so a `${file:/etc/shadow}` that a
// target puts in its answer, or a param holding `${env:TOKEN}`, stays plain
// text all the way to its destination.
const (
	sealOpen  = "\uE000"
	sealClose = "\uE001"
)

// literalRef matches a secret reference as written in a playbook.
var literalRef = regexp.MustCompile(`\$\{(env|file):([^}]*)\}`)

// SealedRef matches a sealed secret reference: group 1 is the kind (env or
// file), group 2 the name or path. Only activities use it, to resolve.
var SealedRef = regexp.MustCompile(sealOpen + `(env|file):([^` + sealClose + `]*)` + sealClose)

// sealLiteral seals every secret reference in text, which must be the
// playbook's own literal text.
func sealLiteral(text string) string {
	if !strings.Contains(text, "${") {
		return text
	}
	return literalRef.ReplaceAllString(text, sealOpen+"$1:$2"+sealClose)
}

// Data returns s with the runes that seal secret references replaced, so
// that a value from outside the playbook (a param, a step output, a
// discovered asset) can never be taken for a secret reference.
func Data(s string) string {
	if !strings.ContainsAny(s, sealOpen+sealClose) {
		return s
	}
	return strings.NewReplacer(sealOpen, "\uFFFD", sealClose, "\uFFFD").Replace(s)
}

// ShowRefs returns text with its sealed secret references written back as
// `${env:NAME}` / `${file:/path}`, for records and messages meant for people.
func ShowRefs(text string) string {
	if !strings.Contains(text, sealOpen) {
		return text
	}
	return SealedRef.ReplaceAllString(text, "$${$1:$2}")
}

// HasSealedRef reports whether text holds a sealed secret reference.
func HasSealedRef(text string) bool { return strings.Contains(text, sealOpen) }
