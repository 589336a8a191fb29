package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionString(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.1"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	assert.Equal(t, "bos v0.3.1 (revision 0123456789ab, 2025-01-02T03:04:05Z, modified) go1.26.8", versionString("", info, true))
	assert.Equal(t, "bos v9 (revision 0123456789ab, 2025-01-02T03:04:05Z, modified) go1.26.8", versionString("v9", info, true), "-X main.version wins")
	assert.Equal(t, "bos (devel) go1.26.8", versionString("", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true))
	assert.Equal(t, "bos unknown", versionString("", nil, false))
}

// TestVersionCommands: --version and `bos version` print the binary's version; `bos
// version list` is still the v2 API's version (bos v2 version list).
func TestVersionCommands(t *testing.T) {
	want := binaryVersion() + "\n"
	require.True(t, strings.HasPrefix(want, "bos "), want)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := bosCmd(t, "", args...)
		require.NoError(t, r.fail, "%v", args)
		assert.Equal(t, want, r.out, "%v", args)
	}
	r := bosCmd(t, "", "version", "list", "--url", startShared(t).URLs.BOS)
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.err, "using v2")
	assert.Contains(t, r.out, "major")
}

// TestVersionLdflags builds the binary as make build does and runs it.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "bos")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v1.2.3-test", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	out, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	assert.Regexp(t, `^bos v1\.2\.3-test .*go1\.\d+`, string(out))
}
