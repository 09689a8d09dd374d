package playbooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes and validates the playbook at path. The error, if
// any, is an ErrorList naming every problem at once.
func Load(path string) (*Playbook, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	defer f.Close()
	// Read one byte past the limit, not the whole of a file that may be huge.
	data, err := io.ReadAll(io.LimitReader(f, MaxPlaybookBytes+1))
	if err != nil {
		return nil, ErrorList{{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	if len(data) > MaxPlaybookBytes {
		size := int64(len(data))
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		return nil, tooBig(path, size)
	}
	p, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := loadAllowedSigners(p, path); err != nil {
		return nil, err
	}
	return p, nil
}

// Parse decodes and validates a playbook held in data; name is the file
// name errors are reported against.
func Parse(name string, data []byte) (*Playbook, error) {
	if len(data) > MaxPlaybookBytes {
		return nil, tooBig(name, int64(len(data)))
	}
	p, errs := decode(name, data)
	if p == nil {
		return nil, errs.sorted()
	}
	if err := Validate(p); err != nil {
		// Validation sees a value where decoding failed: drop what it says
		// of a field that already has a decoding error.
		for _, e := range err.(ErrorList) {
			if !coveredBy(e.Path, errs) {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return p, nil
}

// coveredBy reports whether path is, or is inside or around, a field that
// has an error in errs.
func coveredBy(path string, errs ErrorList) bool {
	for _, e := range errs {
		if e.Path == "" {
			continue
		}
		if path == e.Path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"[") ||
			strings.HasPrefix(e.Path, path+".") || strings.HasPrefix(e.Path, path+"[") {
			return true
		}
	}
	return false
}

// decode turns YAML into a Playbook strictly: unknown fields, wrong types,
// duplicate keys, tabs and syntax errors are all errors, and all are
// reported.
func decode(name string, data []byte) (*Playbook, ErrorList) {
	d := &decoder{file: name, pos: map[string]Pos{}}
	if len(bytes.TrimSpace(data)) == 0 {
		d.errorAt(1, 1, "", "the file is empty: expected a playbook (apiVersion, kind, metadata, steps)")
		return nil, d.errs
	}
	d.checkTabs(data)
	root := d.document(data)
	if root == nil || len(d.errs) > 0 {
		d.placeIndentation(data)
		return nil, d.errs
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		d.errorAt(doc.Line, doc.Column, "", "expected a playbook (a mapping with apiVersion, kind, metadata and steps), got "+kindName(doc))
		return nil, d.errs
	}
	p := &Playbook{}
	d.value(doc, reflect.ValueOf(p).Elem(), "")
	if d.budget.err != nil {
		return nil, ErrorList{d.budget.err} // what else it says is about copies
	}
	sum := sha256.Sum256(data)
	p.Source = Source{Path: name, Digest: "sha256:" + hex.EncodeToString(sum[:]), Raw: append([]byte(nil), data...)}
	p.positions = d.pos
	return p, d.errs
}

type decoder struct {
	file   string
	errs   ErrorList
	pos    map[string]Pos
	budget aliasBudget
}

func (d *decoder) errorAt(line, col int, path, msg string) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Col: col, Path: path, Msg: msg})
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errorAt(n.Line, n.Column, path, fmt.Sprintf(format, args...))
}

// checkTabs reports tabs in indentation: YAML indents with spaces only.
func (d *decoder) checkTabs(data []byte) {
	for i, line := range bytes.Split(data, []byte("\n")) {
		for j, c := range line {
			if c == '\t' {
				d.errorAt(i+1, j+1, "", "tab in indentation: YAML indents with spaces")
				break
			}
			if c != ' ' {
				break
			}
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

var (
	durationType = reflect.TypeOf(Duration(0))
	stepType     = reflect.TypeOf(Step{})
)

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// value decodes n into v, recording the position of path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		defer d.budget.enter(n, path)()
		n = n.Alias
	}
	if !d.spend(n) {
		return
	}
	if path != "" {
		d.pos[path] = Pos{Line: n.Line, Col: n.Column}
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.errorf(n, path, "expected a duration (like 4h, 15m or 1d), got %s", kindName(n))
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	case t == stepType:
		d.step(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		elem := reflect.New(t.Elem())
		d.value(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.errorf(n, path, "expected text, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.errorf(n, path, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || i > math.MaxInt32 || i < math.MinInt32 {
			d.errorf(n, path, "expected a whole number, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			d.errorf(n, path, "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if !d.key(k, path, seen) {
				continue
			}
			elem := reflect.New(t.Elem()).Elem()
			d.value(val, elem, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), elem)
		}
		v.Set(m)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		fields := fieldsOf(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if !d.key(k, path, seen) {
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				d.unknown(k, path, fieldNames(fields), "")
				continue
			}
			d.value(val, fieldByIndex(v, f.index), join(path, k.Value))
		}
	default:
		d.errorf(n, path, "cannot decode into %s", t)
	}
}

// key checks a mapping key is text and not a duplicate.
func (d *decoder) key(k *yaml.Node, path string, seen map[string]bool) bool {
	if k.Kind != yaml.ScalarNode {
		d.errorf(k, path, "expected a field name, got %s", kindName(k))
		return false
	}
	if seen[k.Value] {
		d.errorf(k, join(path, k.Value), "duplicate key %q", k.Value)
		return false
	}
	seen[k.Value] = true
	return true
}

// unknown reports an unknown field with a suggestion.
func (d *decoder) unknown(k *yaml.Node, path string, allowed []string, where string) {
	msg := fmt.Sprintf("unknown field %q", k.Value)
	if where != "" {
		msg += " " + where
	}
	if s := didYouMean(k.Value, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += "; expected one of " + strings.Join(allowed, ", ")
	}
	d.errorf(k, join(path, k.Value), "%s", msg)
}

// step decodes a step: its common fields and, inline beside them, the
// fields of its type, which decide where they land.
func (d *decoder) step(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a step (a mapping with id and type), got %s", kindName(n))
		return
	}
	step := v.Addr().Interface().(*Step)
	step.Pos = Pos{Line: n.Line, Col: n.Column}
	var typeNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			typeNode = n.Content[i+1] // the first: a repeated key is reported as a duplicate
			break
		}
	}
	common := fieldsOf(stepType)
	var spec reflect.Value // the type-specific struct, once known
	var specFields map[string]field
	if typeNode == nil {
		d.errorf(n, path, "missing field \"type\": expected one of %s", typeList())
	} else if typeNode.Kind != yaml.ScalarNode || !knownType(typeNode.Value) {
		msg := fmt.Sprintf("unknown step type %s: expected one of %s", kindName(typeNode), typeList())
		if s := didYouMean(typeNode.Value, typeStrings()); s != "" {
			msg = fmt.Sprintf("unknown step type %q (did you mean %q?)", typeNode.Value, s)
		}
		d.errorf(typeNode, join(path, "type"), "%s", msg)
	} else {
		ptr := v.FieldByName(specFieldName(StepType(typeNode.Value)))
		ptr.Set(reflect.New(ptr.Type().Elem()))
		spec = ptr.Elem()
		specFields = fieldsOf(spec.Type())
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.key(k, path, seen) {
			continue
		}
		if f, ok := common[k.Value]; ok {
			d.value(val, fieldByIndex(v, f.index), join(path, k.Value))
			continue
		}
		if f, ok := specFields[k.Value]; ok {
			d.value(val, fieldByIndex(spec, f.index), join(path, k.Value))
			continue
		}
		if typeNode == nil || !spec.IsValid() {
			continue // the type error says enough
		}
		allowed := append(fieldNames(common), fieldNames(specFields)...)
		sort.Strings(allowed)
		where := fmt.Sprintf("in %s %s step", article(typeNode.Value), typeNode.Value)
		if owner := typeOwning(k.Value); owner != "" && didYouMean(k.Value, allowed) == "" {
			where += fmt.Sprintf(" (it belongs to %s steps)", owner)
		}
		d.unknown(k, path, allowed, where)
	}
}

// field is a YAML field of a struct: its name and where it lives.
type field struct {
	index []int
}

// fieldsOf lists a struct's YAML fields, flattening inline structs. The
// inline type-specific pointers of Step are left out: step() places them.
func fieldsOf(t reflect.Type) map[string]field {
	out := map[string]field{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			if sf.Type.Kind() == reflect.Struct {
				for k, f := range fieldsOf(sf.Type) {
					out[k] = field{index: append([]int{i}, f.index...)}
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		}
		out[name] = field{index: []int{i}}
	}
	return out
}

func fieldNames(fields map[string]field) []string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// fieldByIndex is reflect's FieldByIndex for structs without pointers on the way.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		v = v.Field(i)
	}
	return v
}

// specFieldName is the Step field holding the spec of a step type.
func specFieldName(t StepType) string {
	switch t {
	case StepInventory:
		return "Inventory"
	case StepHTTP:
		return "HTTP"
	case StepExec:
		return "Exec"
	case StepProbe:
		return "Probe"
	case StepSQL:
		return "SQL"
	case StepCanary:
		return "Canary"
	case StepReplicationCheck:
		return "ReplicationCheck"
	case StepPage:
		return "Page"
	case StepApproval:
		return "Approval"
	case StepWait:
		return "Wait"
	case StepNotify:
		return "Notify"
	}
	return ""
}

func knownType(s string) bool { return specFieldName(StepType(s)) != "" }

func typeStrings() []string {
	out := make([]string, len(StepTypes))
	for i, t := range StepTypes {
		out[i] = string(t)
	}
	return out
}

func typeList() string { return strings.Join(typeStrings(), ", ") }

// typeOwning names the step types that have a field, for a hint when a
// field is written on a step of another type.
func typeOwning(name string) string {
	var owners []string
	for _, t := range StepTypes {
		sf, _ := stepType.FieldByName(specFieldName(t))
		if _, ok := fieldsOf(sf.Type.Elem())[name]; ok {
			owners = append(owners, string(t))
		}
	}
	return strings.Join(owners, ", ")
}

// article is "an" before a type name read with a vowel sound.
func article(word string) string {
	switch word {
	case "inventory", "http", "exec", "approval":
		return "an"
	}
	return "a"
}
