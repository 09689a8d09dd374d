package playbooks

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// YAML the indentation scanner must follow without finding a problem.
var wellIndented = map[string]string{
	"block scalars": `steps:
  - id: q
    query: >-
      SELECT 1
        -- indented more
      FROM x

    script: |
      line
   # a comment at any indentation
    after: 1
  - |
    text of a list item
  - next
`,
	"flow over lines": `steps:
  - {id: a, type: wait,
     duration: 1s}
  - id: b
    needs: [
      a,
    ]
    headers: {"X-A": "}", 'X-B': '[',
      X-C: c}
`,
	"quotes over lines": `a: "one
  two: not a key"
b: 'it''s
    fine'
c: 1
`,
	"plain text over lines": `metadata:
  description: a long
    description over
    three lines
  name: x
`,
	"lists at the indentation of their key": `steps:
- id: a
  needs:
  - b
  - c
  type: wait
- id: b
`,
	"nested lists, anchors, tags, document start": `---
a: &anchor
  b: 1
c: !!map
  d: 2
e:
  - - x
    - y
  - &item {k: v}
  - *anchor
"quoted key": 1
url: http://x:80/a#b
`,
	"comments": `a:   # a comment
    # anywhere
  b: 1 # trailing: not a key
# at the start
c: 2
`,
}

func TestIndentProblem_NoneInYAMLThatParses(t *testing.T) {
	docs := map[string][]byte{"validPlaybook": []byte(validPlaybook)}
	for name, doc := range wellIndented {
		docs[name] = []byte(doc)
	}
	for _, pattern := range []string{"examples/*.yaml", "testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			docs[f] = data
		}
	}
	fuzz, err := filepath.Glob("testdata/fuzz/FuzzLoad/*")
	require.NoError(t, err)
	for _, f := range fuzz {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "[]byte(") {
				s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
				require.NoError(t, err, f)
				docs[f] = []byte(s)
			}
		}
	}
	checked := 0
	for name, data := range docs {
		var n yaml.Node
		if yaml.Unmarshal(data, &n) != nil || bytes.Contains(data, []byte("\t")) {
			continue
		}
		checked++
		line, _, msg, found := indentProblem(data)
		assert.False(t, found, "%s: line %d: %s", name, line, msg)
	}
	assert.Greater(t, checked, 60)
}

func TestIndentProblem_GivesUpOnWhatItDoesNotFollow(t *testing.T) {
	for _, doc := range []string{
		"? complex\n: key\n",
		"%YAML 1.2\n---\na: 1\n",
		"a: 1\n---\nb: 2\n",
		"a:\n  b: 1\n  plain text among fields\n",
	} {
		_, _, _, found := indentProblem([]byte(doc))
		assert.False(t, found, doc)
	}
}

// The YAML library reports an indentation mistake where the block around it
// began, often many lines above; Load reports the line that broke.
func TestParse_IndentationErrorsPointAtTheLineThatBroke(t *testing.T) {
	steps := "apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: x}\nsteps:\n" +
		"  - id: a\n    type: wait\n    duration: 1s\n" +
		"  - id: b\n    type: http\n    url: http://x\n    needs: [a]\n"
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"field one space too few", "    needs: [a]", "   needs: [a]",
			`11:4: YAML indentation: "needs" is indented 3 spaces, but the entries around it are indented 4 ("url" on line 10) or 2 (the list item on line 8): indent it like those it belongs with`},
		{"field one space too many", "    needs: [a]", "     needs: [a]",
			`11:6: YAML indentation: "needs" is indented 5 spaces, more than "url" on line 10 (indented 4), which already has its value: indent it like "url"`},
		{"field in line with the list", "    needs: [a]", "  needs: [a]",
			`11:3: YAML indentation: "needs" is indented 2 spaces, like the list item on line 8, but is not a list item: indent it like "url" on line 10 (4 spaces) to make it a field of that item`},
		{"list item one space too many", "  - id: b", "   - id: b",
			`8:4: YAML indentation: this list item is indented 3 spaces, but the entries around it are indented 4 ("duration" on line 7) or 2 (the list item on line 5): indent it like those it belongs with`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, steps, tc.from)
			_, err := Parse("x.yaml", []byte(strings.Replace(steps, tc.from, tc.to, 1)))
			require.Error(t, err)
			assert.Equal(t, "x.yaml:"+tc.want, err.Error())
		})
	}
}

func TestParse_SyntaxErrorsOutsideIndentationKeepTheLibraryLine(t *testing.T) {
	_, err := Parse("x.yaml", []byte("apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: x\nsteps: []\n"))
	require.Error(t, err)
	assert.Equal(t, "x.yaml:3:1: YAML syntax: did not find expected ',' or '}' (a [list] or {mapping} opened on this line is not closed)", err.Error())
}

// FuzzIndentProblem checks the indentation scanner never blames a line of
// YAML that parses, and never panics.
func FuzzIndentProblem(f *testing.F) {
	for _, doc := range wellIndented {
		f.Add([]byte(doc))
	}
	f.Add([]byte(validPlaybook))
	f.Fuzz(func(t *testing.T, data []byte) {
		line, _, msg, found := indentProblem(data)
		var n yaml.Node
		if found && !bytes.Contains(data, []byte("\t")) && yaml.Unmarshal(data, &n) == nil {
			t.Fatalf("line %d of YAML that parses: %s", line, msg)
		}
	})
}
