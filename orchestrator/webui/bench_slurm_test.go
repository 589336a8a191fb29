package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/webui"
	"github.com/cray-bos/bos/slurmsim"
)

// BenchmarkSlurmRead10k: one read of Slurm the view does every RefreshEvery at most, at
// 10,000 nodes: GET nodes and GET jobs from slurmsim over loopback HTTP, decoded, each
// nid name mapped to its xname. A detail request (a click) costs one such read when the
// last is older than RefreshEvery, else nothing (measured here through a click, with the
// component read); BenchmarkSlurmNodesFloor is the floor,
// slurmapi's own GET nodes alone.
func BenchmarkSlurmRead10k(b *testing.B) {
	sc, nids := slurm10k(b)
	st, err := store.Open(context.Background(), store.Config{})
	require.NoError(b, err)
	defer st.Close()
	v := webui.New(webui.Config{Store: st, Slurm: sc, NIDs: func(context.Context) (map[int]string, error) { return nids, nil },
		RefreshEvery: 1}) // 1 ns: every request reads
	_, err = st.PutComponents(context.Background(), []bos.Component{{ID: nids[1]}})
	require.NoError(b, err)
	h := v.Handler()
	defer cpuPerOp(b)()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, webui.Path+"api/components/"+nids[1], nil))
		require.Equal(b, http.StatusOK, rec.Code)
		require.Contains(b, rec.Body.String(), `"name":"nid000001"`)
	}
}

func BenchmarkSlurmNodesFloor(b *testing.B) {
	sc, _ := slurm10k(b)
	defer cpuPerOp(b)()
	for b.Loop() {
		_, err := sc.Nodes(context.Background())
		require.NoError(b, err)
	}
}

// slurm10k serves a 10,000-node slurmsim and returns its client and the nodes' xnames by NID.
func slurm10k(b *testing.B) (*slurmapi.Client, map[int]string) {
	specs := make([]slurmsim.NodeSpec, 10000)
	nids := map[int]string{}
	for i := range specs {
		x := fmt.Sprintf("x%dc%ds%db%dn%d", 1000+i/256, i/32%8, i/4%8, i/2%2, i%2)
		specs[i] = slurmsim.NodeSpec{Name: fmt.Sprintf("nid%06d", i+1), Xname: x}
		nids[i+1] = x
	}
	srv, err := slurmsim.New(slurmsim.Config{Nodes: specs})
	require.NoError(b, err)
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	return slurmapi.NewClient(ts.URL, ts.Client()), nids
}

// cpuPerOp reports the process's CPU time (user and system, every goroutine: slurmsim's
// included) per iteration, from here to the call of the function it returns.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
