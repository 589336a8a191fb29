// Package bosbin gives tests that run bos as a process its binary: the one BOS_TEST_BIN
// names (.ci/run builds it once for every package instead of once per test), or one
// built for the test. Test-only.
package bosbin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Env names a prebuilt bos binary of the tree under test.
const Env = "BOS_TEST_BIN"

// Path returns the bos binary: $BOS_TEST_BIN when set (it must exist), else a fresh
// build into dir (a directory the test owns). It skips the test when there is neither
// and no go command to build one.
func Path(ctx context.Context, tb testing.TB, dir string) string {
	tb.Helper()
	if bin := os.Getenv(Env); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			tb.Fatalf("%s=%s: %v", Env, bin, err)
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			tb.Fatalf("%s=%s is not an executable file (err: %v)", Env, bin, err)
		}
		return abs
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go command to build bos")
	}
	bin := filepath.Join(dir, "bos")
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/cray-bos/bos/cmd/bos").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build ./cmd/bos: %v\n%s", err, out)
	}
	return bin
}
