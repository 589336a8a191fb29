package bosbin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPathUsesEnv: BOS_TEST_BIN is used as is, and builds nothing (the directory stays
// empty).
func TestPathUsesEnv(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "prebuilt")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, bin)
	dir := t.TempDir()
	assert.Equal(t, bin, Path(t.Context(), t, dir))
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "nothing built")
}

// TestPathRejectsAMissingBinary: a BOS_TEST_BIN naming nothing fails the test rather than
// testing some other binary.
func TestPathRejectsAMissingBinary(t *testing.T) {
	t.Setenv(Env, filepath.Join(t.TempDir(), "missing"))
	ft := &fatalT{TB: t}
	func() {
		defer func() { _ = recover() }()
		Path(t.Context(), ft, t.TempDir())
	}()
	assert.True(t, ft.failed, "a missing BOS_TEST_BIN fails the test")
}

// fatalT records Fatalf instead of ending the test.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
