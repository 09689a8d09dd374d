package playbooks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzLoad checks that no input makes the loader panic, and that a
// playbook it accepts can be planned.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"examples/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(validPlaybook))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if _, err := PlanOf(p); err != nil {
			t.Fatalf("valid playbook, no plan: %v", err)
		}
	})
}

func TestSchema_CoversEveryFieldOfTheLanguage(t *testing.T) {
	raw, err := Schema()
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema["$schema"])

	// Every YAML field of every type must appear in the schema at its place.
	var check func(t reflect.Type, s map[string]any, path string)
	check = func(t reflect.Type, s map[string]any, path string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			switch t.Kind() {
			case reflect.Slice:
				s, _ = s["items"].(map[string]any)
			case reflect.Map:
				s, _ = s["additionalProperties"].(map[string]any)
			}
			t = t.Elem()
		}
		s = followRef(schema, s)
		if t.Kind() != reflect.Struct || t == durationType {
			return
		}
		if t == stepType {
			variants := s["oneOf"].([]any)
			require.Len(t2(), variants, len(StepTypes), path)
			for i, typ := range StepTypes {
				v := variants[i].(map[string]any)
				props := v["properties"].(map[string]any)
				assert.Equal(t2(), map[string]any{"const": string(typ)}, props["type"], path)
				sf, _ := stepType.FieldByName(specFieldName(typ))
				for name := range fieldsOf(sf.Type.Elem()) {
					assert.Contains(t2(), props, name, "%s (%s step)", path, typ)
				}
				for name := range fieldsOf(stepType) {
					if stepTakes(typ, name) {
						assert.Contains(t2(), props, name, "%s (%s step)", path, typ)
					}
				}
			}
			return
		}
		props, ok := s["properties"].(map[string]any)
		require.True(t2(), ok, "%s has properties", path)
		for name, f := range fieldsOf(t) {
			if _, omitted := schemaOmits[t.Name()+"."+name]; omitted {
				continue
			}
			sub, ok := props[name].(map[string]any)
			if assert.True(t2(), ok, "schema has %s.%s", path, name) {
				check(fieldType(t, f.index), sub, path+"."+name)
			}
		}
	}
	current = t
	check(reflect.TypeOf(Playbook{}), schema, "playbook")
}

// current lets the recursive checker report on the running test.
var current *testing.T

func t2() *testing.T { return current }

func fieldType(t reflect.Type, index []int) reflect.Type {
	for _, i := range index {
		t = t.Field(i).Type
	}
	return t
}

// BenchmarkLoadValidatePlanMaxSteps loads, validates and plans a generated
// playbook of MaxSteps (500) steps, the most a playbook may hold (target:
// under 50 ms).
func BenchmarkLoadValidatePlanMaxSteps(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: big}\nparams: {site: http://127.0.0.1:1}\nsteps:\n")
	for i := 0; i < MaxSteps; i++ {
		fmt.Fprintf(&sb, "  - id: s%d\n    type: http\n    url: \"{{ .params.site }}/step/%d\"\n    timeout: 30s\n", i, i)
		if i > 0 {
			// A DAG of width about 10: each step needs one or two earlier ones.
			fmt.Fprintf(&sb, "    needs: [s%d", max(0, i-10))
			if i%3 == 0 {
				fmt.Fprintf(&sb, ", s%d", i-1)
			}
			sb.WriteString("]\n")
		}
	}
	path := filepath.Join(b.TempDir(), "big.yaml")
	require.NoError(b, os.WriteFile(path, []byte(sb.String()), 0o644))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := PlanOf(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/playbook")
}
