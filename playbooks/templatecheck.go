package playbooks

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// strings checks every text of a step: templates parse and reference what
// exists (params, ancestor steps, the drill), secret references are well formed.
func (v *validator) strings(s *Step, path string, rollback bool) {
	walkStrings(reflect.ValueOf(*s), path, func(p, text string) {
		if t := v.text(text, p); t != nil {
			for _, ref := range templateRefs(t.Tree.Root) {
				v.templateRef(s, ref, p, rollback)
			}
		}
	})
}

// contactTexts checks the texts of contacts, which are rendered like steps
// when they are paged or notified. Their templates may read params and the
// drill; which step outputs exist then is not known statically.
func (v *validator) contactTexts() {
	for _, name := range sortedNames(v.p.Contacts) {
		walkStrings(reflect.ValueOf(v.p.Contacts[name]), "contacts."+name, func(p, text string) {
			if t := v.text(text, p); t != nil {
				for _, ref := range templateRefs(t.Tree.Root) {
					if ref[0] != "steps" {
						v.templateRef(nil, ref, p, false)
					}
				}
			}
		})
	}
}

// text checks one text of the playbook: it holds no NUL byte, its secret
// references are well formed, and its template, if it has one, parses and
// renders in bounded time and space. It returns the parsed template.
func (v *validator) text(text, path string) *template.Template {
	if i := strings.IndexByte(text, 0); i >= 0 {
		v.at(path, "the text holds a NUL byte (at byte %d): no program, URL or header takes one; remove it", i)
	}
	v.secretRefs(text, path)
	if !strings.Contains(text, "{{") {
		return nil
	}
	t, err := parseTemplate(path, text)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		v.at(path, "template: %s", msg)
		return nil
	}
	v.templateShape(t, path)
	return t
}

// parseTemplate parses a text as RenderStep does.
func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(TemplateFuncs()).Option("missingkey=error").Parse(text)
}

// maxTemplateWidth bounds a printf width or precision: fmt builds the padded
// value in memory before the rendered size is bounded.
const maxTemplateWidth = 1000

// templateShape refuses what would make rendering, which runs inside the
// drill's workflow, take unbounded time or memory: a range over a big
// literal count, a range inside a range, named templates (which can call
// themselves), and printf padding.
func (v *validator) templateShape(t *template.Template, path string) {
	if len(t.Templates()) > 1 || hasNode[*parse.TemplateNode](t.Tree.Root) {
		v.at(path, "template defines or calls a named template (define, block, template): a playbook value is one template; write the text inline")
	}
	// Variables set to an integer literal count as that literal (the
	// largest, if set more than once).
	ints := map[string]int64{}
	walkTemplate(t.Tree.Root, 0, func(n parse.Node, _ int) {
		if p, ok := n.(*parse.PipeNode); ok && len(p.Decl) == 1 {
			if count, ok := literalInt(p, nil); ok {
				ints[p.Decl[0].Ident[0]] = max(ints[p.Decl[0].Ident[0]], count)
			}
		}
	})
	nested := false
	walkTemplate(t.Tree.Root, 0, func(n parse.Node, loops int) {
		switch x := n.(type) {
		case *parse.RangeNode:
			if loops > 0 && !nested {
				nested = true
				v.at(path, "template nests a range inside another: nested loops multiply, and values are rendered inside the drill's workflow; write one loop")
			}
			if count, ok := literalInt(x.Pipe, ints); ok && count > MaxTemplateRange {
				v.at(path, "template ranges over %d: at most %d (MaxTemplateRange) for a literal count, since values are rendered "+
					"inside the drill's workflow; range over data instead, or produce the value in a step", count, MaxTemplateRange)
			}
		case *parse.CommandNode:
			if len(x.Args) < 2 {
				return
			}
			if id, ok := x.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "printf" {
				return
			}
			if f, ok := x.Args[1].(*parse.StringNode); ok {
				if w, star := formatWidth(f.Text); star {
					v.at(path, "template: printf takes a width or precision from an argument (*): write it in the format, at most %d", maxTemplateWidth)
				} else if w > maxTemplateWidth {
					v.at(path, "template pads a printf value to %d characters: at most %d, since values are rendered inside the drill's workflow", w, maxTemplateWidth)
				}
			}
		}
	})
}

// walkTemplate calls fn with every node under n, in the order of the text,
// and the number of ranges whose body holds it.
func walkTemplate(n parse.Node, loops int, fn func(n parse.Node, loops int)) {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return
	}
	fn(n, loops)
	switch x := n.(type) {
	case *parse.ListNode:
		for _, c := range x.Nodes {
			walkTemplate(c, loops, fn)
		}
	case *parse.ActionNode:
		walkTemplate(x.Pipe, loops, fn)
	case *parse.PipeNode:
		for _, c := range x.Cmds {
			walkTemplate(c, loops, fn)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walkTemplate(a, loops, fn)
		}
	case *parse.ChainNode:
		walkTemplate(x.Node, loops, fn)
	case *parse.IfNode:
		walkTemplate(x.Pipe, loops, fn)
		walkTemplate(x.List, loops, fn)
		walkTemplate(x.ElseList, loops, fn)
	case *parse.RangeNode:
		walkTemplate(x.Pipe, loops, fn)
		walkTemplate(x.List, loops+1, fn)
		walkTemplate(x.ElseList, loops, fn)
	case *parse.WithNode:
		walkTemplate(x.Pipe, loops, fn)
		walkTemplate(x.List, loops, fn)
		walkTemplate(x.ElseList, loops, fn)
	case *parse.TemplateNode:
		walkTemplate(x.Pipe, loops, fn)
	}
}

// hasNode reports whether a node of type T is under n.
func hasNode[T parse.Node](n parse.Node) bool {
	found := false
	walkTemplate(n, 0, func(n parse.Node, _ int) {
		if _, ok := n.(T); ok {
			found = true
		}
	})
	return found
}

// literalInt returns the count of a pipeline that is an integer literal,
// like the 300000 of {{ range 300000 }} or {{ range $i := (300000) }}, or a
// variable of ints.
func literalInt(p *parse.PipeNode, ints map[string]int64) (int64, bool) {
	for p != nil && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
		switch a := p.Cmds[0].Args[0].(type) {
		case *parse.VariableNode:
			count, ok := ints[a.Ident[0]]
			return count, ok && len(a.Ident) == 1
		case *parse.NumberNode:
			switch {
			case a.IsInt:
				return a.Int64, true
			case a.IsUint:
				return math.MaxInt64, true
			}
			return 0, false
		case *parse.PipeNode:
			p = a
			continue
		}
		return 0, false
	}
	return 0, false
}

// formatWidth returns the largest width or precision of a printf format,
// and whether one is taken from an argument (*).
func formatWidth(format string) (widest int, star bool) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0[]123456789.*", format[i]) >= 0 {
			switch c := format[i]; {
			case c == '*':
				star = true
			case c == '[': // an argument index, not a width
				for i < len(format) && format[i] != ']' {
					i++
				}
			case c >= '1' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				n, err := strconv.Atoi(format[i:j])
				if err != nil {
					n = math.MaxInt
				}
				widest = max(widest, n)
				i = j - 1
			}
			i++
		}
	}
	return widest, star
}

func (v *validator) secretRefs(text, path string) {
	for _, m := range secretRefRE.FindAllStringSubmatch(text, -1) {
		whole, inner := m[0], m[1]
		if !strings.HasSuffix(whole, "}") {
			v.at(path, "secret reference %q is not closed: expected ${env:NAME} or ${file:/path}", whole)
			continue
		}
		kind, name, ok := strings.Cut(inner, ":")
		switch {
		case !ok || (kind != "env" && kind != "file"):
			v.at(path, "secret reference %q: expected ${env:NAME} or ${file:/path}", whole)
		case kind == "env" && !envNameRE.MatchString(name):
			v.at(path, "secret reference %q: %q is not an environment variable name", whole, name)
		case kind == "file" && name == "":
			v.at(path, "secret reference %q: expected a file path", whole)
		}
	}
}

// templateRef checks one reference like [params primary] or [steps failover output token].
func (v *validator) templateRef(s *Step, ref []string, path string, rollback bool) {
	switch ref[0] {
	case "params":
		if len(ref) < 2 {
			return
		}
		if _, ok := v.p.Params[ref[1]]; !ok {
			msg := fmt.Sprintf("template refers to param %q, which the playbook does not declare", ref[1])
			if sug := didYouMean(ref[1], sortedNames(v.p.Params)); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			v.at(path, "%s", msg)
		}
	case "steps":
		if len(ref) < 2 {
			return
		}
		id := ref[1]
		// One error per reference, the first of: the step does not exist,
		// is not read through .output, may not have run yet, does not
		// produce the key.
		target := v.stepNamed(id)
		if target == nil {
			msg := fmt.Sprintf("template refers to unknown step %q", id)
			if sug := didYouMean(id, v.stepIDs()); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			v.at(path, "%s", msg)
			return
		}
		if len(ref) >= 3 && ref[2] != "output" {
			v.at(path, "template: .steps.%s.%s: a step exposes only .output", id, ref[2])
			return
		}
		isMainStep := false
		for _, st := range v.p.Steps {
			isMainStep = isMainStep || st.ID == id
		}
		switch {
		case rollback && isMainStep:
			// Rollback runs after the drill's steps; their outputs are known.
		case id == s.ID:
			v.at(path, "template refers to step %q, the step itself: a step reads only the outputs of the steps it needs", id)
			return
		case !v.isAncestor(s.ID, id):
			v.at(path, "template refers to step %q, which is not among the steps %q needs: its output may not exist yet (add it to needs)", id, s.ID)
			return
		}
		v.outputRef(target, ref, path)
	case "drill":
		if len(ref) >= 2 && ref[1] != "id" {
			v.at(path, "template: .drill.%s: the drill exposes only .drill.id", ref[1])
		}
	default:
		v.at(path, "template: unknown value .%s: expected .params, .steps or .drill", ref[0])
	}
}

// templateRefs lists the field chains a template reads, like [steps a output x];
// `index .steps "a-b"` counts as [steps a-b].
func templateRefs(n parse.Node) [][]string {
	var out [][]string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x == nil {
				return
			}
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			if x == nil {
				return
			}
			for _, c := range x.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			args := x.Args
			if len(args) >= 3 {
				// index .steps "a-b" "output" "key" reads [steps a-b output key].
				if id, ok := args[0].(*parse.IdentifierNode); ok && id.Ident == "index" {
					if f, ok := args[1].(*parse.FieldNode); ok {
						ref := append([]string(nil), f.Ident...)
						args = args[2:]
						for len(args) > 0 {
							s, ok := args[0].(*parse.StringNode)
							if !ok {
								break
							}
							ref = append(ref, s.Text)
							args = args[1:]
						}
						out = append(out, ref)
					}
				}
			}
			for _, a := range args {
				walk(a)
			}
		case *parse.FieldNode:
			out = append(out, x.Ident)
		case *parse.ChainNode:
			walk(x.Node)
		case *parse.IfNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		}
	}
	walk(n)
	return out
}

// stepNamed returns the step with this id, in any list of the playbook.
func (v *validator) stepNamed(id string) *Step {
	for _, list := range [][]Step{v.p.Steps, v.p.Rollback, v.p.Finally} {
		for i := range list {
			if list[i].ID == id && id != "" {
				return &list[i]
			}
		}
	}
	return nil
}

// stepIDs lists the ids of every step, sorted.
func (v *validator) stepIDs() []string {
	var out []string
	for _, list := range [][]Step{v.p.Steps, v.p.Rollback, v.p.Finally} {
		for _, s := range list {
			if s.ID != "" {
				out = append(out, s.ID)
			}
		}
	}
	sort.Strings(out)
	return out
}

// walkStrings calls fn with the path of every string inside v.
func walkStrings(v reflect.Value, path string, fn func(path, text string)) {
	walkLeaves(v, path, func(p string, x reflect.Value) {
		if x.Kind() == reflect.String {
			fn(p, x.String())
		}
	})
}

// walkLeaves calls fn with the YAML path of every value inside v that is
// neither a pointer, a struct, a list nor a mapping. Step ids, types and
// marks are left out.
func walkLeaves(v reflect.Value, path string, fn func(path string, v reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkLeaves(v.Elem(), path, fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Type == reflect.TypeOf(StepType("")) || sf.Type == reflect.TypeOf(Mark("")) {
				continue
			}
			name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if name == "-" || sf.Name == "ID" {
				continue
			}
			p := path
			if !strings.Contains(opts, "inline") {
				if name == "" {
					name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
				}
				p = join(path, name)
			}
			walkLeaves(v.Field(i), p, fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkLeaves(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			walkLeaves(v.MapIndex(k), join(path, k.String()), fn)
		}
	default:
		fn(path, v)
	}
}
