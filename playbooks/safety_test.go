package playbooks

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoad_RefusesAPlaybookOverMaxPlaybookBytesBeforeParsing(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: big}\nsteps:\n  - {id: a, type: wait, duration: 1s}\n")
	for sb.Len() <= MaxPlaybookBytes {
		sb.WriteString("# padding padding padding padding padding padding padding padding padding\n")
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(path, []byte(sb.String()), 0o644))
	want := fmt.Sprintf("%s: the file is %d bytes, over the limit of 256 KiB of a playbook (MaxPlaybookBytes): "+
		"the drill keeps its playbook in its Temporal history, where one payload may not exceed 2 MB; "+
		"keep data out of the playbook (discover assets, pass params with --set) or split the drill", path, sb.Len())

	p, err := Load(path)
	assert.Nil(t, p)
	require.Error(t, err)
	assert.Equal(t, want, err.Error())
	var list ErrorList
	require.True(t, errors.As(err, &list))

	_, err = Parse(path, []byte(sb.String()))
	require.Error(t, err)
	assert.Equal(t, want, err.Error())
}

// aliasBomb is a playbook of n steps aliasing one step of n assets aliasing
// one asset whose command has n words: n³ values once aliases are expanded.
func aliasBomb(n int) []byte {
	words := strings.TrimSuffix(strings.Repeat("x, ", n), ", ")
	assets := strings.TrimSuffix(strings.Repeat("*asset, ", n), ", ")
	steps := strings.TrimSuffix(strings.Repeat("*step, ", n), ", ")
	return []byte(fmt.Sprintf(`apiVersion: drillctl/v1
kind: Playbook
metadata: {name: bomb}
steps:
  - {id: a, type: inventory, assets: [&asset {name: api, tier: 1, exec: {command: [%s]}}]}
  - &step {id: b, type: inventory, assets: [%s]}
rollback: [%s]
`, words, assets, steps))
}

func TestParse_AliasBombFailsFastWithBoundedMemory(t *testing.T) {
	data := aliasBomb(64) // 262,144 words once expanded, from a 1.5 KB file
	require.Less(t, len(data), 2048)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := Parse("bomb.yaml", data)
	runtime.ReadMemStats(&after)
	assert.Nil(t, p)
	require.Error(t, err)
	var list ErrorList
	require.True(t, errors.As(err, &list))
	require.Len(t, list, 1, "one error, not one per expanded copy")
	assert.Contains(t, list[0].Error(), "aliases expand to more than 10000 YAML values (MaxAliasNodes)")
	assert.Equal(t, 7, list[0].Line, "located at the alias being expanded when the budget ran out")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "decoding stops at the budget")
}

func TestParse_AliasesWithinTheBudgetDecode(t *testing.T) {
	data := aliasBomb(4)
	p, err := Parse("shared.yaml", data)
	// Valid YAML aside from duplicate step ids: the aliases themselves are fine.
	require.Error(t, err)
	assert.Nil(t, p)
	assert.NotContains(t, err.Error(), "MaxAliasNodes")
	assert.Contains(t, err.Error(), `duplicate step id "b"`)
}

func TestCheckParams(t *testing.T) {
	require.NoError(t, CheckParams(nil))
	require.NoError(t, CheckParams(map[string]string{"primary": "http://p", "big": strings.Repeat("x", MaxParamBytes)}))

	err := CheckParams(map[string]string{
		"big": strings.Repeat("x", MaxParamBytes+1), "nul": "a\x00b", "ok": "fine",
	})
	require.Error(t, err)
	assert.Equal(t, `param "big": the value is 16385 bytes, over the limit of 16 KiB per param value (MaxParamBytes): params travel in the drill's Temporal history; pass a reference to the data (a URL, a file path) instead
param "nul": the value holds a NUL byte (at byte 1): a param is text; remove it`, err.Error())
	var pe *ParamError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "big", pe.Name)
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":              `''`,
		"orders":        `'orders'`,
		"it's":          `'it'\''s'`,
		"'":             `''\'''`,
		"$(rm -rf /)":   `'$(rm -rf /)'`,
		"a b\nc;d`e`\\": "'a b\nc;d`e`\\'",
	} {
		assert.Equal(t, want, ShellQuote(in), in)
	}
}

func TestShellQuote_RoundTripsThroughARealShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	for _, in := range []string{"", "plain", "it's", "''", `"$HOME" $(id) ; ls | cat & \ *`, "line\nbreak", "ünï ☃"} {
		out, err := exec.Command(sh, "-c", "printf %s "+ShellQuote(in)).Output()
		require.NoError(t, err, in)
		assert.Equal(t, in, string(out))
	}
}

func TestTemplateFuncs_ShellquoteQuotesAnyValue(t *testing.T) {
	tmpl := template.Must(template.New("x").Funcs(TemplateFuncs()).Parse(
		`{{ .s | shellquote }} {{ shellquote .n }} {{ .e | shellquote }}`))
	var sb strings.Builder
	require.NoError(t, tmpl.Execute(&sb, map[string]any{"s": "it's", "n": 42, "e": ""}))
	assert.Equal(t, `'it'\''s' '42' ''`, sb.String())
}

func TestShellScriptArg_FindsTheScriptAShellRuns(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		want int
	}{
		{[]string{"sh", "-c", "s"}, 2},
		{[]string{"/bin/sh", "-ec", "s", "arg"}, 2},
		{[]string{"bash", "-euc", "s"}, 2},
		{[]string{"bash", "-xc", "s"}, 2},
		{[]string{"bash", "-e", "-c", "s"}, 3},
		{[]string{"bash", "-c", "-e", "s"}, 3},
		{[]string{"bash", "-o", "pipefail", "-c", "s"}, 4},
		{[]string{"bash", "-eo", "pipefail", "-c", "s"}, 4},
		{[]string{"bash", "--norc", "-c", "s"}, 3},
		{[]string{"bash", "-c", "--", "s"}, 3},
		{[]string{"/usr/bin/env", "bash", "-c", "s"}, 3},
		{[]string{"env", "-i", "PATH=/bin", "sh", "-c", "s"}, 5},
		{[]string{"busybox", "sh", "-c", "s"}, 3},
		{[]string{"/bin/busybox", "ash", "-c", "s"}, 3},
		{[]string{"dash", "-c", "s"}, 2},
		{[]string{"zsh", "-c", "s"}, 2},
		{[]string{"ksh", "-c", "s"}, 2},
		{[]string{"/usr/local/bin/bash", "-c", "s"}, 2},
		{[]string{"sh", "script.sh", "arg"}, -1},
		{[]string{"sh", "-e", "script.sh"}, -1},
		{[]string{"sh", "-c"}, -1},
		{[]string{"pg_dump", "-c", "s"}, -1},
		{[]string{"env", "pg_dump", "-c", "s"}, -1},
		{[]string{"busybox", "wget", "-c", "s"}, -1},
		{[]string{"{{ .params.shell }}", "-c", "s"}, -1},
		{nil, -1},
	} {
		assert.Equal(t, tc.want, shellScriptArg(tc.cmd), "%q", tc.cmd)
	}
}

func TestParse_SafeShellCommandsValidate(t *testing.T) {
	const pb = `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: safe-shell}
params: {db: orders, host: db1}
steps:
  - {id: a, type: exec, command: [sh, -c, "pg_dump {{ .params.db | shellquote }} > /tmp/x"]}
  - {id: b, type: exec, command: [bash, -euc, "{{ if .params.db }}use {{ shellquote .params.db }}{{ end }}"]}
  - {id: c, type: exec, command: [sh, -c, 'pg_dump "$1"', sh, "{{ .params.db }}"]}
  - {id: d, type: exec, command: [pg_dump, "{{ .params.db }}"]}
  - {id: e, type: exec, command: [sh, -c, 'echo "$DB" "$(echo {{ .params.db | shellquote }})"'], env: {DB: "{{ .params.db }}"}}
  - id: f
    type: exec
    command:
      - bash
      - -c
      - |
        # the database: printed below
        cat <<'EOF'
        a here-document
        EOF
        echo {{ .params.db | shellquote }}{{ $h := .params.host }} "it's" 'quoted'
  - {id: g, type: exec, command: [sh, -c, "echo {{ .params.db | shellquote }}"]}
`
	_, err := Parse("safe.yaml", []byte(pb))
	require.NoError(t, err)
}

func TestParse_ValidAddressesValidate(t *testing.T) {
	const pb = `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: addresses}
params: {site: "http://127.0.0.1:9101"}
steps:
  - {id: a, type: http, url: "HTTPS://example.com/x?y=1#z"}
  - {id: b, type: http, url: "http://[::1]:8080/failover", needs: [a]}
  - {id: c, type: probe, tcp: {address: "[::1]:5432"}, interval: 1s, timeout: 1s}
  - {id: d, type: probe, tcp: {address: "{{ .params.site }}:99999"}}
  - {id: e, type: probe, http: {url: "${env:HEALTH_URL}"}}
  - {id: f, type: http, url: "http://user:pass@example.com:65535/"}
`
	_, err := Parse("ok.yaml", []byte(pb))
	require.NoError(t, err)
}

func TestValidate_RefusesNegativeDurationsOfATypedPlaybook(t *testing.T) {
	p := &Playbook{APIVersion: APIVersion, Kind: KindPlaybook, Metadata: Metadata{Name: "typed"},
		Steps: []Step{{ID: "a", Type: StepWait, Timeout: Duration(-time.Minute), Wait: &WaitStep{Duration: Duration(time.Second)}}}}
	err := Validate(p)
	require.Error(t, err)
	assert.Equal(t, "1:1: steps[0].timeout: expected a duration of 0 or more, got -1m0s", strings.TrimPrefix(err.Error(), ":"))
}
