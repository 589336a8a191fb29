package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// BenchmarkTick10k: the worst tick of a 10,000-node boot, every component changed since
// the last: one MGET of 10,000 components, their codes merged into one browser's stream,
// and the message encoded. Reports the message's bytes.
func BenchmarkTick10k(b *testing.B) {
	st, err := store.Open(context.Background(), store.Config{})
	require.NoError(b, err)
	defer st.Close()
	comps := make([]orchestrator.Component, 10000)
	ids := make([]string, len(comps))
	for i := range comps {
		comps[i] = orchestrator.Component{ID: fmt.Sprintf("x%dc%ds%db%dn%d", 1000+i/256, i/32%8, i/4%8, i/2%2, i%2), Enabled: true}
		ids[i] = comps[i].ID
	}
	_, err = st.PutComponents(context.Background(), comps)
	require.NoError(b, err)
	h := New(Config{Store: st}).hub
	s := h.add(nil)
	defer h.remove(s)
	var size int
	for b.Loop() {
		h.publish(ids)
		raw, err := json.Marshal(s.take())
		require.NoError(b, err)
		size = len(raw)
	}
	b.ReportMetric(float64(size), "bytes/msg")
}
