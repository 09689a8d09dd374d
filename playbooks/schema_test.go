package playbooks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite ../schema/playbook.schema.json")

// schemaFile is the schema shipped for editors, relative to this package.
var schemaFile = filepath.Join("..", "schema", "playbook.schema.json")

// exampleSchemaLine is the first line of every shipped example: it points
// the YAML language server at the shipped schema.
const exampleSchemaLine = "# yaml-language-server: $schema=../../schema/playbook.schema.json"

func TestSchema_ShippedFileIsCurrent(t *testing.T) {
	raw, err := Schema()
	require.NoError(t, err)
	want := append(raw, '\n') // as `drillctl playbook schema` prints it
	if *update {
		require.NoError(t, os.WriteFile(schemaFile, want, 0o644))
	}
	got, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "%s is not current: run make schema (or go test ./playbooks -run TestSchema_ShippedFileIsCurrent -update)", schemaFile)
}

func TestSchema_ExamplesPointEditorsAtTheShippedSchema(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		file, err := os.Open(f)
		require.NoError(t, err)
		first, _ := bufio.NewReader(file).ReadString('\n')
		file.Close()
		assert.Equal(t, exampleSchemaLine+"\n", first, f)
		target := strings.TrimPrefix(exampleSchemaLine, "# yaml-language-server: $schema=")
		assert.FileExists(t, filepath.Join(filepath.Dir(f), target), f)
	}
}

// The playbooks of schema/check/valid are the ones the schema must accept
// (schema/check/check.mjs checks it): drillctl accepts them.
func TestSchema_ItsValidPlaybooksAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "schema", "check", "valid", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		_, err := Load(f)
		assert.NoError(t, err, f)
	}
}

func TestSchema_RulesNameRealFields(t *testing.T) {
	types := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || types[t.Name()] != nil {
			return
		}
		types[t.Name()] = t
		for i := 0; i < t.NumField(); i++ {
			if sf := t.Field(i); sf.IsExported() && sf.Tag.Get("yaml") != "-" {
				walk(sf.Type)
			}
		}
	}
	walk(reflect.TypeOf(Playbook{}))
	// A field's rule is keyed by the struct that declares it, as
	// structProps looks it up (inline structs under their own name).
	declared := func(key string) bool {
		typ, name, _ := strings.Cut(key, ".")
		t, ok := types[typ]
		if !ok {
			return false
		}
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == name {
				return true
			}
		}
		return false
	}
	for key := range fieldRules {
		assert.True(t, declared(key), "fieldRules[%q] names no field", key)
	}
	for key := range schemaOmits {
		assert.True(t, declared(key), "schemaOmits[%q] names no field", key)
	}
	for name := range objectRules {
		assert.Contains(t, types, name, "objectRules[%q] names no type", name)
	}
}

// schemaPatterns returns every regexp of the generated schema.
func schemaPatterns(t *testing.T) []string {
	raw, err := Schema()
	require.NoError(t, err)
	var schema any
	require.NoError(t, json.Unmarshal(raw, &schema))
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if s, ok := sub.(string); ok && k == "pattern" {
					seen[s] = true
				}
				walk(sub)
			}
		case []any:
			for _, sub := range v {
				walk(sub)
			}
		}
	}
	walk(schema)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Patterns are written for ECMAScript (editors, Ajv) and Go alike, so that
// these tests can hold them to validate.
func TestSchema_PatternsAreAlsoGoRegexps(t *testing.T) {
	patterns := schemaPatterns(t)
	require.NotEmpty(t, patterns)
	for _, p := range patterns {
		_, err := regexp.Compile(p)
		assert.NoError(t, err, p)
	}
}

// The schema must never refuse what drillctl accepts (an editor would flag
// a playbook that runs), and should refuse what validate refuses of a
// single value.
func TestSchema_PatternsAgreeWithValidate(t *testing.T) {
	v := &validator{p: &Playbook{}}
	errs := func(check func()) bool {
		v.errs = nil
		check()
		return len(v.errs) == 0
	}
	cases := []struct {
		name    string
		pattern string
		goOK    func(string) bool
		samples []string
	}{
		{"duration", durationPattern, func(s string) bool { _, err := ParseDuration(s); return err == nil }, []string{
			"4h", "15m", "90s", "1d12h", "1d", "2d0", "0", "+0", "-0", "1.5h", ".5s", "5.s", "500ms", "10µs", "10μs", "10us", "10ns",
			"1h30m", " 1m ", "+1h", "1d+2h", "106751d", "0106751d",
			"", "  ", "4 hours", "5", "-5s", "1d1d", "d5", "1.5d", "106752d", "200000d", "1D", "1H", "soon", "1d 2h", "-1d",
		}},
		{"http URL", httpURLPattern, func(s string) bool { return errs(func() { v.httpURL(s, "u") }) }, []string{
			"http://x", "https://x:8443/a?b#c", "HTTP://X", "http://[::1]:80/", "http://u:p@x/", "http://x:/", "http://x:00080/",
			"http://x:65535", "{{ .params.a }}/x", "${env:URL}",
			"ftp://x", "x/y", "hooks.example.com/page", "http://:80", "http://x:0", "http://x:65536", "http://x:http", "http://",
		}},
		{"host:port", hostPortPattern, func(s string) bool { return errs(func() { v.hostPort(s, "a", "db:5432") }) }, []string{
			"db:5432", ":5432", "[::1]:5432", "db:065535", "{{ .params.db }}:5432",
			"db", "db:65536", "db:0", "db:smtp", "a:b:1", "db:",
		}},
		{"secret references", secretRefsPattern, func(s string) bool { return errs(func() { v.secretRefs(s, "s") }) }, []string{
			"plain", "${env:A}", "${env:_B1}", "${file:/run/x}", "a${env:A}b${file:p}c", "$5", "$", "$$", "{x}",
			"${env:A-B}", "${vault:x}", "${file:}", "${env:A", "${}", "${env:}",
		}},
		{"templates", closedTemplatesPattern, func(s string) bool { _, err := parseTemplate("t", s); return err == nil }, []string{
			"plain", "{{ .params.a }}", "{{ if .drill.id }}x{{ end }}", "{{/* c */}}", "{ {", "}}", "a {b} c", "{{ .a }}}",
			"{{ .a }", "x {{", "{{", "{{ .a }} {{ .b",
		}},
		{"HTTP method", methodPattern, func(s string) bool { return errs(func() { v.method(s, "m") }) }, []string{
			"GET", "post", "Delete", "OPTIONS", "FETCH", "GET ", "{{ .params.m }}",
		}},
		{"header name", headerNamePattern, isToken, []string{"X-Request-Id", "Authorization", "a!#$%&'*+-.^_`|~z", "X Token", "X:Y", "", "é"}},
		{"availability", availabilityPattern, func(s string) bool { _, err := ParseAvailability(s); return err == nil }, []string{
			"99.9%", " 99.95 % ", "50%", ".5%", "1e1%", "99.9", "%", "abc%",
		}},
		{"breachIf", breachRE.String(), func(s string) bool { _, _, err := ParseBreach(s); return err == nil }, []string{
			"> 0.05", ">=1", " != -2e3 ", "above 1", "> x", "",
		}},
	}
	for _, c := range cases {
		re := regexp.MustCompile(c.pattern)
		for _, s := range c.samples {
			assert.Equal(t, c.goOK(s), re.MatchString(s), "%s %q: validate and the schema disagree", c.name, s)
		}
	}
}

func TestValidate_RefusesDiscoveryOverSQL(t *testing.T) {
	_, err := Parse("x.yaml", []byte(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: x}
steps:
  - {id: inventory, type: inventory, discover: {sql: {dsn: "postgres://x/db", query: SELECT 1}}}
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x.yaml:5:54: steps[0].discover.sql: asset discovery over sql is not supported by this release")

	raw, err := Schema()
	require.NoError(t, err)
	var schema struct {
		Properties struct {
			Steps struct {
				Items struct {
					OneOf []struct {
						Properties struct {
							Discover struct {
								Properties map[string]any `json:"properties"`
								Required   []string       `json:"required"`
							} `json:"discover"`
						} `json:"properties"`
					} `json:"oneOf"`
				} `json:"items"`
			} `json:"steps"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	require.Equal(t, StepInventory, StepTypes[0])
	discover := schema.Properties.Steps.Items.OneOf[0].Properties.Discover
	assert.Contains(t, discover.Properties, "http")
	assert.NotContains(t, discover.Properties, "sql", "the schema offers only what runs")
	assert.Equal(t, []string{"http"}, discover.Required)
}

// followRef returns the schema s refers to with $ref (a JSON pointer into
// root), or s itself.
func followRef(root, s map[string]any) map[string]any {
	ref, ok := s["$ref"].(string)
	if !ok || !strings.HasPrefix(ref, "#/") {
		return s
	}
	var node any = root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, _ := node.(map[string]any)
		node = m[part]
	}
	target, _ := node.(map[string]any)
	return target
}
