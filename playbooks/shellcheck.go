package playbooks

import (
	"fmt"
	"path"
	"strings"
	"text/template/parse"
)

// Data is never code (DESIGN.md, safety rules): a param, a --set value or a
// step output spliced into a shell script as it is would run as part of the
// script. An exec command that hands a shell a script (sh -c SCRIPT) may
// splice template values into that script only through shellquote, and
// only where the shell reads the quoted word as one word: not inside
// quotes, a comment or a here-document, nor after a backslash. Arguments
// after the script ("$1") and programs that are not shells are data and
// are not judged.

// shells are the program names taken for a POSIX shell.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "ash": true, "mksh": true}

// shellCommands checks every exec command of a step: its own, its probe's
// or its assets' checks.
func (v *validator) shellCommands(s *Step, p string) {
	if s.Exec != nil {
		v.shellCommand(s.Exec.Command, p+".command")
	}
	if s.Probe != nil && s.Probe.Exec != nil {
		v.shellCommand(s.Probe.Exec.Command, p+".exec.command")
	}
	if s.Inventory != nil {
		for i, a := range s.Inventory.Assets {
			if a.Exec != nil {
				v.shellCommand(a.Exec.Command, fmt.Sprintf("%s.assets[%d].exec.command", p, i))
			}
		}
	}
}

func (v *validator) shellCommand(cmd []string, p string) {
	i := shellScriptArg(cmd)
	if i < 0 || !strings.Contains(cmd[i], "{{") {
		return
	}
	t, err := parseTemplate(p, cmd[i])
	if err != nil {
		return // the template check reports it
	}
	p = fmt.Sprintf("%s[%d]", p, i)
	sc := &shScanner{}
	walkTemplate(t.Tree.Root, 0, func(n parse.Node, _ int) {
		switch x := n.(type) {
		case *parse.TextNode:
			for _, c := range x.Text {
				sc.feed(c)
			}
		case *parse.ActionNode:
			if len(x.Pipe.Decl) > 0 {
				return // an assignment prints nothing
			}
			action := "{{ " + x.Pipe.String() + " }}"
			if !endsInShellquote(x.Pipe) {
				v.at(p, "%s is spliced unquoted into a shell script (params and step outputs are data); "+
					"write {{ %s | shellquote }}, or pass it as an argument after the script (\"$1\")", action, x.Pipe)
			} else if msg := sc.unsafe(); msg != "" {
				v.at(p, "%s %s", action, msg)
			}
			sc.word()
		}
	})
}

// shellScriptArg returns the index of the argument of cmd that a shell runs
// as its script (the word after -c, or after flags that hold c: -ec, -euc),
// or -1 when cmd does not run a shell script. The shell may be named by path
// (/bin/sh), through env (/usr/bin/env bash, env -i PATH=/bin sh) or
// busybox (busybox sh).
func shellScriptArg(cmd []string) int {
	i := 0
	if len(cmd) > 0 && path.Base(cmd[0]) == "env" {
		i = skipEnv(cmd)
	}
	if i < len(cmd) && path.Base(cmd[i]) == "busybox" {
		i++
	}
	if i >= len(cmd) || !shells[path.Base(cmd[i])] {
		return -1
	}
	i, script := shellOptions(cmd, i+1)
	if !script || i >= len(cmd) {
		return -1
	}
	return i
}

// skipEnv returns the index of the program env runs in cmd (env [OPTION]…
// [NAME=VALUE]… PROGRAM).
func skipEnv(cmd []string) int {
	i := 1
	for ; i < len(cmd); i++ {
		switch a := cmd[i]; {
		case a == "-u" || a == "--unset" || a == "-C" || a == "--chdir":
			i++ // takes a value
		case strings.HasPrefix(a, "-") || strings.Contains(a, "="):
		default:
			return i
		}
	}
	return i
}

// shellOptions reads a shell's options from cmd[i:]: it returns the index
// of the first operand, and whether an option (-c, -ec, …) makes that
// operand a script.
func shellOptions(cmd []string, i int) (int, bool) {
	script := false
	for ; i < len(cmd); i++ {
		switch a := cmd[i]; {
		case a == "--" || a == "-":
			return i + 1, script
		case strings.HasPrefix(a, "--"):
			if a == "--rcfile" || a == "--init-file" {
				i++
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			script = script || a[0] == '-' && strings.ContainsRune(a[1:], 'c')
			i += strings.Count(a[1:], "o") + strings.Count(a[1:], "O") // -o NAME, -O NAME
		default:
			return i, script
		}
	}
	return i, script
}

// endsInShellquote reports whether a pipeline's value is shellquote's:
// {{ X | shellquote }} or {{ shellquote X }}.
func endsInShellquote(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) == 0 {
		return false
	}
	last := p.Cmds[len(p.Cmds)-1]
	if id, ok := last.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "shellquote" {
		return false
	}
	if len(p.Cmds) == 1 {
		return len(last.Args) == 2
	}
	return len(last.Args) == 1
}

// shScanner follows a shell script's text far enough to tell where a
// spliced word lands: in quotes, a comment, a here-document, or after a
// backslash. It is deliberately simple (no aliases, no case patterns): it
// errs on the side of refusing.
type shScanner struct {
	stack   []byte // open contexts, innermost last: ' " $ (for $'…') ( `
	escaped bool   // the last character was a backslash that escapes the next
	comment bool
	prev    byte // the last unquoted character; 0 at the start
	lt      int  // '<' in a row
	delim   *heredoc
	pending []heredoc // here-documents whose body starts on the next line
	body    *heredoc  // the here-document whose body is being read
	line    []byte    // the body's current line
}

// heredoc is a here-document: <<WORD, <<-WORD, <<'WORD'.
type heredoc struct {
	word    []byte
	tabs    bool // <<- strips leading tabs from the body and the delimiter
	started bool
	quote   byte // the quote open in the word, if any
}

func (s *shScanner) top() byte {
	if len(s.stack) == 0 {
		return 0
	}
	return s.stack[len(s.stack)-1]
}

func (s *shScanner) push(c byte) { s.stack = append(s.stack, c) }

func (s *shScanner) pop() {
	s.stack = s.stack[:len(s.stack)-1]
	s.prev = 'a' // a quoted string is part of a word
}

func (s *shScanner) feed(c byte) {
	switch {
	case s.body != nil:
		s.bodyByte(c)
		return
	case s.comment:
		if c == '\n' {
			s.comment = false
			s.newline()
		}
		return
	}
	switch s.top() {
	case '\'':
		if c == '\'' {
			s.pop()
		}
		return
	case '$':
		switch {
		case s.escaped:
			s.escaped = false
		case c == '\\':
			s.escaped = true
		case c == '\'':
			s.pop()
		}
		return
	case '"':
		switch {
		case s.escaped:
			s.escaped, c = false, 0
		case c == '\\':
			s.escaped = true
		case c == '"':
			s.pop()
			return
		case c == '`':
			s.push('`')
		case c == '(' && s.prev == '$':
			s.push('(')
		}
		s.prev = c
		return
	}
	s.plain(c)
}

// plain reads a character outside quotes: at the top level, in $( ) or in
// backquotes.
func (s *shScanner) plain(c byte) {
	if s.escaped {
		s.escaped, s.prev = false, 'a'
		return
	}
	if s.delim != nil && s.delimByte(c) {
		return
	}
	if c == '<' {
		s.lt++
		s.prev = c
		return
	}
	if s.lt == 2 { // <<WORD; <<< is a here-string
		s.lt, s.delim = 0, &heredoc{tabs: c == '-'}
		if c == '-' || s.delimByte(c) {
			return
		}
	}
	s.lt = 0
	switch c {
	case '\\':
		s.escaped = true
	case '\'':
		if s.prev == '$' {
			s.push('$')
		} else {
			s.push('\'')
		}
	case '"':
		s.push('"')
	case '`':
		if s.top() == '`' {
			s.pop()
		} else {
			s.push('`')
		}
	case '(':
		s.push('(')
	case ')':
		if s.top() == '(' {
			s.pop()
		}
	case '#':
		s.comment = strings.IndexByte(" \t\n;&|()", s.prev) >= 0 || s.prev == 0
	case '\n':
		s.newline()
	}
	s.prev = c
}

// delimByte reads a character of a here-document's delimiter word; false
// means the word has ended and c is read as usual.
func (s *shScanner) delimByte(c byte) bool {
	d := s.delim
	if !d.started && (c == ' ' || c == '\t') {
		return true
	}
	d.started = true
	switch {
	case d.quote != 0:
		if c == d.quote {
			d.quote = 0
		} else {
			d.word = append(d.word, c)
		}
	case c == '\'' || c == '"':
		d.quote = c
	case c == '\\':
	case strings.IndexByte(" \t\n;&|<>()", c) >= 0:
		s.pending = append(s.pending, *d)
		s.delim = nil
		return false
	default:
		d.word = append(d.word, c)
	}
	return true
}

func (s *shScanner) newline() {
	if len(s.pending) > 0 {
		s.body, s.pending = &s.pending[0], s.pending[1:]
		s.line = s.line[:0]
	}
}

func (s *shScanner) bodyByte(c byte) {
	if c != '\n' {
		s.line = append(s.line, c)
		return
	}
	line := string(s.line)
	if s.body.tabs {
		line = strings.TrimLeft(line, "\t")
	}
	s.line = s.line[:0]
	if line == string(s.body.word) {
		s.body = nil
		s.newline()
	}
}

// unsafe says why a shellquoted word spliced here would not be read as one
// word, or "".
func (s *shScanner) unsafe() string {
	const orArg = "or pass it as an argument after the script (\"$1\")"
	switch {
	case s.body != nil:
		return "is inside a here-document, where shellquote does not protect it; pass it through env " +
			"(env: {NAME: \"{{ … }}\"}, then \"$NAME\"), " + orArg
	case s.comment:
		return "is inside a shell comment, which a line break in the value would end; take it out of the comment"
	case s.escaped:
		return "follows a backslash, which cancels the opening quote shellquote adds; remove the backslash"
	}
	switch s.top() {
	case '\'', '$':
		return "is inside single quotes in the shell script, where the quotes shellquote adds end them; " +
			"remove the quotes around it (shellquote quotes the whole value), " + orArg
	case '"':
		return "is inside double quotes in the shell script, where the quotes shellquote adds do not protect it; " +
			"remove the quotes around it (shellquote quotes the whole value), " + orArg
	}
	return ""
}

// word records that a template action printed a word here.
func (s *shScanner) word() {
	s.escaped, s.lt, s.prev = false, 0, 'a'
	if s.delim != nil {
		s.delim.started = true
		s.delim.word = append(s.delim.word, 0) // a delimiter only known at run time
	}
}
