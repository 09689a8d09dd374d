package playbooks

import (
	"fmt"
	"strings"
	"text/template"
)

// TemplateFuncs returns the functions step templates may call, beyond Go's
// built-in ones. Validate parses templates with them and RenderStep
// executes them, so both agree on what a template may call.
//
//   - shellquote quotes a value as one POSIX shell word (see ShellQuote);
//     a non-string value is formatted with fmt.Sprint first. A template
//     action spliced into a shell script (sh -c) must end in it.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"shellquote": func(v any) string {
			s, ok := v.(string)
			if !ok {
				s = fmt.Sprint(v)
			}
			return ShellQuote(s)
		},
	}
}

// ShellQuote returns s as one word of a POSIX shell: s in single quotes,
// each single quote of s closing the quotes, adding an escaped quote and
// reopening them. Nothing is special between single quotes, so the shell
// reads back exactly s, whatever it holds:
//
//	ShellQuote("it's") == `'it'\''s'`
//	ShellQuote("")     == `''`
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
