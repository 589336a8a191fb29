package lockstep_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/lockstep"
)

// TestMigrateTemplates: legacy v1 templates are converted and their originals kept under
// <name>_v1_deprecated; a second run changes nothing; an existing copy is not replaced;
// a template that cannot be converted is reported and left alone.
func TestMigrateTemplates(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t)
		ctx := context.Background()
		put := func(tenant, name, raw string) {
			require.NoError(t, w.st.PutTemplateJSON(ctx, tenant, name, []byte(raw)))
		}
		legacy := `{"name":"old","cfs_url":"u","cfs_branch":"b","partition":"p1","cfs":{"configuration":"c","branch":"main"},
			"boot_sets":{"a":{"path":"p","type":"s3","network":"nmn","shutdown_ordinal":3,"node_list":["x1c0s0b0n0"]}}}`
		put("", "old", legacy)
		put("", "kept", `{"name":"kept","cfs_url":"u","boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1"]}}}`)
		put("", "kept_v1_deprecated", `{"name":"kept_v1_deprecated","note":"an earlier copy"}`)
		put("", "broken", `{"name":"broken","cfs_url":"u","boot_sets":{}}`)
		put("", "v2", `{"name":"v2","enable_cfs":true,"boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1"],"arch":"X86"}}}`)
		put("blue", "old", legacy)

		m, err := lockstep.MigrateTemplates(ctx, w.st, nil)
		require.NoError(t, err)
		assert.Equal(t, []string{"kept", "old", "blue/old"}, m.Converted)
		require.Len(t, m.Failed, 1)
		assert.Contains(t, m.Failed[0], "broken")

		raw, err := w.st.GetTemplateJSON(ctx, "", "old")
		require.NoError(t, err)
		var conv bos.V1SessionTemplate
		require.NoError(t, json.Unmarshal(raw, &conv))
		assert.False(t, conv.Legacy())
		assert.Equal(t, "p1", conv.Partition, "the partition is kept and honoured")
		assert.Equal(t, 3, *conv.BootSets["a"].ShutdownOrdinal)
		assert.Equal(t, "c", conv.Configuration())
		v2, err := w.st.GetTemplate(ctx, "", "old")
		require.NoError(t, err, "the converted template reads through v2")
		assert.Equal(t, "X86", v2.BootSets["a"].Arch)

		orig, err := w.st.GetTemplateJSON(ctx, "", "old_v1_deprecated")
		require.NoError(t, err)
		var origMap, want map[string]any
		require.NoError(t, json.Unmarshal(orig, &origMap))
		require.NoError(t, json.Unmarshal([]byte(legacy), &want))
		want["name"] = "old_v1_deprecated"
		assert.Equal(t, want, origMap)
		_, err = w.st.GetTemplateJSON(ctx, "blue", "old_v1_deprecated")
		require.NoError(t, err, "the copy stays in its tenant's namespace")

		keptCopy, err := w.st.GetTemplateJSON(ctx, "", "kept_v1_deprecated")
		require.NoError(t, err)
		assert.Contains(t, string(keptCopy), "an earlier copy", "an existing copy is not replaced")
		broken, err := w.st.GetTemplateJSON(ctx, "", "broken")
		require.NoError(t, err)
		assert.Contains(t, string(broken), "cfs_url", "an unconvertible template is left as it is")

		before, err := w.st.ListTemplatesJSON(ctx)
		require.NoError(t, err)
		m, err = lockstep.MigrateTemplates(ctx, w.st, nil)
		require.NoError(t, err)
		assert.Empty(t, m.Converted, "a second run converts nothing")
		after, err := w.st.ListTemplatesJSON(ctx)
		require.NoError(t, err)
		assert.Equal(t, before, after, "and changes nothing")
	})
}
