package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// watchSizes records the keys of every WATCH a store sends.
type watchSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (h *watchSizes) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *watchSizes) note(cmds ...redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cmds {
		if args := c.Args(); len(args) > 0 && fmt.Sprint(args[0]) == "WATCH" {
			h.sizes = append(h.sizes, len(args)-1)
		}
	}
}

func (h *watchSizes) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.note(cmd); return next(ctx, cmd) }
}

func (h *watchSizes) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.note(cmds...); return next(ctx, cmds) }
}

// A PerRecord write commits in transactions of at most 100 records, WATCHing at most
// that many keys (WATCH's cost grows with the square of its keys); a write without it
// keeps its transactions of 500. Discovery's AddComponents is PerRecord.
func TestPerRecordWritesInSmallTransactions(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := storetest.Open(t, backend, store.Config{})
			ctx := context.Background()
			var comps []orchestrator.Component
			var ids []string
			for i := range 600 {
				comps = append(comps, orchestrator.Component{ID: fmt.Sprintf("x%dc0s0b0n0", i), Enabled: true})
				ids = append(ids, comps[i].ID)
			}
			_, err := s.PutComponents(ctx, comps)
			require.NoError(t, err)
			h := &watchSizes{}
			s.AddHook(h)

			outs, err := store.UpdateEach(ctx, s, ids, func(c *orchestrator.Component) (int, error) {
				c.EventStats.PowerOnAttempts++
				return c.EventStats.PowerOnAttempts, nil
			}, store.PerRecord)
			require.NoError(t, err)
			require.Len(t, outs, 600)
			for _, o := range outs {
				require.True(t, o.Written)
				require.Equal(t, 1, o.Result)
			}
			require.NotEmpty(t, h.sizes)
			require.LessOrEqual(t, slices.Max(h.sizes), 100, "%v", h.sizes)

			h.sizes = nil
			_, err = s.UpdateComponents(ctx, ids, func(c *orchestrator.Component) error { c.EventStats.PowerOnAttempts++; return nil })
			require.NoError(t, err)
			require.Equal(t, 500, slices.Max(h.sizes), "%v", h.sizes)
			got, err := s.GetComponent(ctx, ids[599])
			require.NoError(t, err)
			require.Equal(t, 2, got.EventStats.PowerOnAttempts)

			// Discovery's AddComponents creates each missing record on its own too.
			h.sizes = nil
			var fresh []orchestrator.Component
			for i := range 600 {
				fresh = append(fresh, orchestrator.Component{ID: fmt.Sprintf("x%dc0s0b0n1", i)})
			}
			added, err := s.AddComponents(ctx, append(fresh, comps[0]))
			require.NoError(t, err)
			require.Len(t, added, 600, "the existing record is left alone")
			require.NotEmpty(t, h.sizes)
			require.LessOrEqual(t, slices.Max(h.sizes), 100, "%v", h.sizes)
		})
	}
}
