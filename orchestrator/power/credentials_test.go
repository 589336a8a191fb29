package power

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.yaml")
	require.NoError(t, os.WriteFile(path, []byte("default: {username: root, password: initial0}\nbmcs:\n  X3000C0S01B0: {username: admin, password: hunter2}\n"), 0o600))
	c, err := LoadCredentials(path)
	require.NoError(t, err)
	assert.Equal(t, Credential{"admin", "hunter2"}, c.For("x3000c0s1b0"))
	assert.Equal(t, Credential{"root", "initial0"}, c.For("x1000c0s0b0"))

	// Never printed or logged.
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("connect", "cred", c.For("x3000c0s1b0"))
	out := logs.String() + fmt.Sprint(c.For("x3000c0s1b0")) + fmt.Sprintf("%v", c.For("x3000c0s1b0"))
	assert.NotContains(t, out, "hunter2")
	assert.Contains(t, out, "admin")

	require.NoError(t, os.WriteFile(path, []byte("bmcs:\n  nid0001: {username: a, password: hunter2}\n"), 0o600))
	_, err = LoadCredentials(path)
	require.ErrorContains(t, err, "not an xname")
	require.NoError(t, os.WriteFile(path, []byte("passwd: hunter2\n"), 0o600))
	_, err = LoadCredentials(path)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2", "errors never quote the file")
}
