package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// TemplateData is what step templates may read: {{ .params.x }},
// {{ .steps.ID.output.y }} and {{ .drill.id }}.
type TemplateData struct {
	Params map[string]string
	Steps  map[string]StepData
	Drill  DrillData
}

// StepData is what a template may read of an earlier step.
type StepData struct {
	Output map[string]any
}

// DrillData is what a template may read of the drill.
type DrillData struct {
	ID string
}

func (d TemplateData) root() map[string]any {
	steps := make(map[string]any, len(d.Steps))
	for id, s := range d.Steps {
		steps[id] = map[string]any{"output": s.Output}
	}
	params := make(map[string]any, len(d.Params))
	for k, v := range d.Params {
		params[k] = v
	}
	return map[string]any{"params": params, "steps": steps, "drill": map[string]any{"id": d.Drill.ID}}
}

// RenderStep returns a copy of s with every template in its texts expanded
// and every secret reference of its literal text sealed (see Data). Secret
// references are never resolved here: only activities resolve them, on the
// worker. A rendered value is bounded by MaxRenderedBytes.
func RenderStep(s Step, data TemplateData) (Step, error) {
	return Render(s, data)
}

// Render returns a deep copy of v (a step, a channel, a contact) rendered as
// RenderStep renders a step. Fields named ID are left as they are.
func Render[T any](v T, data TemplateData) (T, error) {
	r := &renderer{root: data.root()}
	out := r.value(reflect.ValueOf(v), "")
	if r.err != nil {
		return v, r.err
	}
	return out.Interface().(T), nil
}

type renderer struct {
	root map[string]any
	err  error
}

// dataFunc is appended to every template action that prints: what a
// template splices in is data, and may not carry a sealed secret reference.
const dataFunc = "_data"

func renderFuncs() template.FuncMap {
	funcs := TemplateFuncs()
	funcs[dataFunc] = func(v any) string { return Data(fmt.Sprint(v)) }
	return funcs
}

// renderText renders one template text: the literal text has its secret
// references sealed, every printed action has its value passed through
// Data, and the output is bounded.
func (r *renderer) renderText(text, path string) (string, error) {
	if !strings.Contains(text, "{{") {
		return sealLiteral(text), nil
	}
	t, err := template.New(path).Funcs(renderFuncs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			sealTree(tt.Tree, tt.Tree.Root)
		}
	}
	w := &boundedWriter{limit: MaxRenderedBytes}
	if err := t.Execute(w, r.root); err != nil {
		if w.over {
			return "", fmt.Errorf("the rendered value is over %d KiB: bound it in the template, or keep the data out of the step", MaxRenderedBytes>>10)
		}
		return "", err
	}
	return w.b.String(), nil
}

// sealTree seals the literal text of a parsed template and makes every
// printing action pass its value through the data function.
func sealTree(tree *parse.Tree, n parse.Node) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			sealTree(tree, c)
		}
	case *parse.TextNode:
		x.Text = []byte(sealLiteral(string(x.Text)))
	case *parse.ActionNode:
		if len(x.Pipe.Decl) > 0 {
			return // an assignment prints nothing
		}
		id := parse.NewIdentifier(dataFunc).SetTree(tree).SetPos(x.Pos)
		x.Pipe.Cmds = append(x.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: x.Pos, Args: []parse.Node{id}})
	case *parse.IfNode:
		sealTree(tree, x.List)
		sealTree(tree, x.ElseList)
	case *parse.RangeNode:
		sealTree(tree, x.List)
		sealTree(tree, x.ElseList)
	case *parse.WithNode:
		sealTree(tree, x.List)
		sealTree(tree, x.ElseList)
	}
}

// boundedWriter keeps at most limit bytes and fails past them, which stops
// the template's execution.
type boundedWriter struct {
	b     bytes.Buffer
	limit int
	over  bool
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.limit {
		w.over = true
		return 0, errors.New("rendered value too large")
	}
	return w.b.Write(p)
}

// value returns a deep copy of v with its strings rendered.
func (r *renderer) value(v reflect.Value, path string) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		if r.err != nil {
			return v
		}
		out, err := r.renderText(v.String(), path)
		if err != nil {
			r.err = fmt.Errorf("%s: %w", strings.TrimPrefix(path, "."), err)
			return v
		}
		return reflect.ValueOf(out).Convert(v.Type())
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(r.value(v.Elem(), path))
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(r.value(v.Elem(), path))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() || t.Field(i).Name == "ID" {
				continue
			}
			n.Field(i).Set(r.value(v.Field(i), path+"."+t.Field(i).Name))
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(r.value(v.Index(i), fmt.Sprintf("%s[%d]", path, i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		// Keys in order, so the first error reported is always the same one:
		// this runs in workflow code.
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			n.SetMapIndex(k, r.value(v.MapIndex(k), path+"."+k.String()))
		}
		return n
	}
	return v
}
