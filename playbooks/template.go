package playbooks

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/template"
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

// RenderStep returns a copy of s with every template in its texts expanded.
// Secret references (${env:NAME}) are left as they are: they are resolved
// only inside activities.
func RenderStep(s Step, data TemplateData) (Step, error) {
	r := &renderer{root: data.root()}
	out := r.value(reflect.ValueOf(s), "")
	if r.err != nil {
		return s, r.err
	}
	return out.Interface().(Step), nil
}

type renderer struct {
	root map[string]any
	err  error
}

// value returns a deep copy of v with its strings rendered.
func (r *renderer) value(v reflect.Value, path string) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		text := v.String()
		if r.err != nil || !strings.Contains(text, "{{") {
			return v
		}
		t, err := template.New(path).Option("missingkey=error").Parse(text)
		if err == nil {
			var b bytes.Buffer
			if err = t.Execute(&b, r.root); err == nil {
				return reflect.ValueOf(b.String()).Convert(v.Type())
			}
		}
		r.err = fmt.Errorf("%s: %w", strings.TrimPrefix(path, "."), err)
		return v
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
