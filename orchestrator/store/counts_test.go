package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// someComponents makes n components: every 10th failed, every 4th powering on, the
// rest stable.
func someComponents(n int) []bos.Component {
	comps := make([]bos.Component, n)
	for i := range comps {
		c := bos.Component{ID: fmt.Sprintf("x1000c0s%db0n%d", i/4, i%4), Enabled: true}
		switch {
		case i%10 == 0:
			c.Status.StatusOverride = bos.StatusFailed
		case i%4 == 0:
			c.Status.Phase = bos.PhasePoweringOn
			c.DesiredState.BootArtifacts.Kernel = "k"
		}
		comps[i] = c
	}
	return comps
}

func TestComponentCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		s := storetest.Open(t, backend, store.Config{})
		ctx := t.Context()
		_, err := s.PutComponents(ctx, someComponents(100))
		require.NoError(t, err)
		byPhase, byStatus, err := s.ComponentCounts(ctx)
		require.NoError(t, err)
		want := map[string]int{}
		comps, err := s.ListComponents(ctx, store.Filter{})
		require.NoError(t, err)
		wantPhase := map[string]int{}
		for _, c := range comps {
			want[bos.ComputeStatus(&c)]++
			wantPhase[c.Status.Phase]++
		}
		for _, st := range bos.Statuses {
			assert.Equal(t, want[st], byStatus[st], st)
		}
		for _, ph := range bos.Phases {
			assert.Equal(t, wantPhase[ph], byPhase[ph], ph)
		}
		assert.Equal(t, 10, byStatus[bos.StatusFailed])

		require.NoError(t, s.CreateSession(ctx, bos.Session{Name: "s", Operation: bos.OpBoot, Status: bos.SessionStatus{Status: bos.SessionRunning, StartTime: time.Now()}}))
		sessions, err := s.SessionCounts(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]int{bos.SessionPending: 0, bos.SessionRunning: 1, bos.SessionComplete: 0}, sessions)
	})
}

// BenchmarkComponentCounts is the store's share of a /metrics scrape at 10,000
// components: one pipeline of index-set sizes, independent of the number of components.
func BenchmarkComponentCounts(b *testing.B) {
	for _, backend := range storetest.Backends {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend, store.Config{})
			_, err := s.PutComponents(b.Context(), someComponents(10000))
			require.NoError(b, err)
			for b.Loop() {
				if _, _, err := s.ComponentCounts(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
