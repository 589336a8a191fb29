package stack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeURLs(t *testing.T) {
	first := URLs{HSM: "http://h:1", BSS: "http://b:2", BOS: "http://bos:8080", BMCs: map[string]string{"x1000c0s0b0": "http://127.1.0.1:9"}}
	second := URLs{HSM: "http://h:1", BOS: "http://bos:8080", BMCs: map[string]string{"x1000c0s0b1": "http://127.1.0.2:7"}}
	for _, c := range []struct {
		name  string
		parts []URLs
		want  URLs
		err   string
	}{
		{name: "none", parts: nil, want: URLs{}},
		{name: "shards", parts: []URLs{first, second}, want: URLs{HSM: "http://h:1", BSS: "http://b:2", BOS: "http://bos:8080",
			BMCs: map[string]string{"x1000c0s0b0": "http://127.1.0.1:9", "x1000c0s0b1": "http://127.1.0.2:7"}}},
		{name: "a file twice", parts: []URLs{first, first}, want: first},
		{name: "BOS alone", parts: []URLs{{BOS: "http://bos:1"}, second}, err: "two bos URLs"},
		{name: "a BMC in two shards", parts: []URLs{first, {BMCs: map[string]string{"x1000c0s0b0": "http://127.1.0.9:9"}}}, err: "x1000c0s0b0 is at"},
		{name: "two HSMs", parts: []URLs{first, {HSM: "http://other:1"}}, err: "two hsm URLs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := MergeURLs(c.parts...)
			if c.err != "" {
				assert.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	assert.Len(t, first.BMCs, 1, "the parts are not changed")
}

func TestLoadURLs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"hsm": "http://h:1", "bmcs": {"x1000c0s0b0": "http://127.1.0.1:9"}}`), 0o600))
	u, err := LoadURLs(good)
	require.NoError(t, err)
	assert.Equal(t, URLs{HSM: "http://h:1", BMCs: map[string]string{"x1000c0s0b0": "http://127.1.0.1:9"}}, u)
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"hsm": 1}`), 0o600))
	_, err = LoadURLs(bad)
	assert.ErrorContains(t, err, "bad.json")
	_, err = LoadURLs(filepath.Join(dir, "missing.json"))
	assert.Error(t, err)
}
