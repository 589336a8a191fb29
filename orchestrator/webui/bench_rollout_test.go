package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// benchRollout stores one running 10,000-node rollout (its first 10 canaries, 50 nodes
// failed) and the component x1000c0s0b0n0, and returns a view on them.
func benchRollout(b *testing.B) (*View, *store.Store) {
	st, err := store.Open(context.Background(), store.Config{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = st.Close() })
	r := orchestrator.Rollout{Name: "big", State: orchestrator.RolloutRunning, Waves: 3,
		Policy: orchestrator.RolloutPolicy{Canary: 10, MaxUnavailable: orchestrator.Amount{N: 10, Percent: true}}}
	for i := range 10000 {
		n := orchestrator.RolloutNode{Xname: fmt.Sprintf("x%dc%ds%db%dn%d", 1000+i/256, i/32%8, i/4%8, i/2%2, i%2),
			Name: fmt.Sprintf("nid%06d", i+1), Phase: orchestrator.NodeWaiting, Canary: i < 10}
		if i%200 == 0 {
			n.Phase, n.Reason = orchestrator.NodeFailed, "out of service longer than the node timeout"
		}
		r.Nodes = append(r.Nodes, n)
	}
	raw, err := json.Marshal(r)
	require.NoError(b, err)
	require.NoError(b, st.CreateRollout(context.Background(), store.RolloutID("", "big"), raw))
	_, err = st.PutComponents(context.Background(), []orchestrator.Component{{ID: "x1000c0s0b0n0"}})
	require.NoError(b, err)
	return New(Config{Store: st}), st
}

// BenchmarkRolloutsPanel10k: one GET api/rollouts (every 2 s per open page) with a
// 10,000-node rollout stored. Reports the reply's bytes.
func BenchmarkRolloutsPanel10k(b *testing.B) {
	v, _ := benchRollout(b)
	var size int
	for b.Loop() {
		size = getB(b, v, Path+"api/rollouts")
	}
	b.ReportMetric(float64(size), "bytes/reply")
}

// BenchmarkRolloutDetail10k: one click (GET api/components/{id}) with a 10,000-node
// rollout stored: the rollouts are read to find the node's.
func BenchmarkRolloutDetail10k(b *testing.B) {
	v, _ := benchRollout(b)
	for b.Loop() {
		getB(b, v, Path+"api/components/x1000c0s0b0n0")
	}
}

// BenchmarkRolloutsFloor: the store's read of the same records, undecoded (the floor of
// both above).
func BenchmarkRolloutsFloor(b *testing.B) {
	_, st := benchRollout(b)
	for b.Loop() {
		_, err := st.ListRollouts(context.Background())
		require.NoError(b, err)
	}
}

// getB serves path and returns the reply's size; anything but 200 fails.
func getB(b *testing.B, v *View, path string) int {
	rec := httptest.NewRecorder()
	v.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.Len()
}
