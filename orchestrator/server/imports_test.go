package server_test

import (
	"go/parser"
	"go/token"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportsNoSimulator: the composition knows the services by URL, through the
// product's clients; it imports no simulator server package. (operator and crus still
// take their clients from the simulator packages; they move out in their own change.)
func TestImportsNoSimulator(t *testing.T) {
	simulators := map[string]bool{"hsm": true, "bss": true, "cfs": true, "ims": true, "pcs": true, "simulator": true, "slurmsim": true, "internal/stack": true}
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			rel, ours := strings.CutPrefix(p, "github.com/cray-bos/bos/")
			assert.False(t, ours && (simulators[rel] || simulators[path.Dir(rel)]), "%s imports %s", e.Name(), p)
		}
	}
}
