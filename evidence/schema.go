package evidence

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// RecordSchemaID is the $id of the drill record's JSON Schema.
const RecordSchemaID = "https://drillctl.dev/schema/drill-record-v1.json"

// RecordSchema returns the JSON Schema (draft 2020-12) of drill.json,
// generated from the Record type so the two cannot drift apart.
func RecordSchema() ([]byte, error) {
	s := jsonSchemaOf(reflect.TypeOf(Record{}))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = RecordSchemaID
	s["title"] = "drillctl drill record"
	s["description"] = "What a drill did and measured. Fields are added over time, never renamed; schemaVersion changes only when readers must."
	return json.MarshalIndent(s, "", "  ")
}

var timeType = reflect.TypeOf(time.Time{})

func jsonSchemaOf(t reflect.Type) map[string]any {
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonSchemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": jsonSchemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": jsonSchemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			props[name] = jsonSchemaOf(f.Type)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}
