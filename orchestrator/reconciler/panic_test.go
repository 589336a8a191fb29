package reconciler

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/store"
)

// A node whose look panics is logged with its id and looked at again after its own
// growing backoff (RetryBase doubled), while the node batched with it goes on; the
// workers survive.
func TestPanickingNodeIsRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		const bad, good = "x1000c0s0b0n1", "x1000c0s0b0n0"
		var comps []bos.Component
		for _, id := range []string{good, bad} {
			c := bos.NewComponent(id, t0)
			c.Enabled = true
			comps = append(comps, c)
		}
		_, err = st.AddComponents(ctx, comps)
		require.NoError(t, err)
		w := &raceWorld{t: t, bss: map[string]string{}, power: power.PowerOn, cfs: CFSView{Status: "configured"}}
		var logged bytes.Buffer
		r := New(Config{Store: st, BSS: w, CFS: w, Power: w, Workers: 2, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
		var mu sync.Mutex
		looks := map[string][]time.Time{}
		r.decide = func(c bos.Component, obs Observation, opts bos.Options, now time.Time) Decision {
			mu.Lock()
			looks[c.ID] = append(looks[c.ID], time.Now())
			mu.Unlock()
			if c.ID == bad {
				panic("bad node")
			}
			return Decision{Component: c}
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { r.worker(ctx) })
		}
		start := time.Now()
		r.Wake(good, bad)
		time.Sleep(20 * time.Second)
		synctest.Wait()

		mu.Lock()
		var gaps []time.Duration
		for i := 1; i < len(looks[bad]); i++ {
			gaps = append(gaps, looks[bad][i].Sub(looks[bad][i-1]))
		}
		goodLooks := len(looks[good])
		mu.Unlock()
		// The batch panics, then each node is looked at alone: the good one is settled,
		// the bad one panics again and backs off 1, 2, 4, 8 s.
		assert.Equal(t, []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, gaps)
		assert.Equal(t, 2, goodLooks, "the good node: in the batch, then alone; not again")
		assert.Equal(t, 5, r.queue.Failures(bad))
		assert.Zero(t, r.queue.Failures(good))
		assert.Equal(t, start, looks[good][0])

		cancel()
		r.queue.ShutDown()
		wg.Wait()
		assert.Contains(t, logged.String(), `in="node `+bad+`" panic="bad node"`)
		assert.NotContains(t, logged.String(), `in="node `+good)
	})
}
