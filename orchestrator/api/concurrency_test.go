package api

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestConcurrentAPIAndReconciler: 100 writers hit one component at once, 50 through the
// API (PATCH error, bulk PATCH last_action) and 50 as the reconciler does (store updates
// incrementing a counter). Every increment and every API write must survive.
func TestConcurrentAPIAndReconciler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		ctx := context.Background()
		id := "x1000c0s0b0n0"
		e.seed(orchestrator.NewComponent(id, t0))
		const writers = 100
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var err error
				switch i % 4 {
				case 0:
					_, err = e.c.PatchComponent(ctx, id, orchestrator.ComponentPatch{Error: ptr(fmt.Sprintf("api-%d", i))})
				case 1:
					_, err = e.c.PatchComponents(ctx, []orchestrator.ComponentPatch{{ID: id, RetryPolicy: ptr(i)}}, false)
				default:
					_, err = e.st.UpdateComponent(ctx, id, func(c *orchestrator.Component) error {
						c.EventStats.PowerOffGracefulAttempts++
						return nil
					})
				}
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		c := e.component(id)
		assert.Equal(t, writers/2, c.EventStats.PowerOffGracefulAttempts, "no reconciler increment lost to an API write")
		assert.Regexp(t, `^api-\d+$`, c.Error)
		require.NotNil(t, c.RetryPolicy)
		assert.Equal(t, 1, *c.RetryPolicy%4)
	})
}
