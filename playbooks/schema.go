package playbooks

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// The playbook's JSON Schema is generated from the Go types by the small
// generator below, not by a general one such as github.com/invopop/jsonschema.
// A general generator reflects one struct as one object, but a playbook is
// not written the way its types are laid out: a step's type-specific fields
// sit inline beside its common ones and which of them apply depends on the
// value of type (a oneOf over step types, each with type: {const: …}); a
// Duration is YAML text read by ParseDuration; every string of a step or a
// contact is a template; and most of what the schema can check (patterns,
// bounds, one-of rules) comes from validate's own regexps and limits, which
// no struct tag carries. Those rules would have to be written here anyway
// (see schemarules.go), and keeping the generator keeps the module free of
// one more dependency. Tests hold it to the types: every YAML field is in
// the schema (TestSchema_CoversEveryFieldOfTheLanguage), every rule names a
// real field, and schema/playbook.schema.json is current.

// SchemaID is the $id of the playbook JSON Schema.
const SchemaID = "https://drillctl.dev/schema/playbook-v1.json"

// descriptions document the fields editors show most.
var descriptions = map[string]string{
	"apiVersion":      "Always drillctl/v1.",
	"kind":            "Always Playbook.",
	"targets":         "What pass means: rto, rpo and response, as durations (4h, 15m).",
	"params":          "Values steps read as {{ .params.NAME }}; override with drill run --set NAME=VALUE.",
	"contacts":        "People who can be paged or asked for approval, by key.",
	"escalation":      "Escalation policies, by name: levels paged one after the other until someone acknowledges.",
	"steps":           "The drill's steps: a DAG through needs; independent steps run in parallel.",
	"rollback":        "Steps run when the drill fails or is aborted (failback).",
	"finally":         "Steps run after a drill that completed: back to the known state (e.g. fail back to the primary).",
	"guards":          "Checks run while the drill's actions are under way; one that breaches aborts the drill.",
	"locks":           "Shared systems the drill fails over: two drills needing one lock never run at once.",
	"identity":        "signed (every human decision carries an SSH signature) or unverified.",
	"starters":        "Contacts who may start a drill of a signed playbook (empty: any contact with keys).",
	"needs":           "Ids of the steps that must succeed before this one starts.",
	"timeout":         "How long the step may take (a probe: how long it keeps trying).",
	"retry":           "Retry policy; actions (http, exec, sql) default to a single attempt.",
	"marks":           "outage_start (the failover action) or service_restored (the probe that sees the service back): the RTO clock.",
	"continueOnError": "Let dependent steps run even if this one fails.",
	"verifyAfter":     "The step after which the standby is read for the newest surviving canary.",
	"interval":        "Time between two attempts of a probe, or two canary writes; the resolution of the measure.",
	"expectStatus":    "Acceptable HTTP status codes (default: any 2xx).",
	"expectJSON":      "Dotted JSON paths of the response and the text each must equal.",
	"command":         "Program and arguments; no shell is involved.",
	"readiness":       "Which assets must be ready for the drill to proceed (default: every tier-1 asset).",
	"id":              "The step's id, unique in the playbook: later steps read its output as {{ .steps.ID.output.KEY }}.",
	"type":            "What the step does; drillctl playbook explain TYPE shows its fields and its output keys.",
	"description":     "What this is for, in words.",
	"maxOutput":       "Bound of the step's output in the drill record, in bytes of JSON (default 64 KiB); a bigger output is kept whole as an evidence attachment.",
	"compensate":      "The rollback step that undoes this action.",
	"url":             "An http:// or https:// URL.",
	"method":          "The HTTP method (default GET, or POST with a body).",
	"headers":         "HTTP headers; a value may hold a ${env:NAME} reference.",
	"dsn":             "The PostgreSQL database, as a postgres:// URL; give the password to the worker (PGPASSWORD, ~/.pgpass), not in the playbook.",
	"query":           "The SQL to run.",
	"env":             "Environment variables of the program; a value may be a ${env:NAME} reference.",
	"dir":             "The working directory of the program.",
	"expectExit":      "The exit status that means success (default 0).",
	"approvers":       "Contacts who may give the go or the no-go.",
	"onTimeout":       "What an unanswered approval means: fail (default) or approve.",
	"minApprovals":    "How many distinct approvers must give the go (default 1).",
	"forbid":          "Who may not approve: initiator (the person who started the drill), for four eyes.",
	"auto":            "allowed: a gate opened with no human decision (onTimeout: approve) may still give a met verdict.",
	"duration":        "How long to wait.",
	"assets":          "The assets that must come back after a failover, each with at most one check.",
	"discover":        "Where to discover more assets: an http endpoint returning a JSON list of assets.",
	"concurrency":     "How many assets are checked at once (default 16).",
	"compare":         "What to compare: permissions, messages, records or files.",
	"tolerance":       "How much difference the check accepts.",
}

// Schema returns the JSON Schema (draft 2020-12) of the playbook language,
// generated from the Go types so the two cannot drift apart. It is what
// `drillctl playbook schema` prints and schema/playbook.schema.json holds.
func Schema() ([]byte, error) {
	s := schemaOf(reflect.TypeOf(Playbook{}), false)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "drillctl playbook"
	s["description"] = "A disaster-recovery drill: its targets, contacts and the steps it runs. " +
		"The schema checks each value; drillctl playbook validate also checks what refers to what (needs, contacts, templates)."
	s["allOf"] = playbookRules()
	s["$defs"] = schemaDefs()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <, > and & readable in patterns and descriptions
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// textTypes are the structs whose strings drillctl reads as templates with
// secret references (validate's strings and contactTexts).
var textTypes = map[reflect.Type]bool{stepType: true, reflect.TypeOf(Contact{}): true}

// schemaOf returns the schema of a value of type t; text says whether t
// lies inside a step or a contact, where a string is a template.
func schemaOf(t reflect.Type, text bool) map[string]any {
	switch t {
	case durationType:
		return ref("duration")
	case stepType:
		return stepSchema()
	case reflect.TypeOf(StepType("")):
		return map[string]any{"enum": typeStrings()}
	case reflect.TypeOf(Mark("")):
		return map[string]any{"enum": []string{string(MarkOutageStart), string(MarkServiceRestored)}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), text)
	case reflect.String:
		if text {
			return map[string]any{"type": "string", "$ref": "#/$defs/text"}
		}
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), text)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), text)}
	case reflect.Struct:
		props, required := structProps(t, text || textTypes[t])
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		merge(s, objectRules[t.Name()])
		return s
	}
	return map[string]any{}
}

// structProps returns the schema of each YAML field of t (inline fields
// flattened), with its rules and description, and the names of the fields
// that are not optional.
func structProps(t reflect.Type, text bool) (map[string]any, []string) {
	props := map[string]any{}
	var required []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			if sf.Type.Kind() == reflect.Struct {
				p, r := structProps(sf.Type, text)
				for k, v := range p {
					props[k] = v
				}
				required = append(required, r...)
			}
			continue
		}
		key := t.Name() + "." + name
		if _, omitted := schemaOmits[key]; omitted {
			continue
		}
		s := schemaOf(sf.Type, text)
		if d, ok := descriptions[name]; ok {
			s["description"] = d
		}
		apply(s, fieldRules[key])
		props[name] = s
		if !strings.Contains(opts, "omitempty") && sf.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	return props, required
}

// stepSchema is one variant per step type: the common fields, the type's
// own fields beside them, and type fixed to the variant's value. Editors
// pick the variant whose type matches and report that variant's errors.
func stepSchema() map[string]any {
	common, _ := structProps(stepType, true)
	var variants []any
	for _, typ := range StepTypes {
		sf, _ := stepType.FieldByName(specFieldName(typ))
		spec := sf.Type.Elem()
		own, required := structProps(spec, true)
		props := map[string]any{}
		for k, v := range common {
			if stepTakes(typ, k) {
				props[k] = v
			}
		}
		for k, v := range own {
			if d, ok := stepFieldDescriptions[typ][k]; ok {
				v.(map[string]any)["description"] = d
			}
			props[k] = v
		}
		props["type"] = map[string]any{"const": string(typ)}
		marks := []string{string(MarkOutageStart)}
		if typ == StepProbe {
			marks = append(marks, string(MarkServiceRestored))
		}
		props["marks"] = map[string]any{"enum": marks, "description": descriptions["marks"] +
			" Only a probe marks service_restored."}
		outputs := OutputKeys[typ]
		if outputs == nil {
			outputs = []OutputKey{}
		}
		variant := map[string]any{
			"title":                string(typ) + " step",
			"description":          stepSummaries[typ] + " " + outputSentence(typ),
			"type":                 "object",
			"properties":           props,
			"required":             append([]string{"id", "type"}, required...),
			"additionalProperties": false,
			"x-outputs":            outputs,
		}
		merge(variant, objectRules[spec.Name()])
		variants = append(variants, variant)
	}
	return map[string]any{"oneOf": variants}
}

// stepTakes reports whether a step of type t may be written with the common
// field name: only actions are compensated.
func stepTakes(t StepType, name string) bool {
	return name != "compensate" || t.IsAction()
}

// outputSentence says in a sentence what later steps read of a step type's
// output.
func outputSentence(t StepType) string {
	if !readable(t) {
		if len(OutputKeys[t]) == 0 {
			return "It has no output."
		}
		return "Its output (" + strings.Join(allKeyNames(OutputKeys[t]), ", ") + ") is kept in the drill record; later steps cannot read it."
	}
	var names []string
	seen := map[string]bool{}
	for _, k := range OutputKeys[t] {
		if !k.RecordOnly && !seen[k.Name] {
			seen[k.Name] = true
			names = append(names, k.Name)
		}
	}
	return "Later steps read its output as {{ .steps.ID.output.KEY }}, KEY one of: " + strings.Join(names, ", ") + " (x-outputs says more)."
}

// ref is a reference to a schema of $defs.
func ref(def string) map[string]any { return map[string]any{"$ref": "#/$defs/" + def} }

// apply sets the keywords of a field's rule in s; a rule naming its own type
// or $ref replaces the generated ones.
func apply(s, rule map[string]any) {
	_, hasType := rule["type"]
	_, hasRef := rule["$ref"]
	if hasType || hasRef {
		delete(s, "type")
		delete(s, "$ref")
	}
	merge(s, rule)
}

// merge sets the keywords of rule in s, replacing what s had.
func merge(s, rule map[string]any) {
	for k, v := range rule {
		s[k] = v
	}
}
