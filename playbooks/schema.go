package playbooks

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// SchemaID is the $id of the playbook JSON Schema.
const SchemaID = "https://drillctl.dev/schema/playbook-v1.json"

// durationPattern accepts what ParseDuration accepts.
const durationPattern = `^([0-9]+d)?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))*$`

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
	"discover":        "Where to discover more assets: an http endpoint returning a JSON list, or a sql query.",
	"concurrency":     "How many assets are checked at once (default 16).",
	"compare":         "What to compare: permissions, messages or records.",
	"tolerance":       "How much difference the check accepts.",
}

// Schema returns the JSON Schema (draft 2020-12) of the playbook language,
// generated from the Go types so the two cannot drift apart.
func Schema() ([]byte, error) {
	s := schemaOf(reflect.TypeOf(Playbook{}))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "drillctl playbook"
	return json.MarshalIndent(s, "", "  ")
}

func schemaOf(t reflect.Type) map[string]any {
	switch t {
	case durationType:
		return map[string]any{"type": "string", "pattern": durationPattern, "description": "A duration: 90s, 15m, 4h, 1d12h."}
	case stepType:
		return stepSchema()
	case reflect.TypeOf(StepType("")):
		return map[string]any{"enum": typeStrings()}
	case reflect.TypeOf(Mark("")):
		return map[string]any{"enum": []string{string(MarkOutageStart), string(MarkServiceRestored)}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props, required := structProps(t)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

// structProps returns the schema of each YAML field of t (inline fields
// flattened) and the names of the fields that are not optional.
func structProps(t reflect.Type) (map[string]any, []string) {
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
				p, r := structProps(sf.Type)
				for k, v := range p {
					props[k] = v
				}
				required = append(required, r...)
			}
			continue
		}
		s := schemaOf(sf.Type)
		if d, ok := descriptions[name]; ok {
			s["description"] = d
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && sf.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	return props, required
}

// stepSchema is one variant per step type: the common fields, the type's
// own fields beside them, and type fixed to the variant's value.
func stepSchema() map[string]any {
	common, _ := structProps(stepType)
	var variants []any
	for _, typ := range StepTypes {
		sf, _ := stepType.FieldByName(specFieldName(typ))
		own, required := structProps(sf.Type.Elem())
		props := map[string]any{}
		for k, v := range common {
			props[k] = v
		}
		for k, v := range own {
			if d, ok := stepFieldDescriptions[typ][k]; ok {
				v.(map[string]any)["description"] = d
			}
			props[k] = v
		}
		props["type"] = map[string]any{"const": string(typ)}
		outputs := OutputKeys[typ]
		if outputs == nil {
			outputs = []OutputKey{}
		}
		variants = append(variants, map[string]any{
			"title":                string(typ) + " step",
			"description":          stepSummaries[typ] + " " + outputSentence(typ),
			"type":                 "object",
			"properties":           props,
			"required":             append([]string{"id", "type"}, required...),
			"additionalProperties": false,
			"x-outputs":            outputs,
		})
	}
	return map[string]any{"oneOf": variants}
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
