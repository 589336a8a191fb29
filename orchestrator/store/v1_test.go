package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

func TestV1Sessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		tmpl := orchestrator.V1SessionTemplate{Name: "t", BootSets: map[string]orchestrator.V1BootSet{"a": {Path: "p", Type: "s3", NodeList: []string{"x1c0s0b0n0"}}}}
		mk := func(id string) orchestrator.V1Session {
			return orchestrator.NewV1Session(id, orchestrator.V1SessionCreate{Operation: "Reboot", TemplateName: "t"}, tmpl, t0)
		}
		require.NoError(t, s.CreateV1Session(ctx, mk("b")))
		require.NoError(t, s.CreateV1Session(ctx, mk("a")))
		assert.Equal(t, orchestrator.ECONFLICT, orchestrator.ErrorCode(s.CreateV1Session(ctx, mk("a"))))

		got, err := s.GetV1Session(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, "Reboot", got.Operation)
		assert.Equal(t, "boa-a", got.Job)
		require.Len(t, got.BootSets, 1)
		assert.Len(t, got.BootSets[0].Phases, 3)
		_, err = s.GetV1Session(ctx, "zz")
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))

		ids, err := s.V1SessionIDs(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, ids)
		active, err := s.ActiveV1Sessions(ctx)
		require.NoError(t, err)
		assert.Len(t, active, 2)

		_, err = s.UpdateV1Session(ctx, "a", func(x *orchestrator.V1Session) error { x.State = orchestrator.V1Complete; return nil })
		require.NoError(t, err)
		active, err = s.ActiveV1Sessions(ctx)
		require.NoError(t, err)
		require.Len(t, active, 1, "a complete session leaves the active set")
		assert.Equal(t, "b", active[0].ID)

		boom := fmt.Errorf("boom")
		_, err = s.UpdateV1Session(ctx, "b", func(*orchestrator.V1Session) error { return boom })
		assert.ErrorIs(t, err, boom)

		require.NoError(t, s.DeleteV1Session(ctx, "b"))
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(s.DeleteV1Session(ctx, "b")))
		_, err = s.UpdateV1Session(ctx, "b", func(*orchestrator.V1Session) error { return nil })
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err), "an update never resurrects a deleted session")
		active, err = s.ActiveV1Sessions(ctx)
		require.NoError(t, err)
		assert.Empty(t, active)
		ids, err = s.V1SessionIDs(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, ids)
	})
}

// TestV1SessionConcurrentUpdates: compare-and-set loses no update.
func TestV1SessionConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, storetest.Mini, store.Config{})
	sess := orchestrator.NewV1Session("a", orchestrator.V1SessionCreate{Operation: "boot", TemplateName: "t"}, orchestrator.V1SessionTemplate{}, t0)
	require.NoError(t, s.CreateV1Session(ctx, sess))
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateV1Session(ctx, "a", func(x *orchestrator.V1Session) error { x.Limit += "x"; return nil })
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err := s.GetV1Session(ctx, "a")
	require.NoError(t, err)
	assert.Len(t, got.Limit, 20)
}

func TestTemplateJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		raw := []byte(`{"name":"t","enable_cfs":true,"partition":"p1","boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1c0s0b0n0"],"boot_ordinal":2}}}`)
		require.NoError(t, s.PutTemplateJSON(ctx, "", "t", raw))
		require.Error(t, s.PutTemplateJSON(ctx, "", "bad", []byte(`{`)))

		got, err := s.GetTemplateJSON(ctx, "", "t")
		require.NoError(t, err)
		assert.JSONEq(t, string(raw), string(got))
		v2, err := s.GetTemplate(ctx, "", "t")
		require.NoError(t, err, "the v2 read ignores the v1 extensions")
		assert.Equal(t, "p", v2.BootSets["a"].Path)
		_, err = s.GetTemplateJSON(ctx, "blue", "t")
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))

		require.NoError(t, s.PutTemplate(ctx, orchestrator.SessionTemplate{Name: "u", Tenant: "blue", BootSets: map[string]orchestrator.BootSet{}}))
		all, err := s.ListTemplatesJSON(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		assert.Equal(t, []string{"", "blue"}, []string{all[0].Tenant, all[1].Tenant})
		assert.Equal(t, []string{"t", "u"}, []string{all[0].Name, all[1].Name})

		// Rewrite with a kept copy; a second rewrite does not overwrite the copy.
		changed, err := s.RewriteTemplate(ctx, "", "t", func(raw []byte) ([]byte, string, []byte, error) {
			return []byte(`{"name":"t","v":1}`), "t_old", raw, nil
		})
		require.NoError(t, err)
		assert.True(t, changed)
		changed, err = s.RewriteTemplate(ctx, "", "t", func(raw []byte) ([]byte, string, []byte, error) {
			return []byte(`{"name":"t","v":2}`), "t_old", raw, nil
		})
		require.NoError(t, err)
		assert.True(t, changed)
		old, err := s.GetTemplateJSON(ctx, "", "t_old")
		require.NoError(t, err)
		assert.JSONEq(t, string(raw), string(old), "the first kept copy stays")
		cur, err := s.GetTemplateJSON(ctx, "", "t")
		require.NoError(t, err)
		assert.JSONEq(t, `{"name":"t","v":2}`, string(cur))

		changed, err = s.RewriteTemplate(ctx, "", "t", func([]byte) ([]byte, string, []byte, error) { return nil, "", nil, nil })
		require.NoError(t, err)
		assert.False(t, changed)
		changed, err = s.RewriteTemplate(ctx, "", "missing", func([]byte) ([]byte, string, []byte, error) { panic("not called") })
		require.NoError(t, err)
		assert.False(t, changed)
	})
}
