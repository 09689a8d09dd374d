package cli

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli parses and prints: it builds no activity and imports no package of
// the edge (the worker assembles its activities from worker.Settings).
func TestCLI_ImportsNoActivities(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			assert.NotEqual(t, `"github.com/drillctl/drillctl/activities"`, imp.Path.Value, "%s imports activities", f)
		}
	}
}
