package tenant

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(New("blue", []string{"x3000c0s01b0n0", "x3000c0s1b0n0", "x3000c0s2b0n0"}))
	blue, err := m.Get(ctx, "blue")
	require.NoError(t, err)
	assert.Equal(t, []string{"x3000c0s1b0n0", "x3000c0s2b0n0"}, blue.Nodes(), "normalised, deduplicated, sorted")
	assert.True(t, blue.Has("x3000c0s2b0n0"))
	assert.True(t, blue.Has("X3000C0S02B0N0"))
	assert.False(t, blue.Has("x3000c0s3b0n0"))

	_, err = m.Get(ctx, "red")
	assert.ErrorIs(t, err, ErrNotFound)
	ok, err := Exists(ctx, m, "red")
	require.NoError(t, err)
	assert.False(t, ok)

	m.Set(New("red", nil))
	ok, err = Exists(ctx, m, "red")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"blue", "red"}, m.Names())
	m.Delete("red")
	assert.Equal(t, []string{"blue"}, m.Names())
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	yml := write("t.yaml", `
tenants:
  - name: blue
    tenantresources:
      - type: compute
        xnames: [x3000c0s1b0n0]
      - type: application
        xnames: [x3000c0s2b0n0]
  - name: red
    tenantresources: []
`)
	m, err := Load(yml)
	require.NoError(t, err)
	blue, err := m.Get(context.Background(), "blue")
	require.NoError(t, err)
	assert.Equal(t, 2, blue.Len())

	js := write("t.json", `{"tenants":[{"name":"green","tenantresources":[{"xnames":["x1c0s0b0n0"]}]}]}`)
	m, err = Load(js)
	require.NoError(t, err)
	assert.Equal(t, []string{"green"}, m.Names())

	for name, body := range map[string]string{
		"unknown.yaml": "tenants:\n  - name: a\n    colour: red\n",
		"noname.json":  `{"tenants":[{"tenantresources":[]}]}`,
		"dup.json":     `{"tenants":[{"name":"a"},{"name":"a"}]}`,
		"bad.json":     `{`,
	} {
		_, err := Load(write(name, body))
		assert.Error(t, err, name)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	assert.Error(t, err)
}
